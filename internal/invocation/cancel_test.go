package invocation

import (
	"context"
	"errors"
	"testing"
	"time"
)

type reason struct{ err error }

func (r *reason) CancelReason() error { return r.err }

// TestCancelCause: a cancelled context reports its Canceler's reason, also
// through contexts made under it; a deadline reports its own cause, and a
// context that has not ended reports nil.
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
		t.Fatalf("after the deadline: %v, want %v", err, late)
	}

	plain, stop3 := context.WithCancel(context.Background())
	stop3()
	if err := CancelCause(plain); err != context.Canceled {
		t.Fatalf("without a Canceler: %v", err)
	}
}
