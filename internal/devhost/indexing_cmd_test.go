//go:build unix

package devhost

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// codeApp copies testdata/codeapp (host.json, local.settings.json and the
// app module app.wasm, which declares Hello, Work and the bad Broken) to a
// fresh folder of the test.
func codeApp(t *testing.T) string {
	t.Helper()
	return copyApp(t, filepath.Join("testdata", "codeapp"), false)
}

// TestWorkerIndexing (issue #13 item 2): wasmfunc asks the worker for the
// functions of an app with no function.json (FunctionsMetadataRequest) and
// serves what it answers: the HTTP function over HTTP, the queue function
// from the memory queue; a bad declaration is reported once, by name, and is
// in error while the others serve.
func TestWorkerIndexing(t *testing.T) {
	t.Parallel()
	h := startHost(t, codeApp(t), hostConfig{args: []string{"--no-build", "--no-watch"}})
	h.waitEvent("the banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 2 function(s), 1 failed"
	})
	st := h.status()
	if st.State != "Running" || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], `"Broken"`) {
		t.Errorf("status = %+v, want Running with Broken's error", st)
	}
	code, hdr, body := h.do(http.MethodGet, "/api/hello?name=Ada", "", "")
	if code != http.StatusOK || body != "Hello, Ada!" || hdr.Get("X-Function") != "Hello" {
		t.Errorf("GET /api/hello = %d %q (x-function %q), want 200 \"Hello, Ada!\" from Hello", code, body, hdr.Get("X-Function"))
	}
	if code, _, body := h.do(http.MethodGet, "/api/hello", "", ""); code != http.StatusOK || body != "Hello, world!" {
		t.Errorf("GET /api/hello = %d %q", code, body)
	}

	// Work, from the queue, writing its output binding.
	if code, _, body := h.do(http.MethodPost, "/admin/queues/work", "text/plain", "resize me"); code != http.StatusCreated {
		t.Fatalf("POST /admin/queues/work = %d %s", code, body)
	}
	h.waitQueue("work-done", func(m []queueMessage) bool { return len(m) == 1 && m[0].Text == "RESIZE ME" })
	h.waitEvent("Work's log", func(e Event) bool { return e.Kind == "log" && e.Function == "Work" && e.Message == "resize me" })

	// Broken: once, by name, in error.
	evs := h.events()
	if n := count(evs, func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, "Broken")
	}); n != 1 {
		t.Errorf("Broken: %d error reports, want exactly 1", n)
	}
	if count(evs, func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, `function "Broken"`) && strings.Contains(e.Message, "trigger")
	}) != 1 {
		t.Errorf("no error report saying Broken has no trigger")
	}
	if n := count(evs, func(e Event) bool {
		return e.Kind == "worker" && (e.Level == "Error" || e.Level == "Warning") && strings.Contains(e.Message, "Broken")
	}); n != 0 {
		t.Errorf("Broken: the failure is reported again by the worker %d time(s)", n)
	}
	code, _, body = h.do(http.MethodGet, "/admin/functions/Broken/status", "", "")
	var fs struct{ Errors []string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &fs) != nil || len(fs.Errors) != 1 {
		t.Errorf("GET /admin/functions/Broken/status = %d %s, want its error", code, body)
	}
	if code, _, body := h.do(http.MethodPost, "/admin/functions/Broken", "application/json", `{"input":"x"}`); code != http.StatusNotFound {
		t.Errorf("POST /admin/functions/Broken = %d %s, want 404", code, body)
	}
	if code, _, body := h.do(http.MethodGet, "/admin/functions/Hello/status", "", ""); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Errorf("GET /admin/functions/Hello/status = %d %s, want {}", code, body)
	}
}

