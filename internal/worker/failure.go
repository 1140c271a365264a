package worker

import (
	"fmt"

	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// failureKinds is the one table from a failed invocation's kind to what the
// host receives: the RpcException type, the status, and whether the
// failure is the user's code (is_user_exception). Both guest kinds fail
// through it, so the same failure reads the same in either mode. README.md
// ("Failures") lists it for users.
var failureKinds = map[engine.FailureKind]struct {
	typ    string
	status rpc.StatusResult_Status
	user   bool
}{
	engine.Trap:             {"Wasm:Trap", rpc.StatusResult_Failure, true},
	engine.Exit:             {"Wasm:Exit", rpc.StatusResult_Failure, true},
	engine.GuestError:       {"FunctionError", rpc.StatusResult_Failure, true},
	engine.DeadlineExceeded: {"Wasm:DeadlineExceeded", rpc.StatusResult_Failure, true},
	engine.Canceled:         {"Wasm:Canceled", rpc.StatusResult_Cancelled, true},
	engine.MemoryLimit:      {"Wasm:MemoryLimit", rpc.StatusResult_Failure, true},
	engine.StdoutLimit:      {"Wasm:OutputLimit", rpc.StatusResult_Failure, true},
	engine.LogLimit:         {"Wasm:LogLimit", rpc.StatusResult_Failure, true},
	engine.InvalidOutput:    {"Wasm:InvalidOutput", rpc.StatusResult_Failure, true},
	engine.InvalidInput:     {"Wasm:InvalidInput", rpc.StatusResult_Failure, false},
	engine.Instantiate:      {"Wasm:Instantiate", rpc.StatusResult_Failure, true},
	engine.Internal:         {"WorkerError", rpc.StatusResult_Failure, false},
}

// failureResponse answers an invocation of the function name that failed
// with kind; msg states what happened and its cause, once.
func failureResponse(req *rpc.InvocationRequest, name string, kind engine.FailureKind, msg string) *rpc.InvocationResponse {
	k, ok := failureKinds[kind]
	if !ok {
		k = failureKinds[engine.Internal]
	}
	resp := failedResponse(req, fmt.Sprintf("%s: %s", name, msg), k.typ, k.user)
	resp.Result.Status = k.status
	return resp
}
