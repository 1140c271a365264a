package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
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

// voidModule is a module with one type ()->() and one function per body
// (wasmbin.Body), exported under the given names in order.
func voidModule(names []string, bodies ...[]byte) []byte {
	funcs := make([]uint32, len(bodies))
	exports := make([][]byte, len(bodies))
	for i := range bodies {
		exports[i] = wasmbin.Export(names[i], wasmbin.KindFunc, uint32(i))
	}
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.FuncSection(funcs...),
		wasmbin.Section(wasmbin.SectionExport, exports...),
		wasmbin.Section(wasmbin.SectionCode, bodies...),
	)
}
