//go:build unix

package devhost

// Tests of issue #14 (items 2 to 6) through the wasmfunc command over real
// HTTP: loud failures, watching, timer schedule status, binary bodies and
// responses written as the host writes them.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
)

// builtApp is one testdata app built into the scratch folder.
type builtApp struct {
	once sync.Once
	dir  string
	err  error
}

var builtApps sync.Map // app name → *builtApp

// testApp builds testdata/<name> (its Go functions into .wasm files) once
// per test run and returns the built folder, which tests copy (copyApp).
// loudapp also gets abi.wasm, an ABI module of the repository's examples.
func testApp(t *testing.T, name string) string {
	t.Helper()
	v, _ := builtApps.LoadOrStore(name, &builtApp{})
	b := v.(*builtApp)
	b.once.Do(func() {
		b.dir = filepath.Join(scratch, "apps", "testdata-"+name)
		if _, b.err = appbuild.Build(context.Background(), filepath.Join("testdata", name), b.dir); b.err != nil {
			return
		}
		if name == "loudapp" {
			var wasm []byte
			if wasm, b.err = os.ReadFile(filepath.Join(moduleDir, "examples-wasm", "abi", "assemblyscript", "functions.wasm")); b.err == nil {
				b.err = os.WriteFile(filepath.Join(b.dir, "abi.wasm"), wasm, 0o644)
			}
		}
	})
	if b.err != nil {
		t.Fatalf("building testdata/%s: %v", name, b.err)
	}
	return b.dir
}

// count returns how many events satisfy ok.
func count(evs []Event, ok func(Event) bool) int {
	n := 0
	for _, e := range evs {
		if ok(e) {
			n++
		}
	}
	return n
}

// TestLoudFailures (item 2): functions that fail to load are reported once
// each, by name, in the output and in the host status; they are not
// indexed (no trigger fires, their route answers 404); a trigger type typo
// is named; a binding type wasmfunc does not emulate is named at start.
func TestLoudFailures(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, testApp(t, "loudapp"), false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	h.waitEvent("the banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 2 function(s), 3 failed"
	})
	evs := h.events()
	for fn, want := range map[string]string{
		"Typo":   `Typo/function.json: unknown trigger type "queueTriger"; known: `,
		"Wrong":  "no_such_entry",
		"Broken": "Broken",
	} {
		n := count(evs, func(e Event) bool {
			return e.Level == "Error" && strings.Contains(e.Message, fn) && e.Kind == "host"
		})
		if n != 1 {
			t.Errorf("%s: %d error reports, want exactly 1", fn, n)
		}
		if count(evs, func(e Event) bool { return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, want) }) == 0 {
			t.Errorf("%s: no error report containing %q", fn, want)
		}
		if n := count(evs, func(e Event) bool { return e.Kind == "worker" && e.Level == "Error" && strings.Contains(e.Message, fn) }); n != 0 {
			t.Errorf("%s: the failure is reported again by the worker %d time(s)", fn, n)
		}
	}
	warn := h.waitEvent("the warning about the table output", func(e Event) bool {
		return e.Kind == "host" && e.Level == "Warning" && strings.Contains(e.Message, `Hello: output binding row has type "table"`)
	})
	if !strings.Contains(warn.Message, "wasmfunc emulates "+strings.Join(EmulatedBindingTypes, ", ")) {
		t.Errorf("the warning %q does not list what wasmfunc emulates", warn.Message)
	}

	st := h.status()
	if st.State != "Running" || len(st.Errors) != 3 {
		t.Errorf("status = %+v, want Running with 3 errors", st)
	}
	for _, fn := range []string{"Typo", "Wrong", "Broken"} {
		if !strings.Contains(strings.Join(st.Errors, "\n"), fn) {
			t.Errorf("status errors %q do not name %s", st.Errors, fn)
		}
		code, _, body := h.do(http.MethodGet, "/admin/functions/"+fn+"/status", "", "")
		var fs struct{ Errors []string }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &fs) != nil || len(fs.Errors) != 1 {
			t.Errorf("GET /admin/functions/%s/status = %d %s, want its error", fn, code, body)
		}
		if code, _, body := h.do(http.MethodPost, "/admin/functions/"+fn, "application/json", `{"input":"x"}`); code != http.StatusNotFound || !strings.Contains(body, "is in error") {
			t.Errorf("POST /admin/functions/%s = %d %s, want 404: a function in error is not indexed", fn, code, body)
		}
	}
	if code, _, body := h.do(http.MethodGet, "/admin/functions/Hello/status", "", ""); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Errorf("GET /admin/functions/Hello/status = %d %s, want {}", code, body)
	}
	if code, _, body := h.do(http.MethodGet, "/api/broken", "", ""); code != http.StatusNotFound {
		t.Errorf("GET /api/broken = %d %s, want 404 for a function in error", code, body)
	}
	if code, _, body := h.do(http.MethodGet, "/api/hello", "", ""); code != http.StatusOK || body != "hello" {
		t.Errorf("GET /api/hello = %d %q", code, body)
	}

	// A message for the function in error stays on its queue. Drain's
	// message is put after it, so once Drain has run, Wrong would have
	// had its turn too.
	if code, _, body := h.do(http.MethodPost, "/admin/queues/work", "text/plain", "job"); code != http.StatusCreated {
		t.Fatalf("POST /admin/queues/work = %d %s", code, body)
	}
	if code, _, body := h.do(http.MethodPost, "/admin/queues/good", "text/plain", "probe"); code != http.StatusCreated {
		t.Fatalf("POST /admin/queues/good = %d %s", code, body)
	}
	h.waitEvent("Drain's log", func(e Event) bool { return e.Kind == "log" && e.Message == "Drain: got probe" })
	if msgs := h.queue("work"); len(msgs) != 1 || msgs[0].DequeueCount != 0 {
		t.Errorf("queue work holds %+v, want the message, never dequeued", msgs)
	}
	if msgs := h.queue("work-poison"); len(msgs) != 0 {
		t.Errorf("work-poison holds %+v, want nothing", msgs)
	}
	if n := count(h.events(), func(e Event) bool { return e.Kind == "start" && (e.Function == "Wrong" || e.Function == "Typo") }); n != 0 {
		t.Errorf("%d invocations of functions in error", n)
	}
}

