package engine

import (
	"context"
	"runtime/debug"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// countdownModule is a WASI command whose _start counts an i64 down from n
// to 0: the tightest loop there is, the worst case for a loop guard.
func countdownModule(n int64) []byte {
	code := []byte{0x01, 0x01, wasmbin.I64} // one local i64
	code = append(code, 0x42)
	code = wasmbin.AppendSLEB(code, n)
	code = append(code,
		0x21, 0x00, // local.set 0
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x00, 0x50, 0x0d, 0x01, // local.get 0; i64.eqz; br_if 1
		0x20, 0x00, 0x42, 0x01, 0x7d, 0x21, 0x00, // local.set 0 (local.get 0 - 1)
		0x0c, 0x00, // br 0
		0x0b, 0x0b, 0x0b) // end loop, block, function
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.FuncSection(0),
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 0)),
		wasmbin.Section(wasmbin.SectionCode, append(wasmbin.AppendULEB(nil, uint64(len(code))), code...)),
	)
}

// copyLoopModule is a WASI command whose _start copies 16 bytes with
// memory.copy n times in a loop, the length in a local: the worst case for
// the charge of bulk instructions, which costs the same for 16 bytes as for
// 16 MiB when the length is not a constant.
func copyLoopModule(n int64) []byte {
	code := []byte{0x02, 0x01, wasmbin.I64, 0x01, wasmbin.I32} // locals: i64 counter, i32 length
	code = append(code, 0x41, 0x10, 0x21, 0x01, 0x42)          // local.set 1 (i32.const 16); i64.const n
	code = wasmbin.AppendSLEB(code, n)
	code = append(code,
		0x21, 0x00, // local.set 0
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x00, 0x50, 0x0d, 0x01, // local.get 0; i64.eqz; br_if 1
		0x41, 0x20, 0x41, 0x00, 0x20, 0x01, 0xfc, 0x0a, 0x00, 0x00, // memory.copy 32 <- 0, local 1 bytes
		0x20, 0x00, 0x42, 0x01, 0x7d, 0x21, 0x00, // local.set 0 (local.get 0 - 1)
		0x0c, 0x00, // br 0
		0x0b, 0x0b, 0x0b) // end loop, block, function
	return wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.FuncSection(0),
		wasmbin.Section(wasmbin.SectionMemory, []byte{0x00, 0x01}),
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 0)),
		wasmbin.Section(wasmbin.SectionCode, append(wasmbin.AppendULEB(nil, uint64(len(code))), code...)),
	)
}

// spinModule is `loop {}`: a _start that branches to itself forever.
func spinModule() []byte {
	return voidModule([]string{"_start"}, wasmbin.Body(0x03, 0x40, 0x0c, 0x00, 0x0b))
}

var guardModes = []guardMode{guardNone, guardCloseOnDone, guardFuel}

func loadMode(b *testing.B, path string, g guardMode) *Module {
	b.Helper()
	m, err := testEngine.load(context.Background(), path, Limits{}, Grants{}, g, false)
	if err != nil {
		b.Fatal(err)
	}
	if m.guard != g {
		b.Fatalf("module loaded with guard %s, want %s", m.guard, g)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// BenchmarkGuardCPU runs CPU-bound guests with each guard: a Go guest
// hashing a 64 KiB buffer 100 times (sha256), a hand-written wasm loop
// counting down from 2*10^7 (countdown), and one copying 16 bytes with
// memory.copy 5*10^6 times (copyloop: the loop's and the copies' charges). Each iteration runs the guest once
// per guard, interleaved, so that load from other processes hits all of
// them alike; the metrics are the median time per run of each guard and
// the speed of the guarded runs relative to the unguarded one.
//
// The Go collector is off while it runs: an unguarded guest cannot be
// stopped for a collection, and a collection that starts while it runs
// waits for it, signalling its thread over and over, which slows it down
// and would make the unguarded baseline look worse than it is.
func BenchmarkGuardCPU(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	guests := []struct {
		name string
		path func(b *testing.B) string
		args []string
	}{
		{"sha256", func(b *testing.B) string { return guestPath(b, "probe") }, []string{"probe", "sha256", "100"}},
		{"countdown", func(b *testing.B) string { return writeFile(b, "countdown.wasm", countdownModule(2e7)) }, nil},
		{"copyloop", func(b *testing.B) string { return writeFile(b, "copyloop.wasm", copyLoopModule(5e6)) }, nil},
	}
	for _, gst := range guests {
		path := gst.path(b)
		b.Run(gst.name, func(b *testing.B) {
			mods := make([]*Module, len(guardModes))
			times := make([][]time.Duration, len(guardModes))
			for i, g := range guardModes {
				mods[i] = loadMode(b, path, g)
				if _, err := mods[i].RunCommand(context.Background(), CommandInput{Args: gst.args}); err != nil {
					b.Fatal(err) // and warm up
				}
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				for i, m := range mods {
					start := time.Now()
					if _, err := m.RunCommand(context.Background(), CommandInput{Args: gst.args}); err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], time.Since(start))
				}
			}
			base := median(times[0])
			for i, g := range guardModes {
				med := median(times[i])
				b.ReportMetric(float64(med.Microseconds())/1000, "ms-"+g.String())
				if i > 0 {
					b.ReportMetric(float64(base)/float64(med), "speed-"+g.String())
				}
			}
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkGuardStop measures how long after its deadline a guest in an
// endless loop is stopped: the Go loop guest and `loop {}` in wasm. The
// metrics are the median and the largest delay over b.N runs, after three
// runs to warm up.
func BenchmarkGuardStop(b *testing.B) {
	guests := []struct {
		name string
		path func(b *testing.B) string
		args []string
	}{
		{"go-loop", func(b *testing.B) string { return guestPath(b, "loop") }, []string{"loop", "spin"}},
		{"wasm-loop", func(b *testing.B) string { return writeFile(b, "spin.wasm", spinModule()) }, nil},
	}
	for _, gst := range guests {
		path := gst.path(b)
		for _, g := range guardModes[1:] {
			b.Run(gst.name+"/"+g.String(), func(b *testing.B) {
				m := loadMode(b, path, g)
				for i := 0; i < 3; i++ { // warm up: the first instances are slow to make
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					_, _ = m.RunCommand(ctx, CommandInput{Args: gst.args})
					cancel()
				}
				b.ResetTimer()
				late := make([]time.Duration, 0, b.N)
				for i := 0; i < b.N; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					deadline, _ := ctx.Deadline()
					_, err := m.RunCommand(ctx, CommandInput{Args: gst.args})
					late = append(late, time.Since(deadline))
					cancel()
					if re, ok := err.(*RunError); !ok || re.Kind != DeadlineExceeded {
						b.Fatalf("error = %v, want deadline exceeded", err)
					}
				}
				sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
				b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, "ms-late-median")
				b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "ms-late-max")
			})
		}
	}
}
