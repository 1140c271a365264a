package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// loadCounter loads the counter command into the shared engine; it is
// closed at the end of the test (closing twice does no harm).
func loadCounter(t *testing.T) *Module {
	t.Helper()
	m, err := testEngine.Load(context.Background(), watPath(t, t.TempDir(), "counter"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// TestReusedCommandStartsFresh runs a command that counts its runs in a
// global and in memory: every run must see a fresh instance's state,
// whether it got a new instance or one reset after an earlier run, and an
// instance is kept for reuse only after a run that a reset can undo.
func TestReusedCommandStartsFresh(t *testing.T) {
	ctx := context.Background()
	m := loadCounter(t)
	run := func(stdin string) (string, error) {
		t.Helper()
		out, err := m.RunCommand(ctx, CommandInput{Stdin: []byte(stdin)})
		if err != nil {
			return "", err
		}
		return string(out.Stdout), nil
	}
	for _, c := range []struct {
		stdin    string
		fails    bool
		idleThen int // instances kept after the run
	}{
		{"", false, 1},
		{"n", false, 1},
		{"n", false, 1},
		{"c", false, 0}, // fd_close: tracked
		{"n", false, 1},
		{"g", false, 0}, // grew its memory
		{"n", false, 1},
		{"x", false, 0}, // proc_exit(0) closes the instance
		{"n", false, 1},
		{"t", true, 0}, // a trap
		{"n", false, 1},
	} {
		out, err := run(c.stdin)
		if c.fails != (err != nil) {
			t.Fatalf("stdin %q: err = %v, want failure %v", c.stdin, err, c.fails)
		}
		if !c.fails && out != "g=1 m=1\n" {
			t.Errorf("stdin %q: stdout %q, want a fresh instance's \"g=1 m=1\\n\"", c.stdin, out)
		}
		if got := m.idle(); got != c.idleThen {
			t.Errorf("after stdin %q: %d idle instances, want %d", c.stdin, got, c.idleThen)
		}
	}
}

// TestCommandChangingTablesIsNotReused: a module whose code changes a table
// cannot be reset, so each run gets a new instance.
func TestCommandChangingTablesIsNotReused(t *testing.T) {
	ctx := context.Background()
	m, err := testEngine.Load(ctx, watPath(t, t.TempDir(), "tableset"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	for range 3 {
		if _, err := m.RunCommand(ctx, CommandInput{}); err != nil {
			t.Fatal(err)
		}
		if got := m.idle(); got != 0 {
			t.Fatalf("%d idle instances of a module that changes its table, want 0", got)
		}
	}
}

// TestCGuestIsReused runs the C command example several times: its
// instance is kept and reset between runs, and each run answers the same.
func TestCGuestIsReused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join("..", "..", "examples-wasm", "command", "c", "Hello", "main.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	m, err := testEngine.Load(ctx, path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	req := `{"Data":{"req":{"Url":"http://localhost/api/hello?name=Ada","Method":"GET","Query":{"name":"Ada"},"Headers":{},"Params":{},"Identities":[]}},"Metadata":{"sys":{"MethodName":"Hello","UtcNow":"2026-01-01T00:00:00.0000000Z","RandGuid":"x"}}}`
	var first string
	for i := range 4 {
		out, err := m.RunCommand(ctx, CommandInput{Stdin: []byte(req)})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if !json.Valid(out.Stdout) {
			t.Fatalf("run %d: stdout is not JSON: %q", i, out.Stdout)
		}
		if i == 0 {
			first = string(out.Stdout)
		} else if string(out.Stdout) != first {
			t.Fatalf("run %d answered %s, the first %s", i, out.Stdout, first)
		}
		if got := m.idle(); got != 1 {
			t.Fatalf("after run %d: %d idle instances, want 1 (the C guest's instance reset for reuse)", i, got)
		}
	}
	t.Logf("answer: %s", first)
}

// TestInstrumentedMemoryIsTheSame instantiates a Go guest (tens of
// thousands of data segments, merged by the instrumentation) and the C
// example, each as it is and as the engine instruments it, without running
// them: the initial memory must be the same byte for byte.
func TestInstrumentedMemoryIsTheSame(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := instantiateGuard(ctx, rt); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{guestPath(t, "echo"), filepath.Join("..", "..", "examples-wasm", "command", "c", "Hello", "main.wasm")} {
		bin, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		code, err := wasmbin.Instrument(bin, wasmbin.Options{Interval: guardInterval, Module: guardModule, Func: guardFunc, Code: codeLimits,
			Mark: markFunc, Tracked: trackedImport, MergeData: true})
		if err != nil {
			t.Fatal(err)
		}
		var mems [][]byte
		for _, b := range [][]byte{bin, code} {
			mod, err := rt.InstantiateWithConfig(ctx, b, wazero.NewModuleConfig().WithName("").WithStartFunctions())
			if err != nil {
				t.Fatal(err)
			}
			mem, _ := mod.Memory().Read(0, mod.Memory().Size())
			mems = append(mems, bytes.Clone(mem))
			mod.Close(ctx)
		}
		if !bytes.Equal(mems[0], mems[1]) {
			t.Errorf("%s: the instrumented module's initial memory differs (%d and %d bytes)", path, len(mems[0]), len(mems[1]))
		}
	}
}

// TestKeptInstancesAreBounded lowers the worker-wide bound on the memory
// of kept command instances to one instance's: runs at once leave one
// instance kept, not one per run, and taking it gives its bytes back.
func TestKeptInstancesAreBounded(t *testing.T) {
	ctx := context.Background()
	m := loadCounter(t)
	before := keptBytes.Load() // instances other tests' modules keep
	if _, err := m.RunCommand(ctx, CommandInput{}); err != nil {
		t.Fatal(err)
	}
	if m.idle() != 1 {
		t.Fatalf("%d idle instances after one run, want 1", m.idle())
	}
	one := keptBytes.Load() - before
	if one <= 0 {
		t.Fatalf("kept bytes %d with an instance kept", one)
	}
	saved := maxKeptBytes
	maxKeptBytes = before + one
	defer func() { maxKeptBytes = saved }()

	var wg sync.WaitGroup
	for range 4 { // the running ones need instances of their own
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := m.RunCommand(ctx, CommandInput{}); err != nil || string(out.Stdout) != "g=1 m=1\n" {
				t.Errorf("run: %v %q", err, out)
			}
		}()
	}
	wg.Wait()
	if got := m.idle(); got != 1 {
		t.Errorf("%d idle instances with room for one, want 1", got)
	}
	if got := keptBytes.Load() - before; got != one {
		t.Errorf("kept bytes %d, want %d (one instance)", got, one)
	}
	m.Close(ctx)
	if got := keptBytes.Load() - before; got != 0 {
		t.Errorf("kept bytes %d after Close, want 0", got)
	}
}

// TestStartFunctionDoesNotMarkTheRun runs a command whose wasm start
// function makes a tracked WASI call: that happens before the state a
// reset restores is captured, so it must not keep the instance from being
// reused.
func TestStartFunctionDoesNotMarkTheRun(t *testing.T) {
	m, err := testEngine.Load(context.Background(), watPath(t, t.TempDir(), "startmark"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for i := range 3 {
		if _, err := m.RunCommand(context.Background(), CommandInput{}); err != nil {
			t.Fatal(err)
		}
		if n := m.idle(); n != 1 {
			t.Fatalf("after run %d: %d idle instances, want 1 (the instance reset and kept)", i+1, n)
		}
	}
}

// TestCloseOnDoneRunsDoNotShareAContext runs a command without the
// instrumented guard many times: wazero watches each run's context from a
// goroutine that may outlive the run, so the context it gets must not be
// one the instance reuses (under -race, or as a nil-pointer panic, that
// showed as soon as a later run changed it).
func TestCloseOnDoneRunsDoNotShareAContext(t *testing.T) {
	path := writeFile(t, "empty.wasm", commandModule(nil))
	m, err := testEngine.load(context.Background(), path, Limits{}, Grants{}, guardCloseOnDone, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2000 {
		if _, err := m.RunCommand(ctx, CommandInput{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFullBudgetIsNoResetMiss runs a module many times while the
// worker-wide budget for kept instances leaves no room: its instances are
// reset but closed, which must not count as runs that cannot be reset, so
// it is reused as soon as there is room again.
func TestFullBudgetIsNoResetMiss(t *testing.T) {
	ctx := context.Background()
	m := loadCounter(t)
	saved := maxKeptBytes
	maxKeptBytes = 0
	for range 2 * maxResetMisses {
		if _, err := m.RunCommand(ctx, CommandInput{}); err != nil {
			maxKeptBytes = saved
			t.Fatal(err)
		}
	}
	maxKeptBytes = saved
	if m.idle() != 0 {
		t.Fatalf("%d idle instances with no room, want 0", m.idle())
	}
	if _, err := m.RunCommand(ctx, CommandInput{}); err != nil {
		t.Fatal(err)
	}
	if m.idle() != 1 {
		t.Fatalf("%d idle instances once there is room, want 1 (the module stopped capturing its state)", m.idle())
	}
}
