// Package deadline gives contexts that end at their deadlines by one timer
// shared by all of them, so that a context per invocation costs neither a
// runtime timer nor an allocation of its own (a Done channel is made only
// for a caller that waits on it).
//
// The worker gives every invocation a context that ends when the host
// cancels it, when it is done, or when it runs past the app's timeout.
// context.WithTimeoutCause made that a timer context, a runtime timer and
// their records on every invocation, and the runtime's timer heap did work
// for each, though nearly every invocation ends long before its deadline.
// Here a Context is a plain value that lives inside the invocation's own
// record; a Timer keeps the contexts with a deadline in a list ordered by
// deadline, and one runtime timer, armed for the earliest, ends those whose
// deadline passed. With one timeout for the whole app, a new context goes
// to the end of the list and one that ends leaves it in constant time.
package deadline

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Timer ends the Contexts started with it when their deadlines pass. The
// zero Timer is ready to use; it must not be copied after first use.
type Timer struct {
	mu         sync.Mutex
	head, tail *Context // the contexts with a deadline not ended yet, earliest first
	t          *time.Timer
	armed      time.Time // when t fires; zero when it is not armed
}

// Context is a context.Context that ends when Cancel is called or when
// the deadline it was started with passes. It is meant to live inside the
// record of the work it bounds: start it with Timer.Start, end it with
// Cancel when the work is done, and do not reuse it. It has no parent and
// holds no values.
type Context struct {
	timer    *Timer
	deadline time.Time // zero: none
	dcause   error     // the cause when the deadline passes

	ended atomic.Bool // err is set
	mu    sync.Mutex
	err   error // context.Canceled or context.DeadlineExceeded once ended
	cause error
	done  atomic.Pointer[chan struct{}] // made by the first Done, set under mu
	after []*afterFunc                  // functions to run when it ends (AfterFunc)
	watch Watcher                       // told when it ends (Watch)

	prev, next *Context // in timer's list, under timer.mu
	listed     bool     // in timer's list
}

// afterFunc is one function given to Context.AfterFunc.
type afterFunc struct{ f func() }

// closed is the Done channel of a context that ended before Done was
// first called.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Start starts c, a new Context, ending with context.DeadlineExceeded and
// cause when d has passed from now; with d <= 0 it has no deadline and
// ends only by Cancel.
func (t *Timer) Start(c *Context, d time.Duration, cause error) {
	c.timer = t
	if d <= 0 {
		return
	}
	c.deadline = time.Now().Add(d)
	c.dcause = cause
	if c.dcause == nil {
		c.dcause = context.DeadlineExceeded
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// From the end: the contexts of one app share one timeout, so a new
	// one has the latest deadline.
	at := t.tail
	for at != nil && at.deadline.After(c.deadline) {
		at = at.prev
	}
	c.prev = at
	if at == nil {
		c.next, t.head = t.head, c
	} else {
		c.next, at.next = at.next, c
	}
	if c.next == nil {
		t.tail = c
	} else {
		c.next.prev = c
	}
	c.listed = true
	if t.armed.IsZero() || c.deadline.Before(t.armed) {
		t.arm(c.deadline)
	}
}

// arm makes the runtime timer fire at when. t.mu is held.
func (t *Timer) arm(when time.Time) {
	t.armed = when
	d := time.Until(when)
	if t.t == nil {
		t.t = time.AfterFunc(d, t.fire)
		return
	}
	t.t.Reset(d)
}

// fire ends the contexts whose deadline passed, and arms the timer for the
// earliest deadline left. A context that ended meanwhile has left the list;
// the timer is not re-armed when one does, so it may fire with nothing due.
func (t *Timer) fire() {
	now := time.Now()
	var due []*Context
	t.mu.Lock()
	for c := t.head; c != nil && !c.deadline.After(now); c = t.head {
		t.unlink(c)
		due = append(due, c)
	}
	t.armed = time.Time{}
	if t.head != nil {
		t.arm(t.head.deadline)
	}
	t.mu.Unlock()
	for _, c := range due {
		c.end(context.DeadlineExceeded, c.dcause)
	}
}

// unlink takes c out of the list. t.mu is held.
func (t *Timer) unlink(c *Context) {
	if c.prev == nil {
		t.head = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		t.tail = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

// Len returns how many contexts wait for their deadline.
func (t *Timer) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for c := t.head; c != nil; c = c.next {
		n++
	}
	return n
}

// Cancel ends c with context.Canceled, for cause (context.Canceled when
// nil), unless it ended before; either way c leaves its Timer.
func (c *Context) Cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	c.end(context.Canceled, cause)
	if t := c.timer; t != nil && !c.deadline.IsZero() {
		t.mu.Lock()
		if c.listed {
			t.unlink(c)
		}
		t.mu.Unlock()
	}
}

// end ends c with err and cause, unless it ended before.
func (c *Context) end(err, cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err, c.cause = err, cause
	c.ended.Store(true)
	if d := c.done.Load(); d != nil {
		close(*d)
	}
	after, watch := c.after, c.watch
	c.after = nil
	c.mu.Unlock()
	for _, a := range after {
		go a.f()
	}
	if watch != nil {
		watch.Ended()
	}
}

// Watcher is told when a Context ends (Watch).
type Watcher interface {
	// Ended is called once, when the context ends, on the goroutine that
	// ended it (Cancel's, or the Timer's at the deadline), after Done is
	// closed and with none of the context's or Timer's locks held, but
	// possibly with the canceller's own: it must not block.
	Ended()
}

// Watch has w told when c ends; it must be called before c is started
// (Timer.Start). Unlike AfterFunc it allocates nothing and starts no
// goroutine: a watcher that lives with c (the record c is in) costs
// nothing per context.
func (c *Context) Watch(w Watcher) { c.watch = w }

// Deadline returns the deadline c was started with, if any.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

// Done returns a channel closed when c ends. The channel is made by the
// first call, so that a context nobody waits on costs none.
func (c *Context) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return *d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.done.Load(); d != nil {
		return *d
	}
	if c.err != nil {
		return closed
	}
	d := make(chan struct{})
	c.done.Store(&d)
	return d
}

// Err returns nil until c ends, then context.Canceled or
// context.DeadlineExceeded.
func (c *Context) Err() error {
	if !c.ended.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Cause returns why c ended: the cause given to Cancel, or the deadline's
// cause given to Start; nil until it ends.
func (c *Context) Cause() error {
	if !c.ended.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Value returns nil: a Context holds no values.
func (c *Context) Value(any) any { return nil }

// AfterFunc arranges for f to run in its own goroutine once c ends (at
// once if it has); stop prevents that, reporting whether it did. The
// context package uses it for a context derived from c
// (context.WithCancel), which then needs no goroutine of its own to watch
// c: when c is the derived context's parent, or when every context
// between them forwards AfterFunc to the one it wraps (as
// invocation.CancelerContext and slots.Context do; context.WithValue's
// contexts do not).
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.after = append(c.after, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.after, a); i >= 0 {
			c.after = slices.Delete(c.after, i, i+1)
			return true
		}
		return false
	}
}

// String names the context, for fmt.
func (c *Context) String() string { return "deadline.Context" }
