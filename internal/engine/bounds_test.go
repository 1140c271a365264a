package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// This file tests the bounds that are neither loops nor calls: tables
// (Limits.MaxTableEntries), bulk memory and table instructions, WASI
// sleeps, and a guest that returns only after its deadline.

// commandModule is a WASI command: the given sections (each encoded, in
// order, between the function and export sections: tables, memories) and a
// _start of type () -> () whose body is code.
func commandModule(mid [][]byte, code ...byte) []byte {
	secs := [][]byte{
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.FuncSection(0),
	}
	secs = append(secs, mid...)
	secs = append(secs,
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 0)),
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(code...)))
	return wasmbin.Module(secs...)
}

// i32 returns i32.const v.
func i32(v int64) []byte { return wasmbin.AppendSLEB([]byte{0x41}, v) }

// code joins instructions.
func code(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// expect traps unless the i32 on the stack is want.
func expect(want int64) []byte {
	return code(i32(want), []byte{0x47, 0x04, 0x40, 0x00, 0x0b}) // i32.ne; if; unreachable; end
}

// tableGrowModule has one funcref table of one entry and no maximum. Its
// _start grows it by 2^28 entries (which must fail: -1), then by 999,999
// (which must succeed, returning the old size 1), then by one more (-1:
// the table is at the default limit); it traps otherwise.
func tableGrowModule() []byte {
	grow := func(delta int64) []byte {
		return code([]byte{0xd0, wasmbin.FuncRef}, i32(delta), []byte{0xfc, 15, 0x00}) // ref.null func; table.grow 0
	}
	return commandModule([][]byte{wasmbin.Section(wasmbin.SectionTable, []byte{wasmbin.FuncRef, 0x00, 1})},
		code(grow(1<<28), expect(-1), grow(999_999), expect(1), grow(1), expect(-1))...)
}

// tablesModule declares n funcref tables of min entries each, without
// maximum.
func tablesModule(n int, min uint64) []byte {
	tabs := make([][]byte, n)
	for i := range tabs {
		tabs[i] = wasmbin.AppendULEB([]byte{wasmbin.FuncRef, 0x00}, min)
	}
	return commandModule([][]byte{wasmbin.Section(wasmbin.SectionTable, tabs...)})
}

// bulkModule's _start runs one bulk instruction n times in straight-line
// code (no loop, no call): memory.fill or memory.copy of the whole memory
// (pages), or table.fill of a whole table of 10^6 entries. The length of
// memory.copy is computed at run time, the others' are constants (the
// instrumentation charges both kinds, differently).
func bulkModule(op string, pages, n int) []byte {
	var one []byte
	var mid [][]byte
	size := int64(pages) * pageSize
	memory := wasmbin.Section(wasmbin.SectionMemory, wasmbin.AppendULEB([]byte{0x00}, uint64(pages)))
	switch op {
	case "memory.fill":
		mid = [][]byte{memory}
		one = code(i32(0), i32(0), i32(size), []byte{0xfc, 11, 0x00})
	case "memory.copy": // of a length computed at run time: memory.size << 16
		mid = [][]byte{memory}
		one = code(i32(0), i32(0), []byte{0x3f, 0x00}, i32(16), []byte{0x74, 0xfc, 10, 0x00, 0x00})
	case "table.fill":
		table := wasmbin.AppendULEB(wasmbin.AppendULEB([]byte{wasmbin.FuncRef, 0x01}, 1_000_000), 1_000_000)
		mid = [][]byte{wasmbin.Section(wasmbin.SectionTable, table)}
		one = code(i32(0), []byte{0xd0, wasmbin.FuncRef}, i32(1_000_000), []byte{0xfc, 17, 0x00})
	}
	body := make([]byte, 0, n*len(one))
	for i := 0; i < n; i++ {
		body = append(body, one...)
	}
	return commandModule(mid, body...)
}

// sleepModule calls WASI poll_oneoff once with one clock subscription of
// 60 seconds, then returns: as a WASI command (_start), or as an ABI v1
// module whose entry point "nap" returns 0.
func sleepModule(abi bool) []byte {
	sub := make([]byte, 48) // subscription: userdata, tag 0 (clock), clock id, timeout, precision, flags
	binary.LittleEndian.PutUint64(sub[24:], uint64(60*time.Second))
	seg := append([]byte{0x00, 0x41, 0x00, 0x0b}, wasmbin.AppendULEB(nil, uint64(len(sub)))...)
	seg = append(seg, sub...)
	// poll_oneoff(in=0, out=64, nsubscriptions=1, nevents=128); drop
	sleep := code(i32(0), i32(64), i32(1), i32(128), []byte{0x10, 0x00, 0x1a})
	types := wasmbin.Section(wasmbin.SectionType,
		wasmbin.FuncType([]byte{wasmbin.I32, wasmbin.I32, wasmbin.I32, wasmbin.I32}, []byte{wasmbin.I32}),
		wasmbin.FuncType(nil, nil),
		wasmbin.FuncType(nil, []byte{wasmbin.I32}))
	imports := wasmbin.Section(wasmbin.SectionImport, wasmbin.FuncImport("wasi_snapshot_preview1", "poll_oneoff", 0))
	memory := wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 1})
	data := wasmbin.Section(wasmbin.SectionData, seg)
	if !abi {
		return wasmbin.Module(types, imports, wasmbin.FuncSection(1), memory,
			wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
			wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(sleep...)), data)
	}
	return wasmbin.Module(types, imports, wasmbin.FuncSection(1, 2), memory,
		wasmbin.Section(wasmbin.SectionExport,
			wasmbin.Export("memory", wasmbin.KindMemory, 0),
			wasmbin.Export("wasmworker_abi_version_1", wasmbin.KindFunc, 1),
			wasmbin.Export("nap", wasmbin.KindFunc, 2)),
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(), wasmbin.Body(code(sleep, i32(0))...)), data)
}

