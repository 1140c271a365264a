package worker

import (
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func TestFitMessage(t *testing.T) {
	big := &rpc.StreamingMessage{RequestId: "r", Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: &rpc.InvocationResponse{
		InvocationId: "inv-1",
		ReturnValue:  &rpc.TypedData{Data: &rpc.TypedData_String_{String_: strings.Repeat("x", 10_000)}},
		Result:       success(),
	}}}
	if got := fitMessage(big, 1<<20); got != big {
		t.Errorf("a response under the limit must pass unchanged")
	}
	got := fitMessage(big, 4096)
	r := got.GetInvocationResponse()
	if got.GetRequestId() != "r" || r.GetInvocationId() != "inv-1" || r.GetResult().GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(r.GetResult().GetException().GetMessage(), "message limit of 4096 bytes") || r.GetReturnValue() != nil {
		t.Errorf("over the limit: %v", got)
	}
	other := &rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{Message: strings.Repeat("y", 10_000)}}}
	if fitMessage(other, 4096) != other {
		t.Errorf("only invocation responses are replaced")
	}
}
