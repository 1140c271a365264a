package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// TestRunningCause: an invocation's context ends with the first cancel's
// cause, which invocation.CancelCause reports, and a deadline with the
// deadline's own cause, even when a cancel comes after it.
func TestRunningCause(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	ctx, stop := context.WithTimeoutCause(context.Background(), time.Hour, deadlineError(time.Hour))
	r := &running{stop: stop}
	r.cancel(first)
	r.cancel(second)
	ctx = invocation.WithCanceler(ctx, r)
	if why := invocation.CancelCause(ctx); !errors.Is(ctx.Err(), context.Canceled) || why != first {
		t.Fatalf("after two cancels: err %v, cause %v; want Canceled, %v", ctx.Err(), why, first)
	}

	ctx, stop = context.WithTimeoutCause(context.Background(), time.Millisecond, deadlineError(time.Millisecond))
	r = &running{stop: stop}
	ctx = invocation.WithCanceler(ctx, r)
	<-ctx.Done()
	r.cancel(first)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", ctx.Err())
	}
	if why := invocation.CancelCause(ctx); why != deadlineError(time.Millisecond) {
		t.Fatalf("cause %v (%T), want the deadline's cause", why, why)
	}
}
