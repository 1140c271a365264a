// Package slots bounds how many guests run at once, and lets a guest give
// its slot back while it waits (a sleep, a network call, a free instance, a
// compile), so that the bound counts guests that use a CPU, not guests that
// wait: it can be as small as the cores can run without starving guests
// that wait on the network, and a busy CPU-bound function holds no more
// live instances, and their memory, than the cores can run.
//
// Slots are handed out in order of request, with two exceptions. A guest
// taking its slot back after a wait goes before invocations that have not
// started (it holds an instance, and memory, while it waits), though not
// more than maxResumedStreak times in a row while they wait. And a guest
// that has held its slot for a quantum while others wait gives it up at its
// next yield point (Yield) and queues again, so that a few long or runaway
// guests share the slots with the rest instead of holding them until their
// deadlines.
package slots

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// Quantum is how long a guest keeps its slot while others wait for one.
const Quantum = 50 * time.Millisecond

// Limit is a number of running slots shared by invocations.
type Limit struct {
	mu      sync.Mutex
	size    int
	used    int
	resumed []waiter // waiting guests that held a slot before (Resume)
	fresh   []waiter // waiting invocations, and guests that yielded
	waiting int      // len(resumed) + len(fresh)
	streak  int      // slots handed to resumed guests in a row while fresh ones waited
}

// waiter is one wait for a slot: a goroutine blocked in take, handed its
// slot on ch, or an invocation queued without a goroutine (TakeOrQueue),
// whose slot s is marked held for it and which whoever gave the slot
// starts.
type waiter struct {
	ch chan struct{}
	q  Queued
	s  *Slot
}

// Queued is an invocation waiting for a slot without a goroutine of its
// own (TakeOrQueue). Its values must be comparable (pointers, say):
// Unqueue finds one by ==.
type Queued interface {
	// Start runs the invocation, which now holds its slot, when the
	// goroutine that gave the slot up does not run it itself
	// (Slot.ReleaseNext). It is called once, by that goroutine, after
	// the Limit's lock is released, so it must not block: it hands the
	// invocation to a goroutine of its own.
	Start()
}

// maxResumedStreak bounds how many slots in a row go to resumed guests
// while invocations in the fresh queue wait: guests that pause often (many
// short sleeps or reads) would otherwise pass the slots among themselves
// and starve the rest.
const maxResumedStreak = 4

// New returns a Limit of n slots (at least one).
func New(n int) *Limit { return &Limit{size: max(n, 1)} }

// Cap returns the number of slots.
func (l *Limit) Cap() int { return l.size }

// Slot is one invocation's hold on a Limit. It is used by the goroutine
// that runs the invocation (and the guest's calls on it), not concurrently;
// a queued invocation's slot (TakeOrQueue) is set held by the goroutine
// that gives it the slot, under the Limit's lock, before the invocation
// runs.
type Slot struct {
	l     *Limit
	held  bool
	since time.Time // when it was taken
}

// TryTake takes a free slot for s, if there is one and nobody waits.
func (l *Limit) TryTake(s *Slot) bool {
	s.l = l
	l.mu.Lock()
	took := l.takeFreeLocked()
	l.mu.Unlock()
	if took {
		s.held, s.since = true, time.Now()
	}
	return took
}

// takeFreeLocked counts a slot taken and reports true when one is free and
// nobody waits for one. l.mu is held.
func (l *Limit) takeFreeLocked() bool {
	if l.used < l.size && l.waiting == 0 {
		l.used++
		return true
	}
	return false
}

// TakeOrQueue takes a free slot for s and returns true, if there is one
// and nobody waits; else it queues q with the waiting invocations and
// returns false: once a slot is free for it, s holds it and q is started,
// either by the goroutine that gave the slot up (Slot.ReleaseNext, which
// runs it itself and so spares a waiting goroutine a sleep and a wake-up)
// or through q.Start. Unqueue takes q out again.
func (l *Limit) TakeOrQueue(s *Slot, q Queued) bool {
	s.l = l
	l.mu.Lock()
	if l.takeFreeLocked() {
		l.mu.Unlock()
		s.held, s.since = true, time.Now()
		return true
	}
	l.fresh = append(l.fresh, waiter{q: q, s: s})
	l.waiting++
	l.mu.Unlock()
	return false
}

// Unqueue takes q, queued by TakeOrQueue, out of the queue and reports
// whether it was there: false once it was given a slot (it is then
// started, or about to be, by whoever gave the slot up).
func (l *Limit) Unqueue(q Queued) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.drop(waiter{q: q})
}

// Take takes a slot for s, waiting until one is free; false when ctx ends
// first (s then holds none).
func (l *Limit) Take(ctx context.Context, s *Slot) bool {
	return l.take(ctx, s, false)
}

// take takes a slot for s; a resumed guest goes before the others.
func (l *Limit) take(ctx context.Context, s *Slot, resumed bool) bool {
	s.l = l
	l.mu.Lock()
	if l.takeFreeLocked() {
		l.mu.Unlock()
		s.held, s.since = true, time.Now()
		return true
	}
	ch := waiters.Get().(chan struct{})
	defer waiters.Put(ch) // empty again whichever way this ends
	if resumed {
		l.resumed = append(l.resumed, waiter{ch: ch})
	} else {
		l.fresh = append(l.fresh, waiter{ch: ch})
	}
	l.waiting++
	l.mu.Unlock()
	select {
	case <-ch:
		s.held, s.since = true, time.Now()
		return true
	case <-ctx.Done():
	}
	l.mu.Lock()
	var next waiter
	queued := false
	if !l.drop(waiter{ch: ch}) { // handed a slot meanwhile: give it on
		<-ch
		next, queued = l.releaseLocked()
	}
	l.mu.Unlock()
	if queued {
		next.start()
	}
	return false
}

