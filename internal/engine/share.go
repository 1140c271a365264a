package engine

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// shareKey identifies what a compiled module's runtime depends on: the
// module's bytes, the memory limit (a runtime setting in wazero), the
// deadline guard and the table limits (which rewrite the module).
type shareKey struct {
	sum    [32]byte
	pages  uint32
	guard  guardMode
	tables wasmbin.TableLimits
}

// sharedRT is one wazero runtime with one compiled module in it, used by
// every Module loaded from the same bytes with the same memory limit and
// guard: functions that share a .wasm (one module, several entry points)
// or copies of one file decode, validate and compile it once.
type sharedRT struct {
	key   shareKey
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	isABI bool
	info  abi.Info
	// outbound: the module imports the outbound HTTP functions, so its
	// invocations get an outbound.Session.
	outbound bool

	abiReady bool // the ABI host module is instantiated in rt (Engine.shareMu)
	refs     int  // Modules using it (Engine.shareMu)

	fallback *Module // set instead of the rest when compile fell back to another guard
}

// takeShared returns the runtime for key with one more reference, or nil.
func (e *Engine) takeShared(key shareKey) *sharedRT {
	e.shareMu.Lock()
	defer e.shareMu.Unlock()
	sh := e.shared[key]
	if sh != nil {
		sh.refs++
	}
	return sh
}

// putShared registers a freshly compiled runtime. Loads of one key are
// serialized by lockKey, so none is registered yet.
func (e *Engine) putShared(sh *sharedRT) {
	e.shareMu.Lock()
	defer e.shareMu.Unlock()
	if e.shared == nil {
		e.shared = map[shareKey]*sharedRT{}
	}
	e.shared[sh.key] = sh
}

// releaseShared drops one reference and closes the runtime with the last.
func (e *Engine) releaseShared(sh *sharedRT) error {
	e.shareMu.Lock()
	sh.refs--
	last := sh.refs == 0
	if last && e.shared[sh.key] == sh {
		delete(e.shared, sh.key)
	}
	e.shareMu.Unlock()
	if !last {
		return nil
	}
	err := sh.rt.Close(context.Background())
	// The compiled code lives in the engine's cache, shared by every
	// runtime, not in rt: closing rt leaves it there (and mapped) until
	// the compiled module is closed too.
	_ = sh.cm.Close(context.Background())
	return err
}

// provideABI instantiates the ABI host module in sh's runtime once.
func (e *Engine) provideABI(ctx context.Context, sh *sharedRT) error {
	e.shareMu.Lock()
	defer e.shareMu.Unlock()
	if sh.abiReady {
		return nil
	}
	if err := abi.Instantiate(ctx, sh.rt); err != nil {
		return err
	}
	sh.abiReady = true
	return nil
}

// lockKey serializes the compiles of one key, so that concurrent loads of a
// module compile it once; it returns the unlock function.
func (e *Engine) lockKey(key shareKey) func() {
	e.shareMu.Lock()
	if e.compiling == nil {
		e.compiling = map[shareKey]*keyLock{}
	}
	l := e.compiling[key]
	if l == nil {
		l = &keyLock{}
		e.compiling[key] = l
	}
	l.users++
	e.shareMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		e.shareMu.Lock()
		if l.users--; l.users == 0 {
			delete(e.compiling, key)
		}
		e.shareMu.Unlock()
	}
}

type keyLock struct {
	mu    sync.Mutex
	users int // guarded by Engine.shareMu
}