// TestWorkerIndexingProcesses: with FUNCTIONS_WORKER_PROCESS_COUNT=2 the
// first process is asked for the functions and both load them under the
// worker's ids (the second was never asked, as with the host) and serve.
func TestWorkerIndexingProcesses(t *testing.T) {
	t.Parallel()
	app := codeApp(t)
	setValue(t, app, "FUNCTIONS_WORKER_PROCESS_COUNT", "2")
	h := startHost(t, app, hostConfig{args: []string{"--no-build", "--no-watch"}})
	// The second process starts processStartupInterval after the first.
	h.waitStatus("two ready workers", func(st hostStatus) bool { return len(readyPIDs(st)) == 2 })
	for i := 0; i < 8; i++ {
		name := "Ada" + strconv.Itoa(i)
		if code, _, body := h.do(http.MethodGet, "/api/hello?name="+name, "", ""); code != http.StatusOK || body != "Hello, "+name+"!" {
			t.Errorf("GET /api/hello?name=%s = %d %q", name, code, body)
		}
	}
	ends := h.waitEvents("eight ends of Hello", func(evs []Event) bool {
		return count(evs, func(e Event) bool { return e.Kind == "end" && e.Function == "Hello" }) == 8
	})
	served := map[string]bool{}
	for _, e := range ends {
		if e.Kind == "end" && e.Function == "Hello" && e.Status == "Succeeded" {
			served[e.Worker] = true
		}
	}
	if !served["1"] || !served["2"] {
		t.Errorf("Hello was served by workers %v, want 1 and 2", served)
	}
	if n := count(h.events(), func(e Event) bool { return e.Kind == "host" && e.Level == "Error" }); n != 1 {
		t.Errorf("%d host errors, want 1 (Broken)", n)
	}
}

// TestWorkerIndexingMixAndReload: an app module next to a function.json
// folder serves both (the worker indexes both); a second app module that
// traps while declaring fails the answer's result, which is reported once,
// and the rest is served; a reload indexes again: a folder added while the
// host runs is served after it.
func TestWorkerIndexingMixAndReload(t *testing.T) {
	t.Parallel()
	app := codeApp(t)
	edge := copyApp(t, edgeApp, false)
	if err := os.Rename(filepath.Join(edge, "Echo"), filepath.Join(app, "Echo")); err != nil {
		t.Fatal(err)
	}
	trap, err := os.ReadFile(filepath.Join("testdata", "trapmodule", "trap.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "trap.wasm"), trap, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, app, hostConfig{args: []string{"--no-build"}})
	h.waitEvent("the banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 3 function(s), 1 failed"
	})
	isIndexFailure := func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.HasPrefix(e.Message, "Worker failed to index functions: ") && strings.Contains(e.Message, "trap.wasm")
	}
	if n := count(h.events(), isIndexFailure); n != 1 {
		t.Errorf("%d reports that the worker failed to index trap.wasm, want 1", n)
	}
	if n := count(h.events(), func(e Event) bool {
		return e.Kind == "worker" && e.Level == "Error" && strings.Contains(e.Message, "trap.wasm")
	}); n != 0 {
		t.Errorf("the indexing failure is reported again by the worker %d time(s)", n)
	}
	if st := h.status(); len(st.Errors) != 2 || !strings.Contains(strings.Join(st.Errors, "\n"), "trap.wasm") {
		t.Errorf("status errors %q, want Broken's and trap.wasm's", st.Errors)
	}
	if code, _, body := h.do(http.MethodGet, "/api/hello?name=Mix", "", ""); code != http.StatusOK || body != "Hello, Mix!" {
		t.Errorf("GET /api/hello = %d %q", code, body)
	}
	if code, _, body := h.do(http.MethodGet, "/api/echo/Mix", "", ""); code != http.StatusOK {
		t.Errorf("GET /api/echo/Mix = %d %q", code, body)
	}

	// Status comes in after a reload (the watcher sees the new folder).
	if err := os.Rename(filepath.Join(edge, "Status"), filepath.Join(app, "Status")); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("the reload's banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 4 function(s), 1 failed"
	})
	if code, _, body := h.do(http.MethodGet, "/api/status?code=202", "", ""); code != http.StatusAccepted {
		t.Errorf("GET /api/status?code=202 after the reload = %d %q, want 202 from Status", code, body)
	}
	if code, _, body := h.do(http.MethodGet, "/api/hello?name=Again", "", ""); code != http.StatusOK || body != "Hello, Again!" {
		t.Errorf("GET /api/hello after the reload = %d %q", code, body)
	}
	if n := count(h.events(), func(e Event) bool {
		return e.Kind == "host" && e.Level == "Error" && strings.Contains(e.Message, "Broken")
	}); n != 2 {
		t.Errorf("Broken: %d error reports over two loads, want one per load", n)
	}
}