// waiters holds the channels a waiting taker is handed its slot on (one
// slot at most: buffered).
var waiters = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// drop removes w (found by its channel, or by its Queued) from the queues
// and reports whether it was there.
func (l *Limit) drop(w waiter) bool {
	for _, q := range []*[]waiter{&l.resumed, &l.fresh} {
		for i, c := range *q {
			if c.ch == w.ch && c.q == w.q {
				*q = slices.Delete(*q, i, i+1)
				l.waiting--
				return true
			}
		}
	}
	return false
}

// releaseLocked hands a slot to the first waiter, or frees it. l.mu is held.
// When it hands the slot to a queued invocation, it returns that waiter and
// true: the invocation is to be run or started once l.mu is released.
func (l *Limit) releaseLocked() (waiter, bool) {
	if len(l.fresh) == 0 {
		l.streak = 0
	}
	var w waiter
	switch {
	case len(l.resumed) > 0 && l.streak < maxResumedStreak:
		w = pop(&l.resumed)
		l.streak++
	case len(l.fresh) > 0:
		w = pop(&l.fresh)
		l.streak = 0
	case len(l.resumed) > 0: // the streak is over but nobody fresh waits any more
		w = pop(&l.resumed)
	default:
		l.used--
		return waiter{}, false
	}
	l.waiting--
	if w.ch != nil {
		w.ch <- struct{}{}
		return waiter{}, false
	}
	w.s.held = true
	return w, true
}

// pop takes the first waiter off q, clearing its place so that the array
// does not keep a queued invocation (and its request) alive.
func pop(q *[]waiter) waiter {
	w := (*q)[0]
	(*q)[0] = waiter{}
	*q = (*q)[1:]
	return w
}

// start starts w, a queued invocation just handed a slot.
func (w waiter) start() {
	w.s.since = time.Now()
	w.q.Start()
}

// Release gives the slot back; nothing when s holds none or is nil.
func (s *Slot) Release() {
	s.ReleaseNext().Start()
}

// ReleaseNext gives the slot back and returns the queued invocation
// (TakeOrQueue) it went to, which the caller must run or Start; an empty
// Next when it went to a waiting goroutine, was freed, or s holds none.
func (s *Slot) ReleaseNext() Next {
	if s == nil || !s.held {
		return Next{}
	}
	s.held = false
	s.l.mu.Lock()
	w, queued := s.l.releaseLocked()
	s.l.mu.Unlock()
	if !queued {
		return Next{}
	}
	w.s.since = time.Now()
	return Next{w.q}
}

// Next is the queued invocation a released slot went to (ReleaseNext).
type Next struct{ Queued }

// Start starts the invocation, if there is one.
func (n Next) Start() {
	if n.Queued != nil {
		n.Queued.Start()
	}
}

// Held reports whether s holds a slot.
func (s *Slot) Held() bool { return s != nil && s.held }

type ctxKey struct{}

// Context is a context carrying a Slot for Pause and Yield to find, for
// embedding in a value that lives as long as the invocation: a Context in
// place allocates nothing. Its zero value is not usable.
type Context struct {
	context.Context
	Slot Slot
}

// Value returns &c.Slot for Pause and Yield, and the parent's values
// otherwise.
func (c *Context) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.Slot
	}
	return c.Context.Value(key)
}

// AfterFunc runs f in its own goroutine once the context ends, as
// context.AfterFunc does; stop prevents that. The context package uses it
// for a context derived from c, which then needs no goroutine to watch c
// when the context c wraps has no standard cancelable context of its own
// (internal/deadline's).
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	return invocation.AfterFunc(c.Context, f)
}

// Pause gives back the slot ctx carries, if it holds one, before the
// caller waits, and returns it for Resume (nil when there was none: Resume
// then does nothing).
func Pause(ctx context.Context) *Slot {
	s, _ := ctx.Value(ctxKey{}).(*Slot)
	if !s.Held() {
		return nil
	}
	s.Release()
	return s
}

// Resume takes a slot again for s, which Pause gave back, once the wait is
// over, before invocations that have not started: it waits for a free one,
// unless ctx has ended, when the guest is about to be stopped and goes on
// without one.
func (s *Slot) Resume(ctx context.Context) {
	if s != nil {
		s.l.take(ctx, s, true)
	}
}

// Yield is a running guest's yield point: when the slot ctx carries has
// been held for a Quantum and others wait for one, it gives it up and
// queues again (behind those waiting); false when ctx ended meanwhile (the
// guest then holds no slot and is about to be stopped).
func Yield(ctx context.Context) bool {
	s, _ := ctx.Value(ctxKey{}).(*Slot)
	if !s.Held() || time.Since(s.since) < Quantum {
		return true
	}
	l := s.l
	l.mu.Lock()
	waiting := l.waiting > 0
	l.mu.Unlock()
	if !waiting {
		s.since = time.Now() // a new quantum
		return true
	}
	s.Release()
	return l.take(ctx, s, false)
}
