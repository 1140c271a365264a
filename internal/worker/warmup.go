package worker

import "github.com/wasmworker/wasmworker/internal/protocol/rpc"

// handleWarmup answers WorkerWarmupRequest (docs/host-contract.md §2.12):
// the functions are compiled at load already.
func (w *Worker) handleWarmup(requestID string, _ *rpc.WorkerWarmupRequest) {
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_WorkerWarmupResponse{
		WorkerWarmupResponse: &rpc.WorkerWarmupResponse{Result: success()},
	}})
}
