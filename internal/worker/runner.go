package worker

import "time"

// runnerIdle is how long a goroutine of the runner waits for more work
// before it ends.
const runnerIdle = 10 * time.Second

// runner runs invocations on reused goroutines. An invocation's goroutine
// grows its stack through the protocol code, wazero and the host functions
// (tens of KiB); a fresh goroutine per invocation grows it again each time,
// copying the stack at every doubling. Reused goroutines keep what they
// grew. At most as many goroutines exist as invocations ran at once; an
// idle one ends after runnerIdle.
type runner struct {
	work   chan *running           // unbuffered: a send succeeds only when a goroutine is idle
	handle func(*running) *running // returns the invocation to run next, if any
}

// newRunner returns a runner that runs each invocation with handle.
func newRunner(handle func(*running) *running) *runner {
	return &runner{work: make(chan *running), handle: handle}
}

// run runs inv on an idle goroutine, or on a new one when none is idle.
func (r *runner) run(inv *running) {
	select {
	case r.work <- inv:
	default:
		go r.loop(inv)
	}
}

func (r *runner) loop(inv *running) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		for inv != nil {
			inv = r.handle(inv)
		}
		idle.Reset(runnerIdle)
		select {
		case inv = <-r.work:
		case <-idle.C:
			return
		}
	}
}
