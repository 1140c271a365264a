package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// This file bounds compilation: wazero's CompileModule cannot be
// interrupted, so a load waits for it at most Limits.CompileTimeout and
// then fails, while the compile ends in the background. Compiles run at most
// one per CPU at once (Engine.compileSlots), abandoned ones included, so
// that a burst of loads leaves the CPUs to the invocations being served.

// CompileBudgetError reports a module that took longer than its
// Limits.CompileTimeout to compile.
type CompileBudgetError struct {
	Path   string        // the module's file
	Budget time.Duration // Limits.CompileTimeout
}

func (e *CompileBudgetError) Error() string {
	return fmt.Sprintf("wasm module %s took longer than the compile budget of %v", e.Path, e.Budget)
}

// stoppedCompile is compileWithin's error when the load stopped waiting for
// the compile: err is a *CompileBudgetError or says why ctx ended; when
// abandoned, the compile goes on and closes the runtime when it ends, so the
// caller must neither use nor close it.
type stoppedCompile struct {
	err       error
	abandoned bool
}

func (e *stoppedCompile) Error() string { return e.err.Error() }
func (e *stoppedCompile) Unwrap() error { return e.err }

// compileWithin compiles code in rt, waiting first for a compile slot (until
// ctx ends) and then for the compile, at most budget. It returns wazero's
// result, or a *stoppedCompile.
func (e *Engine) compileWithin(ctx context.Context, rt wazero.Runtime, path string, code []byte, budget time.Duration) (wazero.CompiledModule, error) {
	select {
	case e.compileSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, &stoppedCompile{err: fmt.Errorf("load wasm module %s: stopped while waiting to compile: %w", path, context.Cause(ctx))}
	}
	type result struct {
		cm  wazero.CompiledModule
		err error
	}
	var (
		mu        sync.Mutex // orders the compile's end and the load's giving up
		abandoned bool
		done      = make(chan result, 1)
	)
	e.compiles.Add(1)
	e.compileCount.Add(1)
	go func() {
		defer e.compiles.Done()
		defer func() { <-e.compileSlots }()
		cm, err := rt.CompileModule(context.WithoutCancel(ctx), code)
		mu.Lock()
		gone := abandoned
		if !gone {
			done <- result{cm, err}
		}
		mu.Unlock()
		if gone { // nobody uses the result: release the compiled code and the runtime
			if err == nil {
				_ = cm.Close(context.Background())
			}
			_ = rt.Close(context.Background())
		}
	}()
	timer := time.NewTimer(budget)
	defer timer.Stop()
	var stop error
	select {
	case r := <-done:
		return r.cm, r.err
	case <-timer.C:
		stop = &CompileBudgetError{Path: path, Budget: budget}
	case <-ctx.Done():
		stop = fmt.Errorf("load wasm module %s: stopped while compiling: %w", path, context.Cause(ctx))
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-done: // it ended meanwhile
		return r.cm, r.err
	default:
		abandoned = true
		return nil, &stoppedCompile{err: stop, abandoned: true}
	}
}
