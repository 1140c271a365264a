package fnhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// DefaultHostVersion is sent as WorkerInitRequest.host_version when
// WorkerOptions.HostVersion is empty: the host release whose behaviour this
// package mirrors (docs/host-contract.md §0).
const DefaultHostVersion = "4.1037.0.0"

// Capability names this package acts on (docs/host-contract.md §2.4).
const (
	CapWorkerStatus                   = "WorkerStatus"
	CapHandlesWorkerTerminateMessage  = "HandlesWorkerTerminateMessage"
	CapHandlesInvocationCancelMessage = "HandlesInvocationCancelMessage"
)

// DefaultTerminateGrace is the host's WorkerTerminate grace period (docs/host-contract.md §2.10).
const DefaultTerminateGrace = 5 * time.Second

// ErrWorkerDone is wrapped by errors of calls that could not complete because
// the worker process exited or its stream ended.
var ErrWorkerDone = errors.New("worker is gone")

// WorkerOptions say how to start and talk to a worker.
type WorkerOptions struct {
	StartOptions
	// Server is the gRPC server to use; nil → the Worker listens on its own
	// and closes it when the worker is done.
	Server *Server
	// Logger receives the Worker's own diagnostics (nil → discard).
	Logger *slog.Logger
	// HostVersion is WorkerInitRequest.host_version ("" → DefaultHostVersion).
	HostVersion string
	// FunctionTimeout is host.json functionTimeout; it sets the load deadline
	// max(FunctionTimeout, 1 min) (docs/host-contract.md §2.6). 0 → the host's default of 30 min;
	// negative (no limit) → 1 min.
	FunctionTimeout time.Duration
	// OnLog receives System logs, and logs that belong to no invocation in
	// flight (which the real host drops, §2.15). It is called from the
	// Worker's only reading goroutine and must not block.
	OnLog func(*rpc.RpcLog)
}

// Worker is a started and initialized language worker, driven as the host
// drives its GrpcWorkerChannel.
type Worker struct {
	opts   WorkerOptions
	cfg    *WorkerConfig
	appDir string
	srv    *Server
	ownSrv bool
	proc   *Process
	stream *Stream
	log    *slog.Logger

	done     chan struct{}
	doneOnce sync.Once
	doneErr  error

	mu          sync.Mutex
	caps        map[string]string
	meta        *rpc.WorkerMetadata
	invocations map[string]*invocation
	statuses    map[string]chan struct{}
	loads       map[string]*loadBatch // function id → batch waiting for it
	failedLoads map[string]string     // function id → load failure message
	fifo        map[string][]chan *rpc.StreamingMessage

	strays atomic.Int64 // InvocationResponses for no invocation in flight
}

type invocation struct {
	onLog func(*rpc.RpcLog)
	resp  chan *rpc.InvocationResponse
}

type loadBatch struct {
	mu      sync.Mutex
	results map[string]*rpc.FunctionLoadResponse
	waiting int
	err     error
	done    chan struct{}
}

func (b *loadBatch) finish(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && err != nil {
		b.err = err
	}
	select {
	case <-b.done:
	default:
		close(b.done)
	}
}

