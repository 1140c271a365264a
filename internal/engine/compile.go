package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
	"unsafe"

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
// result, or a *stoppedCompile. release, when not nil, is called once the
// compile no longer reads code (after an abandoned compile too), and code
// is then taken to be a mapped file (mapFile): a fault reading it fails
// the compile instead of the worker.
func (e *Engine) compileWithin(ctx context.Context, rt wazero.Runtime, path string, code []byte, budget time.Duration, release func()) (wazero.CompiledModule, error) {
	mapped := release != nil
	if release == nil {
		release = func() {}
	}
	select {
	case e.compileSlots <- struct{}{}:
	case <-ctx.Done():
		release()
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
		cm, err := compileGuarded(ctx, rt, code, mapped)
		release()
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

// compileGuarded is rt.CompileModule(code). When code is a mapped file
// (mapped), a memory fault reading it (the file truncated meanwhile) is an
// error rather than the end of the worker; any other fault is left alone.
func compileGuarded(ctx context.Context, rt wazero.Runtime, code []byte, mapped bool) (cm wazero.CompiledModule, err error) {
	if !mapped || len(code) == 0 {
		return rt.CompileModule(context.WithoutCancel(ctx), code)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(code)))
			if fault, ok := r.(interface{ Addr() uintptr }); ok && fault.Addr() >= start && fault.Addr()-start < uintptr(len(code)) {
				cm, err = nil, fmt.Errorf("reading the module's code faulted at offset %d (its cache file changed while mapped): %v", fault.Addr()-start, r)
				return
			}
			panic(r)
		}
	}()
	return rt.CompileModule(context.WithoutCancel(ctx), code)
}