// TestTablesAreBounded grows a table by 2^28 entries, within the limit and
// one past it, with both guards: the huge grow returns -1 without the
// worker allocating it, and the worker's heap stays small.
func TestTablesAreBounded(t *testing.T) {
	path := writeFile(t, "tablegrow.wasm", tableGrowModule())
	for _, g := range []guardMode{guardFuel, guardCloseOnDone} {
		m, err := testEngine.load(context.Background(), path, Limits{}, Grants{}, g, false)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(context.Background())
		if m.guard != g {
			t.Fatalf("loaded with guard %s, want %s", m.guard, g)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := m.RunCommand(context.Background(), CommandInput{}); err != nil {
			t.Fatalf("%s: table.grow did not return what the limit says (the guest traps then): %v", g, err)
		}
		runtime.ReadMemStats(&after)
		// 10^6 entries of 8 bytes are allocated; 2^28 would be 2 GiB.
		grown := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: the run allocated %.1f MiB", g, float64(grown)/(1<<20))
		if grown > 32<<20 {
			t.Errorf("%s: the run allocated %d MiB", g, grown>>20)
		}
	}
	// table.fill is charged to the fuel by its length (the straight-line
	// memory.fill and memory.copy of TestHostileCorpus show that the charge
	// stops a guest; a table.fill of 10^6 entries takes a fraction of a
	// millisecond): the charged code runs.
	m, err := testEngine.Load(context.Background(), writeFile(t, "tablefill.wasm", bulkModule("table.fill", 0, 3)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if _, err := m.RunCommand(context.Background(), CommandInput{}); err != nil {
		t.Errorf("table.fill: %v", err)
	}
}

// TestTableLimitIsPerFunction loads a Go guest (a table of some thousands
// of entries) under a smaller limit: the load fails naming the limit.
func TestTableLimitIsPerFunction(t *testing.T) {
	_, err := testEngine.Load(context.Background(), guestPath(t, "exit"), Limits{MaxTableEntries: 1000})
	if err == nil || !strings.Contains(err.Error(), "entries, above the limit of 1000 entries per table") {
		t.Fatalf("error = %v", err)
	}
	// The module loads under the slower guard too, and is refused the same.
	_, err = testEngine.load(context.Background(), guestPath(t, "exit"), Limits{MaxTableEntries: 1000}, Grants{}, guardCloseOnDone, false)
	if err == nil || !strings.Contains(err.Error(), "entries, above the limit of 1000 entries per table") {
		t.Fatalf("error = %v", err)
	}
}

// TestToolchainTablesFitTheDefault loads the ABI examples built by the C,
// Rust and AssemblyScript toolchains (when present) and the Go guests
// under the default table limit.
func TestToolchainTablesFitTheDefault(t *testing.T) {
	paths := []string{guestPath(t, "echo")}
	for _, lang := range []string{"c", "rust", "assemblyscript"} {
		p := filepath.Join("..", "..", "examples-wasm", "abi", lang, "functions.wasm")
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		m, err := testEngine.Load(context.Background(), p, Limits{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if m.guard != guardFuel {
			t.Errorf("%s runs with guard %s, want fuel", p, m.guard)
		}
		m.Close(context.Background())
	}
}

// TestToolchainCodeFitsTheLimits: what every toolchain's output needs of
// codeLimits (logged with -v), well inside them.
//
//	go test -run TestToolchainCodeFitsTheLimits -v ./internal/engine/
func TestToolchainCodeFitsTheLimits(t *testing.T) {
	paths := []string{guestPath(t, "echo"), guestPath(t, "probe")}
	for _, lang := range []string{"c", "rust", "assemblyscript"} {
		paths = append(paths, filepath.Join("..", "..", "examples-wasm", "abi", lang, "functions.wasm"),
			filepath.Join("..", "..", "examples-wasm", "command", lang, "Hello", "main.wasm"))
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		m, err := wasmbin.MeasureCode(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		t.Logf("%s: largest body %d bytes, %d locals, %d nested blocks, %d br_table targets", p, m.MaxBodyBytes, m.MaxLocals, m.MaxDepth, m.MaxBrTable)
		if m.MaxBodyBytes*4 > codeLimits.MaxBodyBytes || m.MaxLocals*4 > codeLimits.MaxLocals ||
			m.MaxDepth*4 > codeLimits.MaxDepth || m.MaxBrTable*4 > codeLimits.MaxBrTable {
			t.Errorf("%s needs %+v: less than 4x below the limits %+v", p, m, codeLimits)
		}
	}
}

// BenchmarkCompileShapes measures how long wazero takes to compile the
// shapes codeLimits bounds, just inside and outside the limits (the
// numbers behind them; 50,000 nested blocks take tens of seconds):
//
//	go test -run '^$' -bench CompileShapes -benchtime 1x ./internal/engine/
func BenchmarkCompileShapes(b *testing.B) {
	for _, c := range []struct {
		name string
		code []byte
	}{
		{"nested=5000", nestedBlocks(5_000)},
		{"nested=10000", nestedBlocks(10_000)},
		{"nested=50000", nestedBlocks(50_000)},
		{"br_table=16384", brTableCode(16_384)},
		{"br_table=65520", brTableCode(65_520)},
	} {
		bin := commandModule(nil, c.code...)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rt := wazero.NewRuntime(context.Background())
				if _, err := rt.CompileModule(context.Background(), bin); err != nil {
					b.Fatal(err)
				}
				rt.Close(context.Background())
			}
		})
	}
}

// abiGuestPath builds testdata/guests/<name> as a reactor (an ABI guest).
func abiGuestPath(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built["abi:"+name]; ok {
		return p
	}
	p, err := wasmbuild.Go(filepath.Join("testdata", "guests", name), wasmbuild.Options{BuildMode: "c-shared"})
	if err != nil {
		t.Fatalf("build guest %s: %v", name, err)
	}
	built["abi:"+name] = p
	return p
}

// invokeWithin runs one invocation of f with a deadline of d and checks
// that it fails with kind no later than late after the deadline.
func invokeWithin(t *testing.T, f *Function, d, late time.Duration, kind FailureKind) *RunError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	_, err := f.Invoke(ctx, &invocation.Request{InvocationID: "1"}, nil)
	if took := time.Since(start); took > d+late {
		t.Errorf("the invocation took %v, more than %v after its deadline of %v", took, late, d)
	}
	return runErr(t, err, kind)
}

// TestABISleepStopsAtDeadline runs an ABI guest (Go) that sleeps for a
// minute with a deadline of 300 ms: it is stopped at the deadline, and its
// instance is not reused.
func TestABISleepStopsAtDeadline(t *testing.T) {
	path := abiGuestPath(t, "sleepabi")
	nap, err := testEngine.LoadFunction(context.Background(), FunctionSpec{Function: invocation.Function{Name: "nap"}, Path: path, EntryPoint: "nap",
		Limits: Limits{MaxInstances: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer nap.Close(context.Background())
	if nap.Module().guard != guardFuel {
		t.Fatalf("guard = %s", nap.Module().guard)
	}
	// count runs on the same module, hence the same pool of one instance.
	runs := func() string {
		inv := abi.NewInvocation(&invocation.Request{InvocationID: "c"}, invocation.Function{})
		if err := nap.Module().Invoke(context.Background(), "count", inv); err != nil {
			t.Fatal(err)
		}
		_, _, logs, err := inv.Result()
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, l := range logs {
			s = append(s, l.Message)
		}
		return strings.Join(s, ",")
	}
	if got := runs(); got != "runs=1" {
		t.Fatalf("first count: %q", got)
	}
	if got := runs(); got != "runs=2" { // the warm instance
		t.Fatalf("second count: %q", got)
	}
	re := invokeWithin(t, nap, 300*time.Millisecond, time.Second, DeadlineExceeded)
	if !namesDeadline(re, 300*time.Millisecond) {
		t.Errorf("message: %v", re)
	}
	if got := runs(); got != "runs=1" {
		t.Errorf("count after the stopped nap: %q; want a fresh instance", got)
	}
}

// TestReturnAfterDeadlineIsNotSuccess runs guests that sleep in WASI
// poll_oneoff for a minute and then return normally: the sleep ends at the
// deadline (or cancel), and the invocation fails with DeadlineExceeded
// (Canceled) instead of succeeding; an ABI instance is not reused.
func TestReturnAfterDeadlineIsNotSuccess(t *testing.T) {
	for _, isABI := range []bool{false, true} {
		path := writeFile(t, "sleep.wasm", sleepModule(isABI))
		spec := FunctionSpec{Function: invocation.Function{Name: "sleep"}, Path: path, EntryPoint: "nap"}
		f, err := testEngine.LoadFunction(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close(context.Background())
		if want := map[bool]Mode{false: Command, true: ABI}[isABI]; f.Mode() != want {
			t.Fatalf("mode %s, want %s", f.Mode(), want)
		}
		re := invokeWithin(t, f, 300*time.Millisecond, time.Second, DeadlineExceeded)
		if msg := re.Error(); !namesDeadline(re, 300*time.Millisecond) || !strings.Contains(msg, "returned only after the invocation had ended") {
			t.Errorf("%s: message: %s", f.Mode(), msg)
		}

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err = f.Invoke(ctx, &invocation.Request{InvocationID: "2"}, nil)
		runErr(t, err, Canceled)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: the canceled invocation took %v", f.Mode(), took)
		}

		// The Module's own entry points say the same.
		ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
		if isABI {
			err = f.Module().Invoke(ctx, "nap", abi.NewInvocation(&invocation.Request{InvocationID: "3"}, invocation.Function{}))
		} else {
			_, err = f.Module().RunCommand(ctx, CommandInput{})
		}
		cancel()
		runErr(t, err, DeadlineExceeded)
	}
}

// namesDeadline reports whether re names the deadline it ran under. That is
// the time left when the run started: a little less than timeout on a busy
// machine (as in TestHostileCorpus).
func namesDeadline(re *RunError, timeout time.Duration) bool {
	if re.Deadline > timeout || re.Deadline < timeout-100*time.Millisecond {
		return false
	}
	return strings.Contains(re.Error(), fmt.Sprintf("invocation deadline of %v exceeded", re.Deadline.Round(time.Millisecond)))
}
