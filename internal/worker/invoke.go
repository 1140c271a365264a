package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/deadline"
	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
	"github.com/wasmworker/wasmworker/internal/slots"
)

var (
	errCanceledByHost = errors.New("the host cancelled the invocation (InvocationCancel)")
	errDuplicateID    = errors.New("duplicate invocation id")
)

// running is one InvocationRequest in progress.
type running struct {
	w         *Worker
	requestID string
	req       *rpc.InvocationRequest
	// ctx is the invocation's context: it ends when the invocation is
	// done, cancelled, or past its deadline (w.deadlines), and keeps why.
	ctx  deadline.Context
	once sync.Once // guards the single InvocationResponse
	// cctx and sctx are the invocation's context with the invocation as
	// its Canceler, and that with its running slot, for the guest (set by
	// invoke; here so that they cost no allocation).
	cctx invocation.CancelerContext
	sctx slots.Context
	// queued is set while the invocation may wait in the running slots'
	// queue (slots.Limit.TakeOrQueue), with no goroutine of its own.
	queued atomic.Bool
}

// Start runs the invocation, which was queued for a running slot and now
// holds one, on a goroutine of the runner (slots.Queued).
func (r *running) Start() { r.w.runner.run(r) }

// Ended takes the invocation out of the running slots' queue when its
// context ends while it waits there (cancelled by the host, or past its
// deadline), and runs it, so that it is answered at once (deadline.Watcher).
func (r *running) Ended() {
	if r.queued.Load() && r.w.running.Unqueue(r) {
		r.w.runner.run(r)
	}
}

// answer is a successful InvocationResponse with its result and the
// message that carries it, allocated at once. It is not part of the
// invocation's record: the record holds the request, which must not stay
// alive while the answer waits for the sender.
type answer struct {
	msg  rpc.StreamingMessage
	w    rpc.StreamingMessage_InvocationResponse
	resp rpc.InvocationResponse
	res  rpc.StatusResult
	id   [36]byte // room for a copy of the invocation id (a GUID's text)
}

// keepID returns a copy of id, in a.id when it fits.
func (a *answer) keepID(id string) string {
	if len(id) == 0 || len(id) > len(a.id) {
		return strings.Clone(id)
	}
	n := copy(a.id[:], id)
	// a.id is never written again, so the string stays as it is. While
	// the string is referenced (by logs waiting for the sender), it keeps
	// the whole answer alive: a few hundred bytes, not the request.
	return unsafe.String(&a.id[0], n)
}

// startInvocation registers the invocation (so that a cancel arriving right
// after it finds it) and runs it on a goroutine of the runner, or queues it
// for a running slot (startGuest). Every path sends exactly one
// InvocationResponse.
func (w *Worker) startInvocation(requestID string, req *rpc.InvocationRequest) {
	id := req.GetInvocationId()
	// The deadline starts now, when the request is taken: the host's
	// clock started before. It is looked up before invMu is taken (a load
	// read host.json for it already).
	d, cause := time.Duration(0), error(nil)
	if !w.opts.EchoForBenchmarks {
		d, cause = w.deadline()
	}
	inv := &running{w: w, requestID: requestID, req: req}
	if !w.opts.EchoForBenchmarks {
		inv.ctx.Watch(inv)
	}
	w.deadlines.Start(&inv.ctx, d, cause)
	w.invMu.Lock()
	switch {
	case w.draining:
		w.invMu.Unlock()
		inv.ctx.Cancel(nil)
		w.respond(requestID, failedResponse(req, "the worker is shutting down (WorkerTerminate) and takes no new invocations", "WorkerTerminating", false))
		return
	case w.inflight[id] != nil:
		w.invMu.Unlock()
		inv.ctx.Cancel(nil)
		w.respond(requestID, failedResponse(req, fmt.Sprintf("%v %q: an invocation with this id is already running", errDuplicateID, id), "DuplicateInvocation", false))
		return
	}
	w.inflight[id] = inv
	w.invWG.Add(1)
	w.invMu.Unlock()
	inv.cctx = invocation.CancelerContext{Context: &inv.ctx, Canceler: inv}
	inv.sctx.Context = &inv.cctx
	if w.opts.EchoForBenchmarks || !w.runnable(req.GetFunctionId()) {
		// No guest runs: the answer needs no running slot, so it does not
		// wait behind invocations that do.
		w.runner.run(inv)
		return
	}
	w.startGuest(inv)
}

