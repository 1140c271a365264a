package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/linmem"
	"github.com/wasmworker/wasmworker/internal/reset"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// CommandInput is the input of one command-mode run.
type CommandInput struct {
	// Stdin is the guest's whole standard input.
	Stdin []byte
	// Args is argv; nil means [basename of the module file].
	Args []string
	// Env is the environment; nil means none at all.
	Env map[string]string
	// Stderr, when set, is called once per complete stderr line (without
	// "\n"), in order, while the guest runs, on the goroutine that called
	// RunCommand. It must not block for long: the guest waits for it.
	Stderr func(line string)
	// StderrLog, when set and Stderr is not, is called as Stderr would
	// be, with each line as an Information log (as Function.Invoke
	// forwards them, without a function made per run to wrap its logger).
	StderrLog func(invocation.Log)
	// StdoutBuf, when it has capacity, is where stdout is written
	// (from StdoutBuf[:0]), so that a caller can reuse one buffer for
	// many runs; CommandOutput.Stdout and RunError.Stdout then share its
	// array.
	StdoutBuf []byte
}

// CommandOutput is the result of a successful run.
type CommandOutput struct {
	// Stdout is everything the guest wrote to stdout.
	Stdout []byte
	// StderrTail holds the last (up to) 20 stderr lines.
	StderrTail []string
}

// FailureKind says why a run failed.
type FailureKind int

// The kinds of failure of a run.
const (
	// Trap: the guest hit a wasm trap (unreachable, out-of-bounds access,
	// stack overflow, ...), including the Go runtime's fatal errors.
	Trap FailureKind = iota + 1
	// Exit: the guest called proc_exit with a non-zero code (a Go guest
	// that panics exits with code 2).
	Exit
	// Canceled: the caller's context was canceled.
	Canceled
	// DeadlineExceeded: the caller's context reached its deadline.
	DeadlineExceeded
	// StdoutLimit: the guest wrote more than Limits.MaxStdoutBytes.
	StdoutLimit
	// MemoryLimit: the guest failed after running out of memory under
	// Limits.MemoryPages. This is a best guess from the guest's stderr and
	// memory size when it failed; otherwise such a failure is a Trap or Exit.
	MemoryLimit
	// Instantiate: no instance could be made (bad input, closed module,
	// resources); the guest did not run.
	Instantiate
	// Internal: a bug in this package or in wazero (a recovered panic).
	Internal
	// LogLimit: the guest wrote more stderr (logs) than
	// Limits.MaxStderrBytes; it is stopped, and what fit was forwarded.
	LogLimit
	// GuestError: an ABI entry point returned a non-zero status: a
	// failure the guest handled and described (Detail; ExitCode holds the
	// status).
	GuestError
	// InvalidInput: the invocation cannot be given to the guest (a value
	// its contract cannot carry); the guest did not run.
	InvalidInput
	// InvalidOutput: a command wrote stdout that is not a valid
	// custom-handler response.
	InvalidOutput
)

var kindNames = map[FailureKind]string{
	Trap: "trap", Exit: "exit", Canceled: "canceled", DeadlineExceeded: "deadline exceeded",
	StdoutLimit: "stdout limit", MemoryLimit: "memory limit", Instantiate: "instantiate", Internal: "internal",
	LogLimit: "log limit", GuestError: "guest error", InvalidInput: "invalid input", InvalidOutput: "invalid output",
}

func (k FailureKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("FailureKind(%d)", int(k))
}

// RunError is the error of every failed run.
type RunError struct {
	Kind     FailureKind
	ExitCode uint32 // for Exit
	// Detail is the specific message, e.g. a trap's text with the first
	// lines of the wasm stack trace.
	Detail     string
	StderrTail []string
	// Stdout is what the guest wrote before failing (at most the limit).
	Stdout []byte
	// Path is the module's file.
	Path string
	// Limit is the limit that was hit, for StdoutLimit (bytes) and
	// MemoryLimit (pages), and Limits.MaxInstances when a run ended while
	// waiting for a free instance.
	Limit int
	// Deadline is the time the run had, from the start of RunCommand to its
	// context's deadline, when it failed with DeadlineExceeded (0 if the
	// context had no deadline).
	Deadline time.Duration
}

