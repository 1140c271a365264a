//go:build unix

package devhost

// These tests start the real wasmfunc command as a process, with the real
// wasm worker and function apps built from the repository's sources, and
// drive it over HTTP on 127.0.0.1. TestMain builds everything once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/engine"
)

// Built once by TestMain.
var (
	wasmfuncBin string // the wasmfunc command
	workersDir  string // holds wasm/worker.config.json and wasm/wasmworker
	exampleApp  string // examples-wasm/app with its .wasm files built
	timerApp    string // testdata/timerapp with its .wasm files built
	edgeApp     string // testdata/edgeapp with its .wasm files built
	wazeroCache string // WASMWORKER_CACHE_DIR shared by every worker (compiled modules)
	scratch     string // temporary folder removed after the tests
	moduleDir   string // the repository root
	goCache     string // go env GOCACHE, kept when a test moves the user cache
)

// waitLong bounds every wait for the command: loads compile wasm, and the
// machine may be busy.
const waitLong = 90 * time.Second

// envScratch passes the folder TestMain built everything into from a
// `go test -fuzz` coordinator to its worker processes (which inherit its
// environment and run TestMain too), so that they do not build it all again.
const envScratch = "DEVHOST_TEST_SCRATCH"

func TestMain(m *testing.M) {
	flag.Parse()
	// A fuzz worker uses what its coordinator built, which removes it.
	reuse := ""
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		reuse = os.Getenv(envScratch)
	}
	code, err := setup(m, reuse)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apphost tests:", err)
		code = 1
	}
	if scratch != "" && reuse == "" {
		_ = os.RemoveAll(scratch)
	}
	os.Exit(code)
}

func setup(m *testing.M, reuse string) (int, error) {
	var err error
	if moduleDir, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		return 0, err
	}
	if reuse != "" {
		scratch = reuse
	} else if scratch, err = os.MkdirTemp("", "apphost-test-"); err != nil {
		return 0, err
	}
	wasmfuncBin = filepath.Join(scratch, "bin", "wasmfunc")
	workersDir = filepath.Join(scratch, "workers")
	// The worker's own default cache (content-addressed, safe to share),
	// so that a second test run does not compile every module again.
	wazeroCache = engine.DefaultCacheDir()
	exampleApp = filepath.Join(scratch, "apps", "example")
	timerApp = filepath.Join(scratch, "apps", "timer")
	edgeApp = filepath.Join(scratch, "apps", "edge")
	b, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return 0, fmt.Errorf("go env GOCACHE: %w", err)
	}
	goCache = strings.TrimSpace(string(b))
	if reuse != "" {
		return m.Run(), nil
	}
	goBuild := func(out, pkg string) error {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = moduleDir
		b, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
		return nil
	}
	if err := goBuild(wasmfuncBin, "./cmd/wasmfunc"); err != nil {
		return 0, err
	}
	if _, err := BuildWorker(context.Background(), moduleDir, workersDir); err != nil {
		return 0, err
	}
	ctx := context.Background()
	if _, err := appbuild.Build(ctx, filepath.Join(moduleDir, "examples-wasm", "app"), exampleApp); err != nil {
		return 0, fmt.Errorf("building the example app: %w", err)
	}
	if _, err := appbuild.Build(ctx, filepath.Join("testdata", "timerapp"), timerApp); err != nil {
		return 0, fmt.Errorf("building testdata/timerapp: %w", err)
	}
	if _, err := appbuild.Build(ctx, filepath.Join("testdata", "edgeapp"), edgeApp); err != nil {
		return 0, fmt.Errorf("building testdata/edgeapp: %w", err)
	}
	if err := os.Setenv(envScratch, scratch); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// copyApp copies the app folder src to a fresh folder of the test. With
// sourcesOnly, .wasm files are left out, so the command has to build them.
func copyApp(t *testing.T, src string, sourcesOnly bool) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "app")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() && sourcesOnly && rel == "CallHello" {
			// Its Go source imports the SDK's outbound package, which
			// builds only inside this module (a copy elsewhere cannot
			// resolve it; issue #13).
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if sourcesOnly && strings.HasSuffix(p, ".wasm") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	return dst
}

