package command_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// Set up by TestMain.
var (
	workersDir string // holds wasm/wasmworker and wasm/worker.config.json
	goApp      string // the Go app, built by appbuild
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "wasmworker-command-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	// The worker folder as the host finds it: the binary next to its config.
	workersDir = filepath.Join(tmp, "workers")
	if _, err := devhost.BuildWorker(context.Background(), ".", workersDir); err != nil {
		return 0, err
	}

	goApp = filepath.Join(tmp, "go")
	if _, err := appbuild.Build(context.Background(), "go", goApp); err != nil {
		return 0, fmt.Errorf("build the Go app: %w", err)
	}
	// One compilation cache for the run, outside the source tree.
	os.Setenv("WASMWORKER_CACHE_DIR", filepath.Join(tmp, "cache"))
	return m.Run(), nil
}

// helloCase is one HTTP request and the body Hello must answer.
type helloCase struct {
	name        string
	method      string
	target      string            // path and query
	params      map[string]string // route values, as the host's router gives them
	contentType string
	body        string
	want        string
}

var helloCases = []helloCase{
	{name: "route name", method: "GET", target: "/api/hello/Ada", params: map[string]string{"name": "Ada"}, want: "Hello, Ada"},
	{name: "no name", method: "GET", target: "/api/hello", want: "Hello, world"},
	{name: "empty name", method: "GET", target: "/api/hello/", params: map[string]string{"name": ""}, want: "Hello, world"},
	{name: "quote and backslash", method: "GET", target: "/api/hello/" + url.PathEscape(`A"da\`), params: map[string]string{"name": `A"da\`}, want: `Hello, A"da\`},
	{
		name: "control characters and non-ASCII", method: "GET", target: "/api/hello/x",
		params: map[string]string{"name": "tab\tnew\nline\r\b\f\x01\x1f é 😀 \u2028\u2029 <&> /"},
		want:   "Hello, tab\tnew\nline\r\b\f\x01\x1f é 😀 \u2028\u2029 <&> /",
	},
	{
		// "name" also appears in the query, the body and the metadata; only
		// the route parameter counts.
		name: "decoys without a route name", method: "POST", target: "/api/hello?name=Bob",
		contentType: "application/json", body: `{"name":"Mallory","Params":{"name":"Eve"},"Data":{"req":{"Params":{"name":"Trudy"}}}}`,
		want: "Hello, world",
	},
	{
		name: "decoys with a route name", method: "POST", target: "/api/hello/Ada?name=Bob",
		params:      map[string]string{"name": "Ada"},
		contentType: "application/json", body: `{"name":"Mallory","Params":{"name":"Eve"}}`,
		want: "Hello, Ada",
	},
}

// TestHello runs every language's Hello through the real worker process,
// over gRPC, with HTTP invocations built as the host builds them.
func TestHello(t *testing.T) {
	for _, lang := range []string{"c", "rust", "assemblyscript", "go"} {
		t.Run(lang, func(t *testing.T) {
			appDir := goApp
			if lang != "go" {
				abs, err := filepath.Abs(lang)
				if err != nil {
					t.Fatal(err)
				}
				appDir = abs
				wasm := filepath.Join(appDir, "Hello", "main.wasm")
				if _, err := os.Stat(wasm); errors.Is(err, fs.ErrNotExist) {
					t.Skipf("%s is not built: run examples-wasm/command/build.sh %s", wasm, lang)
				}
			}
			w, id := startHello(t, appDir)
			for _, tc := range helloCases {
				t.Run(tc.name, func(t *testing.T) {
					resp := invoke(t, w, id, tc)
					if got := resp.GetResult().GetStatus(); got != rpc.StatusResult_Success {
						t.Fatalf("invocation status %v: %v", got, resp.GetResult().GetException().GetMessage())
					}
					res := output(resp, "res").GetHttp()
					if res == nil {
						t.Fatalf("no HTTP output res in %v", resp.GetOutputData())
					}
					if res.GetStatusCode() != "200" {
						t.Errorf("status code %q, want \"200\"", res.GetStatusCode())
					}
					if got := header(res, "Content-Type"); got != "text/plain" {
						t.Errorf("Content-Type %q, want \"text/plain\"", got)
					}
					if got := res.GetBody().GetString_(); got != tc.want {
						t.Errorf("body %q, want %q", got, tc.want)
					}
				})
			}
		})
	}
}

// startHello starts a worker for the app at appDir and loads its Hello
// function, returning the worker and the function id.
func startHello(t *testing.T, appDir string) (*fnhost.Worker, string) {
	t.Helper()
	cfg, err := fnhost.FindWorker(workersDir, "wasm")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu     sync.Mutex
		stderr strings.Builder
	)
	w, err := fnhost.StartWorker(ctx, fnhost.WorkerOptions{StartOptions: fnhost.StartOptions{
		Config: cfg,
		AppDir: appDir,
		Stderr: func(line string) {
			mu.Lock()
			defer mu.Unlock()
			stderr.WriteString(line + "\n")
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Terminate(5 * time.Second)
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("worker stderr:\n%s", stderr.String())
		}
	})
	fn, err := funcapp.LoadFunction(filepath.Join(appDir, "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := w.Load(ctx, []*funcapp.Function{fn})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Err != nil {
		t.Fatalf("loading Hello: %+v", loaded)
	}
	return w, loaded[0].ID
}

func invoke(t *testing.T, w *fnhost.Worker, id string, tc helloCase) *rpc.InvocationResponse {
	t.Helper()
	r := httptest.NewRequest(tc.method, "http://localhost:7071"+tc.target, strings.NewReader(tc.body))
	if tc.contentType != "" {
		r.Header.Set("Content-Type", tc.contentType)
	}
	body := []byte(tc.body)
	caps := httpbind.Capabilities(w.Capabilities())
	req := httpbind.Request(r, body, tc.params, caps)
	inv := &rpc.InvocationRequest{
		InvocationId: fnhost.NewInvocationID(),
		FunctionId:   id,
		InputData: []*rpc.ParameterBinding{{
			Name:    "req",
			RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}},
		}},
		TriggerMetadata: httpbind.TriggerMetadata(r, body, tc.params, req, "req", caps),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs []string
	resp, err := w.Invoke(ctx, inv, func(l *rpc.RpcLog) { logs = append(logs, l.GetMessage()) })
	if err != nil {
		t.Fatalf("invoke: %v (logs: %q)", err, logs)
	}
	if t.Failed() || resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Logf("invocation logs: %q", logs)
	}
	return resp
}

func output(resp *rpc.InvocationResponse, name string) *rpc.TypedData {
	for _, b := range resp.GetOutputData() {
		if b.GetName() == name {
			return b.GetData()
		}
	}
	return nil
}

func header(h *rpc.RpcHttp, name string) string {
	for k, v := range h.GetHeaders() {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
