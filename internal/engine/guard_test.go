package engine

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

func TestGuestsRunInstrumented(t *testing.T) {
	for _, name := range []string{"echo", "exit", "flood", "loop", "membomb", "panic", "probe"} {
		m := loadGuest(t, name, Limits{})
		if m.guard != guardFuel {
			t.Errorf("%s runs with guard %s, want fuel", name, m.guard)
		}
	}
	m, err := testEngine.Load(context.Background(), writeFile(t, "spin.wasm", spinModule()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if m.guard != guardFuel {
		t.Errorf("hand-made module runs with guard %s, want fuel", m.guard)
	}
}

// TestInstrumentGoGuestNeverPanics feeds wasmbin.Instrument prefixes and
// single-byte corruptions of a Go guest, a larger and more varied module
// than the hand-made ones of wasmbin's own tests and fuzzers; it is here
// because the engine's tests build the guests.
func TestInstrumentGoGuestNeverPanics(t *testing.T) {
	bin, err := os.ReadFile(guestPath(t, "exit"))
	if err != nil {
		t.Fatal(err)
	}
	step := len(bin)/20 + 1
	for n := 0; n < len(bin); n += step {
		if _, err := wasmbin.Instrument(bin[:n], wasmbin.Options{Interval: 100, Module: guardModule, Func: guardFunc}); err == nil && n < len(bin) {
			t.Errorf("a module cut at %d of %d bytes was instrumented without error", n, len(bin))
		}
	}
	for i := 8; i < len(bin); i += step {
		b := append([]byte(nil), bin...)
		b[i] ^= 0xff
		_, _ = wasmbin.Instrument(b, wasmbin.Options{Interval: 100, Module: guardModule, Func: guardFunc}) // must not panic
	}
}

func TestReservedGuardImportIsRefused(t *testing.T) {
	bin := wasmbin.Module(
		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
		wasmbin.Section(wasmbin.SectionImport, wasmbin.FuncImport(guardModule, guardFunc, 0)),
		wasmbin.FuncSection(0),
		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(0x10, 0x00)),
	)
	_, err := testEngine.Load(context.Background(), writeFile(t, "reserved.wasm", bin), Limits{})
	if err == nil || !strings.Contains(err.Error(), "imports wasmworker_guard.yield, but only WASI preview1") {
		t.Errorf("error = %v", err)
	}
}
