package fnhost

import (
	"context"
	"fmt"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// MetadataTimeout is the host's deadline for FunctionMetadataResponse: the
// channel's initial function load timeout (docs/host-contract.md §2.5).
const MetadataTimeout = time.Minute

// IndexFunctions asks the worker for the app's functions as the host does
// with worker indexing (docs/host-contract.md §2.1 B, §2.5): it sends
// FunctionsMetadataRequest{function_app_directory: appDir} ("" → the app
// directory the worker was started in) and waits up to timeout (<= 0 →
// MetadataTimeout) for the FunctionMetadataResponse, which it returns as
// the worker sent it; interpreting it (use_default_metadata_indexing,
// result, each function's status) is the caller's part.
func (w *Worker) IndexFunctions(ctx context.Context, appDir string, timeout time.Duration) (*rpc.FunctionMetadataResponse, error) {
	if appDir == "" {
		w.mu.Lock()
		appDir = w.appDir
		w.mu.Unlock()
	}
	if timeout <= 0 {
		timeout = MetadataTimeout
	}
	const kind = "FunctionMetadataResponse"
	ch := w.expect(kind)
	req := &rpc.FunctionsMetadataRequest{FunctionAppDirectory: appDir}
	if err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionsMetadataRequest{FunctionsMetadataRequest: req}}); err != nil {
		w.unexpect(kind, ch)
		return nil, fmt.Errorf("indexing functions: %w (%v)", ErrWorkerDone, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case m := <-ch:
		return m.GetFunctionMetadataResponse(), nil
	case <-w.done:
		w.unexpect(kind, ch)
		return nil, fmt.Errorf("indexing functions: %w", w.doneErr)
	case <-timer.C:
		w.unexpect(kind, ch)
		return nil, fmt.Errorf("indexing functions failed: no FunctionMetadataResponse within %s", timeout)
	case <-ctx.Done():
		w.unexpect(kind, ch)
		return nil, fmt.Errorf("indexing functions: %w", ctx.Err())
	}
}
