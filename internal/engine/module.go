package engine

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// Defaults for the zero fields of Limits.
const (
	DefaultMemoryPages    = 4096     // 256 MiB
	DefaultMaxStdoutBytes = 16 << 20 // 16 MiB
	DefaultMaxStderrLine  = 8 << 10  // 8 KiB
	DefaultMaxStderrBytes = 1 << 20  // 1 MiB
	DefaultMaxInstances   = 16
	// DefaultCompileTimeout is Limits.CompileTimeout when zero.
	DefaultCompileTimeout = 60 * time.Second
	// DefaultMaxTableEntries bounds the table entries of a module (8 bytes
	// of host memory each: 8 MB per instance). Real toolchains need far
	// fewer: Go's runtime table has some thousands of entries, C, Rust and
	// AssemblyScript guests some tens to hundreds.
	DefaultMaxTableEntries = 1_000_000
	// MaxTableEntries is the largest Limits.MaxTableEntries: wazero's own
	// limit on a table's size.
	MaxTableEntries = 1 << 27
	// maxTables bounds the number of tables of a module (each costs host
	// memory per instance even when empty); real modules have one or two.
	maxTables = 100

	// MaxMemoryPages is the largest memory a wasm32 module can address (4 GiB).
	MaxMemoryPages = 65536
	pageSize       = 65536
)

// Limits bound one function's instances. Zero fields mean the defaults above.
type Limits struct {
	// MemoryPages is the maximum linear memory in 64 KiB pages (default
	// 4096 = 256 MiB, at most 65536). It must be at least the module's
	// declared minimum (42 pages for Go guests), or Load fails.
	MemoryPages uint32
	// MaxStdoutBytes bounds stdout (default 16 MiB); a guest that writes more
	// is stopped and its run fails with StdoutLimit.
	MaxStdoutBytes int
	// MaxStderrLine is the longest stderr line passed on (default 8 KiB);
	// longer lines are cut.
	MaxStderrLine int
	// MaxStderrBytes bounds the stderr forwarded as logs per run (default
	// 1 MiB); a guest that writes more is stopped and its run fails with
	// LogLimit.
	MaxStderrBytes int
	// MaxInstances bounds the instances running at once (default 16). A
	// RunCommand that finds them all busy waits for one to finish, until
	// its context ends; it then fails naming this limit.
	MaxInstances int
	// Isolate, for ABI modules, gives every invocation a fresh instance
	// instead of a warm one from the module's pool (abi/SPEC.md §3).
	// Command modules always get a fresh instance.
	Isolate bool
	// Timeout, when positive, is the longest one run may take (the
	// instance's time included). RunCommand applies it on top of its
	// context's own deadline; 0 leaves only the context's.
	Timeout time.Duration
	// MaxTableEntries bounds the entries of the module's tables, each
	// table's and all together, as declared and as grown (default
	// DefaultMaxTableEntries, at most MaxTableEntries). A module declaring
	// more fails to load; a table.grow beyond it returns -1. Each entry
	// costs 8 bytes of host memory, outside MemoryPages.
	MaxTableEntries int
	// CompileTimeout bounds the time Load (or the first invocation of a
	// module loaded lazily) waits for wazero to compile the module
	// (default DefaultCompileTimeout), not counting the wait for a
	// compile slot (one per CPU). A load that takes longer fails with a
	// *CompileBudgetError; the compile, which cannot be interrupted, ends
	// in the background.
	CompileTimeout time.Duration
}

