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

// TestUninstrumentedCodeIsChecked loads compile bombs that take the path
// without instrumentation (they import the guard's own name, which the
// instrumentation refuses; and through guardCloseOnDone directly): the
// code limits refuse them before anything is compiled, naming the limit.
// Code that cannot be read to check it is refused too.
func TestUninstrumentedCodeIsChecked(t *testing.T) {
	// A module importing guardModule.guardFunc whose _start is body.
	reserved := func(body []byte) []byte {
		return wasmbin.Module(
			wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
			wasmbin.Section(wasmbin.SectionImport, wasmbin.FuncImport(guardModule, guardFunc, 0)),
			wasmbin.FuncSection(0),
			wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 1)),
			wasmbin.Section(wasmbin.SectionCode, body),
		)
	}
	for _, c := range []struct {
		name  string
		bin   []byte
		guard guardMode
		want  string
	}{
		{"nested blocks, reserved import", reserved(wasmbin.Body(nestedBlocks(50_000)...)), guardFuel,
			": function 0 has 5001 nested blocks, above the limit of 5000"},
		{"br_table, reserved import", reserved(wasmbin.Body(brTableCode(70_000)...)), guardFuel,
			": function 0 has 70000 br_table targets, above the limit of 16384"},
		{"nested blocks, close-on-done", commandModule(nil, nestedBlocks(50_000)...), guardCloseOnDone,
			": function 0 has 5001 nested blocks, above the limit of 5000"},
		{"locals, close-on-done", voidModule([]string{"_start"}, []byte{6, 1, 0xd1, 0x86, 0x03, wasmbin.I32, 0x0b}), guardCloseOnDone,
			": function 0 has 50001 locals, above the limit of 50000"},
		// A local of type exnref, which the instrumentation cannot read.
		{"unreadable code", reserved([]byte{4, 1, 1, 0x69, 0x0b}), guardFuel,
			"cannot be run: its code cannot be checked against the compile limits: unsupported wasm construct: value type 0x69"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, "bomb.wasm", c.bin)
			m, err := testEngine.load(context.Background(), path, Limits{}, Grants{}, c.guard, false)
			if err == nil {
				m.Close(context.Background())
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v, want it to name the file and contain %q", err, c.want)
			}
		})
	}
	// The fallback still loads a module that fits: the reserved import is
	// then what refuses it, after compiling.
	_, err := testEngine.Load(context.Background(), writeFile(t, "reserved.wasm", reserved(wasmbin.Body(nestedBlocks(100)...))), Limits{})
	if err == nil || !strings.Contains(err.Error(), "imports wasmworker_guard.yield, but only WASI preview1") {
		t.Errorf("error = %v", err)
	}
}
