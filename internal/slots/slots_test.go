package slots

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// with returns ctx carrying s, as a Context does.
func with(ctx context.Context, s *Slot) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

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
	ctx := with(context.Background(), &s)
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
	ctx, cancel := context.WithCancel(with(context.Background(), &s))
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

// waitQueued waits until n takers are queued on l (they run on other
// goroutines).
func waitQueued(l *Limit, n int) {
	for {
		l.mu.Lock()
		w := l.waiting
		l.mu.Unlock()
		if w >= n {
			return
		}
		runtime.Gosched()
	}
}

// TestResumeGoesFirst: a guest taking its slot back after a wait is served
// before invocations that queued earlier but have not started; among
// equals, first come first served; a new taker does not jump the queue.
func TestResumeGoesFirst(t *testing.T) {
	l := New(1)
	var holder, paused Slot
	l.TryTake(&paused)
	ctx := with(context.Background(), &paused)
	p := Pause(ctx)
	l.TryTake(&holder)

	order := make(chan string, 3)
	take := func(name string) {
		var s Slot
		l.Take(context.Background(), &s)
		order <- name
		s.Release()
	}
	go take("fresh 1")
	waitQueued(l, 1)
	go take("fresh 2")
	waitQueued(l, 2)
	go func() {
		p.Resume(ctx)
		order <- "resumed"
		p.Release()
	}()
	waitQueued(l, 3)
	var late Slot
	if l.TryTake(&late) {
		t.Fatal("TryTake took a slot others were waiting for")
	}
	holder.Release()
	for _, want := range []string{"resumed", "fresh 1", "fresh 2"} {
		if got := <-order; got != want {
			t.Fatalf("served %q, want %q", got, want)
		}
	}
	if !l.TryTake(&late) {
		t.Fatal("the slot was not free at the end")
	}
}

// TestYieldAfterAQuantum: a guest yields its slot only when it held it for
// a quantum and someone waits; it then queues behind the waiter.
func TestYieldAfterAQuantum(t *testing.T) {
	l := New(1)
	var s Slot
	l.TryTake(&s)
	ctx := with(context.Background(), &s)
	if !Yield(ctx) || !s.Held() {
		t.Fatal("yielded with nobody waiting")
	}
	got := make(chan struct{})
	go func() {
		var w Slot
		l.Take(context.Background(), &w)
		close(got)
		w.Release()
	}()
	waitQueued(l, 1)
	if !Yield(ctx) || !s.Held() {
		t.Fatal("yielded before its quantum was over")
	}
	s.since = s.since.Add(-Quantum) // as if it had run for a quantum
	if !Yield(ctx) || !s.Held() {
		t.Fatal("Yield did not get the slot back")
	}
	select {
	case <-got:
	default:
		t.Fatal("the waiter did not run before the slot came back")
	}
	// The invocation ended while it queued again: no slot, and none lost.
	ctx2, cancel := context.WithCancel(ctx)
	hold := make(chan struct{})
	go func() {
		var w Slot
		l.Take(context.Background(), &w)
		<-hold
		w.Release()
	}()
	waitQueued(l, 1)
	cancel()
	s.since = s.since.Add(-Quantum)
	if Yield(ctx2) || s.Held() {
		t.Fatal("Yield with an ended context took a slot back")
	}
	close(hold)
	var last Slot
	for !l.TryTake(&last) { // the waiter gives its slot back
		runtime.Gosched()
	}
}

// TestContextCarriesItsSlot: a Context in place carries its own Slot for
// Pause, and its parent's values and cancellation otherwise.
func TestContextCarriesItsSlot(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	l := New(1)
	c := &Context{Context: parent}
	if !l.TryTake(&c.Slot) {
		t.Fatal("no slot")
	}
	if c.Value(key{}) != "v" {
		t.Error("the parent's value is lost")
	}
	if p := Pause(c); p != &c.Slot || l.used != 0 {
		t.Fatalf("Pause returned %p, want the Context's slot %p", p, &c.Slot)
	}
	why := context.Canceled
	cancel(why)
	if c.Err() == nil || context.Cause(c) != why {
		t.Errorf("cancellation not seen through the Context: %v, %v", c.Err(), context.Cause(c))
	}
}