func (l Limits) withDefaults() (Limits, error) {
	if l.MemoryPages == 0 {
		l.MemoryPages = DefaultMemoryPages
	}
	if l.MemoryPages > MaxMemoryPages {
		return l, fmt.Errorf("memory limit of %d pages is above the wasm32 maximum of %d pages (4 GiB)", l.MemoryPages, MaxMemoryPages)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxStdoutBytes", &l.MaxStdoutBytes, DefaultMaxStdoutBytes},
		{"MaxStderrLine", &l.MaxStderrLine, DefaultMaxStderrLine},
		{"MaxStderrBytes", &l.MaxStderrBytes, DefaultMaxStderrBytes},
		{"MaxInstances", &l.MaxInstances, DefaultMaxInstances},
		{"MaxTableEntries", &l.MaxTableEntries, DefaultMaxTableEntries},
	} {
		switch {
		case *f.v < 0:
			return l, fmt.Errorf("limit %s is negative (%d)", f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	if l.Timeout < 0 {
		return l, fmt.Errorf("limit Timeout is negative (%v)", l.Timeout)
	}
	switch {
	case l.CompileTimeout < 0:
		return l, fmt.Errorf("limit CompileTimeout is negative (%v)", l.CompileTimeout)
	case l.CompileTimeout == 0:
		l.CompileTimeout = DefaultCompileTimeout
	}
	if l.MaxTableEntries > MaxTableEntries {
		return l, fmt.Errorf("limit MaxTableEntries of %d is above the maximum of %d table entries", l.MaxTableEntries, MaxTableEntries)
	}
	return l, nil
}

// tableLimits returns the bounds of the module's tables (wasmbin.LimitTables).
func (l Limits) tableLimits() wasmbin.TableLimits {
	return wasmbin.TableLimits{MaxEntries: uint32(l.MaxTableEntries), MaxTables: maxTables}
}

// Module is a WASI command or ABI module with its limits, checked at load.
// It is safe for concurrent use: many RunCommand calls may run at once,
// each in its own instance. Its compiled code is held only while it is
// materialized (lazy.go): from a full load, or from its first invocation
// when it was loaded from a validated-module record, until it stays idle.
type Module struct {
	engine   *Engine
	path     string
	sum      [32]byte // SHA-256 of the file checked at load
	lim      Limits
	grants   Grants
	guard    guardMode     // the guard it runs with
	slots    chan struct{} // one token per running instance, cap lim.MaxInstances
	base     wazero.ModuleConfig
	hasMem   bool // whether instances have a linear memory
	outbound bool // it imports the outbound HTTP functions
	lazy     bool // loaded from a validated-module record, without compiling
	closed   atomic.Bool
	abi      *abiModule // set for ABI modules (abimod.go); nil for commands

	// useMu is held for reading by each invocation while it uses live, and
	// for writing by the idle release; matMu serializes materializing with
	// Close (lazy.go).
	useMu  sync.RWMutex
	matMu  sync.Mutex
	live   atomic.Pointer[liveModule] // nil while lazy
	matErr error                      // why materializing failed (matMu)
	// lastUse is when the module was last seen in use, in Unix
	// nanoseconds: when it was materialized, or when the idle release
	// found used set (and cleared it). An invocation only sets used (and
	// only when it is not set): storing its end time cost it a clock read
	// (42 ns on the machine of BENCHMARKS.md's eleventh session) and a
	// store to a line that every core running the module writes, and the
	// idle release needs no finer time than its own ticks.
	lastUse atomic.Int64
	used    atomic.Bool
}

// Path returns the path the module was loaded from.
func (m *Module) Path() string { return m.path }

// Limits returns the limits of the module's instances, defaults filled in.
func (m *Module) Limits() Limits { return m.lim }

// Grants returns the capabilities granted to the module's instances, host
// paths made absolute.
func (m *Module) Grants() Grants { return m.grants }

// Close releases the compiled code and the module's runtime. Runs still in
// progress fail; later RunCommand calls fail with Kind Instantiate.
func (m *Module) Close(ctx context.Context) error {
	if m.closed.Swap(true) {
		return nil
	}
	m.engine.remove(m)
	m.matMu.Lock() // a materialize under way ends first
	lv := m.live.Swap(nil)
	m.matMu.Unlock()
	if lv == nil {
		return nil
	}
	if err := lv.drop(ctx, m.engine); err != nil {
		return fmt.Errorf("close wasm module %s: %w", m.path, err)
	}
	return nil
}

// Load reads the module at path, compiles it (once: the compiled code is
// kept in the Engine's cache, on disk unless disabled) and checks that it is
// a WASI command this package can run within lim. A module that an earlier
// Load with the same bytes and limits validated (lazy.go) is neither read
// nor compiled: its first invocation compiles it. Its instances get no
// capabilities beyond those listed on Grants. Every error names the file
// and says what to change.
func (e *Engine) Load(ctx context.Context, path string, lim Limits) (*Module, error) {
	return e.LoadWithGrants(ctx, path, lim, Grants{})
}

// LoadWithGrants is Load with capabilities granted to the module's
// instances. A granted host directory that does not exist fails the load.
func (e *Engine) LoadWithGrants(ctx context.Context, path string, lim Limits, g Grants) (*Module, error) {
	return e.load(ctx, path, lim, g, guardFuel, false)
}

// load is LoadWithGrants with the guard to use. A module it compiles to
// check is left lazy afterwards (when the disk cache has its code) unless
// keep: the caller is about to use it.
func (e *Engine) load(ctx context.Context, path string, lim Limits, g Grants, guard guardMode, keep bool) (*Module, error) {
	lim, err := lim.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("load wasm module %s: %w", path, err)
	}
	g, err = g.check()
	if err != nil {
		return nil, fmt.Errorf("load wasm module %s: %w", path, err)
	}
	bin, hash, err := e.readModule(path, false)
	if err != nil {
		return nil, err
	}
	reqGuard := guard
	recFile := e.recordFile(hash, lim.MemoryPages, reqGuard, lim.tableLimits())
	if rec := e.readRecord(recFile, hash); rec != nil {
		return e.loadLazy(path, hash, lim, g, rec)
	}
	if bin == nil { // the hash was remembered: read the bytes now
		if bin, hash, err = e.readModule(path, true); err != nil {
			return nil, err
		}
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("wasm module %s "+format, append([]any{path}, args...)...)
	}
	if len(bin) < 8 || string(bin[:4]) != wasmbin.Magic {
		return nil, fail("is not a WebAssembly binary: the file %s", wasmbin.DescribeStart(bin))
	}
	sum, scanErr := wasmbin.Scan(bin)
	if scanErr == nil && sum.HasMemory && sum.MemoryMinPages > uint64(lim.MemoryPages) {
		return nil, fail("needs at least %d pages (%s) of memory, above the function's limit of %d pages (%s); raise the memory limit",
			sum.MemoryMinPages, pagesString(sum.MemoryMinPages), lim.MemoryPages, pagesString(uint64(lim.MemoryPages)))
	}

	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("load wasm module %s: engine is closed", path)
	}
	// Every module runs with its tables bounded: instrumented (which bounds
	// them too), or else rewritten by wasmbin.LimitTables alone. A module
	// whose tables cannot be read is refused (compile says why if it can).
	code := bin
	var tableErr error
	tabLim := lim.tableLimits()
	var tle *wasmbin.TableLimitError
	if guard == guardFuel {
		if code, err = e.instrumented(bin, hash, tabLim); err != nil {
			var cle *wasmbin.CodeLimitError
			if errors.As(err, &tle) || errors.As(err, &cle) {
				return nil, fmt.Errorf("wasm module %s: %w", path, err)
			}
			if scanErr == nil {
				e.log.Warn("wasm module cannot be instrumented for the deadline guard; it runs with wazero's slower WithCloseOnContextDone",
					"module", path, "error", err)
			}
			code, guard = bin, guardCloseOnDone
		}
	}
	if guard != guardFuel {
		if code, err = wasmbin.LimitTables(bin, tabLim); err != nil {
			if errors.As(err, &tle) {
				return nil, fmt.Errorf("wasm module %s: %w", path, err)
			}
			code, tableErr = bin, err
		}
		// Compile bombs are refused on this path too, and so is code that
		// cannot be read to check it: it is not compiled at all.
		if err := checkCodeLimits(bin); err != nil {
			var cle *wasmbin.CodeLimitError
			switch {
			case errors.As(err, &cle):
				return nil, fmt.Errorf("wasm module %s: %w", path, err)
			case scanErr != nil || errors.Is(err, wasmbin.ErrMalformed):
				return nil, fail("is not a valid WebAssembly binary (truncated or corrupt?): its code cannot be read: %v", err)
			case tableErr != nil:
				return nil, fail("cannot be run: its tables cannot be checked against the table limit: %v", tableErr)
			default:
				return nil, fail("cannot be run: its code cannot be checked against the compile limits: %v", err)
			}
		}
	}
	bin = nil // not needed any more: only code is compiled
	key := shareKey{sum: hash, pages: lim.MemoryPages, guard: guard, tables: tabLim}
	unlock := e.lockKey(key) // loads of the same module wait for the first compile and share it
	sh := e.takeShared(key)
	if sh != nil {
		unlock()
	} else {
		defer unlock()
		// The load this one waited for may have compiled, checked and
		// released the module already: its record says so.
		if rec := e.readRecord(recFile, hash); rec != nil {
			return e.loadLazy(path, hash, lim, g, rec)
		}
		var err error
		if sh, err = e.compile(ctx, path, code, sum, scanErr, tableErr, lim, g, guard, key); err != nil || sh == nil {
			return nil, err
		}
		if sh.fallback != nil { // compiled with the slower guard instead
			e.writeRecord(recFile, sh.fallback.record())
			return sh.fallback, nil
		}
	}
	code = nil

	m := e.newModule(path, hash, lim, g, guard)
	m.hasMem = len(sh.cm.ExportedMemories()) > 0 || len(sh.cm.ImportedMemories()) > 0 || (sum != nil && sum.HasMemory)
	m.outbound = sh.outbound
	if sh.isABI {
		m.abi = &abiModule{info: sh.info}
	}
	lv, err := m.newLive(ctx, sh)
	if err != nil {
		return nil, fmt.Errorf("load wasm module %s: %w", path, err)
	}
	m.live.Store(lv)
	m.lastUse.Store(time.Now().UnixNano())
	e.add(m)
	if e.writeRecord(recFile, m.record()) && e.stopIdle != nil && !keep {
		// Compiled to be checked: its code is in the disk cache now, and
		// kept in memory it would make the first load of an app (a cold
		// cache) hold every module's code until the idle release. It is
		// lazy from here, like a module loaded from its record.
		if m.releaseIfIdle(math.MaxInt64, time.Now().UnixNano()) {
			// Before the load answers, so that the app is at its idle
			// size when the host sends work: a collection (tens of ms) per
			// module compiled at load, which only a first start with an
			// empty cache does, next to the compile's hundreds.
			debug.FreeOSMemory()
		}
	}
	return m, nil
}

// newModule returns a Module without its kind and live part.
func (e *Engine) newModule(path string, sum [32]byte, lim Limits, g Grants, guard guardMode) *Module {
	m := &Module{engine: e, path: path, sum: sum, lim: lim, grants: g, guard: guard,
		slots: make(chan struct{}, lim.MaxInstances)}
	m.base = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // RunCommand calls _start itself, to tell instantiation errors from guest failures
		WithArgs(filepath.Base(path)).
		WithRandSource(crand.Reader).
		WithSysWalltime().
		WithSysNanotime()
	if fc := g.fsConfig(); fc != nil {
		m.base = m.base.WithFSConfig(fc)
	}
	return m
}

// loadLazy returns a lazy Module for a module validated before (rec): it
// compiles nothing; its first invocation does (Module.materialize).
func (e *Engine) loadLazy(path string, sum [32]byte, lim Limits, g Grants, rec *validRecord) (*Module, error) {
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("load wasm module %s: engine is closed", path)
	}
	m := e.newModule(path, sum, lim, g, rec.Guard)
	m.lazy, m.hasMem, m.outbound = true, rec.HasMemory, rec.Outbound
	if rec.ABI {
		m.abi = &abiModule{info: rec.Info}
	}
	e.add(m)
	e.lazyLoads.Add(1)
	return m, nil
}