// StartWorker starts the worker process, waits for its StartStream
// (ProcessStartupTimeout, §2.2), sends WorkerInitRequest and waits for a
// successful WorkerInitResponse (InitializationTimeout, §2.3). On failure
// the process is killed and the error includes the end of its stderr.
func StartWorker(ctx context.Context, o WorkerOptions) (*Worker, error) {
	if o.Config == nil {
		return nil, errors.New("host: WorkerOptions.Config is nil")
	}
	w := &Worker{
		opts:        o,
		cfg:         o.Config,
		log:         o.Logger,
		done:        make(chan struct{}),
		caps:        map[string]string{},
		invocations: map[string]*invocation{},
		statuses:    map[string]chan struct{}{},
		loads:       map[string]*loadBatch{},
		failedLoads: map[string]string{},
		fifo:        map[string][]chan *rpc.StreamingMessage{},
	}
	if w.log == nil {
		w.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w.srv = o.Server
	if w.srv == nil {
		srv, err := Listen()
		if err != nil {
			return nil, err
		}
		w.srv, w.ownSrv = srv, true
	}
	so := o.StartOptions
	so.Port = w.srv.Port()
	if so.WorkerID == "" {
		so.WorkerID = uuid.NewString()
	}
	w.stream = w.srv.Register(so.WorkerID)
	proc, err := StartProcess(so)
	if err != nil {
		w.stream.Close()
		w.closeOwnServer()
		return nil, err
	}
	w.proc = proc
	w.appDir = proc.Dir()
	w.log.Info("worker process started", "pid", proc.Pid(), "workerId", proc.WorkerID(), "args", proc.Args())

	fail := func(format string, args ...any) (*Worker, error) {
		msg := fmt.Sprintf(format, args...)
		w.kill()
		if tail := proc.StderrTail(); len(tail) > 0 {
			msg += "; worker stderr:\n" + strings.Join(tail, "\n")
		}
		return nil, errors.New(msg)
	}

	// docs/host-contract.md §2.1 A / docs/host-contract.md §2.17: StartStream must arrive within processStartupTimeout.
	startTimer := time.NewTimer(w.cfg.Process.ProcessStartupTimeout)
	defer startTimer.Stop()
	select {
	case <-w.stream.Started():
	case <-proc.Done():
		return fail("starting worker process failed: it exited with code %d before opening the gRPC stream", proc.ExitCode())
	case <-startTimer.C:
		return fail("starting worker process failed: no StartStream within processStartupTimeout %s", w.cfg.Process.ProcessStartupTimeout)
	case <-ctx.Done():
		return fail("starting worker process: %v", ctx.Err())
	}
	go w.dispatch()
	go func() {
		<-proc.Done()
		err := fmt.Errorf("%w: process exited with code %d", ErrWorkerDone, proc.ExitCode())
		if tail := proc.StderrTail(); proc.ExitCode() != 0 && len(tail) > 0 {
			// The host's exit error carries the last stderr error lines (docs/host-contract.md §1.6).
			err = fmt.Errorf("%w; stderr:\n%s", err, strings.Join(tail[max(0, len(tail)-3):], "\n"))
		}
		w.end(err)
	}()

	// docs/host-contract.md §2.3 WorkerInitRequest.
	initCh := w.expect("WorkerInitResponse")
	init := &rpc.WorkerInitRequest{
		HostVersion:          o.HostVersion,
		Capabilities:         map[string]string{"MultiStream": "10"},
		WorkerDirectory:      w.cfg.Dir,
		FunctionAppDirectory: w.appDir,
	}
	if init.HostVersion == "" {
		init.HostVersion = DefaultHostVersion
	}
	if err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerInitRequest{WorkerInitRequest: init}}); err != nil {
		return fail("initializing worker process failed: %v", err)
	}
	initTimer := time.NewTimer(w.cfg.Process.InitializationTimeout)
	defer initTimer.Stop()
	var resp *rpc.WorkerInitResponse
	select {
	case m := <-initCh:
		resp = m.GetWorkerInitResponse()
	case <-w.done:
		// Give the exit code a moment to be known for the message.
		select {
		case <-proc.Done():
		case <-time.After(time.Second):
		}
		return fail("initializing worker process failed: %v", w.doneErr)
	case <-initTimer.C:
		return fail("initializing worker process failed: no WorkerInitResponse within initializationTimeout %s", w.cfg.Process.InitializationTimeout)
	case <-ctx.Done():
		return fail("initializing worker process: %v", ctx.Err())
	}
	if resp.GetResult() == nil {
		return fail("initializing worker process failed: WorkerInitResponse has no result")
	}
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		return fail("initializing worker process failed: result %s: %s", resp.GetResult().GetStatus(), resp.GetResult().GetException().GetMessage())
	}
	w.mu.Lock()
	for k, v := range resp.GetCapabilities() { // merge (docs/host-contract.md §2.4)
		w.caps[k] = v
	}
	w.meta = &rpc.WorkerMetadata{}
	if m := resp.GetWorkerMetadata(); m != nil {
		w.meta = &rpc.WorkerMetadata{RuntimeName: m.RuntimeName, RuntimeVersion: m.RuntimeVersion,
			WorkerVersion: m.WorkerVersion, WorkerBitness: m.WorkerBitness, CustomProperties: m.CustomProperties}
	}
	if w.meta.RuntimeName == "" {
		w.meta.RuntimeName = w.cfg.Language
	}
	if w.meta.RuntimeVersion == "" {
		w.meta.RuntimeVersion = w.cfg.DefaultRuntimeVersion
	}
	w.mu.Unlock()
	w.log.Info("worker initialized", "workerId", proc.WorkerID(), "capabilities", w.Capabilities())
	return w, nil
}

