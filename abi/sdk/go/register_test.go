package wasmworker

import (
	"context"
	"strings"
	"testing"
)

// TestRegistrationMistakes: duplicate (case-insensitively) and empty names
// and nil handlers fail the module's declarations with one message naming
// them all.
func TestRegistrationMistakes(t *testing.T) {
	saved, savedErrs := registry, regErrs
	t.Cleanup(func() { registry, regErrs = saved, savedErrs })
	registry, regErrs = nil, nil
	ok := func(context.Context) error { return nil }
	Handle("A", ok, Bind(Binding{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "q"}))
	Handle("a", ok)
	Handle("", ok)
	Handle("B", nil)
	Handle("C", ok, Route("c"), Bind(Binding{"type": "httpTrigger", "direction": "in", "name": "req"}))
	h := &recordHost{}
	hostabiSwap(t, h)
	if status := declareAll(); status != 1 {
		t.Fatalf("status %d", status)
	}
	want := "wasmworker: function a is registered twice; a function was registered with an empty name; function B was registered with a nil handler; " +
		`function C: option "route" comes before the function's trigger binding`
	if h.err != want {
		t.Errorf("error\n got %q\nwant %q", h.err, want)
	}
	if len(h.declared) != 0 {
		t.Errorf("declared %q", h.declared)
	}
}

// TestHMS: durations as function.json intervals.
func TestHMS(t *testing.T) {
	for d, want := range map[string]string{"5s": "00:00:05", "90m": "01:30:00", "26h1s": "1.02:00:01", "48h": "2.00:00:00", "-5s": "00:00:00", "1.6s": "00:00:02"} {
		if got := hms(mustDuration(t, d)); got != want {
			t.Errorf("hms(%s) = %s, want %s", d, got, want)
		}
	}
	if !strings.HasPrefix(EntryPoint, "ww_") {
		t.Errorf("entry point %q may not start with _ or wasmworker_", EntryPoint)
	}
}
