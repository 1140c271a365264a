package abi

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/linmem"
	"github.com/wasmworker/wasmworker/internal/reset"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// DefaultMaxInstances is PoolConfig.MaxInstances when zero.
const DefaultMaxInstances = 64

// PoolConfig configures a Pool.
type PoolConfig struct {
	// MaxInstances bounds the live instances of the pool, busy and idle
	// together; an Invoke beyond it waits for a free one (or its context).
	// Zero means DefaultMaxInstances.
	MaxInstances int
	// MaxIdle bounds the warm instances kept for reuse: an instance coming
	// back from an invocation while MaxIdle others wait idle is closed
	// instead. Warm instances beyond the invocations in progress at once
	// only hold memory (a Go guest's linear memory is several MiB), so the
	// engine bounds it (engine.Config.MaxIdleInstances). Zero or more than
	// MaxInstances means MaxInstances.
	MaxIdle int
	// Isolate gives every invocation an instance in the state it had
	// right after instantiation (and _initialize): a fresh instance,
	// closed afterwards, or one reset after an earlier invocation (see
	// ResetPrefix), instead of reusing warm instances as they are.
	Isolate bool
	// ResetPrefix, with Isolate, is the Options.Module the module was
	// instrumented with by wasmbin.Instrument with Options.Mark: an
	// instance whose invocation ended normally, or with a *FunctionError,
	// is then reset (internal/reset) and kept instead of closed, when its
	// module allows it and its _initialize drew no randomness (a reset
	// would replay it). Empty means close every instance. With it, the
	// pool gives each instance a randomness source of its own
	// (crypto/rand, recording whether it was read), in place of any that
	// ModuleConfig sets.
	ResetPrefix string
	// ModuleConfig is the base configuration of each instance; nil means
	// ModuleConfig(). The pool sets stdout and stderr itself.
	ModuleConfig wazero.ModuleConfig
}

// ModuleConfig returns the instance configuration SPEC.md §3 describes: no
// name (instances are anonymous), no arguments, environment or files, real
// clocks and sleep, crypto randomness, and _initialize as start function.
// A Pool replaces the sleep with one that also ends when the invocation's
// context ends.
func ModuleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName("").
		WithRandSource(crand.Reader).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithStartFunctions("_initialize")
}

// Pool runs invocations of one compiled ABI module, keeping up to
// MaxInstances warm instances for reuse. An instance serves one invocation at
// a time and is closed after any error other than a *FunctionError (a trap,
// exit, timeout or cancel; SPEC.md §3), and after an invocation whose
// context ended while it ran, even if it returned normally. A guest's WASI
// sleep (poll_oneoff on a clock) returns early when the context of the
// invocation (or of the instantiation) ends. A Pool is safe for concurrent
// use.
type Pool struct {
	rt      wazero.Runtime
	cm      wazero.CompiledModule
	base    wazero.ModuleConfig
	isolate bool
	prefix  string      // PoolConfig.ResetPrefix
	noReset atomic.Bool // an instance could not be captured: the module cannot be reset

	slots chan struct{}  // one token per live instance allowed
	idle  chan *instance // warm instances, at most cap(idle) (PoolConfig.MaxIdle)

	mu     sync.Mutex
	closed bool
}

// NewPool returns a pool for cm, which must have been compiled by rt, and rt
// must have WASI and the "wasmworker" host module (Instantiate) in it.
// Check cm before.
func NewPool(rt wazero.Runtime, cm wazero.CompiledModule, cfg PoolConfig) *Pool {
	n := cfg.MaxInstances
	if n <= 0 {
		n = DefaultMaxInstances
	}
	idle := cfg.MaxIdle
	if idle <= 0 || idle > n {
		idle = n
	}
	base := cfg.ModuleConfig
	if base == nil {
		base = ModuleConfig()
	}
	return &Pool{
		rt: rt, cm: cm, base: base, isolate: cfg.Isolate, prefix: cfg.ResetPrefix,
		slots: make(chan struct{}, n),
		idle:  make(chan *instance, idle),
	}
}

// Idle returns the number of warm instances waiting for an invocation.
func (p *Pool) Idle() int { return len(p.idle) }

// MaxIdle returns the most warm instances the pool keeps (PoolConfig.MaxIdle).
func (p *Pool) MaxIdle() int { return cap(p.idle) }

var errPoolClosed = errors.New("the instance pool is closed")

// Invoke runs inv on entry point entry of a warm instance (or a new one) and
// returns what Call returns; instantiation failures are *CallError too. It
// waits while MaxInstances invocations are running.
func (p *Pool) Invoke(ctx context.Context, entry string, inv *Invocation) error {
	select {
	case p.slots <- struct{}{}:
	default:
		// Waiting for an instance, the invocation gives its running slot
		// back: the instances' holders may need one to finish.
		s := slots.Pause(ctx)
		select {
		case p.slots <- struct{}{}:
			s.Resume(ctx)
		case <-ctx.Done():
			err := &CallError{Entry: entry, Err: fmt.Errorf("waiting for a free instance: %w", context.Cause(ctx))}
			inv.finish(0, err)
			return err
		}
	}
	defer func() { <-p.slots }()

	var in *instance // with Isolate, idle instances are reset ones
	select {
	case in = <-p.idle:
	default:
	}
	// An idle instance whose runtime was closed meanwhile has lost its
	// memory, or will as soon as it is no longer held.
	if in != nil && !in.mem.TryHold() {
		in = nil
	} else if in != nil && in.mod.IsClosed() {
		in.mem.Release()
		in = nil
	}
	if in == nil {
		var err error
		if in, err = p.instantiate(ctx); err != nil {
			err = &CallError{Entry: entry, Err: err}
			inv.finish(0, err)
			return err
		}
		in.mem.Hold()
	}
	err := in.call(ctx, entry, inv)
	in.mem.Release()
	// An instance whose invocation ended while it ran may have been cut
	// short (a sleep that returned early): do not reuse it.
	reuse := Reusable(err) && ctx.Err() == nil
	if p.isolate {
		reuse = reuse && in.point != nil && !in.run.Touched() && !in.mod.IsClosed() && in.point.Restore()
	}
	if !reuse || !p.put(in) {
		in.close(context.WithoutCancel(ctx))
	}
	return err
}

