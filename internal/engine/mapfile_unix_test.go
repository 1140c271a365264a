//go:build unix

package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// isExitZero reports whether err is a guest's exit with code 0.
func isExitZero(err error) bool {
	var exit *sys.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == 0
}

// TestMappedCompile compiles a Go guest from a mapped copy of its file and
// unmaps it: the compiled module then instantiates and runs, so it kept
// nothing of the mapping. (The lazy-loading tests materialize modules from
// mapped instrumented copies: TestLazyLoad and the others in lazy_test.go.)
func TestMappedCompile(t *testing.T) {
	bin, err := os.ReadFile(guestPath(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	code, release, err := mapFile(writeFile(t, "echo.wasm", bin))
	if err != nil {
		t.Fatal(err)
	}
	if string(code) != string(bin) {
		t.Fatal("the mapping differs from the file")
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	released := false
	cm, err := testEngine.compileWithin(ctx, rt, "echo.wasm", code, time.Minute, func() { release(); released = true })
	if err != nil {
		t.Fatal(err)
	}
	if !released {
		t.Fatal("the mapping was not given back after the compile")
	}
	var stdout strings.Builder
	var stderr strings.Builder
	cfg := wazero.NewModuleConfig().WithStdin(strings.NewReader("from a mapping")).WithStdout(&stdout).WithStderr(&stderr).WithArgs("echo")
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateModule(ctx, cm, cfg)
	if err != nil && !isExitZero(err) {
		t.Fatalf("run the module compiled from the mapping: %v (stderr %q)", err, stderr.String())
	}
	if mod != nil {
		mod.Close(ctx)
	}
	if stdout.String() != "from a mapping" {
		t.Fatalf("the module compiled from the mapping wrote %q", stdout.String())
	}
}

// TestMappedCompileFault: a mapped file cut short while mapped makes the
// compile fail with an error, not the worker with a SIGBUS.
func TestMappedCompileFault(t *testing.T) {
	bin, err := os.ReadFile(guestPath(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "cut.wasm", bin)
	code, release, err := mapFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	_, err = compileGuarded(ctx, rt, code, true)
	if err == nil || !strings.Contains(err.Error(), "faulted") {
		t.Fatalf("compile of a truncated mapping: err = %v, want a fault reported as an error", err)
	}
}
