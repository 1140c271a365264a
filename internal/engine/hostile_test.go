package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// watPath builds testdata/wat/<name>.wat with wat2wasm, skipping the test if
// wat2wasm is not installed.
func watPath(t *testing.T, dir, name string) string {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skipf("wat2wasm (from wabt) is not installed; it builds testdata/wat/%s.wat", name)
	}
	out := filepath.Join(dir, name+".wasm")
	if b, err := exec.Command(tool, filepath.Join("testdata", "wat", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s.wat: %v\n%s", name, err, b)
	}
	return out
}

// startLoopModule loops forever in its start function (the wasm start
// section), so instantiating it never ends.
func startLoopModule() []byte {
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.FuncSection(0, 0),
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
		wasmbin.AppendSection(nil, wasmbin.SectionStart, []byte{0}), // start: function 0
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(0x03, 0x40, 0x0c, 0x00, 0x0b), wasmbin.Body()),
	)
}

// hostileCase is one bad module or run: either Load fails with loadErr, or
// RunCommand fails with kind and a message containing every string of want.
type hostileCase struct {
	name        string
	path        func(t *testing.T) string
	lim         Limits
	args        []string
	stdin       []byte
	timeout     time.Duration
	within      time.Duration // when set, the run must end this soon after timeout
	before      time.Duration // when set, the run must end this soon: something other than its deadline stops it
	closeOnDone bool          // load without the instrumented guard (wazero's WithCloseOnContextDone)
	loadErr     string
	kind        FailureKind
	want        []string
	check       func(t *testing.T, out *CommandOutput, err error) // instead of kind/want
}

