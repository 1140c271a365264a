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
	b, err := os.ReadFile(filepath.Join("..", "examples-wasm", "abi", rel))
	if err != nil {
		t.Skipf("example build %s not present: %v", rel, err)
	}
	return b
}

// ---- a tiny wasm encoder for modules that are invalid on purpose ----

type testFunc struct {
	params, results []api.ValueType
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
	typeIndex := func(f testFunc) byte {
		enc := []byte{0x60, byte(len(f.params))}
		for _, p := range f.params {
			enc = append(enc, p)
		}
		enc = append(enc, byte(len(f.results)))
		for _, r := range f.results {
			enc = append(enc, r)
		}
		for i, t := range types {
			if string(t) == string(enc) {
				return byte(i)
			}
		}
		types = append(types, enc)
		return byte(len(types) - 1)
	}
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	section := func(id byte, count int, body []byte) []byte {
		content := append([]byte{byte(count)}, body...)
		return append([]byte{id, byte(len(content))}, content...)
	}

	var imp, fns, exp, code []byte
	for _, i := range imports {
		imp = append(imp, name(i.module)...)
		imp = append(imp, name(i.name)...)
		imp = append(imp, 0x00, typeIndex(i.sig))
	}
	for n, e := range exports {
		fns = append(fns, typeIndex(e.sig))
		exp = append(exp, name(e.name)...)
		exp = append(exp, 0x00, byte(len(imports)+n))
		body := []byte{0x00} // no locals
		for _, r := range e.sig.results {
			switch r {
			case api.ValueTypeI64:
				body = append(body, 0x42, 0x00)
			default:
				body = append(body, 0x41, 0x00)
			}
		}
		body = append(body, 0x0b)
		code = append(code, byte(len(body)))
		code = append(code, body...)
	}
	exports2 := len(exports)
	if withMemory {
		exp = append(exp, name("memory")...)
		exp = append(exp, 0x02, 0x00)
		exports2++
	}
	var typeSec []byte
	for _, t := range types {
		typeSec = append(typeSec, t...)
	}
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	out = append(out, section(1, len(types), typeSec)...)
	if len(imports) > 0 {
		out = append(out, section(2, len(imports), imp)...)
	}
	out = append(out, section(3, len(exports), fns)...)
	if withMemory {
		out = append(out, section(5, 1, []byte{0x00, 0x01})...)
	}
	out = append(out, section(7, exports2, exp)...)
	out = append(out, section(10, len(exports), code)...)
	return out
}
