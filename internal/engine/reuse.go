package engine

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/linmem"
	"github.com/wasmworker/wasmworker/internal/reset"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// This file holds the reuse of command-mode instances. A command runs in a
// fresh instance per invocation; making one costs wazero tens of
// microseconds (imports resolved by name, globals, data segments, a call
// engine with its own stack), more than a small C guest's whole run. So
// an instance whose run ended normally is reset to its state right after
// instantiation (internal/reset: memory and mutable globals restored) and
// kept for the next run, which then cannot tell it from a fresh one. An
// instance is closed instead when its module cannot be reset (not
// instrumented, tables changed by code, more than reset.MaxImage of
// initial data), when its run touched state a reset misses (a tracked WASI
// call, guard.go), exited through proc_exit (every Go guest), failed, was
// stopped, hit a limit, or grew its memory.

// maxKeptBytes bounds the linear memory of all reset command instances
// kept for reuse, worker-wide (what their guests touched stays resident):
// an instance that would go over it is closed instead of kept.
var maxKeptBytes int64 = 64 << 20

// keptBytes is the linear memory of the command instances kept now.
var keptBytes atomic.Int64

// maxResetMisses is how many runs of a module may end unable to be reused,
// with none reused yet, before the module's new instances stop paying for
// capturing their state: a Go guest always exits through proc_exit.
const maxResetMisses = 16

// cmdInstance is a command instance that may serve several runs. The
// configuration it was made with points at its own stdin, stdout, stderr
// and sleep, which each run sets up anew.
type cmdInstance struct {
	mod   api.Module
	start api.Function
	mem   *linmem.Memory
	point *reset.Point      // nil: close after the run
	kept  int64             // bytes counted in keptBytes while in an idle list
	env   map[string]string // the environment it was made with
	run   reset.Run
	rand  reset.RandSource // read during instantiation: do not capture

	stdin  bytes.Reader
	stdout stdoutBuffer
	stderr stderrLines
	rctx   runContext  // of the current run; its Context is nil between runs
	stop   func(error) // c.stopRun, made once
	// stopped is why the run was stopped from inside (a stdio limit), nil
	// while it may go on. Only the guest's goroutine sets and reads it.
	stopped error
	// cancel ends the run's own context, which a module without the
	// instrumented guard has (wazero's WithCloseOnContextDone stops the
	// guest); nil otherwise.
	cancel context.CancelCauseFunc
}

// runKey is the context key of the running cmdInstance.
type runKey struct{}

// runContext is the context of one run of a cmdInstance: the invocation's,
// carrying the instance. With the instrumented guard it is kept in the
// instance and set up anew for each run, so that a run of a kept instance
// allocates no context; a stdio limit stops the run through
// cmdInstance.stopped, which the guard (yieldFunc) and sleep read, instead
// of through a cancellable child context. A module without the guard
// needs one (cmdInstance.cancel), and gets a runContext of its own per run
// (Module.runCommand).
type runContext struct {
	context.Context
	c *cmdInstance
}

// Value returns the instance for runKey, else what the invocation's
// context holds.
func (r *runContext) Value(key any) any {
	if key == (runKey{}) {
		return r.c
	}
	return r.Context.Value(key)
}

// runningInstance returns the cmdInstance whose run ctx is the context of,
// or nil.
func runningInstance(ctx context.Context) *cmdInstance {
	c, _ := ctx.Value(runKey{}).(*cmdInstance)
	return c
}

// stopRun stops the run with cause (the first cause wins): the guest is
// stopped at its next guard call, and a sleep returns at once.
func (c *cmdInstance) stopRun(cause error) {
	if c.stopped == nil {
		c.stopped = cause
	}
	if c.cancel != nil {
		c.cancel(cause)
	}
}

// sleep is the guest's WASI sleep (poll_oneoff on a clock): real time, but
// it returns early when the run's context ends, so that a guest blocked in
// a long sleep is stopped as promptly as one spinning in a loop.
func (c *cmdInstance) sleep(ns int64) {
	if ns <= 0 || c.stopped != nil {
		return
	}
	var done <-chan struct{}
	if c.rctx.Context != nil {
		done = c.rctx.Done()
		// Asleep, the guest uses no CPU: its running slot is free meanwhile.
		defer slots.Pause(c.rctx.Context).Resume(c.rctx.Context)
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

// close closes the instance's module (its memory goes back with it).
func (c *cmdInstance) close() {
	if c.mod != nil {
		_ = c.mod.Close(context.Background())
	}
}

// cmdIdle is a live module's list of reset command instances.
type cmdIdle struct {
	mu     sync.Mutex
	list   []*cmdInstance
	max    int
	closed bool

	reused atomic.Bool  // some instance of the module was reset and reused
	misses atomic.Int32 // runs that could not be reused
}

// take returns an idle instance made with env, or nil.
func (q *cmdIdle) take(env map[string]string) *cmdInstance {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.list) - 1; i >= 0; i-- {
		if c := q.list[i]; maps.Equal(c.env, env) {
			q.list = slices.Delete(q.list, i, i+1)
			keptBytes.Add(-c.kept)
			c.kept = 0
			return c
		}
	}
	return nil
}

// put keeps c for reuse; false when the list is full or closed, or when
// keeping c would take the worker over maxKeptBytes.
func (q *cmdIdle) put(c *cmdInstance) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.list) >= q.max {
		return false
	}
	size := c.mem.Size()
	if keptBytes.Add(size) > maxKeptBytes {
		keptBytes.Add(-size)
		return false
	}
	c.kept = size
	q.list = append(q.list, c)
	return true
}

// close closes the idle instances; instances running are closed when
// their run ends.
func (q *cmdIdle) close() {
	q.mu.Lock()
	list := q.list
	q.list, q.closed = nil, true
	q.mu.Unlock()
	for _, c := range list {
		keptBytes.Add(-c.kept)
		c.kept = 0
		c.close()
	}
}

// capturing reports whether new instances should capture their state.
func (q *cmdIdle) capturing() bool {
	return q.reused.Load() || q.misses.Load() < maxResetMisses
}

// idle returns the number of reset command instances kept for reuse by
// the module (0 while it is lazy).
func (m *Module) idle() int {
	lv := m.live.Load()
	if lv == nil || lv.cmds == nil {
		return 0
	}
	lv.cmds.mu.Lock()
	defer lv.cmds.mu.Unlock()
	return len(lv.cmds.list)
}
