package worker

// cancelInvocation handles InvocationCancel (docs/host-contract.md §2.8):
// the guest is stopped at once and the invocation is answered Cancelled.
// A cancel for an invocation that is not running is ignored.
func (w *Worker) cancelInvocation(id string) {
	w.invMu.Lock()
	inv := w.inflight[id]
	w.invMu.Unlock()
	if inv == nil {
		w.log.Debug("cancel for an invocation that is not running", "invocationId", id)
		return
	}
	inv.cancel(errCanceledByHost)
}

// cancelAll stops every running guest with cause.
func (w *Worker) cancelAll(cause error) {
	w.invMu.Lock()
	defer w.invMu.Unlock()
	for _, inv := range w.inflight {
		inv.cancel(cause)
	}
}
