package runtime

import (
	"context"
	"os"
	"strings"
	"testing"
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

// TestInstrumentNeverPanics feeds instrument every prefix (in steps) and
// single-byte corruptions of a real module.
func TestInstrumentNeverPanics(t *testing.T) {
	bin, err := os.ReadFile(guestPath(t, "exit"))
	if err != nil {
		t.Fatal(err)
	}
	step := len(bin)/20 + 1
	for n := 0; n < len(bin); n += step {
		if _, err := instrument(bin[:n], 100); err == nil && n < len(bin) {
			t.Errorf("a module cut at %d of %d bytes was instrumented without error", n, len(bin))
		}
	}
	for i := 8; i < len(bin); i += step {
		b := append([]byte(nil), bin...)
		b[i] ^= 0xff
		_, _ = instrument(b, 100) // must not panic
	}
}

func TestReservedGuardImportIsRefused(t *testing.T) {
	bin := wasmModule(
		section(1, funcType(nil, nil)),
		section(2, importFunc(guardModule, guardFunc, 0)),
		section(3, leb(0)),
		section(7, export("_start", 0, 1)),
		section(10, body(0x10, 0x00)),
	)
	_, err := testEngine.Load(context.Background(), writeFile(t, "reserved.wasm", bin), Limits{})
	if err == nil || !strings.Contains(err.Error(), "imports wasmworker_guard.yield, but only WASI preview1") {
		t.Errorf("error = %v", err)
	}
}
