package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/internal/abi"
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
	requestID string
	req       *rpc.InvocationRequest
	cancel    context.CancelCauseFunc
	once      sync.Once // guards the single InvocationResponse
	// sctx is the invocation's context with its running slot, for the
	// guest (set by invoke; here so that it costs no allocation).
	sctx slots.Context
}

// startInvocation registers the invocation (so that a cancel arriving right
// after it finds it) and runs it on its own goroutine. Every path sends
// exactly one InvocationResponse.
func (w *Worker) startInvocation(requestID string, req *rpc.InvocationRequest) {
	id := req.GetInvocationId()
	w.invMu.Lock()
	switch {
	case w.draining:
		w.invMu.Unlock()
		w.respond(requestID, failedResponse(req, "the worker is shutting down (WorkerTerminate) and takes no new invocations", "WorkerTerminating", false))
		return
	case w.inflight[id] != nil:
		w.invMu.Unlock()
		w.respond(requestID, failedResponse(req, fmt.Sprintf("%v %q: an invocation with this id is already running", errDuplicateID, id), "DuplicateInvocation", false))
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	inv := &running{requestID: requestID, req: req, cancel: cancel}
	w.inflight[id] = inv
	w.invWG.Add(1)
	w.invMu.Unlock()

	w.runner.run(func() {
		defer w.invWG.Done()
		resp := w.invoke(ctx, inv)
		cancel(nil)
		w.finish(inv, resp)
	})
}

// finish sends the invocation's response unless one was already sent, and
// forgets the invocation.
func (w *Worker) finish(inv *running, resp *rpc.InvocationResponse) {
	inv.once.Do(func() {
		// Release the id before the response leaves: the host may retry
		// with the same invocation id as soon as it has the answer, and
		// that retry must not be refused as a duplicate.
		w.invMu.Lock()
		if w.inflight[inv.req.GetInvocationId()] == inv {
			delete(w.inflight, inv.req.GetInvocationId())
		}
		w.invMu.Unlock()
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

func (d deadlineError) Error() string {
	return fmt.Sprintf("the invocation ran past its deadline of %v (the app's functionTimeout, less a margin so that the host's own timeout, which restarts the worker, does not fire first)", time.Duration(d))
}

// invoke runs one invocation and builds its response. It never panics.
func (w *Worker) invoke(ctx context.Context, inv *running) (resp *rpc.InvocationResponse) {
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

	if d := w.deadline(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, deadlineError(d))
		defer cancel()
	}

	id := req.GetInvocationId()
	// The guest's running slot; it gives the slot back while it waits
	// (internal/slots), so the slot is carried in ctx, which lives in inv.
	inv.sctx.Context = ctx
	slot := &inv.sctx.Slot
	if !w.running.TryTake(slot) { // a free slot: ctx.Done, which allocates, is not needed
		if resp := w.awaitSlot(ctx, slot, req, fn.name); resp != nil {
			return resp
		}
	}
	defer slot.Release()
	ctx = &inv.sctx
	start := time.Now()
	res, err := fn.run.Invoke(ctx, rpcconv.Request(req), func(l invocation.Log) {
		w.userLog(id, rpcconv.Level(l.Level), l.Message)
	})
	if err != nil {
		kind := engine.Internal
		var re *engine.RunError
		if errors.As(err, &re) {
			kind = re.Kind
		}
		return failureResponse(req, fn.name, kind, err.Error())
	}
	if res.ReturnIgnored {
		fn.warnReturn.Do(func() {
			w.userLog(id, rpc.RpcLog_Warning, fmt.Sprintf("%s returned a value, but function.json declares no \"$return\" binding, so the value is dropped; "+
				"add an output binding named \"$return\" to use it (said once per function load)", fn.name))
		})
	}
	if w.log.Enabled(ctx, slog.LevelDebug) { // its arguments would be allocated on every invocation
		w.log.Debug("invocation done", "function", fn.name, "invocationId", id, "took", time.Since(start))
	}
	return &rpc.InvocationResponse{
		InvocationId: id,
		OutputData:   rpcconv.Outputs(res.Outputs),
		ReturnValue:  rpcconv.Return(res.Return),
		Result:       success(),
	}
}

// awaitSlot waits for one of the worker's guest slots (w.running) and returns
// nil once it holds one, or the invocation's failure when its context ends
// first.
func (w *Worker) awaitSlot(ctx context.Context, slot *slots.Slot, req *rpc.InvocationRequest, name string) *rpc.InvocationResponse {
	if w.running.Take(ctx, slot) {
		return nil
	}
	kind := engine.DeadlineExceeded
	if errors.Is(ctx.Err(), context.Canceled) {
		kind = engine.Canceled
	}
	return failureResponse(req, name, kind, fmt.Sprintf("the invocation ended while waiting for one of the worker's %d guest slots: %v",
		w.running.Cap(), context.Cause(ctx)))
}

// deadline is how long an invocation may run in the worker: the host's
// functionTimeout for the app (funcapp.FunctionTimeout: the app setting,
// host.json, the plan's default) less a margin, 0 for none.
func (w *Worker) deadline() time.Duration {
	w.mu.RLock()
	d, ok := w.deadlineCache, w.hostCfg != nil && w.deadlineFor == w.hostCfg
	w.mu.RUnlock()
	if ok {
		return d
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
	w.mu.Lock()
	if w.hostCfg == cfg { // not reloaded meanwhile
		w.deadlineCache, w.deadlineFor = d, cfg
	}
	w.mu.Unlock()
	return d
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
		InvocationId: req.GetInvocationId(),
		Result:       failure(msg, typ, user),
	}
}

// echoResponse is the answer of Options.EchoForBenchmarks: success, with a
// 200 "ok" for every HTTP output and nothing else.
func echoResponse(fn *funcapp.Function, req *rpc.InvocationRequest) *rpc.InvocationResponse {
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
