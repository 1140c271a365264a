package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// declareEngine is an engine of its own, so that the test can check that
// nothing stays compiled after Declarations; its idle release is on, as in
// the worker (released only by a call, within the test's time).
func declareEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(Config{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), IdleRelease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// resident fails the test if e still holds a module or a compiled runtime.
func resident(t *testing.T, e *Engine) {
	t.Helper()
	e.mu.Lock()
	mods := len(e.modules)
	e.mu.Unlock()
	e.shareMu.Lock()
	rts := len(e.shared)
	e.shareMu.Unlock()
	if mods != 0 || rts != 0 {
		t.Fatalf("after Declarations the engine holds %d modules and %d compiled runtimes; want none", mods, rts)
	}
}

func TestDeclarationsCodesAndLimits(t *testing.T) {
	e := declareEngine(t)
	path := watPath(t, t.TempDir(), "declare_codes")
	ok, err := DeclaresFunctions(path)
	if err != nil || !ok {
		t.Fatalf("DeclaresFunctions = %v, %v; want true", ok, err)
	}
	for round := range 2 { // the second is answered from the declaration record
		compiles, lazy := e.compileCount.Load(), e.lazyLoads.Load()
		d, err := e.Declarations(context.Background(), path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(d.Declarations) != abi.MaxDeclarations {
			t.Fatalf("round %d: %d declarations; want %d", round, len(d.Declarations), abi.MaxDeclarations)
		}
		if string(d.Declarations[0]) != `{"b":1}` || string(d.Declarations[1]) != `{"name":"F"}` {
			t.Fatalf("round %d: declarations start %q, %q", round, d.Declarations[0], d.Declarations[1])
		}
		if strings.Join(d.EntryPoints, ",") != "run" {
			t.Fatalf("entry points %v", d.EntryPoints)
		}
		resident(t, e)
		if round == 0 && e.compileCount.Load() != compiles+1 {
			t.Fatalf("the first Declarations compiled %d times; want once", e.compileCount.Load()-compiles)
		}
		if round == 1 && (e.compileCount.Load() != compiles || e.lazyLoads.Load() != lazy) {
			t.Fatalf("the second Declarations loaded the module again")
		}
	}

	// From an entry point, declare answers UNSUPPORTED: run returns
	// declare's code + 12.
	m, err := e.Load(context.Background(), path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if err := m.Invoke(context.Background(), "run", abi.NewInvocation(&invocation.Request{}, invocation.Function{Name: "F"})); err != nil {
		t.Fatalf("declare from an entry point did not answer UNSUPPORTED: %v", err)
	}
}

func TestDeclarationsFailures(t *testing.T) {
	e := declareEngine(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"declare_fail", []string{"declare_fail.wasm", "wasmworker_functions returned status 7: no config found"}},
		{"declare_trap", []string{"declare_trap.wasm", "wasmworker_functions failed", "unreachable", "about to trap"}},
	} {
		d, err := e.Declarations(context.Background(), watPath(t, dir, tc.name))
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "wasm stack trace") {
			t.Errorf("%s: error carries the stack trace: %q", tc.name, err)
		}
		var de *abi.DeclarationsError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not an *abi.DeclarationsError", tc.name, err)
		}
		if tc.name == "declare_fail" && (len(d.Logs) != 1 || d.Logs[0].Message != "declaring") {
			t.Errorf("logs %+v", d.Logs)
		}
		resident(t, e)
	}

	old := declareTimeout
	declareTimeout = 300 * time.Millisecond
	defer func() { declareTimeout = old }()
	start := time.Now()
	_, err := e.Declarations(context.Background(), watPath(t, dir, "declare_loop"))
	if err == nil || !strings.Contains(err.Error(), "wasmworker_functions did not finish within 300ms") {
		t.Fatalf("loop: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the loop was stopped after %v", took)
	}
	resident(t, e)

	// Not an ABI module, not a module at all.
	if _, err := e.Declarations(context.Background(), writeFile(t, "cmd.wasm", voidModule([]string{"_start", abi.FunctionsExport}, wasmbin.Body(), wasmbin.Body()))); err == nil ||
		!strings.Contains(err.Error(), "not a wasmworker ABI module") {
		t.Fatalf("command: %v", err)
	}
	if ok, err := DeclaresFunctions(writeFile(t, "junk.wasm", []byte("nope"))); ok || err == nil {
		t.Fatalf("DeclaresFunctions(junk) = %v, %v", ok, err)
	}
	if ok, err := DeclaresFunctions(writeFile(t, "cmd2.wasm", voidModule([]string{"_start"}, wasmbin.Body()))); ok || err != nil {
		t.Fatalf("DeclaresFunctions(command) = %v, %v", ok, err)
	}
}