func hostileCases(t *testing.T) []hostileCase {
	guest := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string { return guestPath(t, name) }
	}
	dir := t.TempDir() // the parent test's: it outlives the build subtests
	file := func(name string, b func(t *testing.T) []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b(t), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	fixed := func(b []byte) func(t *testing.T) []byte { return func(*testing.T) []byte { return b } }
	return []hostileCase{
		{name: "infinite loop", path: guest("loop"), args: []string{"loop", "spin"}, timeout: 300 * time.Millisecond,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
		{name: "loop in Go init", path: guest("loop"), args: []string{"loop", "init"}, timeout: 300 * time.Millisecond,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
		{name: "loop in wasm start function", path: file("start.wasm", fixed(startLoopModule())), timeout: 300 * time.Millisecond,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
		{name: "memory bomb", path: guest("membomb"), lim: Limits{MemoryPages: 256},
			kind: MemoryLimit, want: []string{"memory limit of 16 MiB (256 pages) exceeded", "out of memory"}},
		{name: "deep Go recursion", path: guest("probe"), lim: Limits{MemoryPages: 1024}, args: []string{"probe", "recurse"},
			// The Go runtime grows the goroutine stack in linear memory
			// until the memory limit stops it.
			kind: MemoryLimit, want: []string{"memory limit of 64 MiB (1024 pages) exceeded", "the guest's error: runtime: out of memory"}},
		{name: "deep wasm recursion", path: file("rec.wasm", fixed(voidModule([]string{"_start"}, wasmbin.Body(0x10, 0x00)))),
			kind: Trap, want: []string{"trapped", "stack overflow"}},
		{name: "unreachable", path: func(t *testing.T) string { return watPath(t, dir, "unreachable") },
			kind: Trap, want: []string{"trapped: wasm error: unreachable", "about to trap"}},
		{name: "Go panic", path: guest("panic"),
			kind: Exit, want: []string{"exited with code 2", "panic: boom from the guest"}},
		{name: "proc_exit(1)", path: guest("exit"), args: []string{"exit", "1"},
			kind: Exit, want: []string{"exited with code 1", "exit: leaving with code 1"}},
		{name: "100 MB of output", path: guest("probe"), args: []string{"probe", "bigout", "100"},
			kind: StdoutLimit, want: []string{"stdout limit of 16 MiB (16777216 bytes) exceeded"}},
		{name: "log flood", path: guest("flood"), args: []string{"flood", "stderr", "200000"},
			kind: LogLimit, want: []string{"log limit of 1 MiB (1048576 bytes of stderr) per invocation exceeded"}},
		// Guests that go on writing after the limit: only the limit's stop
		// (cmdInstance.stopped, read by the guard) ends them before the
		// deadline.
		{name: "stdout written forever", path: func(t *testing.T) string { return watPath(t, dir, "stdoutloop") }, timeout: 2 * time.Minute, before: time.Minute,
			kind: StdoutLimit, want: []string{"stdout limit of 16 MiB (16777216 bytes) exceeded"}},
		{name: "stderr written forever", path: func(t *testing.T) string { return watPath(t, dir, "stderrloop") }, timeout: 2 * time.Minute, before: time.Minute,
			kind: LogLimit, want: []string{"log limit of 1 MiB (1048576 bytes of stderr) per invocation exceeded"}},
		{name: "stdout written forever, not instrumented", path: func(t *testing.T) string { return watPath(t, dir, "stdoutloop") }, closeOnDone: true,
			timeout: 2 * time.Minute, before: time.Minute,
			kind: StdoutLimit, want: []string{"stdout limit of 16 MiB (16777216 bytes) exceeded"}},
		{name: "stderr written forever, not instrumented", path: func(t *testing.T) string { return watPath(t, dir, "stderrloop") }, closeOnDone: true,
			timeout: 2 * time.Minute, before: time.Minute,
			kind: LogLimit, want: []string{"log limit of 1 MiB (1048576 bytes of stderr) per invocation exceeded"}},
		{name: "invalid UTF-8 on stdout", path: guest("probe"), args: []string{"probe", "utf8"},
			check: func(t *testing.T, out *CommandOutput, err error) {
				// Stdout is bytes here; the worker's decoder judges them.
				if err != nil || !bytes.Contains(out.Stdout, []byte("\xff\xfe")) {
					t.Fatalf("out = %v, err = %v; want the bytes passed on unchanged", out, err)
				}
			}},
		{name: "malformed JSON on stdout", path: guest("echo"), stdin: []byte(`{"name": "Azure",`),
			check: func(t *testing.T, out *CommandOutput, err error) {
				if err != nil || string(out.Stdout) != `{"name": "Azure",` {
					t.Fatalf("out = %v, err = %v; want the bytes passed on unchanged", out, err)
				}
			}},
		{name: "missing _start", path: file("nostart.wasm", fixed(voidModule([]string{"main"}, wasmbin.Body()))),
			loadErr: "exports no _start; build it as a WASI command"},
		{name: "wrong-typed _start", path: file("badstart.wasm", fixed(wasmbin.Module(
			wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType([]byte{wasmbin.I32}, nil)),
			wasmbin.FuncSection(0),
			wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 0)),
			wasmbin.Section(wasmbin.SectionCode, wasmbin.Body()),
		))), loadErr: "exports _start with type (i32) -> (); a WASI command's _start takes and returns nothing"},
		{name: "import from an unknown module", path: file("import.wasm", fixed(wasmbin.Module(
			wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
			wasmbin.Section(wasmbin.SectionImport, wasmbin.FuncImport("env", "host_secret", 0)),
			wasmbin.FuncSection(0),
			wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
			wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(0x10, 0x00)),
		))), loadErr: "imports env.host_secret, but only WASI preview1 (wasi_snapshot_preview1) is provided"},
		{name: "truncated wasm", path: file("truncated.wasm", func(t *testing.T) []byte {
			b, err := os.ReadFile(guestPath(t, "echo"))
			if err != nil {
				t.Fatal(err)
			}
			return b[:len(b)/2]
		}), loadErr: "is not a valid WebAssembly binary (truncated or corrupt?)"},
		{name: "not wasm", path: file("app.wasm", fixed([]byte("#!/bin/sh\necho hello\n"))),
			loadErr: `is not a WebAssembly binary: the file looks like text (starts with "#!/bin/sh\necho h")`},
		{name: "two bytes, not UTF-8", path: file("short.wasm", fixed([]byte("\xc70"))), // used to panic Load
			loadErr: "is not a WebAssembly binary: the file starts with bytes c7 30"},
		// Tables: 8 bytes of worker memory per entry, outside memoryMB.
		{name: "table.grow by 2^28", path: file("tablegrow.wasm", fixed(tableGrowModule())),
			check: func(t *testing.T, out *CommandOutput, err error) {
				if err != nil { // the guest traps unless table.grow returned -1
					t.Fatalf("table.grow beyond the limit did not return -1: %v", err)
				}
			}},
		{name: "table above the limit", path: file("bigtable.wasm", fixed(tablesModule(1, 20_000_000))),
			loadErr: ": table 0 declares 20000000 entries, above the limit of 1000000 entries per table"},
		{name: "many large tables", path: file("bigtables.wasm", fixed(tablesModule(90, 900_000))),
			loadErr: ": the module's tables declare 1800000 entries in all, above the limit of 1000000 table entries per module"},
		{name: "many tables", path: file("tables.wasm", fixed(tablesModule(1000, 0))),
			loadErr: ": the module declares 101 tables, above the limit of 100 tables per module"},
		{name: "table the limit cannot read", path: file("exntable.wasm", fixed(commandModule([][]byte{ // an exnref table, which wazero accepts
			wasmbin.Section(wasmbin.SectionTable, []byte{0x69, 0x00, 1})}))),
			loadErr: "cannot be run: its tables cannot be checked against the table limit: unsupported wasm construct: reference type 0x69"},
		// Compile bombs: refused before compiling (unchecked, 50,000 nested
		// blocks take wazero 10-19 s to compile; BenchmarkCompileShapes).
		{name: "deeply nested blocks", path: file("nested.wasm", fixed(commandModule(nil, nestedBlocks(50_000)...))),
			loadErr: ": function 0 has 5001 nested blocks, above the limit of 5000"},
		{name: "huge br_table", path: file("brtable.wasm", fixed(commandModule(nil, brTableCode(70_000)...))),
			loadErr: ": function 0 has 70000 br_table targets, above the limit of 16384"},
		// Work that is neither a loop nor a call: unguarded, 2000 fills or
		// 1000 copies of 64 MiB take seconds.
		{name: "straight-line memory.fill", path: file("fill.wasm", fixed(bulkModule("memory.fill", 1024, 2000))),
			lim: Limits{MemoryPages: 1024}, timeout: 300 * time.Millisecond, within: 2 * time.Second,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
		{name: "straight-line memory.copy", path: file("copy.wasm", fixed(bulkModule("memory.copy", 1024, 1000))),
			lim: Limits{MemoryPages: 1024}, timeout: 300 * time.Millisecond, within: 2 * time.Second,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
		// Sleeps end at the deadline; returning after it is no success.
		// A second to start in: every case runs at once (under -race in CI),
		// and the sleep must have begun for the case to test it.
		{name: "WASI sleep of a minute", path: file("sleep.wasm", fixed(sleepModule(false))),
			timeout: time.Second, within: 2 * time.Second,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 1s exceeded", "returned only after the invocation had ended"}},
		{name: "Go sleep of an hour", path: guest("loop"), args: []string{"loop", "sleep"},
			timeout: 300 * time.Millisecond, within: 2 * time.Second,
			kind: DeadlineExceeded, want: []string{"invocation deadline of 300ms exceeded"}},
	}
}

// TestHostileCorpus runs every hostile case at once, while healthy runs of
// another module go on: each bad case fails with a message naming its
// cause, and every healthy run succeeds.
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases(t)
	paths := make([]string, len(cases))
	for i, c := range cases { // build first, so that builds do not count against deadlines
		t.Run("build/"+c.name, func(t *testing.T) { paths[i] = c.path(t) })
	}
	healthy := loadGuest(t, "echo", Limits{})
	stop := make(chan struct{})
	var healthyRuns atomic.Int64
	var healthyWG sync.WaitGroup
	for g := 0; g < 2; g++ {
		healthyWG.Add(1)
		go func() {
			defer healthyWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := healthy.RunCommand(context.Background(), CommandInput{Stdin: []byte("healthy")})
				if err != nil || string(out.Stdout) != "healthy" {
					t.Errorf("healthy run failed while hostile ones ran: out=%v err=%v", out, err)
					return
				}
				healthyRuns.Add(1)
			}
		}()
	}
	t.Run("hostile", func(t *testing.T) {
		for i, c := range cases {
			if paths[i] == "" {
				continue // skipped while building
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t, paths[i])
			})
		}
	})
	close(stop)
	healthyWG.Wait()
	if healthyRuns.Load() == 0 {
		t.Error("no healthy run completed")
	}
	t.Logf("%d healthy runs succeeded alongside the hostile ones", healthyRuns.Load())
}

