package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/customhandler"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/outbound"
)

// FunctionSpec says what to load for one function.
type FunctionSpec struct {
	// Name and Bindings describe the function (function.json).
	invocation.Function
	// Path is the .wasm file.
	Path string
	// EntryPoint selects the export of an ABI module ("" means
	// abi.DefaultEntryPoint); command modules ignore it.
	EntryPoint string
	Limits     Limits
	Grants     Grants
}

// Function is one loaded function: its module and the executor of its guest
// kind. Both kinds run through Invoke, which enforces the limits that apply
// to every invocation (deadline, instances) in one place; the executors add
// only what their contract needs. A Function is safe for concurrent use.
type Function struct {
	fn   invocation.Function
	mod  *Module
	exec executor
	out  *outbound.Client // set when the module imports the outbound functions
}

// executor runs one invocation of one guest kind, after Function.Invoke has
// admitted it. Every failure it returns is a *RunError.
type executor interface {
	invoke(ctx context.Context, lv *liveModule, req *invocation.Request, logf func(invocation.Log)) (*invocation.Result, error)
}

// LoadFunction loads the module of spec and picks the executor of its kind
// (told apart by abi.Check at compile time). Errors say what to change;
// they do not repeat the function's name, which the caller adds once.
func (e *Engine) LoadFunction(ctx context.Context, spec FunctionSpec) (*Function, error) {
	mod, err := e.LoadWithGrants(ctx, spec.Path, spec.Limits, spec.Grants)
	if err != nil {
		return nil, err
	}
	f := &Function{fn: spec.Function, mod: mod}
	if mod.outbound {
		// One client per function: its grant, and connections kept for
		// its later invocations.
		if f.out, err = outbound.NewClient(spec.Grants.Outbound, outbound.Options{}); err != nil {
			_ = mod.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("outbound HTTP: %w", err)
		}
	}
	switch mod.Mode() {
	case ABI:
		entry, err := mod.Entry(spec.EntryPoint)
		if err != nil {
			_ = mod.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		f.exec = &abiExecutor{mod: mod, entry: entry, fn: spec.Function}
	default:
		f.exec = &commandExecutor{mod: mod, fn: spec.Function, env: mod.grants.Env}
	}
	return f, nil
}

// Mode reports the function's guest kind.
func (f *Function) Mode() Mode { return f.mod.Mode() }

// Module returns the function's module.
func (f *Function) Module() *Module { return f.mod }

// Close releases the function's module and its outbound connections.
func (f *Function) Close(ctx context.Context) error {
	if f.out != nil {
		f.out.Close()
	}
	return f.mod.Close(ctx)
}

// Invoke runs one invocation. logf, when set, receives the guest's log
// entries in order, on the calling goroutine, before Invoke returns. On
// success it returns the outputs; every failure is a *RunError whose Kind
// says why (a guest-reported failure is GuestError). A guest that returns
// normally after the invocation's deadline or cancel (a sleep cut short, a
// last long instruction) fails with DeadlineExceeded or Canceled: an
// invocation that ran past its deadline is never a success.
func (f *Function) Invoke(ctx context.Context, req *invocation.Request, logf func(invocation.Log)) (res *invocation.Result, err error) {
	if logf == nil {
		logf = discardLog
	}
	ctx, adm, rerr := f.mod.admit(ctx)
	if rerr != nil {
		return nil, rerr
	}
	defer adm.release()
	budget := adm.budget
	if f.out != nil {
		// Requests live as long as the invocation: its deadline and
		// cancellation abort them, and its end closes what is open.
		s := f.out.NewSession(ctx)
		defer s.Close()
		ctx = outbound.WithSession(ctx, s)
	}
	res, err = f.exec.invoke(ctx, adm.live, req, logf)
	// A success, or a command's output cut short, after the deadline is the
	// deadline's failure.
	if err == nil {
		if over := f.mod.overdue(ctx, budget); over != nil {
			return nil, over
		}
		return res, nil
	}
	var re *RunError // declared here: errors.As would allocate it on every invocation
	if !errors.As(err, &re) {
		return res, err
	}
	if re.Kind == InvalidOutput {
		if over := f.mod.overdue(ctx, budget); over != nil {
			over.StderrTail = re.StderrTail
			return nil, over
		}
	}
	if re.Kind == DeadlineExceeded && re.Deadline == 0 {
		re.Deadline = budget
	}
	return res, err
}

// overdue returns the failure of a run that succeeded although its context
// had ended (or its deadline passed) by the time it returned, or nil. It is
// the last check of Function.Invoke, Module.RunCommand and Module.Invoke.
func (m *Module) overdue(ctx context.Context, budget time.Duration) *RunError {
	if _, done := ctxKind(ctx); !done {
		if d, ok := ctx.Deadline(); !ok || time.Now().Before(d) {
			return nil
		}
		awaitDeadline(ctx) // passed, but its timer has not run yet
	}
	k, done := ctxKind(ctx)
	if !done {
		k = DeadlineExceeded
	}
	re := &RunError{Kind: k, Path: m.path, Detail: "the guest returned only after the invocation had ended; its result is discarded"}
	if k == DeadlineExceeded {
		re.Deadline = budget
	}
	if cause := endCause(ctx); cause != nil {
		re.Detail += "; " + cause.Error()
	}
	return re
}

func discardLog(invocation.Log) {}

// admit applies Limits.Timeout on top of ctx's deadline, takes one of the
// module's instance slots, waiting while all are busy until ctx ends, and
// holds the module's compiled code for the invocation, materializing a lazy
// module. It is the one place where both limits are enforced, for both
// guest kinds.
func (m *Module) admit(ctx context.Context) (_ context.Context, a admission, _ *RunError) {
	if m.closed.Load() {
		return ctx, a, &RunError{Kind: Instantiate, Path: m.path, Detail: "the module was closed"}
	}
	if d, ok := ctx.Deadline(); ok {
		a.budget = time.Until(d)
	}
	if t := m.lim.Timeout; t > 0 && (a.budget == 0 || t < a.budget) {
		ctx, a.cancel = context.WithTimeoutCause(ctx, t, &timeoutError{limit: t})
		a.budget = t
	}
	if err := m.acquire(ctx); err != nil {
		if a.cancel != nil {
			a.cancel()
		}
		err.Deadline = a.budget
		return ctx, a, err
	}
	a.m = m
	// A lazy module is compiled here, on its first invocation (lazy.go).
	lv, err := m.use(ctx)
	if err != nil {
		a.release()
		if err.Kind == DeadlineExceeded {
			err.Deadline = a.budget
		}
		return ctx, admission{}, err
	}
	a.live = lv
	return ctx, a, nil
}

// admission is what admit took; release gives it back. A value, so that
// admitting allocates nothing beyond a Timeout's context.
type admission struct {
	m      *Module
	live   *liveModule // the module's compiled code, held until release
	cancel context.CancelFunc
	budget time.Duration // the time the invocation has (0: no deadline)
}

func (a admission) release() {
	if a.live != nil {
		a.m.done()
	}
	if a.m != nil {
		a.m.release()
	}
	if a.cancel != nil {
		a.cancel()
	}
}

// commandExecutor runs a WASI command in a fresh instance per invocation,
// with the custom-handler JSON on stdin and stdout (abi/COMMAND.md).
type commandExecutor struct {
	mod *Module
	fn  invocation.Function
	env map[string]string
}

// ioBufs holds buffers for the request JSON a command run reads and the
// response it writes: the guest copies stdin in and stdout out, so a
// buffer is free again once the run and the decoding are over.
var ioBufs = sync.Pool{New: func() any { return new([]byte) }}

func init() {
	// Every command-mode request carries a new random GUID
	// (Metadata.sys.RandGuid). With the pool, google/uuid reads the
	// randomness for 16 of them at once, and a GUID costs one allocation
	// (its text) instead of two.
	uuid.EnableRandPool()
}

// maxPooledIO is the largest buffer kept for reuse; a larger one (a big
// request or response) is left to the garbage collector.
const maxPooledIO = 64 << 10

// putIOBuf gives buf back to ioBufs with b's array, which was appended
// from *buf.
func putIOBuf(buf *[]byte, b []byte) {
	if cap(b) <= maxPooledIO {
		*buf = b[:0]
		ioBufs.Put(buf)
	}
}

func (x *commandExecutor) invoke(ctx context.Context, lv *liveModule, req *invocation.Request, logf func(invocation.Log)) (*invocation.Result, error) {
	buf := ioBufs.Get().(*[]byte)
	stdin, err := customhandler.AppendRequest((*buf)[:0], x.fn, req, time.Now().UTC(), uuid.NewString())
	if err != nil {
		ioBufs.Put(buf)
		return nil, &RunError{Kind: InvalidInput, Path: x.mod.path, Detail: err.Error()}
	}
	obuf := ioBufs.Get().(*[]byte)
	out, err := x.mod.runCommand(ctx, lv, CommandInput{
		Stdin:     stdin,
		Env:       x.env,
		StderrLog: logf,
		StdoutBuf: *obuf,
	})
	putIOBuf(buf, stdin)
	if err != nil {
		return nil, err // its RunError may hold stdout: obuf is not reused
	}
	// The decoded response copies what it keeps of stdout.
	res, err := customhandler.DecodeResponse(x.fn, out.Stdout)
	putIOBuf(obuf, out.Stdout)
	if err != nil {
		return nil, &RunError{Kind: InvalidOutput, Path: x.mod.path, Detail: err.Error(), StderrTail: out.StderrTail}
	}
	if re := x.chargeElements(len(out.Stdout), res); re != nil {
		re.StderrTail = out.StderrTail
		return nil, re
	}
	// The "Logs" array shares the log budget with stderr, each entry
	// charged with what forwarding it costs besides its text.
	budget := x.mod.lim.MaxStderrBytes
	for i, l := range res.Logs {
		budget -= len(l) + logEntryCost
		if budget < 0 {
			return nil, &RunError{Kind: LogLimit, Path: x.mod.path, Limit: x.mod.lim.MaxStderrBytes,
				Detail: fmt.Sprintf("the response's \"Logs\" array has %d entries; the %d that fit were forwarded", len(res.Logs), i)}
		}
		logf(invocation.Log{Level: invocation.LevelInformation, Message: l})
	}
	return &res.Result, nil
}

// chargeElements charges every element of an array output (and return
// value) invocation.OutputElementCost on top of the stdout the guest wrote,
// against the stdout limit: the host makes a message of each element.
func (x *commandExecutor) chargeElements(stdout int, res *customhandler.Result) *RunError {
	limit := x.mod.lim.MaxStdoutBytes
	total := stdout
	charge := func(name string, v *invocation.Value) *RunError {
		n := v.Elements()
		if total += n * invocation.OutputElementCost; total <= limit {
			return nil
		}
		return &RunError{Kind: StdoutLimit, Path: x.mod.path, Limit: limit,
			Detail: fmt.Sprintf("output %s is an array of %d elements; the host makes a message of each, so each counts %d bytes besides its text; nothing was sent",
				name, n, invocation.OutputElementCost)}
	}
	for _, o := range res.Outputs {
		if re := charge(o.Name, o.Value); re != nil {
			return re
		}
	}
	if res.Return != nil {
		return charge("$return", res.Return)
	}
	return nil
}

// logEntryCost is what forwarding one log entry costs the worker beyond its
// text (the entry, its RpcLog message and its encoding), charged against
// the log budget.
const logEntryCost = 64

// abiExecutor runs an entry point of an ABI v1 module on a warm instance
// (abi/SPEC.md).
type abiExecutor struct {
	mod   *Module
	entry string
	fn    invocation.Function // its name answers CONTEXT function_name
}

func (x *abiExecutor) invoke(ctx context.Context, lv *liveModule, req *invocation.Request, logf func(invocation.Log)) (*invocation.Result, error) {
	inv := abi.NewInvocation(req, x.fn)
	callErr := lv.pool.Invoke(ctx, x.entry, inv)
	outputs, ret, logs, err := inv.Result()
	if err == nil && callErr != nil {
		err = callErr
	}
	for _, l := range logs {
		logf(l)
	}
	if err == nil {
		return &invocation.Result{Outputs: outputs, Return: ret}, nil
	}
	return nil, x.mod.abiFailure(ctx, x.entry, err)
}

// abiFailure turns what an ABI call returned into a *RunError.
func (m *Module) abiFailure(ctx context.Context, entry string, err error) *RunError {
	var fe *abi.FunctionError
	if errors.As(err, &fe) {
		return &RunError{Kind: GuestError, Path: m.path, Detail: fe.Message, ExitCode: uint32(fe.Status)}
	}
	if k, done := ctxKind(ctx); done {
		re := &RunError{Kind: k, Path: m.path, Detail: "entry point " + entry}
		if cause := endCause(ctx); cause != nil {
			re.Detail += ": " + cause.Error()
		}
		return re
	}
	var ce *abi.CallError
	if errors.As(err, &ce) {
		if code, ok := ce.ExitCode(); ok {
			return &RunError{Kind: Exit, ExitCode: code, Path: m.path, Detail: "entry point " + entry + " called proc_exit instead of returning"}
		}
		return &RunError{Kind: Trap, Path: m.path, Detail: "entry point " + entry + ": " + firstLines(ce.Err.Error(), 12)}
	}
	return &RunError{Kind: Internal, Path: m.path, Detail: err.Error()}
}