// Capabilities returns the worker's capabilities as the host stores them.
func (w *Worker) Capabilities() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.caps))
	for k, v := range w.caps {
		out[k] = v
	}
	return out
}

// HasCapability applies the host's usual test (docs/host-contract.md §2.4): the capability is on
// when its value is non-empty — even "false".
func (w *Worker) HasCapability(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.caps[name] != ""
}

// Metadata is the worker's WorkerMetadata, with runtime name and version
// defaulted from the config as the host does (docs/host-contract.md §2.3).
func (w *Worker) Metadata() *rpc.WorkerMetadata {
	w.mu.Lock()
	defer w.mu.Unlock()
	return proto.Clone(w.meta).(*rpc.WorkerMetadata)
}

// Process is the worker's process.
func (w *Worker) Process() *Process { return w.proc }

// Done is closed when the worker process exited or its stream ended.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Err says why Done was closed (nil while the worker runs).
func (w *Worker) Err() error {
	select {
	case <-w.done:
		return w.doneErr
	default:
		return nil
	}
}

func (w *Worker) end(err error) {
	w.doneOnce.Do(func() {
		w.doneErr = err
		close(w.done)
		w.log.Info("worker done", "workerId", w.proc.WorkerID(), "reason", err)
		w.closeOwnServer()
	})
}

func (w *Worker) closeOwnServer() {
	if w.ownSrv {
		go w.srv.Close()
	}
}

func (w *Worker) kill() {
	w.proc.Kill()
	w.stream.Close()
	<-w.proc.Done()
	w.end(fmt.Errorf("%w: killed", ErrWorkerDone))
}

// expect registers a one-shot wait for the next message of a type, like the
// host's pending-callback queues (docs/host-contract.md §2.1).
func (w *Worker) expect(kind string) chan *rpc.StreamingMessage {
	ch := make(chan *rpc.StreamingMessage, 1)
	w.mu.Lock()
	w.fifo[kind] = append(w.fifo[kind], ch)
	w.mu.Unlock()
	return ch
}

func (w *Worker) unexpect(kind string, ch chan *rpc.StreamingMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.fifo[kind]
	for i, c := range q {
		if c == ch {
			w.fifo[kind] = append(q[:i:i], q[i+1:]...)
			return
		}
	}
}

func messageKind(m *rpc.StreamingMessage) string {
	name := fmt.Sprintf("%T", m.GetContent())
	return strings.TrimPrefix(name, "*rpc.StreamingMessage_")
}

// dispatch reads every worker message and routes it (docs/host-contract.md §2.1 dispatch model).
func (w *Worker) dispatch() {
	for m := range w.stream.Recv() {
		switch c := m.GetContent().(type) {
		case *rpc.StreamingMessage_RpcLog:
			w.routeLog(c.RpcLog)
		case *rpc.StreamingMessage_InvocationResponse:
			id := c.InvocationResponse.GetInvocationId()
			w.mu.Lock()
			inv := w.invocations[id]
			delete(w.invocations, id)
			w.mu.Unlock()
			if inv == nil {
				w.strays.Add(1)
				w.log.Debug("ignoring InvocationResponse for an unknown invocation", "invocationId", id)
				continue
			}
			inv.resp <- c.InvocationResponse
		case *rpc.StreamingMessage_WorkerStatusResponse:
			w.mu.Lock()
			ch := w.statuses[m.GetRequestId()]
			delete(w.statuses, m.GetRequestId())
			w.mu.Unlock()
			if ch == nil {
				w.log.Debug("ignoring WorkerStatusResponse with an unknown request id", "requestId", m.GetRequestId())
				continue
			}
			close(ch)
		case *rpc.StreamingMessage_FunctionLoadResponse:
			w.routeLoad(c.FunctionLoadResponse)
		default:
			kind := messageKind(m)
			w.mu.Lock()
			var ch chan *rpc.StreamingMessage
			if q := w.fifo[kind]; len(q) > 0 {
				ch, w.fifo[kind] = q[0], q[1:]
			}
			w.mu.Unlock()
			if ch == nil {
				w.log.Debug("ignoring worker message nobody waits for", "type", kind)
				continue
			}
			ch <- m
		}
	}
	w.end(fmt.Errorf("%w: the gRPC stream ended", ErrWorkerDone))
}

