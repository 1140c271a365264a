// Package slots bounds how many guests run at once, and lets a guest give
// its slot back while it waits (a sleep, a network call, a free instance):
// the bound counts guests that use a CPU, not guests that wait, so it can
// be as small as the cores can run without starving guests that wait on
// the network, and a busy CPU-bound function holds no more live instances,
// and their memory, than the cores can run.
package slots

import "context"

// Limit is a number of running slots shared by invocations.
type Limit struct{ sem chan struct{} }

// New returns a Limit of n slots (at least one).
func New(n int) *Limit { return &Limit{sem: make(chan struct{}, max(n, 1))} }

// Cap returns the number of slots.
func (l *Limit) Cap() int { return cap(l.sem) }

// Slot is one invocation's hold on a Limit. It is used by the goroutine
// that runs the invocation (and the guest's calls on it), not concurrently.
type Slot struct {
	l    *Limit
	held bool
}

// TryTake takes a free slot for s, if there is one.
func (l *Limit) TryTake(s *Slot) bool {
	s.l = l
	select {
	case l.sem <- struct{}{}:
		s.held = true
	default:
	}
	return s.held
}

// Take takes a slot for s, waiting until one is free; false when ctx ends
// first (s then holds none).
func (l *Limit) Take(ctx context.Context, s *Slot) bool {
	if l.TryTake(s) {
		return true
	}
	select {
	case l.sem <- struct{}{}:
		s.held = true
	case <-ctx.Done():
	}
	return s.held
}

// Release gives the slot back; nothing when s holds none or is nil.
func (s *Slot) Release() {
	if s != nil && s.held {
		s.held = false
		<-s.l.sem
	}
}

// Held reports whether s holds a slot.
func (s *Slot) Held() bool { return s != nil && s.held }

type ctxKey struct{}

// With returns ctx carrying s, for Pause to find.
func With(ctx context.Context, s *Slot) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
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
// over: it waits for a free one, unless ctx has ended, when the guest is
// about to be stopped and goes on without one.
func (s *Slot) Resume(ctx context.Context) {
	if s != nil {
		s.l.Take(ctx, s)
	}
}
