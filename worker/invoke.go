package worker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/abi"
	"github.com/wasmworker/wasmworker/abi/command"
	"github.com/wasmworker/wasmworker/funcapp"
	"github.com/wasmworker/wasmworker/proto/rpc"
	"github.com/wasmworker/wasmworker/runtime"
)

// defaultFunctionTimeout is the host's functionTimeout when host.json sets
// none on a dedicated plan (protocol.md §2.6).
const defaultFunctionTimeout = 30 * time.Minute

var (
	errCanceledByHost = errors.New("the host cancelled the invocation (InvocationCancel)")
	errDuplicateID    = errors.New("duplicate invocation id")
)

// invocation is one running InvocationRequest.
type invocation struct {
	requestID string
	req       *rpc.InvocationRequest
	cancel    context.CancelCauseFunc
	once      sync.Once // guards the single InvocationResponse
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
	inv := &invocation{requestID: requestID, req: req, cancel: cancel}
	w.inflight[id] = inv
	w.invWG.Add(1)
	w.invMu.Unlock()

	go func() {
		defer w.invWG.Done()
		resp := w.invoke(ctx, req)
		cancel(nil)
		w.finish(inv, resp)
	}()
}

// finish sends the invocation's response unless one was already sent, and
// forgets the invocation.
func (w *Worker) finish(inv *invocation, resp *rpc.InvocationResponse) {
	inv.once.Do(func() { w.respond(inv.requestID, resp) })
	w.invMu.Lock()
	if w.inflight[inv.req.GetInvocationId()] == inv {
		delete(w.inflight, inv.req.GetInvocationId())
	}
	w.invMu.Unlock()
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

func (w *Worker) cancelAll(cause error) {
	w.invMu.Lock()
	defer w.invMu.Unlock()
	for _, inv := range w.inflight {
		inv.cancel(cause)
	}
}

// abandonAll answers every invocation still running as Cancelled, without
// waiting for its guest to stop; their own responses are then dropped.
func (w *Worker) abandonAll(msg string) {
	w.invMu.Lock()
	invs := make([]*invocation, 0, len(w.inflight))
	for _, inv := range w.inflight {
		invs = append(invs, inv)
	}
	w.invMu.Unlock()
	for _, inv := range invs {
		resp := failedResponse(inv.req, msg, "WorkerTerminating", false)
		resp.Result.Status = rpc.StatusResult_Cancelled
		w.finish(inv, resp)
	}
}

// invoke runs one invocation and builds its response. It never panics.
func (w *Worker) invoke(ctx context.Context, req *rpc.InvocationRequest) (resp *rpc.InvocationResponse) {
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
		return failedResponse(req, fmt.Sprintf("function failed to load: %v", fn.err), "FunctionLoadError", true)
	}
	if w.opts.EchoForBenchmarks {
		return echoResponse(fn.meta, req)
	}

	if d := invocationTimeout(w.hostConfig().FunctionTimeout); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d,
			fmt.Errorf("the invocation ran past its deadline of %v (host.json functionTimeout, less a margin so the host does not restart the worker)", d))
		defer cancel()
	}

	id := req.GetInvocationId()
	select {
	case w.runSem <- struct{}{}:
		defer func() { <-w.runSem }()
	case <-ctx.Done():
		resp := failedResponse(req, fmt.Sprintf("%s: the invocation ended while waiting for one of the worker's %d guest slots: %v",
			fn.meta.Name, cap(w.runSem), context.Cause(ctx)), "Wasm:Queued", true)
		if errors.Is(context.Cause(ctx), errCanceledByHost) {
			resp.Result.Status = rpc.StatusResult_Cancelled
		}
		return resp
	}
	if fn.mod.Mode() == runtime.ABI {
		return w.invokeABI(ctx, fn, req)
	}
	start := time.Now()
	stdin, err := command.EncodeRequest(fn.meta, req, start.UTC(), newGUID())
	if err != nil {
		return failedResponse(req, fmt.Sprintf("%s: cannot encode the invocation for the guest: %v", fn.meta.Name, err), "InputError", false)
	}
	out, err := fn.mod.RunCommand(ctx, runtime.CommandInput{
		Stdin:  stdin,
		Env:    fn.pol.envValues(),
		Stderr: func(line string) { w.userLog(id, rpc.RpcLog_Information, line) },
	})
	if err != nil {
		status := rpc.StatusResult_Failure
		typ := "WasmFailure"
		var re *runtime.RunError
		if errors.As(err, &re) {
			typ = "Wasm:" + re.Kind.String()
			if re.Kind == runtime.Canceled {
				status = rpc.StatusResult_Cancelled
			}
		}
		msg := fmt.Sprintf("%s: %v", fn.meta.Name, err)
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			msg += " (" + cause.Error() + ")"
		}
		resp := failedResponse(req, msg, typ, true)
		resp.Result.Status = status
		return resp
	}
	res, err := command.DecodeResponse(fn.meta, out.Stdout)
	if err != nil {
		msg := fmt.Sprintf("%s: %v", fn.meta.Name, err)
		if len(out.StderrTail) > 0 {
			msg += "\nstderr (last lines):\n" + strings.Join(out.StderrTail, "\n")
		}
		return failedResponse(req, msg, "OutputError", true)
	}
	for _, l := range res.Logs {
		w.userLog(id, rpc.RpcLog_Information, l)
	}
	w.log.Debug("invocation done", "function", fn.meta.Name, "invocationId", id, "took", time.Since(start))
	return &rpc.InvocationResponse{
		InvocationId: id,
		OutputData:   res.Outputs,
		ReturnValue:  res.ReturnValue,
		Result:       success(),
	}
}