// routeLog applies docs/host-contract.md §2.15: System logs and logs of no live invocation go to
// OnLog; User and CustomMetric logs of a live invocation go to its onLog.
func (w *Worker) routeLog(l *rpc.RpcLog) {
	if l.GetLogCategory() != rpc.RpcLog_System {
		w.mu.Lock()
		inv := w.invocations[l.GetInvocationId()]
		w.mu.Unlock()
		if inv != nil {
			if inv.onLog != nil {
				inv.onLog(l)
			}
			return
		}
		w.log.Debug("RpcLog without a matching invocation in flight (the host drops it)", "invocationId", l.GetInvocationId())
	}
	if w.opts.OnLog != nil {
		w.opts.OnLog(l)
	}
}

func (w *Worker) routeLoad(r *rpc.FunctionLoadResponse) {
	id := r.GetFunctionId()
	w.mu.Lock()
	b := w.loads[id]
	delete(w.loads, id)
	var pending []*loadBatch
	if b == nil {
		for _, pb := range w.loads {
			pending = append(pending, pb)
		}
	}
	w.mu.Unlock()
	if b == nil {
		// docs/host-contract.md §2.6: an unknown id is a load error (inferred), failing the waiting loads.
		err := fmt.Errorf("worker answered FunctionLoadResponse for unknown function id %q", id)
		if len(pending) == 0 {
			w.log.Debug(err.Error())
		}
		for _, pb := range pending {
			pb.finish(err)
		}
		return
	}
	b.mu.Lock()
	b.results[id] = r
	b.waiting--
	last := b.waiting == 0
	b.mu.Unlock()
	if last {
		b.finish(nil)
	}
}

// LoadedFunction is the outcome of loading one function.
type LoadedFunction struct {
	ID       string // the function id: the host's GUID, or the worker's with worker indexing
	Function *funcapp.Function
	Err      error // the worker's load failure, or nil
}

// Load sends one FunctionLoadRequest per function, filled as docs/host-contract.md §4.2 says
// (disabled functions last, §2.6), and waits for every response within
// max(FunctionTimeout, 1 min). A function whose load failed makes later
// Invoke calls for its id fail without reaching the worker, as in the host.
func (w *Worker) Load(ctx context.Context, fns []*funcapp.Function) ([]LoadedFunction, error) {
	return w.LoadIndexed(ctx, fns, nil)
}

// Indexed is what the worker answered for one function in its
// FunctionMetadataResponse that the host sends back when it loads it.
type Indexed struct {
	// ID is the worker's function_id.
	ID string
	// Properties are the worker's properties of the function; the host
	// copies them into FunctionLoadRequest.metadata.properties (with
	// "FunctionId" set to ID).
	Properties map[string]string
}