// TestResumedDoNotStarveFresh: guests that pause and resume again and
// again cannot keep a waiting fresh invocation out for more than
// maxResumedStreak hand-offs in a row. (It drives the queues directly:
// each round, one more resumed guest waits when the slot comes free.)
func TestResumedDoNotStarveFresh(t *testing.T) {
	l := New(1)
	l.used = 1
	fresh, resumed := make(chan struct{}, 1), make(chan struct{}, 1)
	l.fresh, l.waiting = []waiter{{ch: fresh}}, 1
	for round := 1; round <= 100; round++ {
		l.mu.Lock()
		l.resumed = append(l.resumed, waiter{ch: resumed})
		l.waiting++
		l.releaseLocked()
		l.mu.Unlock()
		select {
		case <-fresh:
			if round != maxResumedStreak+1 {
				t.Fatalf("the fresh invocation was served in round %d, want %d", round, maxResumedStreak+1)
			}
			return
		case <-resumed:
		}
	}
	t.Fatal("the fresh invocation was never served")
}

// queuedInv is a Queued that counts its starts.
type queuedInv struct {
	slot    Slot
	started chan struct{}
}

func newQueued() *queuedInv { return &queuedInv{started: make(chan struct{}, 2)} }

func (q *queuedInv) Start() { q.started <- struct{}{} }

// TestTakeOrQueue: with no slot free, an invocation is queued without a
// goroutine, in order with the goroutines that wait; the slot given up
// goes to it, held, and ReleaseNext returns it to run rather than starting
// it, while Release starts it.
func TestTakeOrQueue(t *testing.T) {
	l := New(1)
	var first Slot
	if !l.TryTake(&first) {
		t.Fatal("no free slot")
	}
	a, b := newQueued(), newQueued()
	if l.TakeOrQueue(&a.slot, a) || l.TakeOrQueue(&b.slot, b) {
		t.Fatal("took a slot that was not free")
	}
	queue := l.fresh // its array, to see that the entry taken off is cleared
	next := first.ReleaseNext()
	if queue[0] != (waiter{}) {
		t.Error("the queue's array still holds the invocation taken off it")
	}
	if next.Queued != a || !a.slot.Held() || len(a.started) != 0 {
		t.Fatalf("ReleaseNext gave %v (held %v, started %d), want the first queued, held, not started", next.Queued, a.slot.Held(), len(a.started))
	}
	// A goroutine that waits now queues behind b.
	var c Slot
	took := make(chan bool)
	go func() { took <- l.Take(context.Background(), &c) }()
	for {
		l.mu.Lock()
		n := l.waiting
		l.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	a.slot.Release() // to b, which Release starts
	<-b.started
	if !b.slot.Held() {
		t.Fatal("b started without its slot")
	}
	b.slot.Release() // to the waiting goroutine
	if !<-took || !c.Held() {
		t.Fatal("the waiting goroutine got no slot")
	}
	c.Release()
	if l.used != 0 || l.waiting != 0 {
		t.Fatalf("used %d, waiting %d after every release", l.used, l.waiting)
	}
}

// TestUnqueue takes a queued invocation out: once, and not after it was
// given a slot.
func TestUnqueue(t *testing.T) {
	l := New(1)
	var first Slot
	l.TryTake(&first)
	a, b := newQueued(), newQueued()
	l.TakeOrQueue(&a.slot, a)
	l.TakeOrQueue(&b.slot, b)
	if !l.Unqueue(a) || l.Unqueue(a) {
		t.Fatal("Unqueue did not take a out exactly once")
	}
	if next := first.ReleaseNext(); next.Queued != b {
		t.Fatalf("the slot went to %v, want b", next.Queued)
	}
	if l.Unqueue(b) {
		t.Fatal("Unqueue took out an invocation that holds a slot")
	}
	b.slot.Release()
	if l.used != 0 || a.slot.Held() || len(a.started) != 0 {
		t.Fatalf("used %d; a held %v, started %d", l.used, a.slot.Held(), len(a.started))
	}
}

// TestTakeReleaseAllocations: taking and giving back a free slot allocates
// nothing (it happens for every invocation).
func TestTakeReleaseAllocations(t *testing.T) {
	l := New(1)
	var s Slot
	if n := testing.AllocsPerRun(100, func() {
		l.TryTake(&s)
		s.ReleaseNext().Start()
	}); n != 0 {
		t.Errorf("%v allocations per take and release, want 0", n)
	}
}
