package worker

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/protocol/wire"
)

// encode encodes m as the sender does (the worker's codec, registered for
// gRPC's protobuf name by cmd/wasmworker).
func encode(m *rpc.StreamingMessage) error {
	data, err := wire.Codec{}.Marshal(m)
	data.Free()
	return err
}

// TestUnsendable: a message that cannot be encoded is replaced, for an
// InvocationResponse, by a failure of that invocation that encodes (so it
// is still answered once), and dropped otherwise.
func TestUnsendable(t *testing.T) {
	bad := &rpc.StreamingMessage{RequestId: "r", Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: &rpc.InvocationResponse{
		InvocationId: "inv-1",
		Result:       &rpc.StatusResult{Status: rpc.StatusResult_Success, Exception: &rpc.RpcException{Message: "bad \xff"}},
	}}}
	if err := encode(bad); err == nil {
		t.Fatal("the test message encodes; it should not")
	}
	m := unsendable(bad, encode(bad))
	resp := m.GetInvocationResponse()
	if resp.GetInvocationId() != "inv-1" || resp.GetResult().GetStatus() != rpc.StatusResult_Failure || m.GetRequestId() != "r" {
		t.Fatalf("replacement %v", m)
	}
	if err := encode(m); err != nil {
		t.Fatalf("the replacement does not encode: %v", err)
	}
	log := &rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{Message: "\xff"}}}
	if unsendable(log, errors.New("x")) != nil {
		t.Error("a log that cannot be encoded must be dropped")
	}
}

// TestUnsendableAnswers: a FunctionMetadataResponse or FunctionLoadResponse
// that cannot be encoded is replaced by a failure that encodes, so the host
// is not left waiting.
func TestUnsendableAnswers(t *testing.T) {
	for _, m := range []*rpc.StreamingMessage{
		{RequestId: "r", Content: &rpc.StreamingMessage_FunctionMetadataResponse{FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
			FunctionMetadataResults: []*rpc.RpcFunctionMetadata{{Name: "F\xff"}}, Result: success()}}},
		{RequestId: "r", Content: &rpc.StreamingMessage_FunctionLoadResponse{FunctionLoadResponse: &rpc.FunctionLoadResponse{
			FunctionId: "id\xff", Result: failure("x", "y", false)}}},
	} {
		if err := encode(m); err == nil {
			t.Fatal("the test message encodes; it should not")
		}
		r := unsendable(m, encode(m))
		if r == nil || r.GetRequestId() != "r" {
			t.Fatalf("no replacement for %T", m.Content)
		}
		if err := encode(r); err != nil {
			t.Fatalf("the replacement does not encode: %v", err)
		}
		st := r.GetFunctionMetadataResponse().GetResult()
		if st == nil {
			st = r.GetFunctionLoadResponse().GetResult()
		}
		if st.GetStatus() != rpc.StatusResult_Failure || st.GetException().GetMessage() == "" {
			t.Errorf("replacement %v: want a failure saying why", r)
		}
	}
}

// TestBackgroundAnswersAPanic: a panic in background work (loading,
// indexing, reloading) is recovered and handed to the work's answer, and
// the worker goes on; the answer to a load names the function and encodes.
func TestBackgroundAnswersAPanic(t *testing.T) {
	w := &Worker{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	got := make(chan any, 1)
	w.background(func() { panic("boom") }, func(p any) { got <- p })
	w.bgWG.Wait()
	select {
	case p := <-got:
		if p != "boom" {
			t.Fatalf("answer got %v, want the panic's value", p)
		}
	default:
		t.Fatal("the panic was not answered")
	}

	resp := loadPanicked(&rpc.FunctionLoadRequest{FunctionId: "f1", Metadata: &rpc.RpcFunctionMetadata{Name: "Hello\xff"}}, "boom")
	msg := resp.GetResult().GetException().GetMessage()
	if resp.GetFunctionId() != "f1" || resp.GetResult().GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(msg, "loading function Hello\uFFFD") || !strings.Contains(msg, "boom") {
		t.Fatalf("load answer %v", resp)
	}
	if err := encode(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadResponse{FunctionLoadResponse: resp}}); err != nil {
		t.Fatalf("the load answer does not encode: %v", err)
	}
}