// LoadIndexed is Load for functions the worker indexed (worker indexing,
// docs/host-contract.md §2.5, §2.6): each function f of fns is loaded
// under as[f].ID, with as[f].Properties in its metadata. A function missing
// from as gets a fresh GUID, as with Load.
func (w *Worker) LoadIndexed(ctx context.Context, fns []*funcapp.Function, as map[*funcapp.Function]Indexed) ([]LoadedFunction, error) {
	ordered := append([]*funcapp.Function{}, fns...)
	sort.SliceStable(ordered, func(i, j int) bool { return !ordered[i].Disabled && ordered[j].Disabled })
	out := make([]LoadedFunction, len(ordered))
	b := &loadBatch{results: map[string]*rpc.FunctionLoadResponse{}, waiting: len(ordered), done: make(chan struct{})}
	if len(ordered) == 0 {
		return out, nil
	}
	msgs := make([]*rpc.StreamingMessage, len(ordered))
	w.mu.Lock()
	for i, f := range ordered {
		ix, indexed := as[f]
		id := ix.ID
		if id == "" {
			id = uuid.NewString()
		}
		out[i] = LoadedFunction{ID: id, Function: f}
		w.loads[id] = b
		req := FunctionLoadRequest(id, f)
		if indexed {
			props := map[string]string{}
			for k, v := range ix.Properties {
				props[k] = v
			}
			for k, v := range req.Metadata.Properties {
				props[k] = v
			}
			req.Metadata.Properties = props
		}
		msgs[i] = &rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: req}}
	}
	w.mu.Unlock()
	cleanup := func() {
		w.mu.Lock()
		for _, lf := range out {
			if w.loads[lf.ID] == b {
				delete(w.loads, lf.ID)
			}
		}
		w.mu.Unlock()
	}
	for _, m := range msgs {
		if err := w.stream.Send(m); err != nil {
			cleanup()
			return nil, fmt.Errorf("loading functions: %w (%v)", ErrWorkerDone, err)
		}
	}
	deadline := w.loadTimeout()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	select {
	case <-b.done:
	case <-w.done:
		cleanup()
		return nil, fmt.Errorf("loading functions: %w", w.doneErr)
	case <-timer.C:
		cleanup()
		return nil, fmt.Errorf("loading function failed: no FunctionLoadResponse for every function within %s", deadline)
	case <-ctx.Done():
		cleanup()
		return nil, fmt.Errorf("loading functions: %w", ctx.Err())
	}
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("loading function failed: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range out {
		r := b.results[out[i].ID]
		if r.GetResult().GetStatus() != rpc.StatusResult_Success {
			// The worker's message names the function (docs/worker-rules.md);
			// only a response without one gets a name here.
			msg := r.GetResult().GetException().GetMessage()
			switch {
			case r.GetResult() == nil:
				msg = fmt.Sprintf("function %s failed to load: FunctionLoadResponse has no result", out[i].Function.Name)
			case msg == "":
				msg = fmt.Sprintf("function %s failed to load: result %s", out[i].Function.Name, r.GetResult().GetStatus())
			}
			out[i].Err = errors.New(msg)
			w.failedLoads[out[i].ID] = out[i].Err.Error()
		}
	}
	return out, nil
}

func (w *Worker) loadTimeout() time.Duration {
	ft := w.opts.FunctionTimeout
	switch {
	case ft == 0:
		ft = 30 * time.Minute
	case ft < 0:
		ft = time.Minute
	}
	return max(ft, time.Minute)
}

// FunctionLoadRequest builds the request the host sends for f (docs/host-contract.md §4.2):
// name, directory, script_file, entry_point, bindings without properties,
// properties {"FunctionId": id} (plus "IsDisabled": "True" for a disabled
// function); metadata.function_id is left empty.
func FunctionLoadRequest(id string, f *funcapp.Function) *rpc.FunctionLoadRequest {
	md := &rpc.RpcFunctionMetadata{
		Name:       f.Name,
		Directory:  f.Dir,
		ScriptFile: f.ScriptFile,
		EntryPoint: f.EntryPoint,
		Bindings:   map[string]*rpc.BindingInfo{},
		Properties: map[string]string{"FunctionId": id},
	}
	if f.Disabled {
		md.Properties["IsDisabled"] = "True"
	}
	for _, b := range f.Bindings {
		bi := &rpc.BindingInfo{Type: b.Type}
		switch b.Direction {
		case "out":
			bi.Direction = rpc.BindingInfo_out
		case "inout":
			bi.Direction = rpc.BindingInfo_inout
		}
		switch b.DataType {
		case "string":
			bi.DataType = rpc.BindingInfo_string
		case "binary":
			bi.DataType = rpc.BindingInfo_binary
		case "stream":
			bi.DataType = rpc.BindingInfo_stream
		}
		md.Bindings[b.Name] = bi
	}
	return &rpc.FunctionLoadRequest{FunctionId: id, Metadata: md}
}

// StrayResponses counts the InvocationResponses that answered no invocation
// in flight: a second answer to one request, or an answer nobody asked for.
// The host drops them; a correct worker sends none.
func (w *Worker) StrayResponses() int64 { return w.strays.Load() }

