package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// This file measures what a fresh instance's linear memory costs the
// worker: the time to make one, and the resident memory a grown one leaves
// behind after it ends (internal/linmem).

// growModule is a WASI command with a memory of one page and no maximum
// whose _start grows it by pages, writes every byte of it (memory.fill) so
// that all of it becomes resident, and then writes one line, "grown", to
// stderr; with spin, it then writes to its memory in an endless loop. It
// traps if the grow fails.
func growModule(pages int, spin bool) []byte {
	size := int64(pages+1) * pageSize
	// At 0 an iovec {ptr 16, len 6}, at 16 the line; the fill starts at 32.
	seg := make([]byte, 22)
	binary.LittleEndian.PutUint32(seg[0:], 16)
	binary.LittleEndian.PutUint32(seg[4:], 6)
	copy(seg[16:], "grown\n")
	data := append([]byte{0x00, 0x41, 0x00, 0x0b}, wasmbin.AppendULEB(nil, uint64(len(seg)))...)
	body := code(i32(int64(pages)), []byte{0x40, 0x00}, expect(1), // memory.grow: the old size, 1 page
		i32(32), i32(1), i32(size-32), []byte{0xfc, 11, 0x00}, // memory.fill(32, 1, size-32)
		i32(2), i32(0), i32(1), i32(8), []byte{0x10, 0x00, 0x1a}) // fd_write(stderr, iovs 0, 1, nwritten 8); drop
	if spin { // loop: i32.store(size-4, 7); br 0
		body = append(body, code([]byte{0x03, 0x40}, i32(size-4), i32(7), []byte{0x36, 0x02, 0x00, 0x0c, 0x00, 0x0b})...)
	}
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType,
			wasmbin.FuncType([]byte{wasmbin.I32, wasmbin.I32, wasmbin.I32, wasmbin.I32}, []byte{wasmbin.I32}),
			wasmbin.FuncType(nil, nil)),
		wasmbin.Section(wasmbin.SectionImport, wasmbin.FuncImport("wasi_snapshot_preview1", "fd_write", 0)),
		wasmbin.FuncSection(1),
		wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 1}),
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(body...)),
		wasmbin.Section(wasmbin.SectionData, append(data, seg...)))
}

