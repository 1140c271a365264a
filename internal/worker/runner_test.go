package worker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idleCount returns how many of r's goroutines are idle.
func (r *runner) idleCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.idle)
}

// waitIdle waits until n of r's goroutines are idle.
func waitIdle(t *testing.T, r *runner, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); r.idleCount() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines idle, want %d", r.idleCount(), n)
		}
	}
}

// TestRunnerTakesLastIdle: the goroutine that went idle last runs the next
// invocation, and the one after runs on the goroutine idle before it.
func TestRunnerTakesLastIdle(t *testing.T) {
	release := map[*running]chan struct{}{}
	ran := make(chan *running, 8)
	r := newRunner(func(inv *running) *running {
		if c := release[inv]; c != nil {
			<-c
		}
		ran <- inv
		return nil
	})
	a, b, c := new(running), new(running), new(running)
	for _, inv := range []*running{a, b, c} {
		release[inv] = make(chan struct{})
	}
	for _, inv := range []*running{a, b, c} {
		r.run(inv) // no goroutine is idle: three new ones
	}
	for i, inv := range []*running{a, b, c} {
		close(release[inv])
		if got := <-ran; got != inv {
			t.Fatal("invocations ran out of order")
		}
		waitIdle(t, r, i+1) // a went idle first, c last
	}
	r.mu.Lock()
	order := append([]*runnerG(nil), r.idle...)
	r.mu.Unlock()

	r.run(new(running))
	<-ran
	waitIdle(t, r, 3)
	r.mu.Lock()
	defer r.mu.Unlock()
	// The goroutine taken went back on top; the others kept their places.
	if r.idle[0] != order[0] || r.idle[1] != order[1] || r.idle[2] != order[2] {
		t.Error("the invocation did not run on the goroutine that went idle last")
	}
}

// TestRunnerIdleGoroutinesEnd: idle goroutines end after idleFor, and a
// later invocation starts a new one.
func TestRunnerIdleGoroutinesEnd(t *testing.T) {
	ran := make(chan *running, 8)
	r := newRunner(func(inv *running) *running { ran <- inv; return nil })
	r.idleFor = 300 * time.Millisecond
	inv := new(running)
	r.run(inv)
	if <-ran != inv {
		t.Fatal("wrong invocation")
	}
	waitIdle(t, r, 1) // the goroutine went idle
	waitIdle(t, r, 0) // and then ended
	r.run(inv)
	if <-ran != inv {
		t.Fatal("wrong invocation after the idle goroutines ended")
	}
}

// TestRunnerRunsEachOnce runs many invocations from many goroutines, some
// of them chaining a next invocation, while idle goroutines time out all
// the while: each invocation runs exactly once.
func TestRunnerRunsEachOnce(t *testing.T) {
	const senders, each = 8, 2000
	var count sync.Map // *running -> *atomic.Int32
	next := sync.Map{} // *running -> *running, the invocation handle returns after it
	var done sync.WaitGroup
	r := newRunner(func(inv *running) *running {
		n, _ := count.LoadOrStore(inv, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		done.Done()
		if nx, ok := next.Load(inv); ok {
			return nx.(*running)
		}
		return nil
	})
	r.idleFor = 50 * time.Microsecond // goroutines leave while work arrives
	var all []*running
	var mu sync.Mutex
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				inv := new(running)
				mu.Lock()
				all = append(all, inv)
				mu.Unlock()
				done.Add(1)
				if (s+i)%7 == 0 {
					nx := new(running)
					mu.Lock()
					all = append(all, nx)
					mu.Unlock()
					done.Add(1)
					next.Store(inv, nx)
				}
				r.run(inv)
				if i%100 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	done.Wait()
	for _, inv := range all {
		n, ok := count.Load(inv)
		if !ok || n.(*atomic.Int32).Load() != 1 {
			t.Fatalf("an invocation ran %v times, want once", n)
		}
	}
}
