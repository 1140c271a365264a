package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/slots"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// This file holds lazy materialization. A module's compiled code (13-15 MB
// of machine code for a Go guest, mapped from the compilation cache) is
// what "loaded" costs, so a Module is not required to hold it:
//
//   - After a module compiles and passes every check at load, the engine
//     writes a validated-module record in its cache directory
//     (<cacheDir>/validated/<key>), keyed by everything the load and the
//     compile depend on (recordKey). It holds what a load needs besides
//     the code: the guest kind, the ABI entry points, the guard mode used.
//   - A later load (in this or a later worker process) that finds a record
//     for its key does not compile: the Module is lazy. Its mode and entry
//     points come from the record, so a wrong entryPoint still fails the
//     load, by name.
//   - The first invocation materializes it (Module.materialize): it takes
//     the instrumented copy from the disk cache (instrcache.go, named by
//     the original's SHA-256), or else reads the file again, checks that
//     its SHA-256 is still the one recorded and instruments it; and it
//     compiles that (a cache hit), once for concurrent invocations. A failure is remembered and reported by
//     every later invocation.
//   - A materialized module whose invocations stopped for the idle release
//     time (Config.IdleRelease) gives its compiled code and its warm
//     instances back and is lazy again (Engine.releaseIdle).
//
// A module never validated is always fully checked at load, which reports
// every error; its record is written only after a load succeeded.

// recordVersion names the format and the meaning of validated-module
// records; change it whenever the checks of a load change.
const recordVersion = 1

// validRecord is what a successful load learned about a module, enough to
// load it again without compiling.
type validRecord struct {
	Sum       string    `json:"sum"`   // hex SHA-256 of the module file
	Guard     guardMode `json:"guard"` // the guard the module runs with (a fallback may differ from the one asked for)
	ABI       bool      `json:"abi"`
	Info      abi.Info  `json:"info"` // for ABI modules
	Outbound  bool      `json:"outbound"`
	HasMemory bool      `json:"hasMemory"`
}

// buildID identifies the wazero version and the running executable, both
// part of every record's key: a new worker binary validates modules again.
var buildID = sync.OnceValue(func() string {
	var b strings.Builder
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				fmt.Fprintf(&b, "wazero %s %s\n", d.Version, d.Sum)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			fmt.Fprintf(&b, "executable %s %d %d\n", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	return b.String()
})

// recordFile returns the file of the record for a load of the module whose
// SHA-256 is sum with the given limits and guard, or "" when the engine
// has no cache directory.
func (e *Engine) recordFile(sum [32]byte, pages uint32, guard guardMode, tables wasmbin.TableLimits) string {
	if e.recordDir == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "record %d\nmodule %x\ninstrument %d %d\nguard %d\npages %d\ntables %d %d\n%s",
		recordVersion, sum, instrumentVersion, guardInterval, guard, pages, tables.MaxEntries, tables.MaxTables, buildID())
	return filepath.Join(e.recordDir, hex.EncodeToString(h.Sum(nil)))
}

// readRecord returns the record in file for the module sum, or nil when
// there is none or it cannot be used (then the load is a full one).
func (e *Engine) readRecord(file string, sum [32]byte) *validRecord {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var r validRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Sum != hex.EncodeToString(sum[:]) {
		e.log.Debug("ignoring an unusable validated-module record", "file", file, "error", err)
		return nil
	}
	return &r
}

// writeRecord stores r in file atomically, and reports whether it did; a
// failure only costs the next load a compile.
func (e *Engine) writeRecord(file string, r validRecord) bool {
	if file == "" {
		return false
	}
	b, err := json.Marshal(r)
	if err != nil {
		e.log.Debug("cannot write validated-module record", "error", err)
		return false
	}
	return e.store(file, b)
}