// Error returns one paragraph: what happened, the detail, and the last
// stderr lines.
func (e *RunError) Error() string {
	var b strings.Builder
	name := e.Path
	if name == "" {
		name = "module"
	}
	b.WriteString("wasm ")
	b.WriteString(name)
	switch e.Kind {
	case Trap:
		b.WriteString(" trapped")
	case Exit:
		fmt.Fprintf(&b, " exited with code %d", e.ExitCode)
	case Canceled:
		b.WriteString(" was stopped because the invocation was canceled")
	case DeadlineExceeded:
		if e.Deadline > 0 {
			fmt.Fprintf(&b, " was stopped: invocation deadline of %v exceeded", e.Deadline.Round(time.Millisecond))
		} else {
			b.WriteString(" was stopped: invocation deadline exceeded")
		}
	case StdoutLimit:
		fmt.Fprintf(&b, " was stopped: stdout limit of %s (%d bytes) exceeded", bytesString(int64(e.Limit)), e.Limit)
	case LogLimit:
		fmt.Fprintf(&b, " was stopped: log limit of %s (%d bytes of stderr) per invocation exceeded", bytesString(int64(e.Limit)), e.Limit)
	case MemoryLimit:
		fmt.Fprintf(&b, " ran out of memory: memory limit of %s (%d pages) exceeded", pagesString(uint64(e.Limit)), e.Limit)
	case Instantiate:
		b.WriteString(" could not be instantiated")
	case GuestError:
		fmt.Fprintf(&b, " reported a failure (status %d)", int32(e.ExitCode))
	case InvalidInput:
		b.WriteString(" was not run: the invocation cannot be passed to it")
	case InvalidOutput:
		b.WriteString(" wrote a response that is not valid")
	default:
		fmt.Fprintf(&b, " failed (%s)", e.Kind)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Detail))
	}
	if n := len(e.StderrTail); n > 0 {
		fmt.Fprintf(&b, "; stderr (last %d lines): %s", n, strings.Join(e.StderrTail, " | "))
	}
	return b.String()
}

func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " | ")
}

// RunCommand runs the module once as a WASI command: it instantiates a fresh
// instance with in, calls _start and closes the instance. Exit code 0 is
// success; every failure is a *RunError. When ctx is canceled or its
// deadline (or Limits.Timeout) passes, the guest is stopped, even in an
// endless loop, a sleep or its start function; one that returns normally
// after that still fails (DeadlineExceeded or Canceled). When
// Limits.MaxInstances runs are already going, RunCommand waits for one to
// end, until ctx ends.
func (m *Module) RunCommand(ctx context.Context, in CommandInput) (out *CommandOutput, err error) {
	if m.abi != nil {
		return nil, &RunError{Kind: Instantiate, Path: m.path, Detail: "the module speaks the wasmworker ABI; run it with Invoke"}
	}
	ctx, adm, rerr := m.admit(ctx)
	budget := adm.budget
	if rerr != nil {
		return nil, rerr
	}
	defer adm.release()
	o, err := m.runCommand(ctx, adm.live, in)
	if err == nil {
		if re := m.overdue(ctx, budget); re != nil {
			re.Stdout, re.StderrTail = o.Stdout, o.StderrTail
			return nil, re
		}
		return &o, nil
	}
	if re, ok := err.(*RunError); ok && re.Kind == DeadlineExceeded {
		re.Deadline = budget
	}
	return nil, err
}

