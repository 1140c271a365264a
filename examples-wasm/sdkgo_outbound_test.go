//go:build unix

package examples

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// goSDKBigLen is the length of the upstream's /big: many times the guest's
// 1000-byte buffer and the transport's 32 KiB chunk.
const goSDKBigLen = 300_000

// goSDKUpstream is the server the test guest calls; hits counts its requests.
func goSDKUpstream(t *testing.T, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Reply", "r-"+r.Method)
		fmt.Fprintf(w, "hello %s", r.Method)
	})
	mux.HandleFunc("/to-hello", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, "guest=%s accept=%s agent=%t close=%t", r.Header.Get("X-Guest"), r.Header.Get("Accept"),
			r.UserAgent() != "" && !strings.HasPrefix(r.UserAgent(), "Go-http-client"), r.Close)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", fmt.Sprint(len(r.Method)+len(r.Header.Get("Content-Type"))+len(b)+2))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b := make([]byte, goSDKBigLen)
		for i := range b {
			b[i] = byte(i % 251)
		}
		w.Header().Set("Content-Length", fmt.Sprint(goSDKBigLen))
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// goSDKOutboundApp lays out a function app that serves the test guest: one HTTP
// function per entry point, each granted exactly the upstream's address.
func goSDKOutboundApp(t *testing.T, wasm, allowed string, entries []string) string {
	t.Helper()
	app := t.TempDir()
	files := map[string]string{
		"host.json":           `{"version": "2.0", "functionTimeout": "00:02:00", "extensions": {"http": {"routePrefix": "api"}}}`,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "wasm"}}`,
	}
	for _, e := range entries {
		fn, err := json.Marshal(map[string]any{
			"scriptFile": "../guest.wasm",
			"entryPoint": e,
			"bindings": []map[string]any{
				{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": []string{"get", "post"}, "route": e},
				{"type": "http", "direction": "out", "name": "res"},
			},
			"wasmworker": map[string]any{"allowedHosts": []string{allowed}},
		})
		if err != nil {
			t.Fatal(err)
		}
		files[e+"/function.json"] = string(fn)
	}
	for name, text := range files {
		p := filepath.Join(app, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "guest.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestGoSDKOutbound runs abi/sdk/go/outbound/testdata/guest, an ABI module built with the Go
// SDK, under the local host (devhost, as `wasmfunc start` does) with the
// real worker process, and checks what net/http's client does in it:
// http.Get with a redirect the host follows, a Client with
// NewRequestWithContext and request headers, a POST with a body, a large
// body read in small pieces, more requests than may be open at once, a
// refused host, and a context done before sending.
func TestGoSDKOutbound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and a Go guest")
	}
	ctx := context.Background()
	wasm, err := wasmbuild.Go("../abi/sdk/go/outbound/testdata/guest", wasmbuild.Options{BuildMode: "c-shared"})
	if err != nil {
		t.Fatal(err)
	}
	workers, err := devhost.BuildWorker(ctx, "..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WASMWORKER_CACHE_DIR", t.TempDir())
	var hits atomic.Int32
	srv := goSDKUpstream(t, &hits)
	app := goSDKOutboundApp(t, wasm, srv.URL, []string{"get", "headers", "post", "big", "many", "denied", "canceled"})
	out := &syncBuffer{}
	h, err := devhost.Start(ctx, devhost.Options{AppDir: app, WorkersDir: workers, Addr: "127.0.0.1:0", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	client := &http.Client{Timeout: 2 * time.Minute} // a bound for a broken build, not an assertion
	call := func(method, fn, target, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, h.URL()+"/api/"+fn+"?url="+url.QueryEscape(target), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, fn, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	expect := func(fn, method, body, want string) {
		t.Helper()
		if code, got := call(method, fn, srv.URL, body); code != http.StatusOK || got != want {
			t.Errorf("%s answered %d %q, want 200 %q", fn, code, got, want)
		}
	}

	expect("get", "GET", "", "200 OK r-GET hello GET")
	expect("headers", "GET", "", "guest=go accept=text/plain agent=true close=false")
	expect("post", "POST", `{"n":1}`, `201 29 POST application/json {"n":1}`)
	expect("big", "GET", "", fmt.Sprintf("%d %d -1", goSDKBigLen, goSDKBigLen))
	expect("many", "GET", "", "20 done")

	// A loopback address other than the one granted.
	refused := strings.Replace(srv.URL, "127.0.0.1", "127.0.0.2", 1) + "/hello"
	code, got := call("GET", "denied", refused, "")
	first, msg, _ := strings.Cut(got, "\n")
	if code != http.StatusOK || first != "denied=true limit=false code=true" ||
		!strings.HasPrefix(msg, `Get "`+refused+`": `) || !strings.Contains(msg, "allowedHosts") {
		t.Errorf("denied answered %d %q; want ErrDenied with the host's message naming the URL and allowedHosts", code, got)
	}

	before := hits.Load()
	if code, got := call("GET", "canceled", srv.URL, ""); code != http.StatusOK || !strings.HasPrefix(got, "canceled=true ") {
		t.Errorf("canceled answered %d %q, want context.Canceled", code, got)
	}
	if n := hits.Load(); n != before {
		t.Errorf("a request whose context was done reached the upstream (%d requests)", n-before)
	}
	if t.Failed() {
		t.Logf("host output:\n%s", out)
	}
}
