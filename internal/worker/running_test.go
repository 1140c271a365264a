package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/deadline"
	"github.com/wasmworker/wasmworker/internal/invocation"
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
	if why := invocation.CancelCause(ctx); why != deadlineError(time.Millisecond) {
		t.Fatalf("cause %v (%T), want the deadline's cause", why, why)
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
