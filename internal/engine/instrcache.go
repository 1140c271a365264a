package engine

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// instrumentVersion names the output of wasmbin.Instrument with the
// engine's guard (guardInterval, guardModule, guardFunc) in the disk cache;
// change it whenever that output changes (wasmbin's rewrite, its
// BulkBytesPerFuel and BulkEntriesPerFuel) or codeLimits change (a module
// found in the cache passed them), so that cached code is not reused. The
// table limits are part of each file's name.
//
//	1: loops and calls
//	2: bulk memory and table instructions charged by length; tables bounded
//	3: codeLimits checked
//	4: codeLimits.MaxBrTable 16,384
//	5: prepared for resets (mark import, exported mutable globals)
//	6: data segments merged
//	7: no merging of segments at offsets beyond the i32 range (a cached
//	   version 6 of such an invalid module was valid)
const instrumentVersion = 7

// instrKey names one instrumented module: the SHA-256 of the original and
// the table limits it was rewritten for.
type instrKey struct {
	sum    [32]byte
	tables wasmbin.TableLimits
}

// instrumented returns bin instrumented for the deadline guard. Rewriting a
// large module costs about as much as compiling it from the cache (a 2.7 MB
// Go module: ~40 ms), so the result is kept on disk, for every later load
// and materialization (lazy.go) in this worker process and the next, when
// the Engine has a disk cache, and else in memory. sum is the SHA-256 of bin; tables bounds its
// tables (a *wasmbin.TableLimitError when they are above it).
func (e *Engine) instrumented(bin []byte, sum [32]byte, tables wasmbin.TableLimits) ([]byte, error) {
	key := instrKey{sum: sum, tables: tables}
	code, file := e.cachedInstrumented(sum, tables)
	if code == nil {
		var err error
		code, err = wasmbin.Instrument(bin, wasmbin.Options{Interval: guardInterval, Module: guardModule, Func: guardFunc, Tables: tables, Code: codeLimits,
			Mark: markFunc, Tracked: trackedImport, MergeData: true})
		if err != nil {
			return nil, err
		}
		if file != "" {
			e.store(file, code)
		}
	}
	if file == "" { // with a disk cache, the next use reads the file instead of keeping the bytes
		e.instrMu.Lock()
		if e.instr == nil {
			e.instr = map[instrKey][]byte{}
		}
		e.instr[key] = code
		e.instrMu.Unlock()
	}
	return code, nil
}

// cachedInstrumented returns the instrumented code of the module whose
// SHA-256 is sum, from memory or the disk cache, or nil; and the file it is
// cached in ("" without a disk cache).
func (e *Engine) cachedInstrumented(sum [32]byte, tables wasmbin.TableLimits) (code []byte, file string) {
	if code := e.instrInMemory(sum, tables); code != nil {
		return code, ""
	}
	if file = e.instrFile(sum, tables); file != "" {
		if b, err := os.ReadFile(file); err == nil {
			code = b
		}
	}
	return code, file
}

// mappedInstrumented is cachedInstrumented for one compile: a file of the
// disk cache is mapped (mapFile), not read, and release gives the bytes
// back once the compile no longer reads them. A lazy module is compiled
// from it (lazy.go), without reading its own file.
func (e *Engine) mappedInstrumented(sum [32]byte, tables wasmbin.TableLimits) (code []byte, release func()) {
	if code := e.instrInMemory(sum, tables); code != nil {
		return code, func() {}
	}
	file := e.instrFile(sum, tables)
	if file == "" {
		return nil, nil
	}
	code, release, err := mapFile(file)
	if err != nil {
		return nil, nil
	}
	return code, release
}

// instrInMemory returns the instrumented code kept in memory (only without
// a disk cache), or nil.
func (e *Engine) instrInMemory(sum [32]byte, tables wasmbin.TableLimits) []byte {
	e.instrMu.Lock()
	defer e.instrMu.Unlock()
	return e.instr[instrKey{sum: sum, tables: tables}]
}

// instrFile is the disk cache file of an instrumented module, "" without
// a disk cache.
func (e *Engine) instrFile(sum [32]byte, tables wasmbin.TableLimits) string {
	if e.cacheDir == "" {
		return ""
	}
	name := fmt.Sprintf("%s-tables-%d-%d.wasm", hex.EncodeToString(sum[:]), tables.MaxEntries, tables.MaxTables)
	return filepath.Join(e.cacheDir, "instrumented-v"+strconv.Itoa(instrumentVersion), name)
}

// store writes a cache file atomically (write then rename), so a reader
// never sees half a file; failures only cost the next process a rewrite.
func (e *Engine) store(file string, b []byte) bool {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		e.log.Debug("cannot cache instrumented module", "err", err)
		return false
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		e.log.Debug("cannot cache instrumented module", "err", err)
		return false
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		_ = os.Remove(tmp.Name())
		return false
	}
	return true
}
