package invocation

import (
	"context"
)

// Canceler says why an invocation's context ended: cancelled (and why) or
// past its deadline; nil while it has not. The invocation's owner (the
// worker) keeps the reason with the context, which the context package
// cannot read (context.Cause knows only its own contexts).
type Canceler interface {
	CancelReason() error
}

type cancelerKey struct{}

// WithCanceler returns ctx carrying c, for CancelCause.
func WithCanceler(ctx context.Context, c Canceler) context.Context {
	return &CancelerContext{Context: ctx, Canceler: c}
}

// CancelerContext is a context carrying a Canceler for CancelCause, for
// embedding in a value that lives as long as the invocation: a
// CancelerContext in place allocates nothing (WithCanceler allocates one).
type CancelerContext struct {
	context.Context
	Canceler Canceler
}

// Value returns the Canceler for CancelCause, and the parent's values
// otherwise.
func (c *CancelerContext) Value(key any) any {
	if key == (cancelerKey{}) {
		return c.Canceler
	}
	return c.Context.Value(key)
}

// AfterFunc runs f in its own goroutine once the context c wraps
// ends, as context.AfterFunc does; stop prevents that. The context package
// uses it for a context derived from c, which then needs no goroutine to
// watch c when the context c wraps has no standard cancelable context of
// its own (internal/deadline's).
func (c *CancelerContext) AfterFunc(f func()) (stop func() bool) {
	return AfterFunc(c.Context, f)
}

// AfterFunc is ctx's own AfterFunc method when it has one, else
// context.AfterFunc: for contexts that wrap another, so that contexts
// derived from the wrapper reach the wrapped one's.
func AfterFunc(ctx context.Context, f func()) (stop func() bool) {
	if a, ok := ctx.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(ctx, f)
}

// CancelCause says why ctx ended: its own cause when it has one (a cause
// given to a context made with the context package), else the reason of
// the Canceler in it, else ctx.Err(); nil while ctx has not ended.
func CancelCause(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != err {
		return cause
	}
	if c, ok := ctx.Value(cancelerKey{}).(Canceler); ok {
		if why := c.CancelReason(); why != nil {
			return why
		}
	}
	return err
}
