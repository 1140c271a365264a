package worker

import "github.com/wasmworker/wasmworker/internal/protocol/rpc"

// handleCloseSharedMemory answers CloseSharedMemoryResourcesRequest. This
// worker never creates shared memory maps, so there is nothing to close;
// the host ignores the answer (docs/host-contract.md §2.14).
func (w *Worker) handleCloseSharedMemory(requestID string, req *rpc.CloseSharedMemoryResourcesRequest) {
	results := map[string]bool{}
	for _, name := range req.GetMapNames() {
		results[name] = false
	}
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_CloseSharedMemoryResourcesResponse{
		CloseSharedMemoryResourcesResponse: &rpc.CloseSharedMemoryResourcesResponse{CloseMapResults: results},
	}})
}