// runCommand is RunCommand once admitted (Module.admit).
func (m *Module) runCommand(ctx context.Context, lv *liveModule, in CommandInput) (out CommandOutput, err error) {
	if err := checkInput(in); err != nil {
		return CommandOutput{}, &RunError{Kind: Instantiate, Path: m.path, Detail: err.Error()}
	}
	if k, done := ctxKind(ctx); done { // do not make an instance for nothing
		re := &RunError{Kind: k, Path: m.path, Detail: "the guest never started: the invocation had ended before"}
		if cause := endCause(ctx); cause != nil {
			re.Detail += "; " + cause.Error()
		}
		return CommandOutput{}, re
	}
	// An instance reset after an earlier run (reuse.go), or a new one. Its
	// linear memory has a mapping of its own, held while the guest may
	// run: closing the instance gives it back to the system (or, when
	// small, zeroes it for the next instance; internal/linmem).
	var c *cmdInstance
	if in.Args == nil && lv.cmds != nil {
		c = lv.cmds.take(in.Env)
	}
	// A kept instance whose runtime was closed meanwhile has lost its
	// memory, or will as soon as it is no longer held.
	if c != nil && !c.mem.TryHold() {
		c = nil
	} else if c != nil && c.mod.IsClosed() {
		c.mem.Release()
		c = nil
	}
	fresh := c == nil
	if fresh {
		c = &cmdInstance{env: in.Env, mem: linmem.New()} // held once, for the instantiation
		c.stop = c.stopRun
	}
	c.stdin.Reset(in.Stdin)
	c.stdout = stdoutBuffer{buf: in.StdoutBuf[:0], limit: m.lim.MaxStdoutBytes, cancel: c.stop}
	c.stderr = stderrLines{fn: in.Stderr, log: in.StderrLog, maxLine: m.lim.MaxStderrLine, maxBytes: m.lim.MaxStderrBytes, cancel: c.stop}
	c.rctx = runContext{Context: ctx, c: c}
	c.stopped, c.cancel = nil, nil
	// runCtx is what the guest's calls see: the instance's own runContext,
	// which nothing reads once the run is over, so it is reused.
	var runCtx context.Context = &c.rctx
	if m.guard != guardFuel {
		// Not instrumented: wazero stops the guest only when its context
		// ends, so a stdio limit must end one of the run's own; and its
		// watch of that context is a goroutine that may outlive the run,
		// so the context it gets is made for this run and never changed.
		var cancel context.CancelCauseFunc
		c.rctx.Context, cancel = context.WithCancelCause(ctx)
		c.cancel = cancel
		defer cancel(nil)
		runCtx = &runContext{Context: c.rctx.Context, c: c}
	}
	keep := false
	defer func() {
		if r := recover(); r != nil {
			err = &RunError{Kind: Internal, Path: m.path, Stdout: c.stdout.buf, StderrTail: c.stderr.lastLines(),
				Detail: fmt.Sprintf("panic: %v\n%s", r, firstLines(string(debug.Stack()), 12))}
			out, keep = CommandOutput{}, false
		}
		c.rctx = runContext{}
		c.mem.Release() // the guest no longer runs
		m.endRun(lv, c, keep)
	}()

	if fresh {
		cfg := m.base.
			WithStdin(&c.stdin).
			WithStdout(&c.stdout).
			WithStderr(&c.stderr).
			WithNanosleep(c.sleep).
			WithRandSource(&c.rand)
		if in.Args != nil {
			cfg = cfg.WithArgs(in.Args...)
		}
		for _, k := range slices.Sorted(maps.Keys(in.Env)) {
			cfg = cfg.WithEnv(k, in.Env[k])
		}
		mod, err := lv.rt.InstantiateModule(c.mem.Context(runCtx), lv.cm, cfg)
		if err != nil {
			re := &RunError{Kind: Instantiate, Path: m.path, Detail: err.Error()}
			if m.closed.Load() {
				re.Detail = "the module was closed"
			}
			awaitDeadline(ctx) // a start function stopped by the guard
			if k, ok := ctxKind(ctx); ok {
				re.Kind = k
				if cause := endCause(ctx); cause != nil {
					re.Detail = cause.Error()
				} else {
					re.Detail = "stopped while the instance was being made (in its start function)"
				}
			}
			return CommandOutput{}, re
		}
		c.mod = mod
		if c.start = mod.ExportedFunction("_start"); c.start == nil { // checked at Load; kept so that nothing panics
			return CommandOutput{}, &RunError{Kind: Instantiate, Path: m.path, Detail: "no _start export"}
		}
		if lv.cmds != nil && in.Args == nil && lv.cmds.capturing() && !c.rand.Drew() { // a wasm start function may draw randomness
			if c.point = reset.Capture(mod, c.mem, guardModule); c.point == nil && !mod.IsClosed() {
				lv.cmds.misses.Store(maxResetMisses) // the module cannot be reset at all
			}
		}
	}
	c.run.Clear() // what a start function did is in the state a reset restores
	_, callErr := c.start.Call(runCtx)
	c.stderr.finish()
	tail := c.stderr.lastLines()
	if re := m.classify(ctx, c.stopped, callErr, c.mod, tail, c.stderr.lostHeadline()); re != nil {
		re.Stdout = c.stdout.buf
		return CommandOutput{}, re
	}
	keep = c.point != nil && !c.run.Touched() && !c.mod.IsClosed() && ctx.Err() == nil
	return CommandOutput{Stdout: c.stdout.buf, StderrTail: tail}, nil
}

