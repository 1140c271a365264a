package deadline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errLate = errors.New("ran past its deadline")

// TestDeadlineEnds: a context ends at its deadline with
// context.DeadlineExceeded and the cause it was started with, closes its
// Done channel (made before or after), and leaves the timer.
func TestDeadlineEnds(t *testing.T) {
	var tm Timer
	var a, b Context
	tm.Start(&a, 20*time.Millisecond, errLate)
	tm.Start(&b, 30*time.Millisecond, nil)
	if d, ok := a.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Errorf("Deadline() = %v, %v", d, ok)
	}
	if a.Err() != nil || a.Cause() != nil {
		t.Fatalf("ended at once: %v", a.Err())
	}
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not ended at its deadline")
	}
	if !errors.Is(a.Err(), context.DeadlineExceeded) || a.Cause() != errLate {
		t.Errorf("Err() = %v, Cause() = %v", a.Err(), a.Cause())
	}
	<-b.Done()
	if b.Cause() != context.DeadlineExceeded {
		t.Errorf("without a cause: Cause() = %v", b.Cause())
	}
	select {
	case <-a.Done(): // a channel asked for after the end is closed too
	default:
		t.Error("Done after the end is not closed")
	}
	if n := tm.Len(); n != 0 {
		t.Errorf("%d contexts left in the timer", n)
	}
}

// TestCancelBeforeDeadline: Cancel ends a context with context.Canceled and
// its cause, takes it out of the timer at once, and a later deadline or
// cancel changes nothing.
func TestCancelBeforeDeadline(t *testing.T) {
	var tm Timer
	var c Context
	tm.Start(&c, 30*time.Millisecond, errLate)
	done := c.Done()
	why := errors.New("the host cancelled it")
	c.Cancel(why)
	<-done
	if !errors.Is(c.Err(), context.Canceled) || c.Cause() != why {
		t.Errorf("Err() = %v, Cause() = %v", c.Err(), c.Cause())
	}
	if n := tm.Len(); n != 0 {
		t.Errorf("%d contexts left in the timer after Cancel", n)
	}
	c.Cancel(nil)
	time.Sleep(50 * time.Millisecond)
	if !errors.Is(c.Err(), context.Canceled) || c.Cause() != why {
		t.Errorf("later: Err() = %v, Cause() = %v", c.Err(), c.Cause())
	}

	var plain Context // without a deadline
	tm.Start(&plain, 0, nil)
	if _, ok := plain.Deadline(); ok {
		t.Error("a context started with d <= 0 has a deadline")
	}
	plain.Cancel(nil)
	if plain.Cause() != context.Canceled {
		t.Errorf("Cancel(nil): Cause() = %v", plain.Cause())
	}
}

// TestDeadlinesInOrder: contexts started in any order end in the order of
// their deadlines, each at or after it, while contexts cancelled meanwhile
// (the head among them) leave no trace.
func TestDeadlinesInOrder(t *testing.T) {
	var tm Timer
	ds := []time.Duration{40, 10, 30, 10, 20, 50, 5}
	cs := make([]Context, len(ds))
	start := time.Now()
	for i, d := range ds {
		tm.Start(&cs[i], d*time.Millisecond, nil)
	}
	cs[6].Cancel(nil) // the earliest
	cs[2].Cancel(nil)
	ended := make([]time.Duration, len(ds))
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-cs[i].Done()
			ended[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, d := range ds {
		if i == 6 || i == 2 {
			if !errors.Is(cs[i].Err(), context.Canceled) {
				t.Errorf("context %d: %v, want cancelled", i, cs[i].Err())
			}
			continue
		}
		if !errors.Is(cs[i].Err(), context.DeadlineExceeded) {
			t.Errorf("context %d: %v", i, cs[i].Err())
		}
		if ended[i] < d*time.Millisecond {
			t.Errorf("context %d ended after %v, before its deadline of %v", i, ended[i], d*time.Millisecond)
		}
	}
}

// TestDerivedContexts: a context derived with the context package ends
// with its parent, by AfterFunc, and one stopped first is not run.
func TestDerivedContexts(t *testing.T) {
	var tm Timer
	var c Context
	tm.Start(&c, time.Hour, nil)
	child, cancelChild := context.WithCancelCause(&c)
	defer cancelChild(nil)
	other, cancelOther := context.WithCancel(&c)
	cancelOther() // stops its AfterFunc
	c.mu.Lock()
	n := len(c.after)
	c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d functions wait for the end, want 1 (the cancelled child's was stopped)", n)
	}
	why := errors.New("stop")
	c.Cancel(why)
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the derived context did not end with its parent")
	}
	if !errors.Is(child.Err(), context.Canceled) || !errors.Is(other.Err(), context.Canceled) {
		t.Errorf("children: %v, %v", child.Err(), other.Err())
	}
	ran := make(chan struct{})
	stop := c.AfterFunc(func() { close(ran) }) // after the end: at once
	<-ran
	if stop() {
		t.Error("stop reported stopping a function that ran")
	}
	if tm.Len() != 0 {
		t.Error("a cancelled context stayed in the timer")
	}
}

// TestConcurrentStartAndCancel starts and cancels contexts from many
// goroutines while short deadlines fire (run with -race): every context
// ends once, and none stays in the timer.
func TestConcurrentStartAndCancel(t *testing.T) {
	var tm Timer
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				c := new(Context)
				tm.Start(c, time.Duration(i%5+1)*time.Millisecond/2, errLate)
				if (g+i)%3 == 0 {
					<-c.Done()
				}
				c.Cancel(nil)
				if c.Err() == nil {
					t.Error("not ended after Cancel")
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := tm.Len(); n != 0 {
		t.Errorf("%d contexts left in the timer", n)
	}
}

// BenchmarkStartCancel: a context per invocation that ends long before its
// deadline, against context.WithTimeoutCause (what the worker used).
func BenchmarkStartCancel(b *testing.B) {
	b.Run("deadline", func(b *testing.B) {
		var tm Timer
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := new(Context)
				tm.Start(c, time.Minute, errLate)
				_ = c.Err()
				c.Cancel(nil)
			}
		})
	})
	b.Run("context", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ctx, stop := context.WithTimeoutCause(context.Background(), time.Minute, errLate)
				_ = ctx.Err()
				stop()
			}
		})
	})
}

// watcher records when it is told that its context ended.
type watcher struct {
	c     *Context
	calls atomic.Int32
	done  chan error // the context's Err, seen from Ended
}

func (w *watcher) Ended() {
	w.calls.Add(1)
	select {
	case <-w.c.Done():
		w.done <- w.c.Err()
	default:
		w.done <- errors.New("Ended before Done was closed")
	}
}

// TestWatch: a Watcher is told once when its context ends, by a cancel or
// by the deadline, after Done is closed.
func TestWatch(t *testing.T) {
	var tm Timer
	for _, c := range []struct {
		name string
		d    time.Duration
		want error
	}{
		{"cancel", time.Hour, context.Canceled},
		{"deadline", time.Millisecond, context.DeadlineExceeded},
	} {
		w := &watcher{c: new(Context), done: make(chan error, 2)}
		w.c.Watch(w)
		tm.Start(w.c, c.d, nil)
		if c.want == context.Canceled {
			w.c.Cancel(nil)
		}
		if err := <-w.done; err != c.want {
			t.Errorf("%s: Ended saw %v, want %v", c.name, err, c.want)
		}
		w.c.Cancel(nil) // ended already: not told again
		if n := w.calls.Load(); n != 1 {
			t.Errorf("%s: Ended called %d times, want 1", c.name, n)
		}
	}
}