// put returns an instance to the idle list; false when the pool is closed
// or already holds PoolConfig.MaxIdle warm instances.
func (p *Pool) put(in *instance) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	select {
	case p.idle <- in:
		return true
	default:
		return false
	}
}

// Close closes the idle instances; instances still running are closed when
// their invocation ends. Invoke fails afterwards only if it must instantiate.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	var errs []error
	for {
		select {
		case in := <-p.idle:
			if err := in.mod.Close(ctx); err != nil {
				errs = append(errs, err)
			}
		default:
			return errors.Join(errs...)
		}
	}
}

func (p *Pool) instantiate(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, errPoolClosed
	}
	// The instance's linear memory has a mapping of its own, held while its
	// guest runs: closing the instance gives it back to the system (or, when
	// small, zeroes it for the next instance; internal/linmem).
	in := &instance{mem: linmem.New()}
	in.stdout.in, in.stderr.in = in, in
	cfg := p.base.WithStdout(&in.stdout).WithStderr(&in.stderr).WithNanosleep(in.sleep)
	capture := p.isolate && p.prefix != "" && !p.noReset.Load()
	var rnd reset.RandSource
	if capture {
		cfg = cfg.WithRandSource(&rnd)
	}
	in.ctx = ctx // _initialize may sleep too
	mod, err := p.rt.InstantiateModule(in.mem.Context(ctx), p.cm, cfg)
	in.ctx = nil
	in.mem.Release()
	if err != nil {
		return nil, fmt.Errorf("instantiate (including _initialize): %w", err)
	}
	in.mod = mod
	if capture {
		if rnd.Drew() { // _initialize drew randomness: a reset would replay it
			p.noReset.Store(true)
		} else if in.point = reset.Capture(mod, in.mem, p.prefix); in.point == nil && !mod.IsClosed() {
			p.noReset.Store(true) // the same for every instance of the module
		}
	}
	return in, nil
}

// instance is one live guest instance.
type instance struct {
	mod            api.Module
	mem            *linmem.Memory          // its linear memory, held during calls
	fns            map[string]api.Function // entry points looked up so far
	cur            *Invocation             // the invocation running, for stdout/stderr lines
	decl           *Declarations           // the declarations being collected (Pool.Declare), for stdout/stderr lines
	ctx            context.Context         // the context of the call (or instantiation) running, for sleep
	stdout, stderr lineLog
	point          *reset.Point // its state after instantiation, with Isolate; nil when it cannot be reset
	run            reset.Run    // whether the running call changed state a reset misses
}

// sleep is the guest's WASI sleep (poll_oneoff on a clock): real time, but
// it returns when the context of the running call ends, so that a guest
// asleep is stopped at its deadline or cancel like one in a loop. It runs
// on the guest's goroutine, during a call or the instantiation.
func (in *instance) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	var done <-chan struct{} // nil without a context: a plain sleep
	if in.ctx != nil {
		done = in.ctx.Done()
		// Asleep, the guest uses no CPU: its running slot is free meanwhile.
		defer slots.Pause(in.ctx).Resume(in.ctx)
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

func (in *instance) call(ctx context.Context, entry string, inv *Invocation) error {
	fn, ok := in.fns[entry]
	if !ok {
		fn = in.mod.ExportedFunction(entry)
		if fn != nil {
			if in.fns == nil {
				in.fns = map[string]api.Function{}
			}
			in.fns[entry] = fn
		}
	}
	if in.point != nil {
		in.run.Clear()
		ctx = reset.WithRun(ctx, &in.run)
	}
	in.cur, in.ctx = inv, ctx
	err := callFunction(ctx, fn, entry, inv) // the caller holds in.mem: a Runtime.Close meanwhile must not unmap the memory under the guest
	in.stdout.flush()
	in.stderr.flush()
	in.cur, in.ctx = nil, nil
	return err
}

func (in *instance) close(ctx context.Context) { _ = in.mod.Close(ctx) }

// lineLog turns WASI stdout/stderr writes into log entries of the current
// invocation, one per line. Writes happen on the guest's goroutine, during a
// call. Output outside an invocation (in _initialize) is dropped.
type lineLog struct {
	in  *instance
	buf []byte
}

func (l *lineLog) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if k := MaxMessageBytes - len(l.buf); len(b) > k { // an endless line: cut it
				l.buf = append(l.buf, b[:k]...)
				l.flush()
				b = b[k:]
				continue
			}
			l.buf = append(l.buf, b...)
			break
		}
		l.buf = append(l.buf, b[:i]...)
		l.flush()
		b = b[i+1:]
	}
	return n, nil
}

func (l *lineLog) flush() {
	if len(l.buf) == 0 {
		return
	}
	if inv := l.in.cur; inv != nil {
		inv.log(int32(invocation.LevelInformation), bytes.TrimSuffix(l.buf, []byte("\r")))
	} else if d := l.in.decl; d != nil && !d.done {
		d.log(int32(invocation.LevelInformation), bytes.TrimSuffix(l.buf, []byte("\r")))
	}
	l.buf = l.buf[:0]
}