// endRun resets c and keeps it for the next run when keep allows and the
// reset succeeds; otherwise it closes c.
func (m *Module) endRun(lv *liveModule, c *cmdInstance, keep bool) {
	c.stdin.Reset(nil)
	c.stdout, c.stderr = stdoutBuffer{}, stderrLines{} // nothing of the run stays reachable
	switch {
	case keep && c.point.Restore():
		if lv.cmds.put(c) {
			lv.cmds.reused.Store(true)
			return
		}
		// Reset, but no room to keep it (the list or the worker's budget
		// is full): not a miss, the module can be reset.
	case c.point != nil:
		lv.cmds.misses.Add(1)
	}
	c.close()
}

// classify turns the result of _start into a *RunError, or nil on success.
// headline is the guest's fatal error line when it is no longer in tail.
func (m *Module) classify(ctx context.Context, stopped, err error, mod api.Module, tail []string, headline string) *RunError {
	lines := tail
	if headline != "" {
		lines = append([]string{headline}, tail...)
	}
	re := m.classifyErr(ctx, stopped, err, mod, lines)
	if re == nil {
		return nil
	}
	re.StderrTail = tail
	if headline != "" && (re.Kind == Exit || re.Kind == Trap || re.Kind == MemoryLimit) {
		if re.Detail == "" {
			re.Detail = "the guest's error: " + headline
		} else {
			re.Detail += "; the guest's error: " + headline
		}
	}
	return re
}

func (m *Module) classifyErr(ctx context.Context, stopped, err error, mod api.Module, tail []string) *RunError {
	// stopped is one of the two limit errors (cmdInstance.stopRun) or nil;
	// a type switch, unlike errors.As, allocates nothing on every run.
	switch lim := stopped.(type) {
	case *stdoutLimitError:
		// Even if the guest ended normally after its write failed.
		return &RunError{Kind: StdoutLimit, Path: m.path, Limit: lim.limit,
			Detail: "the output was cut at the limit"}
	case *logLimitError:
		return &RunError{Kind: LogLimit, Path: m.path, Limit: lim.limit,
			Detail: "the logs up to the limit were forwarded"}
	}
	if err == nil {
		return nil
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		code := exit.ExitCode()
		if code == 0 {
			return nil
		}
		if code == sys.ExitCodeContextCanceled || code == sys.ExitCodeDeadlineExceeded {
			awaitDeadline(ctx)
			if k, ok := ctxKind(ctx); ok {
				re := &RunError{Kind: k, Path: m.path}
				if cause := endCause(ctx); cause != nil {
					re.Detail = cause.Error()
				}
				return re
			}
		}
		re := &RunError{Kind: Exit, ExitCode: code, Path: m.path}
		m.checkMemory(re, mod, tail)
		return re
	}
	re := &RunError{Kind: Trap, Path: m.path, Detail: firstLines(err.Error(), 12)}
	m.checkMemory(re, mod, tail)
	return re
}