// TestGrownMemoryIsGivenBack runs a command that grows its memory by
// 200 MiB and writes all of it, reading the worker's resident memory
// before, while the guest runs (when it writes its stderr line, with every
// page written) and after the run: the instance's memory goes back to the
// system when it is closed, not when the Go scavenger gets to it.
func TestGrownMemoryIsGivenBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linear memories are mapped of their own on Linux only")
	}
	const grown = 200 << 20
	m, err := testEngine.Load(context.Background(), writeFile(t, "grow.wasm", growModule(grown/pageSize, false)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for i := range 3 { // each run's memory is given back: the RSS does not add up
		debug.FreeOSMemory() // so that the Go heap of earlier tests is not given back during the run, hiding the guest's pages
		before := residentBytes(t)
		var during int64
		_, err := m.RunCommand(context.Background(), CommandInput{Stderr: func(line string) {
			if line == "grown" {
				during = residentBytes(t)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		after := residentBytes(t)
		t.Logf("run %d: RSS before %d MiB, with 200 MiB written %d MiB, after the run %d MiB", i+1, before>>20, during>>20, after>>20)
		if during-before < grown*9/10 {
			t.Fatalf("the guest's 200 MiB raised the RSS by %d MiB only", (during-before)>>20)
		}
		if during-after < grown*9/10 {
			t.Errorf("run %d: closing the instance gave back %d MiB of the 200 MiB", i+1, (during-after)>>20)
		}
	}
}

// TestCloseWhileGuestRuns closes a module (and with it its runtime and
// instances) while its guest runs and keeps writing to its grown memory:
// the memory stays mapped until the guest has stopped (at its deadline),
// so the worker does not fault, and is given back then.
func TestCloseWhileGuestRuns(t *testing.T) {
	const grown = 200 << 20
	m, err := testEngine.Load(context.Background(), writeFile(t, "growspin.wasm", growModule(grown/pageSize, true)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var during int64
	_, err = m.RunCommand(ctx, CommandInput{Stderr: func(line string) {
		during = residentBytes(t)
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	}})
	if err == nil {
		t.Fatal("a guest spinning after its module was closed succeeded")
	}
	after := residentBytes(t)
	t.Logf("RSS while running %d MiB, after the run %d MiB; the run: %v", during>>20, after>>20, err)
	if runtime.GOOS == "linux" && during-after < grown*9/10 {
		t.Errorf("the end of the run gave back %d MiB of the guest's 200 MiB", (during-after)>>20)
	}
}

// abiGrowModule is an ABI v1 module whose entry point "grow" grows its
// memory by pages and writes every byte of it, then returns 0.
func abiGrowModule(pages int) []byte {
	size := int64(pages+1) * pageSize
	body := code(i32(int64(pages)), []byte{0x40, 0x00}, expect(1),
		i32(0), i32(1), i32(size), []byte{0xfc, 11, 0x00}, i32(0))
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil), wasmbin.FuncType(nil, []byte{wasmbin.I32})),
		wasmbin.FuncSection(0, 1),
		wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 1}),
		wasmbin.Section(wasmbin.SectionExport,
			wasmbin.Export("memory", wasmbin.KindMemory, 0),
			wasmbin.Export("wasmworker_abi_version_1", wasmbin.KindFunc, 0),
			wasmbin.Export("grow", wasmbin.KindFunc, 1)),
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(), wasmbin.Body(body...)))
}

// TestABIMemoryIsGivenBack does the same with ABI instances: a warm
// instance keeps its grown memory (it serves the next invocation) until
// its module is closed; an isolated one gives it back after its
// invocation.
func TestABIMemoryIsGivenBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linear memories are mapped of their own on Linux only")
	}
	const grown = 200 << 20
	path := writeFile(t, "abigrow.wasm", abiGrowModule(grown/pageSize))
	for _, isolate := range []bool{false, true} {
		f, err := testEngine.LoadFunction(context.Background(), FunctionSpec{Function: invocation.Function{Name: "grow"}, Path: path, EntryPoint: "grow",
			Limits: Limits{Isolate: isolate, MaxInstances: 1}})
		if err != nil {
			t.Fatal(err)
		}
		before := residentBytes(t)
		if _, err := f.Invoke(context.Background(), &invocation.Request{InvocationID: "1"}, nil); err != nil {
			t.Fatal(err)
		}
		invoked := residentBytes(t)
		if err := f.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		closed := residentBytes(t)
		t.Logf("isolate=%v: RSS before %d MiB, after the invocation %d MiB, after closing the module %d MiB", isolate, before>>20, invoked>>20, closed>>20)
		if isolate {
			if invoked-before > grown/10 {
				t.Errorf("an isolated instance left %d MiB resident after its invocation", (invoked-before)>>20)
			}
			continue
		}
		if invoked-before < grown*9/10 {
			t.Fatalf("the warm instance's 200 MiB raised the RSS by %d MiB only", (invoked-before)>>20)
		}
		if invoked-closed < grown*9/10 {
			t.Errorf("closing the module gave back %d MiB of the warm instance's 200 MiB", (invoked-closed)>>20)
		}
	}
}

// residentBytes returns the resident set size of this process
// (/proc/self/status), or 0 where there is no /proc.
func residentBytes(t testing.TB) int64 {
	t.Helper()
	return procStatusBytes(t, "VmRSS:")
}

// procStatusBytes returns a "kB" field of /proc/self/status in bytes, or 0
// where there is no /proc.
func procStatusBytes(t testing.TB, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			var kb int64
			for _, c := range strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")) {
				kb = kb*10 + int64(c-'0')
			}
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFreshInstance measures one command-mode run in a fresh instance:
// "tiny" is a module with a one-page memory and an empty _start (the cost
// of the instance and its memory alone), "go-echo" a Go guest copying a
// small stdin to stdout (42 pages to start with, grown by its runtime), and
// "grow-200MiB" a module that grows its memory by 200 MiB and writes all
// of it; rss-MiB is the process's resident memory after the last run.
//
//	go test -run '^$' -bench FreshInstance ./internal/engine/
func BenchmarkFreshInstance(b *testing.B) {
	for _, c := range []struct {
		name string
		path func(b *testing.B) string
		in   CommandInput
	}{
		{"tiny", func(b *testing.B) string {
			return writeFile(b, "tiny.wasm", commandModule([][]byte{wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 1})}))
		}, CommandInput{}},
		{"go-echo", func(b *testing.B) string { return guestPath(b, "echo") }, CommandInput{Stdin: []byte(`{"name":"Ada"}`), Args: []string{"echo", "lines=0"}}},
		{"grow-200MiB", func(b *testing.B) string { return writeFile(b, "grow.wasm", growModule(3200, false)) }, CommandInput{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := testEngine.Load(context.Background(), c.path(b), Limits{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(context.Background())
			for b.Loop() {
				if _, err := m.RunCommand(context.Background(), c.in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(residentBytes(b))/(1<<20), "rss-MiB")
		})
	}
}