func readModule(path string) ([]byte, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("wasm module %s: file does not exist: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("wasm module %s: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("wasm module %s is a directory, not a .wasm file", path)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wasm module %s: cannot read the file: %w", path, err)
	}
	return bin, nil
}

// checkCommand lists why cm cannot run as a WASI command here: imports
// other than WASI preview1 functions, WASI functions wazero does not have
// (or with another signature), and a missing or odd _start.
func checkCommand(cm wazero.CompiledModule, sum *wasmbin.Summary, wasi map[string]api.FunctionDefinition, guarded bool) []string {
	var problems, foreign, unknownWASI []string
	seen := map[string]bool{}
	addForeign := func(s string) {
		if !seen[s] {
			seen[s] = true
			foreign = append(foreign, s)
		}
	}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if guarded && mod == guardModule {
			continue // added by wasmbin.Instrument
		}
		if mod == abi.ImportModule {
			if why, ok := abi.CommandImport(name, f.ParamTypes(), f.ResultTypes()); !ok {
				problems = append(problems, why)
			}
			continue
		}
		if mod != wasi_snapshot_preview1.ModuleName {
			addForeign(mod + "." + name)
			continue
		}
		def, ok := wasi[name]
		switch {
		case !ok:
			unknownWASI = append(unknownWASI, name)
		case !slices.Equal(def.ParamTypes(), f.ParamTypes()) || !slices.Equal(def.ResultTypes(), f.ResultTypes()):
			problems = append(problems, fmt.Sprintf("imports %s.%s with type %s, but WASI preview1 defines it as %s",
				mod, name, signature(f), signature(def)))
		}
	}
	for _, mem := range cm.ImportedMemories() {
		mod, name, _ := mem.Import()
		addForeign(mod + "." + name + " (memory)")
	}
	if sum != nil { // tables, globals and tags are not listed by wazero
		for _, imp := range sum.Imports {
			if imp.Kind != wasmbin.KindFunc && imp.Kind != wasmbin.KindMemory {
				addForeign(imp.String())
			}
		}
	}
	if len(foreign) > 0 {
		problems = append(problems, fmt.Sprintf("imports %s, but only WASI preview1 (%s) is provided to guests",
			strings.Join(foreign, ", "), wasi_snapshot_preview1.ModuleName))
	}
	if len(unknownWASI) > 0 {
		problems = append(problems, fmt.Sprintf("imports WASI function(s) %s, which are not part of WASI preview1 as provided by this worker",
			strings.Join(unknownWASI, ", ")))
	}
	exports := cm.ExportedFunctions()
	start, hasStart := exports["_start"]
	_, hasInit := exports["_initialize"]
	switch {
	case !hasStart && hasInit:
		problems = append(problems, "is a reactor (exports _initialize but no _start); reactor modules need ABI v1, which is not supported yet; "+
			"build it as a WASI command instead, e.g. GOOS=wasip1 GOARCH=wasm go build (without -buildmode=c-shared)")
	case !hasStart:
		problems = append(problems, "exports no _start; build it as a WASI command, e.g. GOOS=wasip1 GOARCH=wasm go build")
	case len(start.ParamTypes()) != 0 || len(start.ResultTypes()) != 0:
		problems = append(problems, fmt.Sprintf("exports _start with type %s; a WASI command's _start takes and returns nothing", signature(start)))
	}
	return problems
}

