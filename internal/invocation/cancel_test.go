package invocation

import (
	"context"
	"errors"
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
	if err := CancelCause(dctx); err != late {
		t.Fatalf("after the deadline, no reason: %v, want %v", err, late)
	}
	r2.err = why // the context's owner knows better
	if err := CancelCause(dctx); err != why {
		t.Fatalf("after the deadline, with a reason: %v, want %v", err, why)
	}

	plain, stop3 := context.WithCancel(context.Background())
	stop3()
	if err := CancelCause(plain); err != context.Canceled {
		t.Fatalf("without a Canceler: %v", err)
	}
}