// record returns what m's successful load learned.
func (m *Module) record() validRecord {
	r := validRecord{Sum: hex.EncodeToString(m.sum[:]), Guard: m.guard, Outbound: m.outbound, HasMemory: m.hasMem}
	if m.abi != nil {
		r.ABI, r.Info = true, m.abi.info
	}
	return r
}

// liveModule is the materialized part of a Module: its compiled code in a
// (shared) runtime and, for ABI modules, its pool of warm instances.
type liveModule struct {
	share *sharedRT
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	pool  *abi.Pool // ABI modules only
	cmds  *cmdIdle  // command modules only: reset instances (reuse.go)
}

// newLive makes m's live part from sh, whose reference it takes over: on
// error, sh is released.
func (m *Module) newLive(ctx context.Context, sh *sharedRT) (*liveModule, error) {
	lv := &liveModule{share: sh, rt: sh.rt, cm: sh.cm}
	var err error
	switch {
	case m.abi != nil:
		if err = m.engine.provideABI(ctx, sh); err != nil {
			err = fmt.Errorf("provide the wasmworker ABI host module: %w", err)
			break
		}
		cfg := abi.ModuleConfig()
		if fc := m.grants.fsConfig(); fc != nil {
			cfg = cfg.WithFSConfig(fc)
		}
		for _, k := range slices.Sorted(maps.Keys(m.grants.Env)) {
			cfg = cfg.WithEnv(k, m.grants.Env[k])
		}
		pc := abi.PoolConfig{
			MaxInstances: m.lim.MaxInstances,
			MaxIdle:      m.engine.maxIdle,
			Isolate:      m.lim.Isolate,
			ModuleConfig: cfg,
		}
		if m.guard == guardFuel {
			pc.ResetPrefix = guardModule
		}
		lv.pool = abi.NewPool(sh.rt, sh.cm, pc)
	case m.outbound: // a command importing the outbound functions
		if err = m.engine.provideABI(ctx, sh); err != nil {
			err = fmt.Errorf("provide the wasmworker host module: %w", err)
		}
	}
	if m.abi == nil && m.guard == guardFuel {
		lv.cmds = &cmdIdle{max: max(1, min(m.engine.maxIdle, m.lim.MaxInstances))}
	}
	if err != nil {
		_ = m.engine.releaseShared(sh)
		return nil, err
	}
	return lv, nil
}

// drop closes lv's warm instances and releases its runtime.
func (lv *liveModule) drop(ctx context.Context, e *Engine) error {
	if lv.pool != nil {
		_ = lv.pool.Close(ctx) // instances still running are closed when they end
	}
	if lv.cmds != nil {
		lv.cmds.close()
	}
	return e.releaseShared(lv.share)
}

// errFileChanged is the error of a lazy module whose file no longer holds
// the bytes validated at load.
var errFileChanged = errors.New("the module file changed since the function was loaded (its SHA-256 is not the one checked at load); reload the function app to load the new file")

// use returns m's live part for one invocation, materializing it first if
// needed; the caller calls m.done after the invocation. The error is a
// *RunError naming the module.
func (m *Module) use(ctx context.Context) (*liveModule, *RunError) {
	m.useMu.RLock()
	if lv := m.live.Load(); lv != nil {
		return lv, nil
	}
	// Compiling is bounded by the engine's compile slots; waiting for it
	// (here or for another invocation's compile) needs no running slot.
	s := slots.Pause(ctx)
	lv, re := m.materialize(ctx)
	s.Resume(ctx)
	if re != nil {
		m.useMu.RUnlock()
		return nil, re
	}
	return lv, nil
}

// done ends a use of m's live part.
func (m *Module) done() {
	if !m.used.Load() { // stored only when it changes
		m.used.Store(true)
	}
	m.useMu.RUnlock()
}