func signature(f api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(f.ParamTypes()) + " -> " + names(f.ResultTypes())
}

func pagesString(pages uint64) string {
	b := pages * pageSize
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

// compile makes the wazero runtime for one module and compiles it: the WASI
// and guard host modules, the compiled code, and the checks of its kind. The
// result is shared by every later Load of the same bytes and limits.
// tableErr, when set, says why code's tables could not be bounded: code is
// then compiled only to report why it is invalid, and refused if it is not.
func (e *Engine) compile(ctx context.Context, path string, code []byte, sum *wasmbin.Summary, scanErr, tableErr error, lim Limits, g Grants, guard guardMode, key shareKey) (*sharedRT, error) {
	rt, wasiFuncs, err := e.newRuntime(ctx, path, lim, guard)
	if err != nil {
		return nil, err
	}
	ok := false
	var cm wazero.CompiledModule
	defer func() {
		if !ok {
			_ = rt.Close(context.Background())
			if cm != nil { // compiled but refused: its code leaves the engine's cache too
				_ = cm.Close(context.Background())
			}
		}
	}()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("wasm module %s "+format, append([]any{path}, args...)...)
	}
	cm, err = e.compileWithin(ctx, rt, path, code, lim.CompileTimeout, nil)
	var stopped *stoppedCompile
	if errors.As(err, &stopped) { // over budget, or ctx ended: no fallback
		ok = stopped.abandoned // then the compile goes on and closes rt when it ends
		return nil, stopped.err
	}
	if err != nil && guard == guardFuel {
		// The instrumented module does not compile: either the module is
		// invalid (the retry reports why) or wasmbin.Instrument has a bug.
		_ = rt.Close(context.Background())
		ok = true // closed already
		m, err2 := e.load(ctx, path, lim, g, guardCloseOnDone, false)
		if err2 != nil {
			return nil, err2
		}
		e.log.Warn("instrumented wasm module does not compile; it runs with wazero's slower WithCloseOnContextDone",
			"module", path, "error", err)
		return &sharedRT{fallback: m}, nil
	}
	if err != nil {
		if scanErr != nil {
			return nil, fail("is not a valid WebAssembly binary (truncated or corrupt?): %w", err)
		}
		return nil, fail("does not compile: %w", err)
	}
	if tableErr != nil {
		return nil, fail("cannot be run: its tables cannot be checked against the table limit: %v", tableErr)
	}
	info, abiErr := abi.Check(cm, guardModule)
	isABI := abiErr == nil
	switch {
	case isABI:
	case !errors.Is(abiErr, abi.ErrNotABI):
		return nil, fail("cannot be loaded: %v", abiErr)
	default:
		if problems := checkCommand(cm, sum, wasiFuncs, guard == guardFuel); len(problems) > 0 {
			return nil, fail("%s", strings.Join(problems, "; "))
		}
	}

	sh := &sharedRT{key: key, rt: rt, cm: cm, isABI: isABI, info: info, refs: 1,
		outbound: abi.ImportsOutbound(cm.ImportedFunctions())}
	e.putShared(sh)
	ok = true
	return sh, nil
}

