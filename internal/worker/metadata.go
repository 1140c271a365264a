package worker

import "github.com/wasmworker/wasmworker/internal/protocol/rpc"

// handleMetadata answers FunctionsMetadataRequest. Functions are described
// by function.json (host indexing): the host is asked to index them itself
// (docs/host-contract.md §2.5).
func (w *Worker) handleMetadata(requestID string, _ *rpc.FunctionsMetadataRequest) {
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionMetadataResponse{
		FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
			Result:                     success(),
			UseDefaultMetadataIndexing: true,
		},
	}})
}
