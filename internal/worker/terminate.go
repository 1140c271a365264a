package worker

import (
	"errors"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// abandonAll answers every invocation still running as Cancelled, without
// waiting for its guest to stop; their own responses are then dropped.
func (w *Worker) abandonAll(msg string) {
	w.invMu.Lock()
	invs := make([]*running, 0, len(w.inflight))
	for _, inv := range w.inflight {
		invs = append(invs, inv)
	}
	w.invMu.Unlock()
	for _, inv := range invs {
		resp := failedResponse(inv.req, msg, "WorkerTerminating", false)
		resp.Result.Status = rpc.StatusResult_Cancelled
		w.finish(inv, resp, nil)
	}
}

// handleTerminate starts draining (docs/host-contract.md §2.10) with the
// host's grace period (5 s when it sends none).
func (w *Worker) handleTerminate(req *rpc.WorkerTerminate) {
	grace := 5 * time.Second
	if d := req.GetGracePeriod(); d != nil && d.AsDuration() > 0 {
		grace = d.AsDuration()
	}
	go w.terminate(grace)
}

// terminate stops taking invocations, lets running ones finish within the
// grace period, cancels the rest, and then releases Run. Whatever is still
// running shortly before the grace period ends is answered as Cancelled, so
// every invocation has its response before the host kills the process
// (docs/host-contract.md §2.10).
func (w *Worker) terminate(grace time.Duration) {
	w.invMu.Lock()
	w.draining = true
	w.invMu.Unlock()
	margin := min(grace/5, time.Second)
	done := make(chan struct{})
	go func() {
		w.invWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace - margin):
		w.cancelAll(errors.New("the host is terminating the worker"))
		select {
		case <-done:
		case <-time.After(margin / 2):
			w.abandonAll("the worker was terminated by the host (WorkerTerminate) before the invocation finished")
		}
	}
	w.termOnce.Do(func() { close(w.terminated) })
}
