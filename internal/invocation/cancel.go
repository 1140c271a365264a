package invocation

import (
	"context"
	"errors"
)

// Canceler says why an invocation was cancelled: nil while it was not. The
// invocation's owner (the worker) keeps the reason beside the context,
// whose cancel function takes none, since the same context carries the
// deadline.
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

// CancelCause says why ctx ended: the reason of the Canceler in it when
// ctx was cancelled and it has one, else context.Cause(ctx); nil while ctx
// has not ended.
func CancelCause(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		if c, ok := ctx.Value(cancelerKey{}).(Canceler); ok {
			if why := c.CancelReason(); why != nil {
				return why
			}
		}
	}
	return context.Cause(ctx)
}