// runnable reports whether the function id names a function that loaded.
func (w *Worker) runnable(functionID string) bool {
	w.mu.RLock()
	fn := w.functions[functionID]
	w.mu.RUnlock()
	return fn != nil && fn.err == nil
}

// startGuest runs inv with a running slot: the guest's, carried in its
// context (it gives the slot back while it waits; internal/slots). Without
// a free one, inv is queued without a goroutine: the goroutine that gives a
// slot up runs it next (runInvocation), or starts it (running.Start).
func (w *Worker) startGuest(inv *running) {
	inv.queued.Store(true)
	if w.running.TakeOrQueue(&inv.sctx.Slot, inv) {
		inv.queued.Store(false)
		w.runner.run(inv)
		return
	}
	// If the context ended before inv was in the queue, Ended found
	// nothing to take out, and will not be called again.
	if inv.ctx.Err() != nil {
		inv.Ended()
	}
}

// runInvocation runs inv, on one of the runner's goroutines, and answers
// it. It returns the queued invocation its running slot went to, which the
// goroutine runs next (nil when none did).
func (w *Worker) runInvocation(inv *running) *running {
	inv.queued.Store(false)
	defer w.invWG.Done()
	defer inv.ctx.Cancel(nil)
	var ok *answer
	resp := w.invoke(&inv.ctx, inv, &ok)
	next := inv.sctx.Slot.ReleaseNext()
	w.finish(inv, resp, ok)
	if n, isInv := next.Queued.(*running); isInv {
		return n
	}
	next.Start()
	return nil
}

// cancel stops the invocation, for cause; it changes nothing when the
// invocation's context ended before (an earlier cancel, its deadline, its
// end).
func (r *running) cancel(cause error) { r.ctx.Cancel(cause) }

// CancelReason is why the invocation's context ended: the cause given to
// cancel, or its deadline's; nil while it runs. The context carries r
// (invocation.CancelerContext), so that what reports the end (the
// engine's failures, a guest's outbound errors) names its cause
// (invocation.CancelCause).
func (r *running) CancelReason() error { return r.ctx.Cause() }

// finish sends the invocation's response unless one was already sent, and
// forgets the invocation. When resp is ok's, ok's message carries it.
func (w *Worker) finish(inv *running, resp *rpc.InvocationResponse, ok *answer) {
	inv.once.Do(func() {
		// Release the id before the response leaves: the host may retry
		// with the same invocation id as soon as it has the answer, and
		// that retry must not be refused as a duplicate.
		w.invMu.Lock()
		if w.inflight[inv.req.GetInvocationId()] == inv {
			delete(w.inflight, inv.req.GetInvocationId())
		}
		w.invMu.Unlock()
		if ok != nil && resp == &ok.resp {
			ok.w.InvocationResponse = resp
			ok.msg.RequestId, ok.msg.Content = inv.requestID, &ok.w
			w.send(fitMessage(&ok.msg, w.opts.MaxMessageBytes))
			return
		}
		w.respond(inv.requestID, resp)
	})
}

func (w *Worker) respond(requestID string, resp *rpc.InvocationResponse) {
	msg := &rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: resp}}
	w.send(fitMessage(msg, w.opts.MaxMessageBytes))
}

// fitMessage returns msg, or, when msg is an InvocationResponse larger than
// the gRPC message limit, a failure response saying so: sending it would
// fail, and a failed Send ends the stream for every other invocation too.
// Guest outputs are bounded (abi.MaxOutputBytes; command-mode stdout below
// the limit), so under the host's usual 2 GiB limit nothing is measured.
func fitMessage(msg *rpc.StreamingMessage, limit int) *rpc.StreamingMessage {
	resp := msg.GetInvocationResponse()
	if resp == nil || limit <= 0 || limit > abi.MaxOutputBytes+1<<20 {
		return msg
	}
	size := proto.Size(msg)
	if size <= limit {
		return msg
	}
	failed := failedResponse(&rpc.InvocationRequest{InvocationId: resp.GetInvocationId()},
		fmt.Sprintf("the function's response is %d bytes, above the host's gRPC message limit of %d bytes (--grpcMaxMessageLength); return less data", size, limit),
		"OutputTooLarge", true)
	return &rpc.StreamingMessage{RequestId: msg.GetRequestId(), Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: failed}}
}