// Invoke sends req without waiting for other invocations and waits for its
// InvocationResponse. User logs of this invocation go to onLog until the
// response arrives (docs/host-contract.md §2.15). When ctx ends and the worker advertised
// HandlesInvocationCancelMessage, InvocationCancel is sent and Invoke keeps
// waiting for the response (docs/host-contract.md §2.8); without it Invoke returns ctx's error at
// once. An empty req.TraceContext is filled in, as the host always sends one.
func (w *Worker) Invoke(ctx context.Context, req *rpc.InvocationRequest, onLog func(*rpc.RpcLog)) (*rpc.InvocationResponse, error) {
	id := req.GetInvocationId()
	if id == "" {
		return nil, errors.New("invoke: empty invocation id")
	}
	if req.TraceContext == nil {
		req.TraceContext = &rpc.RpcTraceContext{}
	}
	inv := &invocation{onLog: onLog, resp: make(chan *rpc.InvocationResponse, 1)}
	w.mu.Lock()
	if msg, failed := w.failedLoads[req.GetFunctionId()]; failed {
		w.mu.Unlock()
		return nil, errors.New(msg)
	}
	if _, dup := w.invocations[id]; dup {
		w.mu.Unlock()
		return nil, fmt.Errorf("invoke: invocation %s is already in flight", id)
	}
	w.invocations[id] = inv
	w.mu.Unlock()
	drop := func() {
		w.mu.Lock()
		if w.invocations[id] == inv {
			delete(w.invocations, id)
		}
		w.mu.Unlock()
	}
	if err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: req}}); err != nil {
		drop()
		return nil, fmt.Errorf("invoke %s: %w (%v)", id, ErrWorkerDone, err)
	}
	cancelCh := ctx.Done()
	for {
		select {
		case r := <-inv.resp:
			return r, nil
		case <-w.done:
			drop()
			// A response may have raced with the end.
			select {
			case r := <-inv.resp:
				return r, nil
			default:
			}
			return nil, fmt.Errorf("invoke %s: %w", id, w.doneErr)
		case <-cancelCh:
			if !w.HasCapability(CapHandlesInvocationCancelMessage) {
				drop()
				return nil, fmt.Errorf("invoke %s: %w", id, ctx.Err())
			}
			cancelCh = nil // send InvocationCancel once, then wait for the response
			err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: id}}})
			if err != nil {
				drop()
				return nil, fmt.Errorf("invoke %s: cancel: %w (%v)", id, ErrWorkerDone, err)
			}
		}
	}
}

// Status sends WorkerStatusRequest with a fresh GUID request_id and waits
// for the WorkerStatusResponse with the same request_id (docs/host-contract.md §2.9); the host
// waits without a timeout, so only ctx bounds it. It returns the round-trip
// time. Without the WorkerStatus capability the host never asks, and
// Status returns an error.
func (w *Worker) Status(ctx context.Context) (time.Duration, error) {
	if !w.HasCapability(CapWorkerStatus) {
		return 0, errors.New("worker status: the worker did not advertise the WorkerStatus capability")
	}
	rid := uuid.NewString()
	ch := make(chan struct{})
	w.mu.Lock()
	w.statuses[rid] = ch
	w.mu.Unlock()
	drop := func() {
		w.mu.Lock()
		delete(w.statuses, rid)
		w.mu.Unlock()
	}
	start := time.Now()
	if err := w.stream.Send(&rpc.StreamingMessage{RequestId: rid, Content: &rpc.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpc.WorkerStatusRequest{}}}); err != nil {
		drop()
		return 0, fmt.Errorf("worker status: %w (%v)", ErrWorkerDone, err)
	}
	select {
	case <-ch:
		return time.Since(start), nil
	case <-w.done:
		drop()
		return 0, fmt.Errorf("worker status: %w", w.doneErr)
	case <-ctx.Done():
		drop()
		return 0, fmt.Errorf("worker status: %w", ctx.Err())
	}
}

