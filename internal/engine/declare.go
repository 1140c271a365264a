package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// Bounds of a module's declaration call (abi/SPEC.md §2.3).
const (
	DeclareMemoryPages = 1024             // 64 MiB
	DeclareTimeout     = 10 * time.Second // _initialize and wasmworker_functions together
)

// declareTimeout is DeclareTimeout; tests shorten it.
var declareTimeout = DeclareTimeout

// Declared is what a module declared (abi/SPEC.md §2.3).
type Declared struct {
	// Declarations are the JSON objects the guest passed to declare, in
	// order (valid UTF-8 JSON objects; not validated further).
	Declarations [][]byte
	// EntryPoints lists, sorted, the module's exports that can serve a
	// function (type () -> i32), as abi.Info.EntryPoints.
	EntryPoints []string
	// Logs are what the guest logged meanwhile (log, stdout, stderr).
	Logs []invocation.Log
}

// DeclaresFunctions reports whether the module file at path exports
// abi.FunctionsExport, reading its export section without compiling it. A
// file that is not a readable WebAssembly binary gives false and an error.
func DeclaresFunctions(path string) (bool, error) {
	bin, err := readModule(path)
	if err != nil {
		return false, err
	}
	sum, err := wasmbin.Scan(bin)
	if err != nil {
		return false, fmt.Errorf("wasm module %s: cannot read its sections: %w", path, err)
	}
	kind, ok := sum.Exports[abi.FunctionsExport]
	return ok && kind == wasmbin.KindFunc, nil
}

// Declarations runs the declaration export of the ABI module at path and
// returns what it declared: the module is loaded as any other (the same
// compile, cache and validated-module records), then a fresh instance with
// no grants, DeclareMemoryPages of memory at most and DeclareTimeout to run
// _initialize and abi.FunctionsExport is made and closed. The module's
// compiled code is released before Declarations returns (a later load of
// the same bytes finds it in the compilation cache). A module that does not
// load, is not an ABI module, or whose export traps, returns non-zero or
// runs out of time gives an error naming the module, with the message the
// guest gave set_error. What a module declared is recorded in the cache
// directory by the module's SHA-256 (when there is one), and a later call
// for the same bytes, in this process or a later one, returns it without
// loading or running the module (Declared.Logs is empty then).
func (e *Engine) Declarations(ctx context.Context, path string) (*Declared, error) {
	var recFile string
	if _, sum, err := e.readModule(path, false); err == nil {
		recFile = e.declaredFile(sum)
		if d := e.readDeclared(recFile, sum); d != nil {
			return d, nil
		}
	}
	lim := Limits{MemoryPages: DeclareMemoryPages, MaxInstances: 1, Isolate: true}
	m, err := e.load(ctx, path, lim, Grants{}, guardFuel, true) // used at once: kept compiled
	if err != nil {
		return nil, err
	}
	defer func() { _ = m.Close(context.WithoutCancel(ctx)) }()
	if m.Mode() != ABI {
		return nil, fmt.Errorf("wasm module %s exports %s but is not a wasmworker ABI module: declaring functions needs ABI v1 (abi/SPEC.md §2.1)", path, abi.FunctionsExport)
	}
	// Compiling a lazy module (its first use) is not part of the deadline.
	lv, re := m.use(ctx)
	if re != nil {
		return nil, re
	}
	defer m.done()
	callCtx, cancel := context.WithTimeoutCause(ctx, declareTimeout,
		fmt.Errorf("%s did not finish within %v", abi.FunctionsExport, declareTimeout))
	defer cancel()
	d := &abi.Declarations{}
	err = lv.pool.Declare(callCtx, d)
	out := &Declared{Declarations: d.List(), EntryPoints: m.abi.info.EntryPoints, Logs: d.Logs()}
	if err != nil || callCtx.Err() != nil {
		awaitDeadline(callCtx) // the guard may stop the guest before the context's timer ran
	}
	if k, done := ctxKind(callCtx); done && ctx.Err() == nil && k == DeadlineExceeded {
		// Stopped (or returned too late) at the declaration deadline: say that.
		err = context.Cause(callCtx)
	}
	if err != nil {
		return out, fmt.Errorf("wasm module %s: %w", path, err)
	}
	e.writeDeclared(recFile, m.sum, out)
	return out, nil
}

// declaredVersion names the format and meaning of declaration records.
const declaredVersion = 1

// declaredRecord is what a module declared, kept next to the
// validated-module records (lazy.go) so that indexing an unchanged module
// again neither compiles nor runs it. The guest's logs are not kept.
type declaredRecord struct {
	Sum          string   `json:"sum"` // hex SHA-256 of the module file
	Declarations []string `json:"declarations"`
	EntryPoints  []string `json:"entryPoints"`
}

// declaredFile returns the file of the declaration record of the module
// whose SHA-256 is sum, or "" without a cache directory.
func (e *Engine) declaredFile(sum [32]byte) string {
	if e.recordDir == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "declared %d\nmodule %x\npages %d\ntimeout %v\n%s", declaredVersion, sum, DeclareMemoryPages, DeclareTimeout, buildID())
	return filepath.Join(e.recordDir, "declared-"+hex.EncodeToString(h.Sum(nil)))
}

// readDeclared returns the declarations recorded in file for the module
// sum, or nil.
func (e *Engine) readDeclared(file string, sum [32]byte) *Declared {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var r declaredRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Sum != hex.EncodeToString(sum[:]) {
		e.log.Debug("ignoring an unusable declaration record", "file", file, "error", err)
		return nil
	}
	d := &Declared{EntryPoints: r.EntryPoints, Declarations: make([][]byte, len(r.Declarations))}
	for i, s := range r.Declarations {
		d.Declarations[i] = []byte(s)
	}
	return d
}

// writeDeclared records d for the module sum; a failure only costs the next
// indexing a run of the module.
func (e *Engine) writeDeclared(file string, sum [32]byte, d *Declared) {
	if file == "" {
		return
	}
	r := declaredRecord{Sum: hex.EncodeToString(sum[:]), EntryPoints: d.EntryPoints, Declarations: make([]string, len(d.Declarations))}
	for i, b := range d.Declarations {
		r.Declarations[i] = string(b)
	}
	b, err := json.Marshal(r)
	if err != nil {
		e.log.Debug("cannot write declaration record", "error", err)
		return
	}
	e.store(file, b)
}