// invocationTimeout is how long a guest may run: the app's functionTimeout
// less a margin, so the guest is stopped and answered before the host's own
// timeout restarts the whole worker (protocol.md §2.17, §7 item 12).
// A negative functionTimeout means unlimited.
func invocationTimeout(functionTimeout time.Duration) time.Duration {
	switch {
	case functionTimeout < 0:
		return 0
	case functionTimeout == 0:
		functionTimeout = defaultFunctionTimeout
	}
	margin := min(functionTimeout/10, 2*time.Second)
	return functionTimeout - margin
}

func (w *Worker) userLog(invocationID string, level rpc.RpcLog_Level, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		InvocationId: invocationID,
		Level:        level,
		Message:      msg,
		LogCategory:  rpc.RpcLog_User,
	}}})
}

func failedResponse(req *rpc.InvocationRequest, msg, typ string, user bool) *rpc.InvocationResponse {
	return &rpc.InvocationResponse{
		InvocationId: req.GetInvocationId(),
		Result:       failure(msg, typ, user),
	}
}

// newGUID returns a random (version 4) GUID in the lower-case hyphenated form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
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

// invokeABI runs an invocation of an ABI module on a warm instance and builds
// its response. The guest's logs are sent before the response, also when it
// failed.
func (w *Worker) invokeABI(ctx context.Context, fn *function, req *rpc.InvocationRequest) *rpc.InvocationResponse {
	id := req.GetInvocationId()
	inv := abi.NewInvocation(req, fn.bindings)
	callErr := fn.mod.Invoke(ctx, fn.entry, inv)
	outputs, ret, logs, err := inv.Result()
	if err == nil && callErr != nil {
		err = callErr
	}
	for _, l := range logs {
		w.userLog(id, l.Level, l.Message)
	}
	if err == nil {
		return &rpc.InvocationResponse{InvocationId: id, OutputData: outputs, ReturnValue: ret, Result: success()}
	}
	status, typ := rpc.StatusResult_Failure, "Wasm:Trap"
	var fe *abi.FunctionError
	switch {
	case errors.As(err, &fe):
		typ = "FunctionError"
	case errors.Is(context.Cause(ctx), errCanceledByHost):
		status, typ = rpc.StatusResult_Cancelled, "Wasm:Canceled"
	case ctx.Err() != nil:
		typ = "Wasm:DeadlineExceeded"
	}
	msg := fmt.Sprintf("%s: %v", fn.meta.Name, err)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) && !strings.Contains(msg, cause.Error()) {
		msg += " (" + cause.Error() + ")"
	}
	resp := failedResponse(req, msg, typ, true)
	resp.Result.Status = status
	return resp
}
