package abi

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// compileCache is shared by every runtime of the tests so that the Go guest
// (3 MB) is compiled once per test binary.
var compileCache = wazero.NewCompilationCache()

// newRuntime returns a runtime with WASI and the wasmworker host module, the
// way the worker sets one up.
func newRuntime(t testing.TB, closeOnDone bool) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(compileCache).WithCloseOnContextDone(closeOnDone))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

var (
	goGuestOnce sync.Once
	goGuestPath string
	goGuestErr  error
)

// goGuest builds testdata/guests/gohttp (the Go SDK test guest).
func goGuest(t testing.TB) []byte {
	t.Helper()
	goGuestOnce.Do(func() {
		goGuestPath, goGuestErr = wasmbuild.Go("testdata/guests/gohttp", wasmbuild.Options{BuildMode: "c-shared"})
	})
	if goGuestErr != nil {
		t.Fatal(goGuestErr)
	}
	b, err := os.ReadFile(goGuestPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compile compiles wasm in rt and checks it as an ABI module.
func compile(t testing.TB, rt wazero.Runtime, wasm []byte) (wazero.CompiledModule, Info) {
	t.Helper()
	cm, err := rt.CompileModule(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(cm)
	if err != nil {
		t.Fatal(err)
	}
	return cm, info
}

// exampleWasm reads a committed example build, skipping the test when it is
// absent (its toolchain was never run here).
func exampleWasm(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples-wasm", "abi", rel))
	if err != nil {
		t.Skipf("example build %s not present: %v", rel, err)
	}
	return b
}

// ---- a tiny wasm encoder for modules that are invalid on purpose ----

type testFunc struct {
	params, results []api.ValueType // one wasm value type a byte
}

type testImport struct {
	module, name string
	sig          testFunc
}

type testExport struct {
	name string
	sig  testFunc
}

// encodeModule builds a module importing imports and exporting one function
// per export (each body returns zeros), plus memory "memory" when withMemory.
func encodeModule(imports []testImport, exports []testExport, withMemory bool) []byte {
	var types [][]byte
	typeIndex := func(f testFunc) uint32 {
		enc := wasmbin.FuncType(f.params, f.results)
		for i, t := range types {
			if string(t) == string(enc) {
				return uint32(i)
			}
		}
		types = append(types, enc)
		return uint32(len(types) - 1)
	}
	var imps, exps, bodies [][]byte
	var fns []uint32
	for _, i := range imports {
		imps = append(imps, wasmbin.FuncImport(i.module, i.name, typeIndex(i.sig)))
	}
	for n, e := range exports {
		fns = append(fns, typeIndex(e.sig))
		exps = append(exps, wasmbin.Export(e.name, wasmbin.KindFunc, uint32(len(imports)+n)))
		var code []byte
		for _, r := range e.sig.results {
			if r == api.ValueTypeI64 {
				code = append(code, 0x42, 0x00) // i64.const 0
			} else {
				code = append(code, 0x41, 0x00) // i32.const 0
			}
		}
		bodies = append(bodies, wasmbin.Body(code...))
	}
	if withMemory {
		exps = append(exps, wasmbin.Export("memory", wasmbin.KindMemory, 0))
	}
	sections := [][]byte{wasmbin.Section(wasmbin.SectionType, types...)}
	if len(imports) > 0 {
		sections = append(sections, wasmbin.Section(wasmbin.SectionImport, imps...))
	}
	sections = append(sections, wasmbin.FuncSection(fns...))
	if withMemory {
		sections = append(sections, wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 0x01}))
	}
	sections = append(sections, wasmbin.Section(wasmbin.SectionExport, exps...), wasmbin.Section(wasmbin.SectionCode, bodies...))
	return wasmbin.Module(sections...)
}