// materialize compiles a lazy module, once: concurrent first invocations
// wait for one compile; a failure is remembered, unless the invocation's
// context ended or the compile went over its budget (Limits.CompileTimeout).
// The caller holds m.useMu for reading.
func (m *Module) materialize(ctx context.Context) (*liveModule, *RunError) {
	m.matMu.Lock()
	defer m.matMu.Unlock()
	if lv := m.live.Load(); lv != nil {
		return lv, nil
	}
	if m.closed.Load() {
		return nil, &RunError{Kind: Instantiate, Path: m.path, Detail: "the module was closed"}
	}
	if m.matErr != nil {
		return nil, &RunError{Kind: Instantiate, Path: m.path, Detail: m.matErr.Error()}
	}
	lv, err := m.engine.materialize(ctx, m)
	if err != nil {
		if k, done := ctxKind(ctx); done { // not remembered: the next invocation compiles
			re := &RunError{Kind: k, Path: m.path, Detail: "the guest never started: the invocation ended while its module was being compiled"}
			if cause := endCause(ctx); cause != nil {
				re.Detail = cause.Error()
			}
			return nil, re
		}
		err = fmt.Errorf("the module could not be prepared for its first invocation: %w", err)
		if !errors.As(err, new(*CompileBudgetError)) { // a slow compile may fit next time (the cache fills meanwhile)
			m.matErr = err
		}
		m.engine.log.Warn("lazy wasm module cannot be materialized", "module", m.path, "error", err)
		return nil, &RunError{Kind: Instantiate, Path: m.path, Detail: err.Error()}
	}
	m.lastUse.Store(time.Now().UnixNano())
	m.live.Store(lv)
	return lv, nil
}

// materialize reads, checks, instruments and compiles the module of a lazy
// Module (or takes the runtime another Module of the same key has) and
// returns its live part.
func (e *Engine) materialize(ctx context.Context, m *Module) (*liveModule, error) {
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed {
		return nil, errors.New("engine is closed")
	}
	tabLim := m.lim.tableLimits()
	key := shareKey{sum: m.sum, pages: m.lim.MemoryPages, guard: m.guard, tables: tabLim}
	unlock := e.lockKey(key)
	defer unlock()
	sh := e.takeShared(key)
	if sh == nil {
		var code []byte
		var release func()
		if m.guard == guardFuel {
			// The instrumented copy, content-addressed by the original's
			// hash, is what is compiled: a module file replaced since the
			// load (a deployment) does not matter then.
			code, release = e.mappedInstrumented(m.sum, tabLim)
		}
		if code == nil {
			bin, err := readModule(m.path)
			if err != nil {
				return nil, err
			}
			if sha256.Sum256(bin) != m.sum {
				return nil, errFileChanged
			}
			if m.guard == guardFuel {
				code, err = e.instrumented(bin, m.sum, tabLim)
			} else {
				code, err = wasmbin.LimitTables(bin, tabLim)
			}
			if err != nil {
				return nil, fmt.Errorf("rewrite wasm module %s: %w", m.path, err)
			}
		}
		var err error
		if sh, err = e.compileShared(ctx, m.path, code, release, m.lim, m.guard, key); err != nil {
			return nil, err
		}
		sh.isABI, sh.outbound = m.abi != nil, m.outbound
		if m.abi != nil {
			sh.info = m.abi.info
		}
		e.putShared(sh)
	}
	return m.newLive(ctx, sh)
}

// compileShared makes a runtime for key and compiles code in it, without
// the checks of a load (the module passed them before). The result has one
// reference and is not registered yet. release, when not nil, is called
// once code is no longer read (compileWithin).
func (e *Engine) compileShared(ctx context.Context, path string, code []byte, release func(), lim Limits, guard guardMode, key shareKey) (*sharedRT, error) {
	rt, _, err := e.newRuntime(ctx, path, lim, guard)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, err
	}
	cm, err := e.compileWithin(ctx, rt, path, code, lim.CompileTimeout, release)
	if err != nil {
		var stopped *stoppedCompile
		if !errors.As(err, &stopped) || !stopped.abandoned {
			_ = rt.Close(context.Background())
		}
		if stopped != nil {
			return nil, stopped.err
		}
		return nil, fmt.Errorf("wasm module %s does not compile: %w", path, err)
	}
	return &sharedRT{key: key, rt: rt, cm: cm, refs: 1}, nil
}

