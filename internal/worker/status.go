package worker

import (
	"runtime"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// handleStatus answers WorkerStatusRequest at once (the host measures the
// round trip, docs/host-contract.md §2.9) and logs the worker's health.
func (w *Worker) handleStatus(requestID string, _ *rpc.WorkerStatusRequest) {
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_WorkerStatusResponse{
		WorkerStatusResponse: &rpc.WorkerStatusResponse{},
	}})
	w.logHealth()
}

// logHealth logs the worker's own health (goroutines, invocations in flight,
// heap) when the host asks for its status, at most every 10 s, so that a
// long run shows whether anything grows.
func (w *Worker) logHealth() {
	now := time.Now().UnixNano()
	last := w.lastHealth.Load()
	if now-last < int64(10*time.Second) || !w.lastHealth.CompareAndSwap(last, now) {
		return
	}
	w.invMu.Lock()
	inflight := len(w.inflight)
	w.invMu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.log.Info("health", "goroutines", runtime.NumGoroutine(), "inflight", inflight,
		"heapMiB", ms.HeapAlloc>>20, "sysMiB", ms.Sys>>20)
}