// deadlineError is the cause of an invocation's context when it ran past
// the worker's deadline; formatted only when read.
type deadlineError time.Duration

// Is reports that the error is context.DeadlineExceeded, so that what
// reads the cause (an outbound request's failure, say) says the deadline
// passed.
func (d deadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

func (d deadlineError) Error() string {
	return fmt.Sprintf("the invocation ran past its deadline of %v (the app's functionTimeout, less a margin so that the host's own timeout, which restarts the worker, does not fire first)", time.Duration(d))
}

// invoke runs one invocation and builds its response: on success, in an
// answer it sets *ok to. It never panics.
func (w *Worker) invoke(ctx context.Context, inv *running, ok **answer) (resp *rpc.InvocationResponse) {
	req := inv.req
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("panic while invoking", "invocationId", req.GetInvocationId(), "panic", p)
			resp = failedResponse(req, fmt.Sprintf("internal worker error: %v", p), "WorkerError", false)
		}
	}()
	fn := w.acquire(req.GetFunctionId())
	if fn == nil {
		return failedResponse(req, fmt.Sprintf("function id %q is not loaded in this worker (no FunctionLoadRequest named it)", req.GetFunctionId()), "FunctionNotLoaded", false)
	}
	defer fn.release()
	if fn.err != nil {
		return failedResponse(req, fn.loadError(), "FunctionLoadError", true)
	}
	if w.opts.EchoForBenchmarks {
		return echoResponse(fn.meta, req)
	}

	// The id is copied for the answer and the logs, which may wait for
	// the sender after the invocation is done: the request's strings share
	// one array with all of its bytes (internal/protocol/wire), which they
	// would keep alive meanwhile. The answer is made now to hold the copy.
	a := new(answer)
	id := a.keepID(req.GetInvocationId())
	// The running slot is held (startGuest), unless the invocation ended
	// while it was queued; runInvocation gives it back.
	ctx = &inv.cctx
	slot := &inv.sctx.Slot
	// An invocation that ended while queued fails without taking a slot.
	if !slot.Held() && (ctx.Err() != nil || !w.running.TryTake(slot)) { // a free slot: ctx.Done, which allocates, is not needed
		if resp := w.awaitSlot(ctx, inv, slot, fn.name); resp != nil {
			return resp
		}
	}
	ctx = &inv.sctx
	debug := w.log.Enabled(ctx, slog.LevelDebug) // then the time it took is logged
	var start time.Time
	if debug {
		start = time.Now()
	}
	res, err := fn.run.Invoke(ctx, rpcconv.Request(req), func(l invocation.Log) {
		w.userLog(id, rpcconv.Level(l.Level), l.Message)
	})
	if err != nil {
		kind := engine.Internal
		var re *engine.RunError
		if errors.As(err, &re) {
			kind = re.Kind
		}
		msg := err.Error()
		// Whatever the guest made of the cancel (an exit, a reported
		// failure), the failure says who cancelled.
		if c := inv.CancelReason(); c != nil && errors.Is(ctx.Err(), context.Canceled) && !strings.Contains(msg, c.Error()) {
			msg += " (the invocation was cancelled: " + c.Error() + ")"
		}
		return failureResponse(req, fn.name, kind, msg)
	}
	if res.ReturnIgnored {
		fn.warnReturn.Do(func() {
			w.userLog(id, rpc.RpcLog_Warning, fmt.Sprintf("%s returned a value, but function.json declares no \"$return\" binding, so the value is dropped; "+
				"add an output binding named \"$return\" to use it (said once per function load)", fn.name))
		})
	}
	if debug { // its arguments would be allocated on every invocation
		w.log.Debug("invocation done", "function", fn.name, "invocationId", id, "took", time.Since(start))
	}
	a.res.Status = rpc.StatusResult_Success
	a.resp.InvocationId, a.resp.Result = id, &a.res
	a.resp.OutputData, a.resp.ReturnValue = rpcconv.Outputs(res.Outputs), rpcconv.Return(res.Return)
	*ok = a
	return &a.resp
}

