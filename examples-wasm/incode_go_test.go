//go:build unix

package examples

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// TestInCodeGo serves examples-wasm/incode/go, an app of host.json,
// local.settings.json and one app.wasm whose functions are declared in code
// with the Go SDK, under the local host with the real worker process: the
// worker indexes the module (FunctionsMetadataRequest), and HttpHello and
// ProcessJob answer like examples-wasm/abi/go's function.json functions.
func TestInCodeGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and a Go module")
	}
	// app.wasm is not committed: build it as `wasmfunc start` does
	// (-buildmode=c-shared), into a copy of the app without its sources.
	wasm, err := wasmbuild.Go(filepath.Join("incode", "go"), wasmbuild.Options{BuildMode: "c-shared"})
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	for src, dst := range map[string]string{wasm: "app.wasm", "incode/go/host.json": "host.json",
		"incode/go/local.settings.json": "local.settings.json"} {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(filepath.Join(app, dst), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	h, _ := startHost(t, app)

	// The host lists the declared functions.
	code, body := get(t, h.URL()+"/admin/functions")
	var fns []struct {
		Name, Trigger, Queue string
		Methods              []string
	}
	if err := json.Unmarshal([]byte(body), &fns); err != nil || code != http.StatusOK {
		t.Fatalf("GET /admin/functions = %d %s: %v", code, body, err)
	}
	var names []string
	for _, f := range fns {
		names = append(names, f.Name+":"+f.Trigger+":"+f.Queue+":"+strings.Join(f.Methods, ","))
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "HttpHello:httpTrigger::GET,POST ProcessJob:queueTrigger:jobs:" {
		t.Errorf("functions %s", got)
	}

	// HttpHello: the route parameter, the query, the body, the default.
	for path, want := range map[string]string{"/api/hello/Route": "Hello, Route!", "/api/hello?name=Query": "Hello, Query!",
		"/api/hello": "Hello, world!"} {
		if code, body := get(t, h.URL()+path); code != http.StatusOK || body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, code, body, want)
		}
	}
	resp, err := http.Post(h.URL()+"/api/hello", "text/plain", strings.NewReader("Body"))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b[:n]) != "Hello, Body!" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("POST /api/hello = %d %q %q", resp.StatusCode, b[:n], resp.Header.Get("Content-Type"))
	}

	// ProcessJob: a message on "jobs" gives one on "results".
	resp, err = http.Post(h.URL()+"/admin/queues/jobs", "text/plain", strings.NewReader("resize"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /admin/queues/jobs = %d", resp.StatusCode)
	}
	deadline := time.Now().Add(time.Minute) // a bound for a broken host, not an assertion
	for {
		_, body := get(t, h.URL()+"/admin/queues/results")
		var msgs []struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("GET /admin/queues/results: %v in %s", err, body)
		}
		if len(msgs) > 0 {
			if len(msgs) != 1 || msgs[0].Text == nil || *msgs[0].Text != "done: resize (attempt 1)" {
				t.Errorf("results queue: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message on the results queue after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
