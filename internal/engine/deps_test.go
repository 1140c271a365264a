package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEngineKnowsNoProtocol keeps the layering: the engine and the guest
// contracts it runs see only internal/invocation, never the host's gRPC
// protocol (conversion happens at the worker's edge, internal/rpcconv).
func TestEngineKnowsNoProtocol(t *testing.T) {
	for _, pkg := range []string{".", "../abi", "../customhandler", "../invocation"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "google.golang.org/grpc") || strings.Contains(dep, "google.golang.org/protobuf") ||
				strings.HasSuffix(dep, "/internal/protocol/rpc") || strings.HasSuffix(dep, "/internal/rpcconv") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
