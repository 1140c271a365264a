package engine

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmworker/wasmworker/internal/reset"
	"github.com/wasmworker/wasmworker/internal/slots"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// This file holds how a running guest is stopped when its context ends.
//
// wazero can only stop a running guest if the module is compiled with
// WithCloseOnContextDone, which leaves native code for Go at every loop
// header and function entry (about 100x on tight loops, BENCHMARKS.md,
// "Deadline guard"). Without it, a guest in a loop can neither be stopped
// nor paused, and a garbage collection of the whole worker waits for it:
// every goroutine freezes.
//
// So by default a module is instrumented at load instead
// (wasmbin.Instrument, cached by instrcache.go): every loop header and
// function entry counts down a fuel global and, every guardInterval times,
// calls the import guardModule.guardFunc, yieldFunc, which stops the guest
// if the run's context has ended and, being Go code, lets the Go scheduler
// and collector in, and lets a guest that held its running slot for a
// quantum give it to one waiting (internal/slots). Bulk memory and table instructions (memory.fill,
// memory.copy, memory.init, table.*) are charged to the same fuel by their
// length (one unit per 64 bytes), so that straight-line code made of large
// ones is stopped as promptly. That costs a few percent on CPU-bound code.
// A module the instrumentation cannot handle runs with
// WithCloseOnContextDone instead: slower, just as safe for loops and calls,
// but wazero does not check the context between straight-line bulk
// instructions (no toolchain's output takes that path).
//
// A guest blocked in a WASI sleep (poll_oneoff on a clock) wakes when the
// run's context ends: cmdInstance.sleep for commands, the pool's own sleep for ABI
// instances (abi.Pool). Whatever the guest does then, a run that returns
// normally after its context ended fails (Module.overdue).
//
// Tables are bounded at load too (Limits.MaxTableEntries): by the same
// rewrite, or by wasmbin.LimitTables alone on the WithCloseOnContextDone
// path; a module whose tables cannot be read is refused.

// The import that instrumented code calls. The names are the engine's, not
// wasmbin's: the engine provides the function (instantiateGuard), skips the
// import when it checks a module's imports (checkCommand, abi.Check) and
// passes the names to wasmbin.Instrument, which refuses a module that
// imports from guardModule itself. Changing them changes the instrumented
// code: bump instrumentVersion.
const (
	guardModule = "wasmworker_guard"
	guardFunc   = "yield"
	// markFunc is the import instrumented code calls before a call of
	// an import that changes state a reset does not restore
	// (internal/reset; trackedImport).
	markFunc = "mark"
)

// statelessWASI are the WASI functions whose calls leave nothing in the
// instance that restoring its memory and globals would miss: they read
// arguments, clocks and randomness, read and write the standard streams,
// seek (the streams cannot), or end the instance (proc_exit closes it, so
// it is never reused). A call of any other WASI function (opening, closing
// or renumbering a descriptor, changing its flags, reading a directory
// whose position the descriptor keeps) marks the run, and its instance is
// closed instead of reused.
var statelessWASI = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true, "random_get": true, "sched_yield": true,
	"fd_read": true, "fd_write": true, "fd_pread": true, "fd_pwrite": true, "fd_seek": true, "fd_tell": true,
	"fd_fdstat_get": true, "fd_filestat_get": true, "fd_prestat_get": true, "fd_prestat_dir_name": true,
	"path_filestat_get": true, "poll_oneoff": true, "proc_exit": true, "proc_raise": true,
}

// trackedImport reports the imports whose calls mark a run (Options.Tracked
// of wasmbin.Instrument): every WASI function not in statelessWASI. The
// wasmworker ABI's host functions keep their state in the invocation, not
// in the instance.
func trackedImport(module, name string) bool {
	return module == wasi_snapshot_preview1.ModuleName && !statelessWASI[name]
}

// guardInterval is how many loop iterations and calls a guest makes
// between two calls to the host (see BENCHMARKS.md, "Deadline guard").
// Changing it changes the instrumented code: bump instrumentVersion.
var guardInterval uint32 = 1 << 14

