package worker

import (
	"runtime"
	"runtime/debug"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func (w *Worker) handleInit(requestID string, req *rpc.WorkerInitRequest) {
	if dir := req.GetFunctionAppDirectory(); dir != "" {
		w.mu.Lock()
		w.appDir = dir
		w.mu.Unlock()
	}
	w.log.Info("init", "hostVersion", req.GetHostVersion(), "appDir", req.GetFunctionAppDirectory(),
		"workerDir", req.GetWorkerDirectory())
	// Answer at once (docs/host-contract.md §2.3): compilation happens at load, after this reply.
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_WorkerInitResponse{
		WorkerInitResponse: &rpc.WorkerInitResponse{
			WorkerVersion:  Version,
			Capabilities:   Capabilities,
			Result:         success(),
			WorkerMetadata: workerMetadata(),
		},
	}})
}

func workerMetadata() *rpc.WorkerMetadata {
	return &rpc.WorkerMetadata{
		RuntimeName:    "wasm",
		RuntimeVersion: wazeroVersion(),
		WorkerVersion:  Version,
		WorkerBitness:  runtime.GOARCH,
		CustomProperties: map[string]string{
			"goVersion": runtime.Version(),
		},
	}
}

// wazeroVersion reports the wazero module version built into this binary.
func wazeroVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				return "wazero " + d.Version
			}
		}
	}
	return "wazero"
}
