package devhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestConsoleHidesWorkerDiagnosticsUnlessVerbose(t *testing.T) {
	events := []Event{
		{Kind: "worker", Worker: "1", Stream: "stderr", System: true, Level: "Information", Message: "function loaded"},
		{Kind: "worker", Worker: "1", Stream: "stderr", System: true, Level: "Error", Message: "init failed"},
		{Kind: "worker", Worker: "1", Stream: "stdout", Level: "Information", Message: "plain stdout line"},
		{Kind: "worker", Worker: "1", Level: "Information", Message: "worker process 42 started"},
	}
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		c := newConsole(&out, false, verbose)
		for _, e := range events {
			c.emit(e)
		}
		got := out.String()
		if strings.Contains(got, "function loaded") != verbose {
			t.Errorf("verbose=%v: informational diagnostic shown=%v:\n%s", verbose, !verbose, got)
		}
		for _, want := range []string{"worker 1: Error: init failed", "worker 1: plain stdout line", "worker 1: worker process 42 started"} {
			if !strings.Contains(got, want) {
				t.Errorf("verbose=%v: missing %q in:\n%s", verbose, want, got)
			}
		}
	}

	var out bytes.Buffer
	c := newConsole(&out, true, false)
	for _, e := range events {
		c.emit(e)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(events) {
		t.Fatalf("JSON mode wrote %d lines for %d events:\n%s", len(lines), len(events), out.String())
	}
	var first Event
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || !first.System || first.Stream != "stderr" || first.Time.IsZero() {
		t.Errorf("first JSON line %s decodes to %+v, %v", lines[0], first, err)
	}
}

func TestFormatHumanInvocation(t *testing.T) {
	ms := 12.3
	got := formatHuman(Event{Kind: "end", Function: "F", InvocationID: "0123456789", Status: "Failed", DurationMS: &ms, Error: "Result: Failure\nException: boom"})
	want := "Executed 'Functions.F' (Failed, Id=0123456789, Duration=12ms)\n    Result: Failure\n    Exception: boom\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("formatHuman = %q, want suffix %q", got, want)
	}
	got = formatHuman(Event{Kind: "log", Function: "F", InvocationID: "0123456789", Level: "Warning", Message: "careful"})
	if !strings.HasSuffix(got, "] F[01234567]: Warning: careful\n") {
		t.Errorf("formatHuman(log) = %q", got)
	}
}

// TestHeldEventsAfterLoad: a worker's error line about a function that
// failed to load is shown as Debug whether it came while the worker's
// output was held or after the load was reported (its stderr is read apart
// from its answers and can lag behind them); other lines keep their level.
func TestHeldEventsAfterLoad(t *testing.T) {
	var got []Event
	con := newConsole(nil, true, false)
	con.events = func(e Event) { got = append(got, e) }
	h := &heldEvents{con: con, on: true}
	h.emit(Event{Kind: "worker", Level: "Error", Message: `level=ERROR msg="function failed to load" function=Early err=x`})
	h.emit(Event{Kind: "worker", Level: "Error", Message: "something else went wrong"})
	h.release(map[string]error{"Early": errors.New("x"), "Late": errors.New("y")}, indexFailures{modules: []string{"gone.wasm"}})
	h.release(nil, indexFailures{}) // a second call changes nothing
	h.emit(Event{Kind: "worker", Level: "Error", Message: `level=ERROR msg="function failed to load" function=Late err=y`})
	h.emit(Event{Kind: "worker", Level: "Warning", Message: "module gone.wasm: no such file"})
	h.emit(Event{Kind: "worker", Level: "Error", Message: `level=ERROR msg="function failed to load" function=Other err=z`})
	want := []string{"Debug", "Error", "Debug", "Debug", "Error"}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Level != want[i] {
			t.Errorf("event %d (%s): level %s, want %s", i, e.Message, e.Level, want[i])
		}
	}
}
