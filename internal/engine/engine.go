package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// CacheOff as Config.CacheDir disables the on-disk compilation cache.
const CacheOff = "off"

// Config configures an Engine.
type Config struct {
	// CacheDir is the on-disk wazero compilation cache. "" means
	// DefaultCacheDir(); CacheOff ("off") keeps compiled code in memory only.
	CacheDir string
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
	// IdleRelease is how long a materialized module stays so after its last
	// invocation before its compiled code and warm instances are released
	// (lazy.go; checked every IdleRelease/2, at most every 30 s, so the
	// release comes up to that much later); its next invocation compiles
	// it again, from the on-disk cache. 0 means $WASMWORKER_IDLE_RELEASE (a duration, or "off"), else
	// DefaultIdleRelease; negative disables it. Without an on-disk cache
	// modules are never released.
	IdleRelease time.Duration
	// MaxIdleInstances bounds the warm instances a module keeps for reuse
	// (abi.PoolConfig.MaxIdle, and reset command instances): more than the
	// guests that run or wait at once would only hold memory. 0 means
	// DefaultMaxIdleInstances().
	MaxIdleInstances int
}

// DefaultMaxIdleInstances is Config.MaxIdleInstances when zero: four per
// core: more than the worker runs at once (worker.DefaultMaxRunning, one
// per core), for guests that wait on the network or a sleep meanwhile.
func DefaultMaxIdleInstances() int { return 4 * max(runtime.GOMAXPROCS(0), 1) }

// DefaultCacheDir returns $WASMWORKER_CACHE_DIR if set, else
// os.UserCacheDir()/wasmworker/wazero (os.TempDir() when there is no user
// cache directory).
func DefaultCacheDir() string {
	if d := os.Getenv("WASMWORKER_CACHE_DIR"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "wasmworker", "wazero")
}

// Engine compiles modules. Every Module it loads shares its compilation
// cache. An Engine is safe for concurrent use.
type Engine struct {
	cache    wazero.CompilationCache
	cacheDir string // "" when the cache is in memory only
	// recordDir holds the validated-module records (lazy.go); "" when the
	// cache is in memory only.
	recordDir string
	log       *slog.Logger
	maxIdle   int // Config.MaxIdleInstances

	// life is held for reading by Load while it uses the cache, and for
	// writing by Close, so that the cache is never used after it is closed.
	life   sync.RWMutex
	closed bool

	mu      sync.Mutex
	modules map[*Module]struct{}

	shareMu   sync.Mutex
	shared    map[shareKey]*sharedRT
	compiling map[shareKey]*keyLock

	filesMu sync.Mutex
	files   map[string]fileEntry // module files by absolute path (files.go)

	instrMu sync.Mutex
	instr   map[instrKey][]byte // instrumented code by hash of the original module and table limits

	compileSlots chan struct{}  // one token per compile running, one per CPU (compile.go)
	compiles     sync.WaitGroup // compiles running, those whose load gave up included

	stopIdle chan struct{} // closed by Close to stop the idle releaser (lazy.go)
	freeing  atomic.Bool   // a freeMemorySoon is pending (lazy.go)

	// Counters for tests: wazero compiles started, loads answered lazily,
	// module files read and hashed.
	compileCount atomic.Int64
	lazyLoads    atomic.Int64
	fileHashes   atomic.Int64
}

// NewEngine returns an Engine. A cache directory that cannot be used is not
// fatal: a warning is logged and compiled code is kept in memory only.
func NewEngine(cfg Config) (*Engine, error) {
	e := &Engine{log: cfg.Logger, maxIdle: cmp.Or(max(cfg.MaxIdleInstances, 0), DefaultMaxIdleInstances()), modules: map[*Module]struct{}{}, compileSlots: make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))}
	if e.log == nil {
		e.log = slog.Default()
	}
	dir := cfg.CacheDir
	if dir == "" {
		dir = DefaultCacheDir()
	}
	if dir != CacheOff {
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err == nil {
			e.cache, e.cacheDir, e.recordDir = c, dir, filepath.Join(dir, "validated")
		} else {
			_ = c.Close(context.Background())
			e.log.Warn("wasm compilation cache directory unusable; compiled code is kept in memory only",
				"dir", dir, "error", err)
		}
	}
	if e.cache == nil {
		e.cache = wazero.NewCompilationCache()
	}
	idle, err := idleRelease(cfg)
	if err != nil {
		e.log.Warn("invalid idle release setting; using the default", "error", err, "default", idle)
	}
	if idle > 0 && e.cacheDir != "" {
		e.stopIdle = make(chan struct{})
		go e.idleReleaser(idle, e.stopIdle)
	}
	return e, nil
}

// CacheDir returns the directory of the on-disk compilation cache, or "" when
// compiled code is kept in memory only.
func (e *Engine) CacheDir() string { return e.cacheDir }

// Close closes every Module loaded by e and then the compilation cache.
// Runs still in progress fail.
func (e *Engine) Close(ctx context.Context) error {
	e.life.Lock()
	wasClosed := e.closed
	e.closed = true
	e.life.Unlock()
	if wasClosed {
		return nil
	}
	if e.stopIdle != nil {
		close(e.stopIdle)
	}
	e.mu.Lock()
	mods := make([]*Module, 0, len(e.modules))
	for m := range e.modules {
		mods = append(mods, m)
	}
	e.mu.Unlock()
	var errs []error
	for _, m := range mods {
		if err := m.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// A compile whose load gave up (Limits.CompileTimeout) still uses the
	// cache: wait for it, or leave the cache open.
	compiled := make(chan struct{})
	go func() {
		e.compiles.Wait()
		close(compiled)
	}()
	select {
	case <-compiled:
	case <-ctx.Done():
		return errors.Join(append(errs, fmt.Errorf("close compilation cache: compiles still running: %w", context.Cause(ctx)))...)
	}
	if err := e.cache.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close compilation cache: %w", err))
	}
	return errors.Join(errs...)
}

// add registers m; the caller holds e.life for reading.
func (e *Engine) add(m *Module) {
	e.mu.Lock()
	e.modules[m] = struct{}{}
	e.mu.Unlock()
}

func (e *Engine) remove(m *Module) {
	e.mu.Lock()
	delete(e.modules, m)
	e.mu.Unlock()
}
