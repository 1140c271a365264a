package invocation

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

type reason struct{ err error }

func (r *reason) CancelReason() error { return r.err }

// TestCancelCause: an ended context reports its Canceler's reason, also
// through contexts made under it; without a reason, a deadline reports its
// own cause; a context that has not ended reports nil.
func TestCancelCause(t *testing.T) {
	why := errors.New("the host cancelled it")
	r := &reason{}
	ctx, stop := context.WithCancel(context.Background())
	ctx = WithCanceler(ctx, r)
	child, stopChild := context.WithTimeout(ctx, time.Hour)
	defer stopChild()
	if err := CancelCause(child); err != nil {
		t.Fatalf("before the end: %v", err)
	}
	r.err = why
	stop()
	if err := CancelCause(child); err != why {
		t.Fatalf("cancelled: %v, want %v", err, why)
	}

	late := errors.New("late")
	r2 := &reason{}
	dctx, stop2 := context.WithTimeoutCause(context.Background(), time.Millisecond, late)
	defer stop2()
	dctx = WithCanceler(dctx, r2)
	<-dctx.Done()
	r2.err = why
	if err := CancelCause(dctx); err != late {
		t.Fatalf("after the deadline: %v, want its own cause %v", err, late)
	}

	// A context without a cause the context package knows (the worker's,
	// internal/deadline) ends for the reason its Canceler gives, and so
	// do contexts derived from it; one derived with a cause of its own
	// keeps it.
	var own ended
	r3 := &reason{}
	octx := WithCanceler(&own, r3)
	derived, stop4 := context.WithCancelCause(octx)
	defer stop4(nil)
	timed, stop5 := context.WithTimeoutCause(octx, time.Millisecond, late)
	defer stop5()
	<-timed.Done()
	own.end(context.DeadlineExceeded)
	r3.err = why
	<-derived.Done()
	if err := CancelCause(octx); err != why {
		t.Fatalf("own context: %v, want %v", err, why)
	}
	if err := CancelCause(derived); err != why {
		t.Fatalf("derived from it: %v, want %v", err, why)
	}
	if err := CancelCause(timed); err != late {
		t.Fatalf("derived with its own cause: %v, want %v", err, late)
	}

	plain, stop3 := context.WithCancel(context.Background())
	stop3()
	if err := CancelCause(plain); err != context.Canceled {
		t.Fatalf("without a Canceler: %v", err)
	}
}

// ended is a context that ends when end is called, with AfterFunc, as the
// worker's invocation contexts (internal/deadline) are.
type ended struct {
	mu    sync.Mutex
	err   error
	done  chan struct{}
	after []func()
}

func (e *ended) init() {
	if e.done == nil {
		e.done = make(chan struct{})
	}
}

func (e *ended) end(err error) {
	e.mu.Lock()
	e.init()
	e.err = err
	close(e.done)
	after := e.after
	e.mu.Unlock()
	for _, f := range after {
		go f()
	}
}

func (e *ended) Deadline() (time.Time, bool) { return time.Time{}, false }
func (e *ended) Value(any) any               { return nil }

func (e *ended) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	return e.done
}

func (e *ended) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *ended) AfterFunc(f func()) func() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.after = append(e.after, f)
	return func() bool { return false }
}

// TestWrappersForwardAfterFunc: a context derived from a CancelerContext
// over a context with AfterFunc is tied to it by AfterFunc, without a
// goroutine of its own watching it.
func TestWrappersForwardAfterFunc(t *testing.T) {
	var own ended
	ctx := WithCanceler(&own, &reason{})
	before := runtime.NumGoroutine()
	child, stop := context.WithCancel(ctx)
	defer stop()
	if n := runtime.NumGoroutine(); n != before {
		t.Errorf("deriving a context started %d goroutines", n-before)
	}
	own.mu.Lock()
	n := len(own.after)
	own.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d functions registered with AfterFunc, want 1", n)
	}
	own.end(context.Canceled)
	<-child.Done()
}
