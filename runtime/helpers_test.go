package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// testEngine is shared by the tests so that each guest is compiled once
// per test binary. Its compilation cache is on disk next to the built test
// guests, so that later runs (a Go guest takes seconds to compile under
// -race) start warm.
var testEngine *Engine

func TestMain(m *testing.M) {
	var err error
	testEngine, err = NewEngine(Config{CacheDir: filepath.Join(wasmbuild.CacheDir(), "wazero"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testEngine.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "close engine:", err)
		code = 1
	}
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// guestPath builds testdata/guests/<name> and returns the .wasm path.
func guestPath(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	p, err := wasmbuild.Go(filepath.Join("testdata", "guests", name), wasmbuild.Options{})
	if err != nil {
		t.Fatalf("build guest %s: %v", name, err)
	}
	built[name] = p
	return p
}

// loadGuest loads a built guest into the shared engine.
func loadGuest(t testing.TB, name string, lim Limits) *Module {
	t.Helper()
	m, err := testEngine.Load(context.Background(), guestPath(t, name), lim)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return m
}

// writeFile writes b into a fresh temporary file and returns its path.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runErr asserts that err is a *RunError of the given kind and returns it.
func runErr(t testing.TB, err error, kind FailureKind) *RunError {
	t.Helper()
	re, ok := err.(*RunError)
	if !ok {
		t.Fatalf("error = %v (%T), want *RunError of kind %s", err, err, kind)
	}
	if re.Kind != kind {
		t.Fatalf("kind = %s, want %s; error: %v", re.Kind, kind, re)
	}
	return re
}

// A tiny encoder for hand-made test modules (WebAssembly binary format).

func leb(n uint32) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func wstr(s string) []byte { return append(leb(uint32(len(s))), s...) }

func vec(items ...[]byte) []byte {
	return append(leb(uint32(len(items))), bytes.Join(items, nil)...)
}

func section(id byte, items ...[]byte) []byte {
	body := vec(items...)
	return append(append([]byte{id}, leb(uint32(len(body)))...), body...)
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

// funcType encodes a function type.
func funcType(params, results []byte) []byte {
	b := []byte{0x60}
	b = append(b, vec(splitBytes(params)...)...)
	return append(b, vec(splitBytes(results)...)...)
}

func splitBytes(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func importFunc(mod, name string, typeIdx uint32) []byte {
	return bytes.Join([][]byte{wstr(mod), wstr(name), {0x00}, leb(typeIdx)}, nil)
}

func export(name string, kind byte, idx uint32) []byte {
	return bytes.Join([][]byte{wstr(name), {kind}, leb(idx)}, nil)
}

// body encodes a function body without locals; code must not include the
// final "end".
func body(code ...byte) []byte {
	b := append([]byte{0x00}, code...)
	b = append(b, 0x0b)
	return append(leb(uint32(len(b))), b...)
}

func wasmModule(sections ...[]byte) []byte {
	return append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Join(sections, nil)...)
}

// voidModule is a module with one type ()->() and one function per body,
// exported under the given names in order.
func voidModule(names []string, bodies ...[]byte) []byte {
	var funcs, exports [][]byte
	for i := range bodies {
		funcs = append(funcs, leb(0))
		exports = append(exports, export(names[i], 0, uint32(i)))
	}
	return wasmModule(
		section(1, funcType(nil, nil)),
		section(3, funcs...),
		section(7, exports...),
		section(10, bodies...),
	)
}