// TestCodeAppReproducible rebuilds testdata/codeapp/app.wasm and
// testdata/trapmodule/trap.wasm with the commands in their sources and checks
// that the committed modules are what they give.
func TestCodeAppReproducible(t *testing.T) {
	t.Run("trap.wasm", func(t *testing.T) {
		if _, err := exec.LookPath("wat2wasm"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("wat2wasm (wabt) is not installed (scripts/install-toolchains.sh)")
			}
			t.Skip("wat2wasm (wabt) is not installed (scripts/install-toolchains.sh)")
		}
		out := filepath.Join(t.TempDir(), "trap.wasm")
		cmd := exec.Command("wat2wasm", "trap.wat", "-o", out)
		cmd.Dir = filepath.Join("testdata", "trapmodule")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm: %v\n%s", err, b)
		}
		sameFile(t, out, filepath.Join("testdata", "trapmodule", "trap.wasm"), "wat2wasm trap.wat -o trap.wasm")
	})
	if _, err := exec.LookPath("clang"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("clang is not installed (scripts/install-toolchains.sh)")
		}
		t.Skip("clang is not installed (scripts/install-toolchains.sh)")
	}
	out := filepath.Join(t.TempDir(), "app.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-s", "-mexec-model=reactor",
		"-Wl,--stack-first", "-Wl,-z,stack-size=65536", "-I", "../../../../abi/sdk/c", "-o", out, "app.c")
	cmd.Dir = filepath.Join("testdata", "codeapp")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	sameFile(t, out, filepath.Join("testdata", "codeapp", "app.wasm"), "the command in app.c")
}

// sameFile fails the test unless the committed file has the bytes of built.
func sameFile(t *testing.T, built, committed, how string) {
	t.Helper()
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, c) {
		t.Errorf("%s (%d bytes) is not what its source builds (%d bytes): rebuild it with %s", committed, len(c), len(b), how)
	}
}

// hostIndexingWorkers returns a workers folder whose wasm worker config
// says "workerIndexing": "false" (the worker is the one TestMain built).
func hostIndexingWorkers(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "workers")
	wasm := filepath.Join(dir, "wasm")
	if err := os.MkdirAll(wasm, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(workersDir, "wasm", "wasmworker"), filepath.Join(wasm, "wasmworker")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(workersDir, "wasm", "worker.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["description"]["workerIndexing"] = "false"
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wasm, "worker.config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHostIndexing: with a worker config that does not say workerIndexing,
// wasmfunc reads the function.json folders itself, as before, and never asks
// the worker: an in-code app then has no functions and no worker starts.
func TestHostIndexing(t *testing.T) {
	t.Parallel()
	workers := hostIndexingWorkers(t)
	hc := hostConfig{noWorkers: true, env: []string{EnvWorkersDir + "=" + workers}, args: []string{"--no-build", "--no-watch"}}

	h := startHost(t, copyApp(t, testApp(t, "loudapp"), false), hc)
	h.waitEvent("the banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 2 function(s), 3 failed"
	})
	h.waitEvent("the start of the workers", func(e Event) bool {
		return e.Kind == "host" && strings.HasPrefix(e.Message, "Starting 1 wasm worker process(es) for 4 function(s) (worker "+workers)
	})
	if code, _, body := h.do(http.MethodGet, "/api/hello", "", ""); code != http.StatusOK || body != "hello" {
		t.Errorf("GET /api/hello = %d %q", code, body)
	}

	c := startHost(t, codeApp(t), hc)
	c.waitEvent("the banner", func(e Event) bool {
		return e.Kind == "host" && e.Message == "loaded 0 function(s), 0 failed"
	})
	if n := count(c.events(), func(e Event) bool { return e.Kind == "host" && strings.Contains(e.Message, "no worker is started") }); n != 1 {
		t.Errorf("%d reports that no worker is started, want 1", n)
	}
}