// setValue sets an entry of Values in the app's local.settings.json.
func setValue(t *testing.T, app, key, value string) {
	t.Helper()
	p := filepath.Join(app, "local.settings.json")
	var s map[string]any
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	values, _ := s["Values"].(map[string]any)
	if values == nil {
		values = map[string]any{}
	}
	values[key] = value
	s["Values"] = values
	if b, err = json.MarshalIndent(s, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// cmdHost is a running wasmfunc process.
type cmdHost struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited
	json bool

	mu      sync.Mutex
	lines   []string      // stdout, line by line
	stderr  []string      // stderr, line by line
	changed chan struct{} // closed and replaced when a line arrives
}

// hostConfig says how to start wasmfunc.
type hostConfig struct {
	text      bool     // human output instead of --json
	args      []string // extra flags
	env       []string // extra environment
	noWorkers bool     // do not pass --workers (the command finds or builds the worker)
	dir       string   // working directory ("" → the test's temporary folder)
}

// startHost starts `wasmfunc start app --port 0` and waits until it listens.
func startHost(t *testing.T, app string, hc hostConfig) *cmdHost {
	t.Helper()
	args := []string{"start", app, "--port", "0"}
	if !hc.noWorkers {
		args = append(args, "--workers", workersDir)
	}
	if !hc.text {
		args = append(args, "--json")
	}
	args = append(args, hc.args...)
	cmd := exec.Command(wasmfuncBin, args...)
	cmd.Dir = hc.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvWorkersDir+"=") && !strings.HasPrefix(kv, "FUNCTIONS_") && !strings.HasPrefix(kv, "WASMWORKER_CACHE_DIR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, "WASMWORKER_CACHE_DIR="+wazeroCache), hc.env...)
	// A process group, so that a test that fails half-way leaves no worker behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &cmdHost{t: t, cmd: cmd, done: make(chan struct{}), json: !hc.text, changed: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting wasmfunc: %v", err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); h.read(stdout, &h.lines) }()
	go func() { defer readers.Done(); h.read(stderr, &h.stderr) }()
	go func() {
		readers.Wait()
		_ = cmd.Wait()
		close(h.done)
		h.mu.Lock()
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
	}()
	t.Cleanup(h.stop)
	line := h.waitLine("the HTTP listener", func(l string) bool { return strings.Contains(l, "Listening on http://") })
	h.url = regexp.MustCompile(`Listening on (http://[^\s"]+)`).FindStringSubmatch(line)[1]
	return h
}

func (h *cmdHost) read(r io.Reader, into *[]string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		h.mu.Lock()
		*into = append(*into, sc.Text())
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
	}
}

// stop interrupts the command as Ctrl-C does and checks that it exits 0.
func (h *cmdHost) stop() {
	t := h.t
	select {
	case <-h.done:
	default:
		_ = h.cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.done:
			if code := h.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("wasmfunc exited with code %d after an interrupt", code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("wasmfunc did not exit within 30s of an interrupt")
			_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
			<-h.done
		}
	}
	if t.Failed() {
		h.mu.Lock()
		t.Logf("wasmfunc stdout:\n%s\nwasmfunc stderr:\n%s", strings.Join(h.lines, "\n"), strings.Join(h.stderr, "\n"))
		h.mu.Unlock()
	}
}

// snapshot returns the stdout lines so far and a channel closed on the next one.
func (h *cmdHost) snapshot() ([]string, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...), h.changed
}

// waitLine waits for a stdout line that satisfies ok and returns it.
func (h *cmdHost) waitLine(what string, ok func(string) bool) string {
	h.t.Helper()
	deadline := time.After(waitLong)
	for {
		lines, changed := h.snapshot()
		for _, l := range lines {
			if ok(l) {
				return l
			}
		}
		select {
		case <-changed:
		case <-h.done:
			// Read what is left, then give up.
			lines, _ = h.snapshot()
			for _, l := range lines {
				if ok(l) {
					return l
				}
			}
			h.t.Fatalf("wasmfunc exited (%v) before logging %s", h.cmd.ProcessState, what)
		case <-deadline:
			h.t.Fatalf("wasmfunc did not log %s within %s", what, waitLong)
		}
	}
}

