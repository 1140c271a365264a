package worker

import (
	"fmt"
	"os"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// handleEnvReload answers FunctionEnvironmentReloadRequest, which the host
// sends at specialization, when a placeholder worker becomes an app's
// worker (docs/host-contract.md §2.11). The host loads the app's functions
// itself afterwards, so the answer does not wait for any compilation.
func (w *Worker) handleEnvReload(requestID string, req *rpc.FunctionEnvironmentReloadRequest) {
	err := w.reloadEnvironment(req)
	result := success()
	if err != nil {
		w.log.Error("environment reload failed", "err", err)
		result = failure(err.Error(), "EnvironmentReload", false)
	}
	w.sendEnvReloadResult(requestID, result)
}

// sendEnvReloadResult answers a FunctionEnvironmentReloadRequest.
func (w *Worker) sendEnvReloadResult(requestID string, result *rpc.StatusResult) {
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionEnvironmentReloadResponse{
		FunctionEnvironmentReloadResponse: &rpc.FunctionEnvironmentReloadResponse{
			WorkerMetadata:             workerMetadata(),
			Capabilities:               Capabilities,
			Result:                     result,
			CapabilitiesUpdateStrategy: rpc.FunctionEnvironmentReloadResponse_replace,
		},
	}})
}

// reloadEnvironment replaces the process environment, moves to the new app
// directory and forgets the cached host.json, so that the next load,
// invocation deadline and metadata request read the new app. It fails only
// when the environment itself cannot be applied: a failed reload makes the
// host discard the worker. Functions already loaded stay loaded (the host
// sends loads for the new app's functions, which replace them by id).
func (w *Worker) reloadEnvironment(req *rpc.FunctionEnvironmentReloadRequest) error {
	os.Clearenv()
	for k, v := range req.GetEnvironmentVariables() {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set environment variable %q: %w", k, err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if dir := req.GetFunctionAppDirectory(); dir != "" {
		if err := os.Chdir(dir); err != nil {
			return fmt.Errorf("change directory to the function app %s: %w", dir, err)
		}
		w.appDir = dir
	}
	w.hostCfg = nil // read host.json again
	w.index = nil   // the host asks for the new app's functions (metadata.go)
	return nil
}
