package abi

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// CallError reports that an entry point did not return normally: it trapped
// (unreachable, out-of-bounds access, stack overflow, a Go panic), exited
// through proc_exit, or was stopped because its context ended. The instance
// may be corrupt and must be closed (SPEC.md §3).
type CallError struct {
	Entry string
	Err   error // wazero's error; for a stopped guest, the context's cause
}

func (e *CallError) Error() string {
	if code, ok := e.ExitCode(); ok {
		return fmt.Sprintf("entry point %s exited with code %d (proc_exit) instead of returning", e.Entry, code)
	}
	return fmt.Sprintf("entry point %s failed: %v", e.Entry, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// ExitCode returns the code the guest passed to proc_exit, if it exited.
func (e *CallError) ExitCode() (uint32, bool) {
	var exit *sys.ExitError
	if errors.As(e.Err, &exit) && exit.ExitCode() < 0xefffffff-1 { // not wazero's "closed by context" codes
		return exit.ExitCode(), true
	}
	return 0, false
}

// Reusable reports whether an instance may serve another invocation after
// Call returned err: after success, or after the guest returned a non-zero
// status (*FunctionError); never after a trap, exit, timeout or cancel.
func Reusable(err error) bool {
	var fe *FunctionError
	return err == nil || errors.As(err, &fe)
}

// Call runs one invocation: it calls the entry point entry (type () -> i32)
// of the live instance mod once, with inv attached to ctx so that the
// guest's imports read and write inv. It returns nil when the guest returned
// 0, a *FunctionError when it returned another status, or a *CallError when
// it did not return normally (then close mod). The outcome is also what
// inv.Result reports. Cancelling ctx stops the guest only if the runtime was
// configured with WithCloseOnContextDone.
//
// Call looks the export up on every call, which costs wazero a new call
// engine (about 10 KiB); Pool caches the looked-up function per instance.
func Call(ctx context.Context, mod api.Module, entry string, inv *Invocation) error {
	return callFunction(ctx, mod.ExportedFunction(entry), entry, inv)
}

// callFunction is Call with the export fn (nil when missing) already looked
// up. fn must not be used by two goroutines at once.
func callFunction(ctx context.Context, fn api.Function, entry string, inv *Invocation) (err error) {
	if inv.done {
		return &CallError{Entry: entry, Err: errors.New("this Invocation already ran; build a new one per invocation")}
	}
	defer func() {
		if p := recover(); p != nil { // a bug on our side must not take the worker down
			err = &CallError{Entry: entry, Err: fmt.Errorf("internal error: %v", p)}
		}
		if _, ok := err.(*FunctionError); !ok {
			inv.finish(0, err)
		}
	}()
	if fn == nil {
		return &CallError{Entry: entry, Err: errors.New("the module exports no such function")}
	}
	if d := fn.Definition(); len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 1 || d.ResultTypes()[0] != i32 {
		return &CallError{Entry: entry, Err: fmt.Errorf("has type %s; an entry point must have type () -> (i32)",
			signature(d.ParamTypes(), d.ResultTypes()))}
	}
	var stack [1]uint64
	if cerr := fn.CallWithStack(WithInvocation(ctx, inv), stack[:]); cerr != nil {
		if ctx.Err() != nil {
			cerr = fmt.Errorf("%w (%w)", invocation.CancelCause(ctx), cerr)
		} else if inv.errMsg != "" {
			// The guest named the cause before it trapped, as a Rust panic
			// hook does (SPEC.md §5.4).
			cerr = fmt.Errorf("%s (%w)", inv.errMsg, cerr)
		}
		return &CallError{Entry: entry, Err: cerr}
	}
	if status := api.DecodeI32(stack[0]); status != 0 {
		inv.finish(status, nil)
		return inv.err
	}
	return nil
}