// TestHumanBanner checks the banner and the report of a function in error
// in the terminal output a person reads.
func TestHumanBanner(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, testApp(t, "loudapp"), false), hostConfig{text: true, args: []string{"--no-build", "--no-watch"}})
	h.waitLine("the banner", func(l string) bool { return strings.HasSuffix(l, "] loaded 2 function(s), 3 failed") })
	h.waitLine("the typo", func(l string) bool {
		return strings.Contains(l, `] Error: Typo/function.json: unknown trigger type "queueTriger"; known: `)
	})
}

// TestBinaryHTTPBody (item 5): an http output with "dataType": "binary"
// returns the bytes of its base64 body, 0x00 and 0xff included, over HTTP.
func TestBinaryHTTPBody(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, testApp(t, "httpapp"), false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	resp, err := client.Get(h.url + "/api/binary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 256)
	for i := range want {
		want[i] = byte(i)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Errorf("GET /api/binary = %d, %d bytes %x; want 200 and the bytes 00 to ff", resp.StatusCode, len(got), got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/x-test" {
		t.Errorf("Content-Type = %q, want the function's, unchanged", ct)
	}
}

// TestHTTPResponsesAsTheHost (item 6): bodies and content types as the
// host writes them.
func TestHTTPResponsesAsTheHost(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, testApp(t, "httpapp"), false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	code, hdr, body := h.do(http.MethodGet, "/api/shape/json", "", "")
	// The guest's Go encoder wrote "\u003c\u0026\u003e"; Newtonsoft
	// writes the characters.
	if want := "{\n  \"b\": [\n    1,\n    2.5\n  ],\n  \"s\": \"<&>é\"\n}"; code != 200 || body != want {
		t.Errorf("GET /api/shape/json = %d %q, want %q", code, body, want)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("json: Content-Type = %q, want the function's with the host's charset", ct)
	}
	code, hdr, body = h.do(http.MethodGet, "/api/shape/text", "", "")
	if code != 200 || body != "héllo" || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("GET /api/shape/text = %d %q %q", code, hdr.Get("Content-Type"), body)
	}
	// Accept-Charset chooses UTF-16 (little-endian, no byte-order mark).
	status, body16 := h.send(http.MethodGet, "/api/shape/text", map[string]string{"Accept-Charset": "utf-16"}, "")
	if status != 200 || body16 != "h\x00\xe9\x00l\x00l\x00o\x00" {
		t.Errorf("GET /api/shape/text in UTF-16 = %d %q", status, body16)
	}
}

// timerLog matches the log line of Pulse and Beat: "<name>: timer <json>".
var timerLog = regexp.MustCompile(`^(\w+): timer (\{.*\})$`)

type timerInfo struct {
	Schedule       struct{ AdjustForDST bool }
	ScheduleStatus *struct{ Last, Next, LastUpdated string }
	IsPastDue      bool
}

// timerRuns returns the TimerInfo values fn logged, in order.
func (h *cmdHost) timerRuns(fn string) []timerInfo {
	h.t.Helper()
	var out []timerInfo
	for _, e := range h.events() {
		m := timerLog.FindStringSubmatch(e.Message)
		if e.Kind != "log" || m == nil || m[1] != fn {
			continue
		}
		var ti timerInfo
		if err := json.Unmarshal([]byte(m[2]), &ti); err != nil {
			h.t.Fatalf("%s logged a timer value that is not a TimerInfo: %v", fn, err)
		}
		out = append(out, ti)
	}
	return out
}

// TestTimerScheduleStatus (item 4): a timer with a schedule monitor sees
// the status the extension keeps: on its first run Last and LastUpdated are
// "never" and Next is about now; on the next run Last and LastUpdated are
// the time of the run before, Next the occurrence after it. An admin
// invocation sees the stored status.
func TestTimerScheduleStatus(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, timerApp, false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	h.waitEvents("two runs of Pulse", func([]Event) bool { return len(h.timerRuns("Pulse")) >= 2 })
	runs := h.timerRuns("Pulse")
	first, second := runs[0], runs[1]
	never := netLocalDate(time.Time{})
	parse := func(what, s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s %q is not an ISO 8601 time with an offset: %v", what, s, err)
		}
		return v
	}
	if s := first.ScheduleStatus; s == nil || s.Last != never || s.LastUpdated != never || first.IsPastDue || !first.Schedule.AdjustForDST {
		t.Fatalf("first run: %+v, want Last and LastUpdated %q", first, never)
	}
	s1, s2 := first.ScheduleStatus, second.ScheduleStatus
	if s2 == nil || s2.Last != s2.LastUpdated || second.IsPastDue {
		t.Fatalf("second run: %+v", second)
	}
	ran := parse("second Last", s2.Last)
	if due := parse("first Next", s1.Next); ran.Before(due) || ran.After(due.Add(10*time.Second)) {
		t.Errorf("second run's Last %s is not the first run's time (scheduled at %s)", s2.Last, s1.Next)
	}
	if next := parse("second Next", s2.Next); !next.After(ran) || next.Nanosecond() != 0 || next.Second()%2 != 0 {
		t.Errorf("second run's Next %s is not the occurrence after %s", s2.Next, s2.Last)
	}
	// Beat fires every two seconds, so the extension keeps no status for it.
	if beat := h.timerRuns("Beat"); len(beat) == 0 || beat[0].ScheduleStatus != nil {
		t.Errorf("Beat's runs %+v, want a null ScheduleStatus", beat)
	}

	code, _, body := h.do(http.MethodPost, "/admin/functions/Pulse", "application/json", `{"input":""}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /admin/functions/Pulse = %d %s", code, body)
	}
	start := h.waitEvent("the admin run", func(e Event) bool {
		return e.Kind == "start" && e.Function == "Pulse" && strings.Contains(e.Reason, "programmatically")
	})
	h.waitEvent("its log", func(e Event) bool {
		m := timerLog.FindStringSubmatch(e.Message)
		if e.InvocationID != start.InvocationID || m == nil {
			return false
		}
		var ti timerInfo
		if json.Unmarshal([]byte(m[2]), &ti) != nil || ti.ScheduleStatus == nil || ti.ScheduleStatus.Last == never {
			t.Errorf("the admin run got %s, want the stored status of the runs before", m[2])
		}
		return true
	})
}

// TestWatchNewFunctionAndFailedReload (item 3): a new function folder is
// seen and loaded; a reload that fails (a Go function that does not build,
// then a broken host.json) keeps the previous functions serving and says
// why; fixing it reloads.
func TestWatchNewFunctionAndFailedReload(t *testing.T) {
	t.Parallel()
	app := copyApp(t, testApp(t, "httpapp"), false)
	h := startHost(t, app, hostConfig{})
	if code, _, _ := h.do(http.MethodGet, "/api/shape/text", "", ""); code != 200 {
		t.Fatalf("GET /api/shape/text = %d", code)
	}

	// A new function folder, written the way an editor or cp -r does.
	dir := filepath.Join(app, "Fresh")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fj, err := os.ReadFile(filepath.Join(app, "Shape", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(app, "Shape", "main.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "function.json"), bytes.Replace(fj, []byte(`shape/{kind}`), []byte(`fresh/{kind}`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, h, http.MethodGet, "/api/fresh/text", "", http.StatusOK)

	// A Go function that does not build: the reload fails, the old module serves.
	src := filepath.Join(app, "Shape", "main.go")
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, append(good, []byte("\nfunc broken( {\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("the failed build", func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, "reload failed, keeping the previous functions: building the app")
	})
	if code, _, body := h.do(http.MethodGet, "/api/shape/text", "", ""); code != 200 || body != "héllo" {
		t.Errorf("after a failed reload GET /api/shape/text = %d %q, want the previous function", code, body)
	}
	if err := os.WriteFile(src, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// A broken host.json: the same.
	hostJSON := filepath.Join(app, "host.json")
	orig, err := os.ReadFile(hostJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostJSON, []byte(`{"version": `), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("the failed reload", func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, "reload failed, keeping the previous functions") && strings.Contains(e.Message, "host.json")
	})
	if code, _, _ := h.do(http.MethodGet, "/api/fresh/text", "", ""); code != 200 {
		t.Errorf("after a failed reload GET /api/fresh/text = %d, want the previous functions", code)
	}
	// Fixed, with a new route prefix to see the reload.
	if err := os.WriteFile(hostJSON, bytes.Replace(orig, []byte(`"api"`), []byte(`"v2"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, h, http.MethodGet, "/v2/fresh/text", "", http.StatusOK)
	if st := h.status(); st.State != "Running" || len(st.Errors) != 0 {
		t.Errorf("status after the reloads = %+v", st)
	}
}
