package worker

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/deadline"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// TestRunningCause: an invocation's context ends with the first cancel's
// cause, which invocation.CancelCause reports, and a deadline with the
// deadline's own cause, even when a cancel comes after it.
func TestRunningCause(t *testing.T) {
	var timer deadline.Timer
	first, second := errors.New("first"), errors.New("second")
	r := &running{}
	timer.Start(&r.ctx, time.Hour, deadlineError(time.Hour))
	r.cancel(first)
	r.cancel(second)
	ctx := invocation.WithCanceler(&r.ctx, r)
	if why := invocation.CancelCause(ctx); !errors.Is(ctx.Err(), context.Canceled) || why != first {
		t.Fatalf("after two cancels: err %v, cause %v; want Canceled, %v", ctx.Err(), why, first)
	}

	r = &running{}
	timer.Start(&r.ctx, time.Millisecond, deadlineError(time.Millisecond))
	ctx = invocation.WithCanceler(&r.ctx, r)
	<-ctx.Done()
	r.cancel(first)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", ctx.Err())
	}
	if why := invocation.CancelCause(ctx); why != deadlineError(time.Millisecond) || !errors.Is(why, context.DeadlineExceeded) {
		t.Fatalf("cause %v (%T), want the deadline's cause, which is context.DeadlineExceeded", why, why)
	}
	// A context derived from it (as the engine makes for a guest without
	// the instrumented guard) reports the same cause.
	r = &running{}
	timer.Start(&r.ctx, time.Millisecond, deadlineError(time.Millisecond))
	child, cancel := context.WithCancelCause(invocation.WithCanceler(&r.ctx, r))
	defer cancel(nil)
	<-child.Done()
	if why := invocation.CancelCause(child); why != deadlineError(time.Millisecond) {
		t.Fatalf("derived: cause %v (%T), want the deadline's cause", why, why)
	}
}

// TestDerivedContextsNeedNoGoroutine: a context the engine derives from an
// invocation's (a function's own timeout, an outbound session, a run
// without the instrumented guard) is tied to it through the wrappers the
// invocation's context passes through (invocation.CancelerContext,
// slots.Context) by AfterFunc, not by a goroutine watching it, and ends
// with it.
func TestDerivedContextsNeedNoGoroutine(t *testing.T) {
	var timer deadline.Timer
	inv := &running{}
	timer.Start(&inv.ctx, time.Hour, deadlineError(time.Hour))
	inv.cctx = invocation.CancelerContext{Context: &inv.ctx, Canceler: inv}
	inv.sctx.Context = &inv.cctx
	before := runtime.NumGoroutine()
	child, cancel := context.WithCancelCause(&inv.sctx)
	defer cancel(nil)
	timed, stop := context.WithTimeout(&inv.sctx, time.Hour)
	defer stop()
	if n := runtime.NumGoroutine(); n != before {
		t.Errorf("deriving two contexts started %d goroutines", n-before)
	}
	why := errors.New("the host cancelled it")
	inv.cancel(why)
	for _, c := range []context.Context{child, timed} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a derived context did not end with the invocation's")
		}
		if got := invocation.CancelCause(c); got != why {
			t.Errorf("derived context's cause %v, want %v", got, why)
		}
	}
}

// TestQueuedInvocationEnds: an invocation queued for a running slot, with
// no goroutine of its own (startGuest), leaves the queue and is run (to be
// answered at once) when its deadline passes or the host cancels it, also
// when its context ended before it was queued; the slot it never got stays
// with its holder, who then has nobody to hand it to.
func TestQueuedInvocationEnds(t *testing.T) {
	for _, end := range []string{"deadline", "cancel", "ended before"} {
		w := &Worker{running: slots.New(1)}
		ran := make(chan *running, 2)
		w.runner = newRunner(func(r *running) *running { ran <- r; return nil })
		var hold slots.Slot
		if !w.running.TryTake(&hold) {
			t.Fatal("no free slot")
		}
		var timer deadline.Timer
		inv := &running{w: w}
		inv.ctx.Watch(inv)
		d := time.Hour
		if end == "deadline" {
			d = time.Millisecond
		}
		timer.Start(&inv.ctx, d, deadlineError(d))
		if end == "ended before" {
			inv.cancel(errCanceledByHost)
		}
		w.startGuest(inv)
		if end == "cancel" {
			inv.cancel(errCanceledByHost)
		}
		select {
		case r := <-ran:
			if r != inv || inv.sctx.Slot.Held() {
				t.Fatalf("%s: ran %p (slot held %v), want the queued invocation without a slot", end, r, inv.sctx.Slot.Held())
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: the queued invocation was not run when its context ended", end)
		}
		if next := hold.ReleaseNext(); next.Queued != nil || w.running.Unqueue(inv) {
			t.Fatalf("%s: the invocation is still queued", end)
		}
		// The slot is free again, and nothing else was run.
		var again slots.Slot
		if !w.running.TryTake(&again) || len(ran) != 0 {
			t.Fatalf("%s: the slot is not free after its holder gave it up, or an invocation ran twice", end)
		}
		again.Release()
		inv.ctx.Cancel(nil)
	}
}
