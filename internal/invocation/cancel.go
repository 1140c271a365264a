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

// CancelCause says why ctx ended: the reason of the Canceler in it when it
// has one and the invocation's context ended, else context.Cause(ctx); nil
// while ctx has not ended.
func CancelCause(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if c, ok := ctx.Value(cancelerKey{}).(Canceler); ok {
		if why := c.CancelReason(); why != nil {
			return why
		}
	}
	return context.Cause(ctx)
}
