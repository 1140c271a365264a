package worker

import (
	"slices"
	"sync"
	"time"
)

// runnerIdle is how long a goroutine of the runner waits for more work
// before it ends.
const runnerIdle = 10 * time.Second

// runner runs invocations on reused goroutines. An invocation's goroutine
// grows its stack through the protocol code, wazero and the host functions
// (tens of KiB); a fresh goroutine per invocation grows it again each time,
// copying the stack at every doubling. Reused goroutines keep what they
// grew. At most as many goroutines exist as invocations ran at once; an
// idle one ends after runnerIdle.
//
// The goroutine that went idle last is given the next invocation (a stack,
// not a queue). The collector shrinks the stack of a goroutine that waits
// with little of it in use, and the goroutine then grows it again, copying
// it, in its next invocation; handed out in turn, dozens of idle goroutines
// (after a burst) each came back shrunk, and growing their stacks cost a C
// command invocation about 0.5 µs at c=64. Taking the last one keeps a few
// goroutines busy, their stacks grown and in the cache, and lets the others
// end.
type runner struct {
	handle  func(*running) *running // returns the invocation to run next, if any
	idleFor time.Duration           // runnerIdle, shorter in tests
	mu      sync.Mutex
	idle    []*runnerG // idle goroutines, the one idle longest first
}

// runnerG is one goroutine of a runner.
type runnerG struct {
	work chan *running // room for one: run sends after taking the goroutine off the idle list
}

// newRunner returns a runner that runs each invocation with handle.
func newRunner(handle func(*running) *running) *runner {
	return &runner{handle: handle, idleFor: runnerIdle}
}

// run runs inv on the goroutine that went idle last, or on a new one when
// none is idle.
func (r *runner) run(inv *running) {
	r.mu.Lock()
	if n := len(r.idle); n > 0 {
		g := r.idle[n-1]
		r.idle[n-1] = nil
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		g.work <- inv // never blocks: g is off the list, so nothing else sends to it
		return
	}
	r.mu.Unlock()
	go r.loop(&runnerG{work: make(chan *running, 1)}, inv)
}

func (r *runner) loop(g *runnerG, inv *running) {
	idle := time.NewTimer(r.idleFor)
	defer idle.Stop()
	for {
		for inv != nil {
			inv = r.handle(inv)
		}
		idle.Reset(r.idleFor)
		r.mu.Lock()
		r.idle = append(r.idle, g)
		r.mu.Unlock()
		select {
		case inv = <-g.work:
		case <-idle.C:
			if r.leave(g) {
				return
			}
			// run took g off the list before it could leave: its
			// invocation is on the way.
			inv = <-g.work
		}
	}
}

// leave takes g off the idle list and reports whether it was there.
func (r *runner) leave(g *runnerG) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.idle {
		if x == g {
			r.idle = slices.Delete(r.idle, i, i+1)
			return true
		}
	}
	return false
}