// events parses every stdout line as a JSON event (--json mode), failing the
// test on a line that is not one.
func (h *cmdHost) events() []Event {
	h.t.Helper()
	lines, _ := h.snapshot()
	out := make([]Event, 0, len(lines))
	for _, l := range lines {
		var e Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			h.t.Fatalf("--json output line is not JSON (%v): %q", err, l)
		}
		out = append(out, e)
	}
	return out
}

// waitEvents waits until match holds for the events so far and returns them.
func (h *cmdHost) waitEvents(what string, match func([]Event) bool) []Event {
	h.t.Helper()
	deadline := time.After(waitLong)
	for {
		_, changed := h.snapshot()
		evs := h.events()
		if match(evs) {
			return evs
		}
		select {
		case <-changed:
		case <-h.done:
			h.t.Fatalf("wasmfunc exited (%v) while waiting for %s", h.cmd.ProcessState, what)
		case <-deadline:
			h.t.Fatalf("no %s within %s", what, waitLong)
		}
	}
}

// waitEvent waits for one event that satisfies ok.
func (h *cmdHost) waitEvent(what string, ok func(Event) bool) Event {
	h.t.Helper()
	var found Event
	h.waitEvents(what, func(evs []Event) bool {
		for _, e := range evs {
			if ok(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

var client = &http.Client{Timeout: 60 * time.Second}

// do sends a request to the host and returns the status, headers and body.
func (h *cmdHost) do(method, path, contentType, body string) (int, http.Header, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// queueMessage is a message as GET /admin/queues/<name> shows it.
type queueMessage struct {
	ID           string `json:"id"`
	DequeueCount int64  `json:"dequeueCount"`
	Text         string `json:"text"`
}

func (h *cmdHost) queue(name string) []queueMessage {
	h.t.Helper()
	code, _, body := h.do(http.MethodGet, "/admin/queues/"+name, "", "")
	if code != http.StatusOK {
		h.t.Fatalf("GET /admin/queues/%s = %d %s", name, code, body)
	}
	var msgs []queueMessage
	if err := json.Unmarshal([]byte(body), &msgs); err != nil {
		h.t.Fatalf("GET /admin/queues/%s: %v: %s", name, err, body)
	}
	return msgs
}

// waitQueue polls queue name until ok holds for its messages.
func (h *cmdHost) waitQueue(name string, ok func([]queueMessage) bool) []queueMessage {
	h.t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		msgs := h.queue(name)
		if ok(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("queue %s never reached the expected state; it holds %+v", name, msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostStatus is GET /admin/host/status.
type hostStatus struct {
	State     string        `json:"state"`
	Errors    []string      `json:"errors"`
	Processes []processInfo `json:"processes"`
}

func (h *cmdHost) status() hostStatus {
	h.t.Helper()
	code, _, body := h.do(http.MethodGet, "/admin/host/status", "", "")
	var st hostStatus
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		h.t.Fatalf("GET /admin/host/status = %d %s", code, body)
	}
	return st
}

// waitStatus polls the status until ok holds.
func (h *cmdHost) waitStatus(what string, ok func(hostStatus) bool) hostStatus {
	h.t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		st := h.status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("host status never showed %s; last: %+v", what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyPIDs returns the pids of the ready worker processes.
func readyPIDs(st hostStatus) []int {
	var pids []int
	for _, p := range st.Processes {
		if p.State == "Ready" && p.PID > 0 {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

func wantJSON(t *testing.T, what, got string, want map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("%s: body %q is not a JSON object: %v", what, got, err)
	}
	for k, v := range want {
		if fmt.Sprint(m[k]) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %v, want %v (body %s)", what, k, m[k], v, got)
		}
	}
}

// TestExampleApp runs examples-wasm/app and drives every trigger over HTTP.
func TestExampleApp(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, exampleApp, false), hostConfig{args: []string{"--no-build", "--no-watch"}})

	t.Run("HTTPGet", func(t *testing.T) {
		code, hdr, body := h.do(http.MethodGet, "/api/hello/Ada?greeting=Hi", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET /api/hello/Ada?greeting=Hi = %d %s", code, body)
		}
		wantJSON(t, "GET hello", body, map[string]any{"message": "Hi, Ada."})
		if got := hdr.Get("X-Powered-By"); got != "wasmworker" {
			t.Errorf("X-Powered-By = %q, want the header the function set", got)
		}
		if got := hdr.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("Content-Type = %q", got)
		}
	})

	t.Run("HTTPPost", func(t *testing.T) {
		code, _, body := h.do(http.MethodPost, "/api/hello/Ada", "application/json", `{"punctuation":"!"}`)
		if code != http.StatusCreated {
			t.Fatalf("POST /api/hello/Ada = %d %s", code, body)
		}
		wantJSON(t, "POST hello", body, map[string]any{"message": "Hello, Ada!"})
		code, _, body = h.do(http.MethodPost, "/api/hello/Ada", "application/json", `not json`)
		if code != http.StatusBadRequest || !strings.Contains(body, "body must be a JSON object") {
			t.Errorf("POST /api/hello/Ada with a bad body = %d %s, want 400", code, body)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		// Like the Functions host (azure-functions-host#10098), a known route
		// with a method the function does not accept is 404, not 405.
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/nothing-here"},
			{http.MethodGet, "/hello/Ada"}, // no routePrefix
			{http.MethodGet, "/api/jobs"},  // Enqueue accepts POST only
			{http.MethodDelete, "/api/hello/Ada"},
			{http.MethodGet, "/api/hello/Ada/more"},
		} {
			if code, _, body := h.do(r.method, r.path, "", ""); code != http.StatusNotFound {
				t.Errorf("%s %s = %d %s, want 404", r.method, r.path, code, body)
			}
		}
	})

	t.Run("QueuePipeline", func(t *testing.T) {
		code, _, body := h.do(http.MethodPost, "/api/jobs", "application/json", `{"task":"pipe"}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST /api/jobs = %d %s", code, body)
		}
		var queued struct {
			Queued map[string]any `json:"queued"`
		}
		if err := json.Unmarshal([]byte(body), &queued); err != nil || queued.Queued["task"] != "pipe" {
			t.Errorf("POST /api/jobs body = %s", body)
		}
		var result map[string]any
		h.waitQueue("results", func(msgs []queueMessage) bool {
			for _, m := range msgs {
				var r map[string]any
				if json.Unmarshal([]byte(m.Text), &r) == nil && r["task"] == "pipe" {
					result = r
					return true
				}
			}
			return false
		})
		if result["status"] != "done" || fmt.Sprint(result["attempt"]) != "1" || result["messageId"] == "" {
			t.Errorf("result message = %v, want status done, attempt 1 and the message id", result)
		}
		// The trigger's Id metadata is the id of the message on "jobs".
		ev := h.waitEvent("ProcessJob's log of the pipe job", func(e Event) bool {
			return e.Kind == "log" && e.Function == "ProcessJob" && strings.Contains(e.Message, `did "pipe"`)
		})
		if !strings.Contains(ev.Message, fmt.Sprint(result["messageId"])) {
			t.Errorf("ProcessJob logged %q; want the message id %v of the result", ev.Message, result["messageId"])
		}
		h.waitQueue("jobs", func(msgs []queueMessage) bool { return len(msgs) == 0 })
	})

	t.Run("Poison", func(t *testing.T) {
		code, _, body := h.do(http.MethodPost, "/api/jobs", "application/json", `{"task":"bad","fail":true}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST /api/jobs = %d %s", code, body)
		}
		poison := h.waitQueue("jobs-poison", func(msgs []queueMessage) bool {
			for _, m := range msgs {
				if strings.Contains(m.Text, `"bad"`) {
					return true
				}
			}
			return false
		})
		if len(poison) != 1 || poison[0].Text != `{"task":"bad","fail":true}` {
			t.Errorf("jobs-poison holds %+v, want the failed job's text once", poison)
		}
		// The guest logs the DequeueCount it got: attempts 1 to 5, all for the same message.
		re := regexp.MustCompile(`job "bad" \(message ([0-9a-f-]+)\) failed on attempt (\d+)`)
		attempts := map[string]bool{}
		ids := map[string]bool{}
		failedIDs := map[string]bool{}
		for _, e := range h.events() {
			if m := re.FindStringSubmatch(e.Message); e.Kind == "log" && m != nil {
				ids[m[1]] = true
				attempts[m[2]] = true
				failedIDs[e.InvocationID] = true
			}
		}
		if len(attempts) != 5 || !attempts["1"] || !attempts["5"] || len(ids) != 1 {
			t.Errorf("attempts logged %v for message ids %v; want 1 to 5 for one message", attempts, ids)
		}
		failed := 0
		for _, e := range h.events() {
			if e.Kind == "end" && failedIDs[e.InvocationID] && e.Status == "Failed" {
				failed++
			}
		}
		if failed != 5 {
			t.Errorf("%d failed ProcessJob invocations ended, want 5", failed)
		}
		h.waitEvent("the poison warning", func(e Event) bool {
			return e.Kind == "host" && strings.Contains(e.Message, "moving it to queue 'jobs-poison'")
		})
		h.waitQueue("jobs", func(msgs []queueMessage) bool { return len(msgs) == 0 })
	})

	t.Run("AdminInvoke", func(t *testing.T) {
		code, _, body := h.do(http.MethodPost, "/admin/functions/Tick", "application/json", `{"input":""}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST /admin/functions/Tick = %d %s", code, body)
		}
		end := h.waitEvent("Tick's end", func(e Event) bool {
			return e.Kind == "end" && e.Function == "Tick"
		})
		if end.Status != "Succeeded" {
			t.Errorf("Tick ended %s: %s", end.Status, end.Error)
		}
		// Tick runs every 5 minutes, so the host keeps a schedule status for
		// it; it has not run yet ("never" is default(DateTime) in local time).
		h.waitEvent("Tick's log of the timer status", func(e Event) bool {
			return e.Kind == "log" && e.InvocationID == end.InvocationID && strings.Contains(e.Message, "Tick: tick; last run "+netLocalDate(time.Time{})+", next run ")
		})

		code, _, body = h.do(http.MethodPost, "/admin/functions/processjob", "application/json", `{"input":"{\"task\":\"by-admin\"}"}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST /admin/functions/processjob = %d %s", code, body)
		}
		h.waitQueue("results", func(msgs []queueMessage) bool {
			for _, m := range msgs {
				if strings.Contains(m.Text, `"task":"by-admin","status":"done"`) {
					return true
				}
			}
			return false
		})
		start := h.waitEvent("ProcessJob's admin start", func(e Event) bool {
			return e.Kind == "start" && e.Function == "ProcessJob" && strings.Contains(e.Reason, "programmatically called")
		})
		if start.InvocationID == "" {
			t.Error("the start event has no invocation id")
		}

		if code, _, body := h.do(http.MethodPost, "/admin/functions/NoSuchFunction", "application/json", `{"input":""}`); code != http.StatusNotFound {
			t.Errorf("POST /admin/functions/NoSuchFunction = %d %s, want 404", code, body)
		}
		if code, _, body := h.do(http.MethodGet, "/admin/functions/Tick", "", ""); code != http.StatusMethodNotAllowed {
			t.Errorf("GET /admin/functions/Tick = %d %s, want 405", code, body)
		}
		if code, _, body := h.do(http.MethodPost, "/admin/functions/Tick", "application/json", `[1]`); code != http.StatusBadRequest {
			t.Errorf("POST /admin/functions/Tick with a bad body = %d %s, want 400", code, body)
		}
	})

	t.Run("QueueEndpoint", func(t *testing.T) {
		code, _, body := h.do(http.MethodPost, "/admin/queues/notes", "text/plain", "hello queue")
		if code != http.StatusCreated {
			t.Fatalf("POST /admin/queues/notes = %d %s", code, body)
		}
		msgs := h.queue("notes")
		if len(msgs) != 1 || msgs[0].Text != "hello queue" || msgs[0].DequeueCount != 0 || msgs[0].ID == "" {
			t.Errorf("GET /admin/queues/notes = %+v", msgs)
		}
		code, _, body = h.do(http.MethodGet, "/admin/queues", "", "")
		if code != http.StatusOK || !strings.Contains(body, `"notes"`) {
			t.Errorf("GET /admin/queues = %d %s, want the notes queue listed", code, body)
		}
		if code, _, _ := h.do(http.MethodGet, "/admin/queues/No_Such", "", ""); code != http.StatusBadRequest {
			t.Errorf("GET /admin/queues/No_Such = %d, want 400 for an invalid queue name", code)
		}
	})

	t.Run("Status", func(t *testing.T) {
		st := h.status()
		if st.State != "Running" || len(st.Errors) != 0 || len(readyPIDs(st)) != 1 {
			t.Errorf("status = %+v, want Running with one ready process", st)
		}
		code, _, body := h.do(http.MethodGet, "/admin/functions", "", "")
		for _, name := range []string{"Enqueue", "HttpHello", "ProcessJob", "Tick"} {
			if !strings.Contains(body, `"`+name+`"`) {
				t.Errorf("GET /admin/functions = %d %s; %s is missing", code, body, name)
			}
		}
	})

	t.Run("JSONLog", func(t *testing.T) {
		code, _, _ := h.do(http.MethodGet, "/api/hello/Json", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET /api/hello/Json = %d", code)
		}
		logEv := h.waitEvent("HttpHello's log line", func(e Event) bool {
			return e.Kind == "log" && e.Function == "HttpHello" && e.Message == "HttpHello: GET Json -> 200"
		})
		end := h.waitEvent("HttpHello's end", func(e Event) bool {
			return e.Kind == "end" && e.InvocationID == logEv.InvocationID
		})
		if end.Function != "HttpHello" || end.Status != "Succeeded" || end.DurationMS == nil || *end.DurationMS < 0 || end.Time.IsZero() {
			t.Errorf("end event = %+v", end)
		}
		start := h.waitEvent("HttpHello's start", func(e Event) bool {
			return e.Kind == "start" && e.InvocationID == logEv.InvocationID
		})
		if !strings.Contains(start.Reason, "GET /api/hello/Json") {
			t.Errorf("start reason = %q", start.Reason)
		}
		for _, e := range h.events() {
			if e.Kind == "" || e.Time.IsZero() {
				t.Errorf("event without kind or time: %+v", e)
			}
		}
	})
}

// TestHumanOutput runs the example app from its sources alone, as the README's
// first command does: wasmfunc builds the functions and, with no workers
// folder given, the worker too. The terminal output is for a person.
func TestHumanOutput(t *testing.T) {
	t.Parallel()
	app := copyApp(t, filepath.Join(moduleDir, "examples-wasm", "app"), true)
	h := startHost(t, app, hostConfig{
		text:      true,
		noWorkers: true,
		dir:       moduleDir, // inside the repository, where the worker's sources are
		env:       []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + goCache},
		args:      []string{"--no-watch"},
	})
	for _, fn := range []string{"Enqueue", "HttpHello", "ProcessJob", "Tick"} {
		if _, err := os.Stat(filepath.Join(app, fn, "main.wasm")); err != nil {
			t.Errorf("%s was not built: %v", fn, err)
		}
	}
	lines, _ := h.snapshot()
	i := 0
	for i < len(lines) && !strings.HasSuffix(lines[i], "] Functions:") {
		i++
	}
	if i == len(lines) {
		t.Fatalf("no Functions: header")
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^    Enqueue: \[POST\] http://127\.0\.0\.1:\d+/api/jobs$`),
		regexp.MustCompile(`^    HttpHello: \[GET,POST\] http://127\.0\.0\.1:\d+/api/hello/\{name\}$`),
		regexp.MustCompile(`^    ProcessJob: queueTrigger \(queue jobs\)$`),
		regexp.MustCompile(`^    Tick: timerTrigger \(schedule 0 \*/5 \* \* \* \*\)$`),
	}
	for j, re := range want {
		if i+1+j >= len(lines) || !re.MatchString(lines[i+1+j]) {
			t.Errorf("Functions: listing line %d is not like %s; output:\n%s", j+1, re, strings.Join(lines[i:], "\n"))
			break
		}
	}
	if i+1+len(want) < len(lines) && strings.HasPrefix(lines[i+1+len(want)], "    ") {
		t.Errorf("Functions: listing has more lines than functions:\n%s", strings.Join(lines[i:], "\n"))
	}

	// The worker's own informational lines are for --verbose only.
	for _, l := range lines {
		if strings.Contains(l, "level=INFO") {
			t.Errorf("without --verbose the output has the worker's line %q", l)
		}
	}

	code, _, body := h.do(http.MethodGet, "/api/hello/Ada?greeting=Hi", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"Hi, Ada."`) {
		t.Fatalf("GET /api/hello/Ada?greeting=Hi = %d %s", code, body)
	}
	started := h.waitLine("the Executing line", func(l string) bool {
		return strings.Contains(l, "Executing 'Functions.HttpHello' (Reason='This HTTP triggered function executed: GET /api/hello/Ada?greeting=Hi', Id=")
	})
	id := regexp.MustCompile(`Id=([0-9a-f-]{36})\)`).FindStringSubmatch(started)
	if id == nil {
		t.Fatalf("no invocation id in %q", started)
	}
	h.waitLine("the Executed line", func(l string) bool {
		return regexp.MustCompile(`Executed 'Functions\.HttpHello' \(Succeeded, Id=` + id[1] + `, Duration=[0-9.]+ms\)$`).MatchString(l)
	})
	h.waitLine("the guest's log line", func(l string) bool {
		return strings.HasSuffix(l, "] HttpHello["+id[1][:8]+"]: HttpHello: GET Ada -> 200")
	})
}

// TestTimer runs a timer function with runOnStartup on a two-second schedule.
func TestTimer(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, timerApp, false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	first := h.waitEvent("the RunOnStartup invocation", func(e Event) bool {
		return e.Kind == "start" && e.Function == "Beat" && strings.HasSuffix(e.Reason, "(RunOnStartup)")
	})
	// The payload the host sends: a schedule firing more than once a minute
	// has no schedule monitor, so ScheduleStatus is null.
	h.waitEvent("Beat's log of its first timer value", func(e Event) bool {
		return e.Kind == "log" && e.InvocationID == first.InvocationID &&
			e.Message == `Beat: timer {"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`
	})
	evs := h.waitEvents("two scheduled invocations", func(evs []Event) bool {
		n := 0
		for _, e := range evs {
			if e.Kind == "start" && e.Function == "Beat" && strings.HasPrefix(e.Reason, "Timer fired at ") && !strings.Contains(e.Reason, "RunOnStartup") {
				n++
			}
		}
		return n >= 2
	})
	for _, e := range evs {
		if e.Kind == "end" && e.Function == "Beat" && e.Status != "Succeeded" {
			t.Errorf("Beat failed: %+v", e)
		}
	}
}

// TestReload changes a function.json and a .wasm file while the command runs.
func TestReload(t *testing.T) {
	t.Parallel()
	app := copyApp(t, exampleApp, false)
	h := startHost(t, app, hostConfig{args: []string{"--no-build"}})
	if code, _, body := h.do(http.MethodGet, "/api/hello/Ada", "", ""); code != http.StatusOK {
		t.Fatalf("GET /api/hello/Ada = %d %s", code, body)
	}
	pid := h.cmd.Process.Pid

	p := filepath.Join(app, "HttpHello", "function.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(b, []byte(`"route": "hello/{name}"`), []byte(`"route": "greet/{name}"`), 1)
	if bytes.Equal(changed, b) {
		t.Fatal("the example's HttpHello route changed; update this test")
	}
	if err := os.WriteFile(p, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, h, http.MethodGet, "/api/greet/Ada", "", http.StatusOK)
	if code, _, body := h.do(http.MethodGet, "/api/hello/Ada", "", ""); code != http.StatusNotFound {
		t.Errorf("the old route still answers after the reload: %d %s", code, body)
	}
	h.waitEvent("the reload message", func(e Event) bool {
		return e.Kind == "host" && strings.Contains(e.Message, "file change detected")
	})

	// Replace Enqueue's module with HttpHello's: POST /api/jobs now greets.
	wasm, err := os.ReadFile(filepath.Join(app, "HttpHello", "main.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "Enqueue", "main.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	body := waitHTTP(t, h, http.MethodPost, "/api/jobs", `{"task":"x"}`, http.StatusCreated)
	wantJSON(t, "POST /api/jobs after the .wasm change", body, map[string]any{"message": "Hello, ."})

	if h.cmd.Process.Pid != pid || h.cmd.ProcessState != nil {
		t.Error("the command restarted or exited")
	}
	if st := h.status(); st.State != "Running" || len(readyPIDs(st)) != 1 {
		t.Errorf("status after reloads = %+v, want one ready worker", st)
	}
}

// waitHTTP repeats a request until it answers want and returns the body.
func waitHTTP(t *testing.T, h *cmdHost, method, path, body string, want int) string {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		code, _, got := h.do(method, path, "application/json", body)
		if code == want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s kept answering %d %s, want %d", method, path, code, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWorkerRestart kills the worker process twice: it comes back at once the
// first time and after processRestartInterval the second, as the host does.
func TestWorkerRestart(t *testing.T) {
	t.Parallel()
	h := startHost(t, copyApp(t, exampleApp, false), hostConfig{args: []string{"--no-build", "--no-watch"}})
	started := regexp.MustCompile(`^worker process (\d+) started`)
	logged := h.waitEvent("the worker start line", func(e Event) bool { return e.Kind == "worker" && started.MatchString(e.Message) })
	pids := readyPIDs(h.status())
	if len(pids) != 1 || strconv.Itoa(pids[0]) != started.FindStringSubmatch(logged.Message)[1] {
		t.Fatalf("status pids %v do not match the log line %q", pids, logged.Message)
	}
	for round := 1; round <= 2; round++ {
		old := pids[0]
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatalf("killing worker %d: %v", old, err)
		}
		st := h.waitStatus("a new worker process", func(st hostStatus) bool {
			p := readyPIDs(st)
			return len(p) == 1 && p[0] != old
		})
		pids = readyPIDs(st)
		exit := h.waitEvent("the exit report", func(e Event) bool {
			return e.Kind == "worker" && e.Level == "Error" && strings.Contains(e.Message, "worker process exited with code")
		})
		// Only error-classified stderr lines may explain an exit (docs/host-contract.md §1.6).
		if strings.Contains(exit.Message, "level=INFO") {
			t.Errorf("the exit report quotes informational stderr lines: %q", exit.Message)
		}
		if code, _, body := h.do(http.MethodGet, "/api/hello/Again", "", ""); code != http.StatusOK {
			t.Fatalf("round %d: GET after the restart = %d %s", round, code, body)
		}
	}
	h.waitEvent("the restart backoff", func(e Event) bool {
		return e.Kind == "worker" && strings.HasPrefix(e.Message, "restarting in ")
	})
}

// TestProcessCount starts two workers and checks that both serve invocations.
func TestProcessCount(t *testing.T) {
	t.Parallel()
	app := copyApp(t, exampleApp, false)
	setValue(t, app, "FUNCTIONS_WORKER_PROCESS_COUNT", "2")
	h := startHost(t, app, hostConfig{args: []string{"--no-build", "--no-watch"}})
	// The second process starts processStartupInterval after the first.
	st := h.waitStatus("two ready workers", func(st hostStatus) bool { return len(readyPIDs(st)) == 2 })
	if p := readyPIDs(st); p[0] == p[1] {
		t.Fatalf("both workers have pid %d", p[0])
	}
	served := map[string]bool{}
	for i := 0; i < 20 && len(served) < 2; i++ {
		if code, _, body := h.do(http.MethodGet, "/api/hello/N"+strconv.Itoa(i), "", ""); code != http.StatusOK {
			t.Fatalf("GET = %d %s", code, body)
		}
		want := "HttpHello: GET N" + strconv.Itoa(i) + " -> 200"
		logEv := h.waitEvent("the log of request "+strconv.Itoa(i), func(e Event) bool { return e.Kind == "log" && e.Message == want })
		end := h.waitEvent("the end of request "+strconv.Itoa(i), func(e Event) bool {
			return e.Kind == "end" && e.InvocationID == logEv.InvocationID
		})
		served[end.Worker] = true
	}
	if !served["1"] || !served["2"] {
		t.Errorf("invocations were served by workers %v, want 1 and 2", served)
	}
}
