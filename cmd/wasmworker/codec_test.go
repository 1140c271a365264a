package main

import (
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/wire"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
)

// TestWireCodecRegistered: the worker's gRPC stream uses the wire codec,
// registered under gRPC's protobuf name (so the content type stays
// application/grpc).
func TestWireCodecRegistered(t *testing.T) {
	if c, ok := encoding.GetCodecV2(protocodec.Name).(wire.Codec); !ok {
		t.Fatalf("gRPC's %q codec is %T, want wire.Codec", protocodec.Name, c)
	}
}
