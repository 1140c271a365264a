package abi

import (
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
)

// The tests state requests and expected outputs as protocol messages, as
// the host sends and receives them; these helpers convert at the edge
// exactly as the worker does.

// newInv is NewInvocation for a protocol request.
func newInv(req *rpc.InvocationRequest, bindings []invocation.Binding) *Invocation {
	return NewInvocation(rpcconv.Request(req), invocation.Function{Name: "Fn", Bindings: bindings})
}

// rpcLog is a guest log as the worker sends it.
type rpcLog struct {
	Level   rpc.RpcLog_Level
	Message string
}

// rpcResult is inv.Result in protocol form.
func rpcResult(inv *Invocation) ([]*rpc.ParameterBinding, *rpc.TypedData, []rpcLog, error) {
	outs, ret, logs, err := inv.Result()
	var rl []rpcLog
	for _, l := range logs {
		rl = append(rl, rpcLog{Level: rpcconv.Level(l.Level), Message: l.Message})
	}
	return rpcconv.Outputs(outs), rpcconv.Return(ret), rl, err
}
