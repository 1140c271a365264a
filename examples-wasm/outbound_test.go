//go:build unix

package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/devhost"
)

// These tests run functions that make outbound HTTP requests under the local
// host (internal/devhost, what `wasmfunc start` runs) with the real worker
// process, and call them over HTTP.

// workers builds the worker into a temporary folder (go build's cache makes
// the second build cheap).
func workers(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the worker")
	}
	dir, err := devhost.BuildWorker(context.Background(), "..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startHost starts the local host for app on a free port of 127.0.0.1.
func startHost(t *testing.T, app string) (*devhost.Host, *syncBuffer) {
	t.Helper()
	t.Setenv("WASMWORKER_CACHE_DIR", t.TempDir())
	out := &syncBuffer{}
	h, err := devhost.Start(context.Background(), devhost.Options{AppDir: app, WorkersDir: workers(t), Addr: "127.0.0.1:0", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("host output:\n%s", out)
		}
	})
	return h, out
}

// get GETs u and returns the status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Minute} // a bound for a broken build, not an assertion
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// readJSON decodes the JSON file p into v.
func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// editJSON rewrites the JSON object in file p with edit.
func editJSON(t *testing.T, p string, edit func(map[string]any)) {
	t.Helper()
	var m map[string]any
	readJSON(t, p, &m)
	edit(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCallHello runs the example app under the local host and calls
// /api/call: CallHello GETs HELLO_URL, which local.settings.json points at
// HttpHello of the same app, and answers with HttpHello's status and body.
// Then a URL its allowedHosts does not list is refused with a message
// naming it.
func TestCallHello(t *testing.T) {
	// The committed settings agree: HELLO_URL is HttpHello on the port
	// `wasmfunc start` listens on, and CallHello's grant lists that origin.
	var settings struct {
		Values map[string]string `json:"Values"`
	}
	readJSON(t, "app/local.settings.json", &settings)
	var fn struct {
		Wasmworker struct {
			Env          []string `json:"env"`
			AllowedHosts []string `json:"allowedHosts"`
		} `json:"wasmworker"`
	}
	readJSON(t, "app/CallHello/function.json", &fn)
	hello, err := url.Parse(settings.Values["HELLO_URL"])
	if err != nil || hello.Host != devhost.DefaultAddr || !strings.HasPrefix(hello.Path, "/api/hello/") {
		t.Errorf("HELLO_URL = %q; want HttpHello's route on %s", settings.Values["HELLO_URL"], devhost.DefaultAddr)
	}
	origin := hello.Scheme + "://" + hello.Host
	if len(fn.Wasmworker.AllowedHosts) != 1 || fn.Wasmworker.AllowedHosts[0] != origin || len(fn.Wasmworker.Env) != 1 || fn.Wasmworker.Env[0] != "HELLO_URL" {
		t.Errorf("CallHello's grant: env %v, allowedHosts %v; want [HELLO_URL] and [%s]", fn.Wasmworker.Env, fn.Wasmworker.AllowedHosts, origin)
	}

	app := t.TempDir()
	if _, err := appbuild.Build(context.Background(), "app", app); err != nil {
		t.Fatal(err)
	}
	h, _ := startHost(t, app)
	// The host listens on a free port: point the setting and the grant at it.
	setURL := func(helloURL string) {
		t.Helper()
		editJSON(t, filepath.Join(app, "local.settings.json"), func(m map[string]any) {
			m["Values"].(map[string]any)["HELLO_URL"] = helloURL
		})
		editJSON(t, filepath.Join(app, "CallHello", "function.json"), func(m map[string]any) {
			m["wasmworker"].(map[string]any)["allowedHosts"] = []string{h.URL()}
		})
		if err := h.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	setURL(h.URL() + hello.Path)

	code, body := get(t, h.URL()+"/api/call")
	var got struct {
		URL    string          `json:"url"`
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /api/call = %d %s: %v", code, body, err)
	}
	// The local host writes JSON object bodies indented, as the Functions
	// host does; compare the JSON, not its layout.
	var compact bytes.Buffer
	_ = json.Compact(&compact, got.Body)
	if code != http.StatusOK || got.Status != http.StatusOK || got.URL != h.URL()+hello.Path || compact.String() != `{"message":"Hello, outbound."}` {
		t.Errorf("GET /api/call = %d %s; want 200 with HttpHello's 200 and greeting", code, body)
	}

	// localhost is loopback too, but the grant names 127.0.0.1 only.
	refused := strings.Replace(h.URL(), "127.0.0.1", "localhost", 1) + hello.Path
	setURL(refused)
	code, body = get(t, h.URL()+"/api/call")
	got.Error = ""
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /api/call = %d %s: %v", code, body, err)
	}
	if code != http.StatusBadGateway || !strings.Contains(got.Error, refused) || !strings.Contains(got.Error, "allowedHosts") {
		t.Errorf("GET /api/call to %s = %d %s; want 502 naming the URL and allowedHosts", refused, code, body)
	}
}

// cGuest builds abi/sdk/c/testdata/outbound.c with the C SDK's documented
// flags, or skips the test when clang or wasi-libc is missing.
func cGuest(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang not found (scripts/install-toolchains.sh)")
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi"); err != nil {
		t.Skip("wasi-libc not installed (scripts/install-toolchains.sh)")
	}
	sdk := filepath.Join("..", "abi", "sdk", "c")
	out := filepath.Join(t.TempDir(), "outbound.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-s", "-mexec-model=reactor",
		"-Wl,--stack-first", "-Wl,-z,stack-size=1048576", "-Wall", "-Wextra", "-Werror",
		"-I", sdk, "-o", out, filepath.Join(sdk, "testdata", "outbound.c"), filepath.Join(sdk, "wasmworker.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	return out
}

// bigLen is the length of the upstream's /big (byte i is i % 251).
const bigLen = 300_000

// upstream is the server the C guest calls.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reply", "r-"+r.Method)
		fmt.Fprintf(w, "hello %s", r.Method)
	})
	mux.HandleFunc("/to-hello", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "guest=%s accept=%s close=%t", r.Header.Get("X-Guest"), r.Header.Get("Accept"), r.Close)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, bigLen)
		for i := range b {
			b[i] = byte(i % 251)
		}
		w.Header().Set("Content-Length", fmt.Sprint(bigLen))
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestCSDKOutbound runs the C SDK's outbound test guest through the worker:
// request headers (the hop-by-hop one dropped), a redirect, a response header
// found case-insensitively, a POST body, a large body read 1000 bytes at a
// time and whole, more requests than may be open at once, a refused host,
// and a header line break refused by the SDK itself.
func TestCSDKOutbound(t *testing.T) {
	wasm := cGuest(t)
	srv := upstream(t)
	entries := []string{"get", "headers", "post", "big", "whole", "many", "denied", "inject"}
	app := t.TempDir()
	files := map[string]string{
		"host.json":           `{"version": "2.0", "functionTimeout": "00:02:00", "extensions": {"http": {"routePrefix": "api"}}}`,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "wasm"}}`,
	}
	for _, e := range entries {
		b, err := json.Marshal(map[string]any{
			"scriptFile": "../outbound.wasm",
			"entryPoint": e,
			"bindings": []map[string]any{
				{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": []string{"get", "post"}, "route": e},
				{"type": "http", "direction": "out", "name": "res"},
			},
			"wasmworker": map[string]any{"allowedHosts": []string{srv.URL}},
		})
		if err != nil {
			t.Fatal(err)
		}
		files[e+"/function.json"] = string(b)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	files["outbound.wasm"] = string(b)
	for name, text := range files {
		p := filepath.Join(app, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := startHost(t, app)

	call := func(fn, target string) (int, string) {
		t.Helper()
		return get(t, h.URL()+"/api/"+fn+"?url="+url.QueryEscape(target))
	}
	for _, c := range []struct{ fn, want string }{
		{"get", "200 r-GET hello GET"},
		{"headers", "guest=c accept=text/plain close=false"},
		{"big", fmt.Sprintf("%d %d -1", bigLen, bigLen)},
		{"whole", fmt.Sprintf("%d -1 0", bigLen)},
		{"many", "20 done"},
	} {
		if code, got := call(c.fn, srv.URL); code != http.StatusOK || got != c.want {
			t.Errorf("%s answered %d %q, want 200 %q", c.fn, code, got, c.want)
		}
	}

	resp, err := http.Post(h.URL()+"/api/post?url="+url.QueryEscape(srv.URL), "text/plain", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `201 29 POST application/json {"n":1}`; string(got) != want {
		t.Errorf("post answered %d %q, want %q", resp.StatusCode, got, want)
	}

	refused := strings.Replace(srv.URL, "127.0.0.1", "127.0.0.2", 1) + "/hello"
	code, body := call("denied", refused)
	rc, msg, _ := strings.Cut(body, "\n")
	if code != http.StatusOK || rc != "-13" || !strings.Contains(msg, refused) || !strings.Contains(msg, "allowedHosts") {
		t.Errorf("denied answered %d %q; want WW_E_DENIED (-13) and the host's message naming the URL and allowedHosts", code, body)
	}
	if code, body := call("inject", srv.URL); code != http.StatusOK || body != "-11 ww_fetch: a header holds CR or LF" {
		t.Errorf("inject answered %d %q; want WW_E_BAD_VALUE (-11) from the SDK", code, body)
	}
}

// syncBuffer collects the host's output, written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
