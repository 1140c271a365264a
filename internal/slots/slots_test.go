package slots

import (
	"context"
	"testing"
)

func TestTakeAndRelease(t *testing.T) {
	l := New(1)
	var a, b Slot
	if !l.TryTake(&a) || !a.Held() {
		t.Fatal("the free slot was not taken")
	}
	if l.TryTake(&b) || b.Held() {
		t.Fatal("a second slot was taken from a limit of one")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if l.Take(ctx, &b) {
		t.Fatal("Take with an ended context and no free slot succeeded")
	}
	a.Release()
	a.Release() // twice: nothing more
	if a.Held() || !l.Take(context.Background(), &b) {
		t.Fatal("the released slot could not be taken")
	}
	if l.TryTake(&a) {
		t.Fatal("a release given twice freed two slots")
	}
	b.Release()
	var none *Slot
	none.Release() // nil-safe
	none.Resume(context.Background())
}

// TestPauseLetsAnotherRun: a paused slot is free for another invocation,
// and Resume waits until one is free again.
func TestPauseLetsAnotherRun(t *testing.T) {
	l := New(1)
	var s Slot
	l.TryTake(&s)
	ctx := With(context.Background(), &s)
	p := Pause(ctx)
	if p != &s || s.Held() {
		t.Fatalf("Pause returned %p (want %p), held %v", p, &s, s.Held())
	}
	var other Slot
	if !l.TryTake(&other) {
		t.Fatal("the paused slot was not free")
	}
	resumed := make(chan struct{})
	go func() {
		p.Resume(ctx)
		close(resumed)
	}()
	select {
	case <-resumed:
		t.Fatal("Resume took a slot that another invocation holds")
	default:
	}
	other.Release()
	<-resumed
	if !s.Held() {
		t.Fatal("Resume did not take the slot back")
	}
	// A context without a slot, or one whose slot is not held: nothing.
	if Pause(context.Background()) != nil {
		t.Fatal("Pause found a slot in a context without one")
	}
	s.Release()
	if Pause(ctx) != nil {
		t.Fatal("Pause returned a slot that was not held")
	}
}

// TestResumeGivesUpWhenTheContextEnds: a guest whose invocation ended while
// it waited goes on without a slot (it is about to be stopped) rather than
// waiting for one.
func TestResumeGivesUpWhenTheContextEnds(t *testing.T) {
	l := New(1)
	var s, other Slot
	l.TryTake(&s)
	ctx, cancel := context.WithCancel(With(context.Background(), &s))
	p := Pause(ctx)
	l.TryTake(&other)
	cancel()
	p.Resume(ctx)
	if s.Held() {
		t.Fatal("Resume took a slot although none was free")
	}
	s.Release() // holds none: must not free other's slot
	if l.TryTake(&s) {
		t.Fatal("releasing a slot not held freed another's")
	}
}
