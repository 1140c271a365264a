package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost"
)

// TestInCodeApp drives an app declared in code (examples-wasm/incode/c:
// host.json and one committed app.wasm) as the host runs it: the worker
// indexes the app, wasmload loads what it answered under the worker's ids
// and invokes both functions; then a cold start, and a function the app
// does not declare.
func TestInCodeApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the worker; skipped with -short")
	}
	ctx := context.Background()
	workers, err := devhost.BuildWorker(ctx, filepath.Join("..", ".."), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WASMWORKER_CACHE_DIR", t.TempDir())
	app := filepath.Join("..", "..", "examples-wasm", "incode", "c")
	for _, fn := range []string{"HttpHello", "ProcessJob"} {
		var out bytes.Buffer
		o := options{workers: workers, concurrency: 4, n: 100, warmup: 10, method: "GET", message: `{"task":"bench"}`,
			mix: mixFlag{}, jsonOut: true, sample: time.Minute, appDir: app, fn: fn}
		if err := run(ctx, o, &out); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		var r struct {
			Function    string `json:"function"`
			Invocations int    `json:"invocations"`
			Failures    int    `json:"failures"`
			FirstError  string `json:"firstError"`
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%s: report %q: %v", fn, out.String(), err)
		}
		if r.Function != fn || r.Invocations != 100 || r.Failures != 0 {
			t.Errorf("%s: %+v", fn, r)
		}
	}

	var out bytes.Buffer
	o := options{workers: workers, n: 1, cold: true, coldCache: "warm", method: "GET", mix: mixFlag{}, appDir: app, fn: "HttpHello"}
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("cold start: %v", err)
	}
	if !strings.Contains(out.String(), "cold start of HttpHello (2 functions") {
		t.Errorf("cold start report: %s", out.String())
	}

	o.cold, o.fn = false, "Nope"
	o.concurrency, o.n = 1, 1
	if err := run(ctx, o, &out); err == nil || !strings.Contains(err.Error(), `no function "Nope"`) {
		t.Errorf("an undeclared function: %v", err)
	}
}
