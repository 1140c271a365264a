package engine

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// lazyEngine returns an engine on the tests' shared compilation cache (so
// that compiles are cache hits) whose validated-module records are in
// recordDir; idle is Config.IdleRelease. It is closed at the end of the test.
func lazyEngine(t *testing.T, recordDir string, idle time.Duration) *Engine {
	t.Helper()
	e, err := NewEngine(Config{CacheDir: filepath.Join(wasmbuild.CacheDir(), "wazero"), IdleRelease: idle,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.recordDir = recordDir
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// validate loads path fully in a first engine, which writes its record in
// recordDir, and closes that engine.
func validate(t *testing.T, recordDir string, specs ...FunctionSpec) {
	t.Helper()
	e := lazyEngine(t, recordDir, -1)
	for _, s := range specs {
		f, err := e.LoadFunction(context.Background(), s)
		if err != nil {
			t.Fatalf("first load of %s: %v", s.Path, err)
		}
		if f.Module().lazy || f.Module().live.Load() == nil {
			t.Fatalf("first load of %s is lazy", s.Path)
		}
	}
	if e.compileCount.Load() == 0 {
		t.Fatal("the first engine compiled nothing")
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func echoRun(t *testing.T, m *Module, text string) {
	t.Helper()
	out, err := m.RunCommand(context.Background(), CommandInput{Stdin: []byte(text)})
	if err != nil || string(out.Stdout) != text {
		t.Fatalf("run: %v %v", out, err)
	}
}

// countRun invokes the "count" entry point of the sleepabi guest through
// Function.Invoke and returns what it logged ("runs=N").
func countRun(t *testing.T, f *Function) string {
	t.Helper()
	var logs []string
	if _, err := f.Invoke(context.Background(), &invocation.Request{InvocationID: "c"}, func(l invocation.Log) { logs = append(logs, l.Message) }); err != nil {
		t.Fatal(err)
	}
	return strings.Join(logs, ",")
}

// TestLazyLoad loads a command and an ABI module validated by an earlier
// engine: the second engine compiles nothing at load, takes the mode and
// entry points from the record (a wrong entryPoint still fails the load,
// by name) and compiles each module on its first invocation, in every
// entry path.
func TestLazyLoad(t *testing.T) {
	dir := t.TempDir()
	cmd := FunctionSpec{Function: invocation.Function{Name: "echo"}, Path: guestPath(t, "echo")}
	count := FunctionSpec{Function: invocation.Function{Name: "count"}, Path: abiGuestPath(t, "sleepabi"), EntryPoint: "count"}
	validate(t, dir, cmd, count)

	e := lazyEngine(t, dir, -1)
	fc, err := e.LoadFunction(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	fa, err := e.LoadFunction(context.Background(), count)
	if err != nil {
		t.Fatal(err)
	}
	bad := count
	bad.EntryPoint = "nope"
	_, err = e.LoadFunction(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), `no entry point "nope"`) || !strings.Contains(err.Error(), "count, nap") {
		t.Errorf("wrong entry point: %v", err)
	}
	if n := e.compileCount.Load(); n != 0 {
		t.Fatalf("lazy loads compiled %d times", n)
	}
	if n := e.lazyLoads.Load(); n != 3 {
		t.Fatalf("%d lazy loads, want 3", n)
	}
	if n := e.fileHashes.Load(); n != 0 { // the first engine's hashes are on disk
		t.Errorf("lazy loads read and hashed %d files", n)
	}
	if fc.Mode() != Command || fa.Mode() != ABI || fc.Module().live.Load() != nil {
		t.Fatalf("modes %s %s, live %v", fc.Mode(), fa.Mode(), fc.Module().live.Load())
	}

	echoRun(t, fc.Module(), "lazy")
	echoRun(t, fc.Module(), "again")
	if got := countRun(t, fa); got != "runs=1" {
		t.Fatalf("first count: %q", got)
	}
	inv := abi.NewInvocation(&invocation.Request{InvocationID: "m"}, invocation.Function{})
	if err := fa.Module().Invoke(context.Background(), "count", inv); err != nil {
		t.Fatal(err)
	}
	if _, _, logs, _ := inv.Result(); len(logs) != 1 || logs[0].Message != "runs=2" { // the warm instance
		t.Fatalf("Module.Invoke logs: %v", logs)
	}
	if n := e.compileCount.Load(); n != 2 {
		t.Errorf("%d compiles, want one per module", n)
	}
}

// TestLazyFileChanged changes a module file after a lazy load. A module
// run with the fuel guard is compiled from its instrumented copy in the
// cache, named by the original's hash, so it keeps serving (as a function
// loaded before a deployment must). One that needs its file (here the
// WithCloseOnContextDone guard) fails its first invocation, and every
// later one, saying why.
func TestLazyFileChanged(t *testing.T) {
	dir := t.TempDir()
	bin, err := os.ReadFile(guestPath(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	changed := wasmbin.AppendSection(bin, wasmbin.SectionCustom, append(wasmbin.AppendULEB(nil, 1), "x"...))
	first := lazyEngine(t, dir, -1)
	e := lazyEngine(t, dir, -1)
	for _, guard := range []guardMode{guardFuel, guardCloseOnDone} {
		path := writeFile(t, "echo.wasm", bin)
		m, err := first.load(context.Background(), path, Limits{}, Grants{}, guard, false)
		if err != nil {
			t.Fatal(err)
		}
		m.Close(context.Background())
		if m, err = e.load(context.Background(), path, Limits{}, Grants{}, guard, false); err != nil {
			t.Fatal(err)
		}
		if !m.lazy {
			t.Fatalf("%s: not a lazy load", guard)
		}
		if err := os.WriteFile(path, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		if guard == guardFuel {
			echoRun(t, m, "from the instrumented copy")
			continue
		}
		for range 2 {
			_, err := m.RunCommand(context.Background(), CommandInput{})
			re := runErr(t, err, Instantiate)
			if msg := re.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "changed since the function was loaded") || !strings.Contains(msg, "reload") {
				t.Errorf("message: %s", msg)
			}
		}
	}
	if n := e.compileCount.Load(); n != 1 {
		t.Errorf("%d compiles, want 1 (the fuel-guarded module)", n)
	}
}

// TestLazyConcurrentFirstInvocations starts many first invocations of a
// lazy module at once: all succeed, and the module is compiled once.
func TestLazyConcurrentFirstInvocations(t *testing.T) {
	dir := t.TempDir()
	path := guestPath(t, "echo")
	validate(t, dir, FunctionSpec{Path: path})
	e := lazyEngine(t, dir, -1)
	m, err := e.Load(context.Background(), path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			text := strings.Repeat("x", i+1)
			out, err := m.RunCommand(context.Background(), CommandInput{Stdin: []byte(text)})
			if err != nil || string(out.Stdout) != text {
				t.Errorf("run %d: %v %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if n := e.compileCount.Load(); n != 1 {
		t.Errorf("%d compiles, want 1", n)
	}
}

// TestCorruptRecordIsIgnored overwrites a module's record with garbage: the
// next load is a full one.
func TestCorruptRecordIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := guestPath(t, "echo")
	validate(t, dir, FunctionSpec{Path: path})
	entries, err := os.ReadDir(dir)
	var records []string
	for _, d := range entries {
		if d.Type().IsRegular() {
			records = append(records, filepath.Join(dir, d.Name()))
		}
	}
	if err != nil || len(records) != 1 {
		t.Fatalf("records: %v %v", records, err)
	}
	if err := os.WriteFile(records[0], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := lazyEngine(t, dir, -1)
	m, err := e.Load(context.Background(), path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.lazy || e.compileCount.Load() != 1 {
		t.Fatalf("lazy %v, %d compiles: want a full load", m.lazy, e.compileCount.Load())
	}
	echoRun(t, m, "full")
}

// TestIdleRelease releases idle modules (a command and an ABI module, each
// with a warm instance) and invokes them again: they are compiled again,
// the ABI module on a fresh instance. A module in use is not released.
func TestIdleRelease(t *testing.T) {
	e := lazyEngine(t, t.TempDir(), time.Hour) // released only by the explicit calls below
	m, err := e.Load(context.Background(), guestPath(t, "echo"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	fa, err := e.LoadFunction(context.Background(), FunctionSpec{Path: abiGuestPath(t, "sleepabi"), EntryPoint: "count"})
	if err != nil {
		t.Fatal(err)
	}
	echoRun(t, m, "one")
	if got := countRun(t, fa); got != "runs=1" {
		t.Fatalf("count: %q", got)
	}
	compiles := e.compileCount.Load()

	if n := e.releaseIdle(time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("released %d modules used within the hour", n)
	}
	// One in use (held as an invocation holds it) is not released.
	if _, re := m.use(context.Background()); re != nil {
		t.Fatal(re)
	}
	if n := e.releaseIdle(time.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("released %d modules, want the one not in use", n)
	}
	m.done()
	if n := e.releaseIdle(time.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("released %d modules, want 1", n)
	}
	if m.live.Load() != nil || fa.Module().live.Load() != nil {
		t.Fatal("released modules are still live")
	}
	echoRun(t, m, "two")
	if got := countRun(t, fa); got != "runs=1" {
		t.Errorf("count after release: %q, want a fresh instance", got)
	}
	if got := e.compileCount.Load() - compiles; got != 2 {
		t.Errorf("%d compiles after release, want 2", got)
	}
}

// TestIdleReleaser lets the engine's own releaser release a module idle
// for a millisecond; the test waits for it without timing anything.
func TestIdleReleaser(t *testing.T) {
	e := lazyEngine(t, t.TempDir(), time.Millisecond)
	m, err := e.Load(context.Background(), guestPath(t, "echo"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for m.live.Load() != nil {
		time.Sleep(time.Millisecond)
	}
	echoRun(t, m, "back")
}

// TestCloseLazyAndMaterialized closes an engine holding a lazy module and
// a materialized one: both fail their invocations afterwards.
func TestCloseLazyAndMaterialized(t *testing.T) {
	dir := t.TempDir()
	echo, exit := guestPath(t, "echo"), guestPath(t, "exit")
	validate(t, dir, FunctionSpec{Path: echo}, FunctionSpec{Path: exit})
	e := lazyEngine(t, dir, -1)
	lazy, err := e.Load(context.Background(), exit, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	live, err := e.Load(context.Background(), echo, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	echoRun(t, live, "live")
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Module{lazy, live} {
		_, err := m.RunCommand(context.Background(), CommandInput{})
		if re := runErr(t, err, Instantiate); !strings.Contains(re.Error(), "closed") {
			t.Errorf("%s: %v", m.path, re)
		}
	}
	if _, err := e.Load(context.Background(), echo, Limits{}); err == nil || !strings.Contains(err.Error(), "engine is closed") {
		t.Errorf("load after close: %v", err)
	}
}

// TestMaxIdleInstances: an ABI module's pool keeps at most
// Config.MaxIdleInstances warm instances, and
// by default DefaultMaxIdleInstances, never more than Limits.MaxInstances.
func TestMaxIdleInstances(t *testing.T) {
	for _, tc := range []struct {
		cfg, maxInstances, want int
	}{
		{3, 16, 3},
		{0, 64, DefaultMaxIdleInstances()},
		{32, 2, 2},
	} {
		e, err := NewEngine(Config{CacheDir: filepath.Join(wasmbuild.CacheDir(), "wazero"), MaxIdleInstances: tc.cfg,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		e.recordDir = t.TempDir()
		f, err := e.LoadFunction(context.Background(), FunctionSpec{Path: abiGuestPath(t, "sleepabi"), EntryPoint: "count",
			Limits: Limits{MaxInstances: tc.maxInstances}})
		if err != nil {
			t.Fatal(err)
		}
		if got := countRun(t, f); got != "runs=1" {
			t.Fatalf("count: %q", got)
		}
		lv := f.Module().live.Load()
		if lv == nil || lv.pool == nil {
			t.Fatal("no pool after an invocation")
		}
		if got := lv.pool.MaxIdle(); got != tc.want {
			t.Errorf("MaxIdleInstances %d, MaxInstances %d: pool keeps %d, want %d", tc.cfg, tc.maxInstances, got, tc.want)
		}
		if lv.pool.Idle() != 1 {
			t.Errorf("idle instances after one invocation: %d", lv.pool.Idle())
		}
		_ = e.Close(context.Background())
	}
}
