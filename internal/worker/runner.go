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
	work chan func() // unbuffered: a send succeeds only when a goroutine is idle
}

func newRunner() *runner { return &runner{work: make(chan func())} }

// run runs f on an idle goroutine, or on a new one when none is idle.
func (r *runner) run(f func()) {
	select {
	case r.work <- f:
	default:
		go r.loop(f)
	}
}

func (r *runner) loop(f func()) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil
		idle.Reset(runnerIdle)
		select {
		case f = <-r.work:
		case <-idle.C:
			return
		}
	}
}