// newRuntime makes the wazero runtime for one module, with the WASI and
// guard host modules in it; it returns WASI's functions too.
func (e *Engine) newRuntime(ctx context.Context, path string, lim Limits, guard guardMode) (wazero.Runtime, map[string]api.FunctionDefinition, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(e.cache, lim.MemoryPages, guard))
	fail := func(err error) (wazero.Runtime, map[string]api.FunctionDefinition, error) {
		_ = rt.Close(context.Background())
		return nil, nil, err
	}
	// Compiled, then instantiated, and never closed: closing a host
	// module's compiled form in wazero v1.12 can leave a guest's compiled
	// code referenced past its release (see BENCHMARKS, "Running slots,
	// released code and the invocation path"), which costs far more than
	// the ~16 KiB of host-module code each runtime leaves behind.
	wasi, err := wasi_snapshot_preview1.NewBuilder(rt).Compile(ctx)
	if err != nil {
		return fail(fmt.Errorf("load wasm module %s: compile WASI host module: %w", path, err))
	}
	if _, err := rt.InstantiateModule(ctx, wasi, wazero.NewModuleConfig()); err != nil {
		return fail(fmt.Errorf("load wasm module %s: instantiate WASI host module: %w", path, err))
	}
	if guard == guardFuel {
		if err := instantiateGuard(ctx, rt); err != nil {
			return fail(fmt.Errorf("load wasm module %s: instantiate the deadline guard: %w", path, err))
		}
	}
	return rt, wasi.ExportedFunctions(), nil
}