// ReloadEnvironment sends FunctionEnvironmentReloadRequest (docs/host-contract.md §2.11): env
// without empty values, plus FUNCTIONS_WORKER_DIRECTORY and
// FUNCTIONS_APPLICATION_DIRECTORY when absent (nil env → the worker's start
// environment), and appDir ("" → the current app directory). It waits
// EnvironmentReloadTimeout for the response, requires Success, and applies
// the returned capabilities with the requested strategy (merge or replace).
func (w *Worker) ReloadEnvironment(ctx context.Context, env map[string]string, appDir string) (*rpc.FunctionEnvironmentReloadResponse, error) {
	if appDir == "" {
		appDir = w.appDir
	}
	vars := map[string]string{}
	if env == nil {
		base := w.opts.Env
		if base == nil {
			base = os.Environ()
		}
		env = map[string]string{}
		for _, kv := range base {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	for k, v := range env {
		if v != "" {
			vars[k] = v
		}
	}
	if _, ok := vars["FUNCTIONS_WORKER_DIRECTORY"]; !ok {
		vars["FUNCTIONS_WORKER_DIRECTORY"] = w.cfg.Dir
	}
	if _, ok := vars["FUNCTIONS_APPLICATION_DIRECTORY"]; !ok {
		vars["FUNCTIONS_APPLICATION_DIRECTORY"] = appDir
	}
	ch := w.expect("FunctionEnvironmentReloadResponse")
	req := &rpc.FunctionEnvironmentReloadRequest{EnvironmentVariables: vars, FunctionAppDirectory: appDir}
	if err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionEnvironmentReloadRequest{FunctionEnvironmentReloadRequest: req}}); err != nil {
		w.unexpect("FunctionEnvironmentReloadResponse", ch)
		return nil, fmt.Errorf("environment reload: %w (%v)", ErrWorkerDone, err)
	}
	timeout := w.cfg.Process.EnvironmentReloadTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var resp *rpc.FunctionEnvironmentReloadResponse
	select {
	case m := <-ch:
		resp = m.GetFunctionEnvironmentReloadResponse()
	case <-w.done:
		w.unexpect("FunctionEnvironmentReloadResponse", ch)
		return nil, fmt.Errorf("environment reload: %w", w.doneErr)
	case <-timer.C:
		w.unexpect("FunctionEnvironmentReloadResponse", ch)
		return nil, fmt.Errorf("environment reload: no response within environmentReloadTimeout %s", timeout)
	case <-ctx.Done():
		w.unexpect("FunctionEnvironmentReloadResponse", ch)
		return nil, fmt.Errorf("environment reload: %w", ctx.Err())
	}
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		return resp, fmt.Errorf("environment reload failed: result %s: %s", resp.GetResult().GetStatus(), resp.GetResult().GetException().GetMessage())
	}
	w.mu.Lock()
	if resp.GetCapabilitiesUpdateStrategy() == rpc.FunctionEnvironmentReloadResponse_replace {
		w.caps = map[string]string{}
	}
	for k, v := range resp.GetCapabilities() {
		w.caps[k] = v
	}
	w.appDir = appDir
	w.mu.Unlock()
	return resp, nil
}

// Terminate stops the worker as the host disposes a channel (docs/host-contract.md §2.10): with
// HandlesWorkerTerminateMessage it sends WorkerTerminate{grace_period} and
// waits up to grace for the process to exit; then (or at once without the
// capability) it kills the process and waits up to one more second. It
// returns the exit code (137 when killed). grace <= 0 means 5 s.
func (w *Worker) Terminate(grace time.Duration) int {
	if grace <= 0 {
		grace = DefaultTerminateGrace
	}
	select {
	case <-w.proc.Done():
	default:
		if w.HasCapability(CapHandlesWorkerTerminateMessage) {
			err := w.stream.Send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerTerminate{WorkerTerminate: &rpc.WorkerTerminate{GracePeriod: durationpb.New(grace)}}})
			if err == nil {
				t := time.NewTimer(grace)
				select {
				case <-w.proc.Done():
				case <-t.C:
				}
				t.Stop()
			}
		}
		w.proc.Kill()
		select {
		case <-w.proc.Done():
		case <-time.After(time.Second):
		}
	}
	w.stream.Close()
	w.end(fmt.Errorf("%w: terminated", ErrWorkerDone))
	return w.proc.ExitCode()
}