// guardMode is how a module's guests are stopped.
type guardMode int

const (
	// guardFuel instruments the module (the default).
	guardFuel guardMode = iota
	// guardCloseOnDone uses wazero's WithCloseOnContextDone.
	guardCloseOnDone
	// guardNone cannot stop a guest at all, nor let the Go collector stop
	// it: for benchmarks only.
	guardNone
)

func (g guardMode) String() string {
	switch g {
	case guardFuel:
		return "fuel"
	case guardCloseOnDone:
		return "close-on-context-done"
	}
	return "none"
}

// runtimeConfig returns the configuration of one Module's wazero runtime.
func runtimeConfig(cache wazero.CompilationCache, memoryPages uint32, g guardMode) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		WithMemoryLimitPages(memoryPages).
		WithCloseOnContextDone(g == guardCloseOnDone)
}

// instantiateGuard provides the function instrumented code calls.
func instantiateGuard(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(guardModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(yieldFunc), nil, nil).
		Export(guardFunc).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(markRun), nil, nil).
		Export(markFunc).
		Instantiate(ctx)
	return err
}

// yieldFunc is called by instrumented guests every guardInterval loop
// iterations or calls, with the context of the run. It stops the guest when
// the context has ended, or its deadline has passed: the timer that ends
// the context may be due on the guest's own (busy) P and so run late. Being
// Go code, it also lets the Go scheduler and garbage collector stop the
// guest's goroutine.
func yieldFunc(ctx context.Context, _ []uint64) {
	// A guest that held its running slot for a quantum while others wait
	// for one queues again (internal/slots): long and runaway guests share
	// the slots instead of holding them until their deadlines.
	slots.Yield(ctx)
	if err := ctx.Err(); err != nil {
		code := sys.ExitCodeContextCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			code = sys.ExitCodeDeadlineExceeded
		}
		panic(sys.NewExitError(code))
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
	if c := runningInstance(ctx); c != nil && c.stopped != nil { // a command over a stdio limit
		panic(sys.NewExitError(sys.ExitCodeContextCanceled))
	}
}

// markRun is the mark import: the run of ctx changed state a reset does
// not restore.
func markRun(ctx context.Context, _ []uint64) {
	if c := runningInstance(ctx); c != nil {
		c.run.Mark()
		return
	}
	reset.Touch(ctx) // an isolated ABI instance (abi.Pool)
}

// awaitDeadline waits (briefly) for ctx to end when its deadline has passed
// but its timer has not run yet, so that its error and cause are set.
func awaitDeadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok || ctx.Err() != nil || time.Now().Before(d) {
		return
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// codeLimits refuses, before compiling, function bodies shaped to make
// compiling take minutes and gigabytes. Body size and locals are V8's own
// limits for WebAssembly, so a module that runs in a browser fits. Nesting
// and br_table size are lower: wazero's compile time grows faster than
// linearly with both (BenchmarkCompileShapes: 5,000 nested blocks 0.13 s,
// 50,000 10 s; a br_table of 16,384 targets 0.2 s, of 65,520 1.3 s), and
// the largest real guests need 573 and 916 (TestToolchainCodeFitsTheLimits).
var codeLimits = wasmbin.CodeLimits{
	MaxBodyBytes: 7_654_321,
	MaxLocals:    50_000,
	MaxDepth:     5_000,
	MaxBrTable:   16_384,
}

// checkCodeLimits checks bin against codeLimits without instrumenting it,
// for a module that runs without the deadline guard: the instrumentation
// checks the limits as it rewrites, the fallback to WithCloseOnContextDone
// must not skip them. It runs the instrumentation's own pass, under an
// import name of its own (so that a module importing guardModule, which the
// instrumentation refuses, is measured too), and returns its error: a
// *wasmbin.CodeLimitError naming the function and the limit, or why the
// code could not be read to its end (nil when it fits).
func checkCodeLimits(bin []byte) error {
	_, err := wasmbin.Instrument(bin, wasmbin.Options{Interval: guardInterval, Module: guardModule + "_check", Func: guardFunc, Code: codeLimits})
	return err
}