func (c hostileCase) run(t *testing.T, path string) {
	m, err := testEngine.Load(context.Background(), path, c.lim)
	if c.closeOnDone {
		m, err = testEngine.load(context.Background(), path, c.lim, Grants{}, guardCloseOnDone, false)
	}
	if c.loadErr != "" {
		if err == nil {
			m.Close(context.Background())
			t.Fatalf("Load succeeded, want an error containing %q", c.loadErr)
		}
		if msg := err.Error(); !strings.Contains(msg, c.loadErr) || !strings.Contains(msg, path) {
			t.Fatalf("Load error %q, want it to name the file and contain %q", msg, c.loadErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	ctx := context.Background()
	if c.timeout > 0 {
		// The case is about the guest's run against its deadline: compile
		// the module first, without one, so that a compile slowed down by
		// a busy machine does not end the run before the guest starts (a
		// compile error is left for the run to report).
		if _, re := m.use(ctx); re == nil {
			m.done()
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now()
	out, err := m.RunCommand(ctx, CommandInput{Args: c.args, Stdin: c.stdin})
	if took := time.Since(start); c.before > 0 && took > c.before {
		t.Errorf("the run took %v: its limit did not stop it within %v", took, c.before)
	}
	if took := time.Since(start); c.within > 0 {
		if took > c.timeout+c.within {
			t.Errorf("the run took %v: more than %v after its deadline of %v", took, c.within, c.timeout)
		}
		t.Logf("stopped %v after its deadline", (took - c.timeout).Round(time.Millisecond))
	}
	if c.check != nil {
		c.check(t, out, err)
		return
	}
	re := runErr(t, err, c.kind)
	msg := re.Error()
	for _, s := range append(c.want, path) {
		if c.timeout > 0 && s == fmt.Sprintf("invocation deadline of %v exceeded", c.timeout) {
			// The deadline the message names is the time left when the
			// run started: less than c.timeout on a busy machine.
			if re.Deadline > c.timeout || re.Deadline <= 0 {
				t.Errorf("Deadline = %v, want about %v", re.Deadline, c.timeout)
			}
			s = fmt.Sprintf("invocation deadline of %v exceeded", re.Deadline.Round(time.Millisecond))
		}
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q: %s", s, msg)
		}
	}
}

// nestedBlocks returns depth nested empty blocks.
func nestedBlocks(depth int) []byte {
	var b []byte
	for range depth {
		b = append(b, 0x02, 0x40)
	}
	for range depth {
		b = append(b, 0x0b)
	}
	return b
}

// brTableCode returns a block holding one br_table of n targets.
func brTableCode(n int) []byte {
	b := []byte{0x02, 0x40, 0x41, 0x00, 0x0e}
	b = wasmbin.AppendULEB(b, uint64(n))
	for range n + 1 {
		b = append(b, 0x00)
	}
	return append(b, 0x0b)
}