// releaseIfIdle returns m to the lazy state when it is materialized, no
// invocation uses it and it was not seen in use after cutoff (Unix
// nanoseconds); now is the time of this check, which becomes its last use
// when an invocation ended since the previous check (Module.used).
func (m *Module) releaseIfIdle(cutoff, now int64) bool {
	if m.used.Swap(false) {
		m.lastUse.Store(now)
	}
	if m.live.Load() == nil || m.lastUse.Load() > cutoff {
		return false
	}
	if !m.useMu.TryLock() { // in use, or being materialized
		return false
	}
	defer m.useMu.Unlock()
	if m.lastUse.Load() > cutoff {
		return false
	}
	m.matMu.Lock()
	lv := m.live.Swap(nil)
	m.matMu.Unlock()
	if lv == nil {
		return false
	}
	if err := lv.drop(context.Background(), m.engine); err != nil {
		m.engine.log.Warn("releasing an idle wasm module failed", "module", m.path, "error", err)
	}
	return true
}

// releaseIdle releases every module of e not seen in use since cutoff: its
// last invocation ended before cutoff, or, ended since the previous call,
// the module counts as used now. It returns how many it released. Called
// every idle/2 (at most 30 s), it releases a module between idle and
// idle plus that period after its last invocation.
func (e *Engine) releaseIdle(cutoff time.Time) int {
	now := time.Now().UnixNano()
	e.mu.Lock()
	mods := make([]*Module, 0, len(e.modules))
	for m := range e.modules {
		mods = append(mods, m)
	}
	e.mu.Unlock()
	n := 0
	for _, m := range mods {
		if m.releaseIfIdle(cutoff.UnixNano(), now) {
			n++
		}
	}
	if n > 0 {
		e.log.Debug("released idle wasm modules", "count", n)
		e.freeMemorySoon()
	}
	return n
}

// freeMemorySoon returns the memory released modules held to the system
// shortly (debug.FreeOSMemory: a collection, then everything free goes
// back), once for a burst of idle releases, rather than leaving it to the
// runtime's scavenger, which takes minutes.
func (e *Engine) freeMemorySoon() {
	if e.freeing.Swap(true) {
		return
	}
	time.AfterFunc(freeMemoryDelay, func() {
		e.freeing.Store(false)
		debug.FreeOSMemory()
	})
}

// freeMemoryDelay gathers the releases of a burst into one freeMemorySoon.
const freeMemoryDelay = 50 * time.Millisecond

// idleReleaser runs until stop is closed, releasing the modules idle for
// longer than idle.
func (e *Engine) idleReleaser(idle time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(min(max(idle/2, time.Millisecond), 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			e.releaseIdle(now.Add(-idle))
		}
	}
}

// IdleReleaseSetting is the environment variable that sets
// Config.IdleRelease when zero: a Go duration ("5m", "90s") or "off".
const IdleReleaseSetting = "WASMWORKER_IDLE_RELEASE"

// DefaultIdleRelease is Config.IdleRelease when zero and
// IdleReleaseSetting is not set.
const DefaultIdleRelease = 5 * time.Minute

// idleRelease returns the idle release time of cfg (negative: off).
func idleRelease(cfg Config) (time.Duration, error) {
	if cfg.IdleRelease != 0 {
		return cfg.IdleRelease, nil
	}
	s := strings.TrimSpace(os.Getenv(IdleReleaseSetting))
	switch {
	case s == "":
		return DefaultIdleRelease, nil
	case strings.EqualFold(s, "off"):
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return DefaultIdleRelease, fmt.Errorf("%s=%q is neither a positive duration (such as 5m) nor \"off\"", IdleReleaseSetting, s)
	}
	return d, nil
}