// awaitSlot waits for one of the worker's guest slots (w.running) and returns
// nil once it holds one, or the invocation's failure when its context ends
// first.
func (w *Worker) awaitSlot(ctx context.Context, inv *running, slot *slots.Slot, name string) *rpc.InvocationResponse {
	if ctx.Err() == nil && w.running.Take(ctx, slot) { // an invocation taken out of the queue has ended: it fails now
		return nil
	}
	kind := engine.DeadlineExceeded
	if errors.Is(ctx.Err(), context.Canceled) {
		kind = engine.Canceled
	}
	return failureResponse(inv.req, name, kind, fmt.Sprintf("the invocation ended while waiting for one of the worker's %d guest slots: %v",
		w.running.Cap(), invocation.CancelCause(ctx)))
}

// deadline is how long an invocation may run in the worker: the host's
// functionTimeout for the app (funcapp.FunctionTimeout: the app setting,
// host.json, the plan's default) less a margin, 0 for none; and the cause
// an invocation's context ends with when it runs past it (kept with it, so
// that an invocation does not allocate one).
func (w *Worker) deadline() (time.Duration, error) {
	w.mu.RLock()
	d, cause, ok := w.deadlineCache, w.deadlineCause, w.hostCfg != nil && w.deadlineFor == w.hostCfg
	w.mu.RUnlock()
	if ok {
		return d, cause
	}
	cfg := w.hostConfig()
	ft, err := funcapp.FunctionTimeout(cfg, os.Getenv)
	if err != nil {
		// The host refuses to start with such a setting; run on the
		// plan's default rather than without a deadline.
		w.log.Warn("ignoring a bad functionTimeout setting", "err", err)
		ft, _ = funcapp.FunctionTimeout(cfg, func(k string) string {
			if k == funcapp.FunctionTimeoutSetting {
				return ""
			}
			return os.Getenv(k)
		})
	}
	d = invocationTimeout(ft)
	cause = deadlineError(d)
	w.mu.Lock()
	if w.hostCfg == cfg { // not reloaded meanwhile
		w.deadlineCache, w.deadlineCause, w.deadlineFor = d, cause, cfg
	}
	w.mu.Unlock()
	return d, cause
}

// invocationTimeout is how long a guest may run given the host's
// functionTimeout: less a margin, so that the guest is stopped and answered
// before the host's own timeout restarts the whole worker and fails every
// invocation in it (docs/host-contract.md §2.17, §7 item 12). The host's
// clock starts before ours: it includes the input bindings the host
// resolves and the trip to the worker, which the request does not tell. The
// margin is 10 % of the timeout, at most 30 s (5 min → 4 min 30 s, 30 min →
// 29 min 30 s). NoTimeout (negative) means no deadline.
func invocationTimeout(functionTimeout time.Duration) time.Duration {
	if functionTimeout < 0 {
		return 0
	}
	if functionTimeout == 0 {
		functionTimeout = funcapp.DefaultFunctionTimeout
	}
	return functionTimeout - min(functionTimeout/10, 30*time.Second)
}

func (w *Worker) userLog(invocationID string, level rpc.RpcLog_Level, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		InvocationId: invocationID,
		Level:        level,
		Message:      rpcconv.Text(msg),
		LogCategory:  rpc.RpcLog_User,
	}}})
}

func failedResponse(req *rpc.InvocationRequest, msg, typ string, user bool) *rpc.InvocationResponse {
	return &rpc.InvocationResponse{
		InvocationId: strings.Clone(req.GetInvocationId()), // not keeping the request's bytes alive (invoke)
		Result:       failure(msg, typ, user),
	}
}

// echoResponse is the answer of Options.EchoForBenchmarks: success, with a
// 200 "ok" for every HTTP output and nothing else.
func echoResponse(fn *funcapp.Function, req *rpc.InvocationRequest) *rpc.InvocationResponse {
	// The id is not copied (as invoke does): the benchmarks' baseline
	// costs as little as the protocol allows.
	resp := &rpc.InvocationResponse{InvocationId: req.GetInvocationId(), Result: success()}
	for _, b := range fn.Outputs() {
		if strings.EqualFold(b.Type, "http") {
			ok := &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
				StatusCode: "200",
				Body:       &rpc.TypedData{Data: &rpc.TypedData_String_{String_: "ok"}},
			}}}
			if b.Name == "$return" {
				resp.ReturnValue = ok
			} else {
				resp.OutputData = append(resp.OutputData, &rpc.ParameterBinding{Name: b.Name, RpcData: &rpc.ParameterBinding_Data{Data: ok}})
			}
		}
	}
	return resp
}