// acquire takes one of the module's instance slots, waiting until ctx ends
// if all are busy.
func (m *Module) acquire(ctx context.Context) *RunError {
	select {
	case m.slots <- struct{}{}:
		return nil
	default:
	}
	// Waiting for an instance, the invocation gives its running slot back:
	// the instances' holders may need one to finish.
	s := slots.Pause(ctx)
	select {
	case m.slots <- struct{}{}:
		s.Resume(ctx)
		return nil
	case <-ctx.Done():
		k, _ := ctxKind(ctx)
		re := &RunError{Kind: k, Path: m.path, Limit: m.lim.MaxInstances,
			Detail: fmt.Sprintf("the guest never started: it waited for a free instance, but the instance limit of %d concurrent instances was reached", m.lim.MaxInstances)}
		if cause := endCause(ctx); cause != nil {
			re.Detail += "; " + cause.Error()
		}
		return re
	}
}

func (m *Module) release() { <-m.slots }

// timeoutError is the cause given to a run's context when Limits.Timeout
// passes.
type timeoutError struct{ limit time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("the function's Timeout limit of %v passed", e.limit)
}

// endCause says why ctx ended when that says more than ctx.Err(): the
// deadline's cause, or the reason an invocation was cancelled
// (invocation.CancelCause); nil otherwise.
func endCause(ctx context.Context) error {
	if cause := invocation.CancelCause(ctx); cause != nil && cause != ctx.Err() {
		return cause
	}
	return nil
}

// ctxKind reports whether ctx has ended, and how.
func ctxKind(ctx context.Context) (FailureKind, bool) {
	switch err := ctx.Err(); {
	case err == nil:
		return 0, false
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded, true
	default:
		return Canceled, true
	}
}

// oomMarkers are what guest runtimes print when an allocation fails.
var oomMarkers = []string{
	"out of memory",              // Go: "fatal error: out of memory"; C/C++ messages
	"memory allocation of",       // Rust: "memory allocation of N bytes failed"
	"cannot allocate memory",     // strerror(ENOMEM)
	"allocation failed",          // AssemblyScript, C++ bad_alloc texts
	"unable to allocate",         //
	"failed to grow linear memo", //
}

// checkMemory turns a Trap or Exit into MemoryLimit when the guest was
// probably out of memory: its stderr says so, or its memory was within
// 64 pages (4 MiB, a Go heap arena) or a quarter of the limit.
func (m *Module) checkMemory(re *RunError, mod api.Module, tail []string) {
	oom := false
	if text := strings.ToLower(strings.Join(tail, "\n")); text != "" {
		for _, s := range oomMarkers {
			if strings.Contains(text, s) {
				oom = true
				break
			}
		}
	}
	size := m.memPages(mod)
	if !oom && m.hasMem {
		limit := uint64(m.lim.MemoryPages)
		slack := min(64, limit/4)
		oom = size+slack >= limit
	}
	if !oom {
		return
	}
	what := re.Detail
	if re.Kind == Exit {
		what = fmt.Sprintf("exited with code %d", re.ExitCode)
	}
	re.Kind, re.Limit = MemoryLimit, int(m.lim.MemoryPages)
	re.Detail = fmt.Sprintf("linear memory at %d of %d pages when it failed: %s", size, m.lim.MemoryPages, what)
}

// memPages returns the size of the instance's memory in pages (0 if none).
func (m *Module) memPages(mod api.Module) uint64 {
	if !m.hasMem {
		return 0 // wazero returns a non-nil interface holding nil then
	}
	if mem := mod.Memory(); mem != nil {
		return uint64(mem.Size()) / pageSize
	}
	return 0
}

// bytesString formats a byte count for messages: "16 MiB", "1.5 KiB", "700 bytes".
func bytesString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines[n] = "..."
	}
	return strings.Join(lines, "\n")
}

// checkInput rejects argv and environment entries WASI cannot carry.
func checkInput(in CommandInput) error {
	for i, a := range in.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("argument %d contains a NUL byte", i)
		}
	}
	for k, v := range in.Env {
		switch {
		case k == "":
			return errors.New("environment has an empty variable name")
		case strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("environment variable name %q contains '=' or NUL", k)
		case strings.IndexByte(v, 0) >= 0:
			return fmt.Errorf("environment variable %s contains a NUL byte", k)
		}
	}
	return nil
}
