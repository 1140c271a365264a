package worker_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// The outbound HTTP of the Rust and AssemblyScript SDKs (abi/sdk/rust
// src/outbound.rs, abi/sdk/assemblyscript fetch), run through the worker
// process: test guests in testdata/sdkoutbound, built from source with the
// SDKs' documented commands, call a loopback server that their function.json
// allowedHosts names exactly.

// sdkOutboundBigLen is the length of the upstream's /big (byte i is i % 251):
// larger than the guests' 1000-byte read buffer and the SDKs' 4 KiB scratch.
const sdkOutboundBigLen = 300_000

// sdkOutboundEntries are the function folders of a test app and the entry
// points they use; every guest exports all of them.
var sdkOutboundEntries = map[string]string{"Get": "get", "Post": "post", "Big": "big", "Many": "many", "Denied": "denied"}

// TestSDKOutbound runs each SDK's outbound guest through the worker: a GET
// with request headers and a response header read case-insensitively, a
// POST with a body, a body read in chunks and whole, more responses than may
// be open at once released one by one, and a refused host whose Denied error
// and host message reach the function's logs and failure.
func TestSDKOutbound(t *testing.T) {
	for _, g := range []struct {
		lang  string
		build func(*testing.T) []byte
	}{
		{"rust", sdkOutboundRust},
		{"assemblyscript", sdkOutboundAS},
	} {
		t.Run(g.lang, func(t *testing.T) {
			wasm := g.build(t)
			srv := sdkOutboundUpstream(t)
			h := startWorker(t, sdkOutboundApp(t, wasm, srv.URL))
			h.initWorker()
			ids := h.mustLoad("Get", "Post", "Big", "Many", "Denied")
			call := func(fn, method, target string, body []byte) (*rpc.InvocationResponse, []*rpc.RpcLog) {
				t.Helper()
				req := httpRequest(ids[fn], method, "http://localhost:7071/api/"+strings.ToLower(fn), nil,
					map[string]string{"url": target}, nil, body)
				return h.invoke(req, time.Minute)
			}
			answer := func(fn string, resp *rpc.InvocationResponse) (string, string) {
				t.Helper()
				if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
					t.Fatalf("%s failed: %v", fn, resp.GetResult().GetException().GetMessage())
				}
				res := outputHTTP(resp, "res")
				return res.GetStatusCode(), string(bodyBytes(res))
			}

			resp, _ := call("Get", "GET", srv.URL+"/hello", nil)
			if _, body := answer("Get", resp); body != "200 r-GET hello GET guest="+g.lang+" accept=text/plain" {
				t.Errorf("Get answered %q; want the status, the X-Reply header and the body, the upstream having seen X-Guest and Accept", body)
			}

			resp, _ = call("Post", "POST", srv.URL+"/echo", []byte(`{"n":1}`))
			if status, body := answer("Post", resp); status != "201" || body != `POST application/json {"n":1}` {
				t.Errorf("Post answered %s %q; want the upstream's 201 and its echo of method, content type and body", status, body)
			}

			resp, _ = call("Big", "GET", srv.URL+"/big", nil)
			_, body := answer("Big", resp)
			var total, chunks, whole int
			var verdict string
			if _, err := fmt.Sscanf(body, "read %d in %d chunks, bytes() %d, pattern %s", &total, &chunks, &whole, &verdict); err != nil {
				t.Fatalf("Big answered %q: %v", body, err)
			}
			if total != sdkOutboundBigLen || whole != sdkOutboundBigLen || verdict != "ok" || chunks < sdkOutboundBigLen/1000 {
				t.Errorf("Big answered %q; want %d bytes both ways, in at least %d chunks, intact", body, sdkOutboundBigLen, sdkOutboundBigLen/1000)
			}

			resp, _ = call("Many", "GET", srv.URL+"/hello", nil)
			if _, body := answer("Many", resp); body != "12 responses" {
				t.Errorf("Many answered %q; want 12 responses, each released before the next", body)
			}

			port := srv.Listener.Addr().(*net.TCPAddr).Port
			refused := fmt.Sprintf("http://127.0.0.1:%d/hello", port+1)
			resp, logs := call("Denied", "GET", refused, nil)
			sdkOutboundCheckDenied(t, g.lang, resp, logs, refused)
		})
	}
}

// sdkOutboundCheckDenied checks the Denied function's answer to a URL the
// grant refuses: a failure carrying the host's message, which names the URL
// and the grant, a log with the error's code, and the SDK's own refusal of
// a header value with a line break.
func sdkOutboundCheckDenied(t *testing.T, lang string, resp *rpc.InvocationResponse, logs []*rpc.RpcLog, refused string) {
	t.Helper()
	if resp.GetResult().GetStatus() != rpc.StatusResult_Failure {
		t.Fatalf("Denied: %v; want the invocation failed by the guest", resp.GetResult())
	}
	failure := resp.GetResult().GetException().GetMessage()
	u, err := url.Parse(refused)
	if err != nil {
		t.Fatal(err)
	}
	if host := u.Host; !strings.Contains(failure, host) || !strings.Contains(failure, "allowedHosts") {
		t.Errorf("Denied failed with %q; want the host's message naming %s and allowedHosts", failure, u.Host)
	}
	var logged []string
	var message, badHeader string // the logged host message, the SDK's refusal
	for _, l := range logs {
		logged = append(logged, l.GetMessage())
		m := l.GetMessage()
		if strings.HasPrefix(m, "bad header: ") {
			badHeader = m
		}
		if _, msg, ok := strings.Cut(m, "code=-13 message="); ok {
			message = msg
		}
	}
	if !strings.Contains(badHeader, "X-Bad") {
		t.Errorf("logs %q: want the SDK's BadValue refusal of header X-Bad", logged)
	}
	if message == "" {
		t.Fatalf("logs %q: want the Denied error's code -13 and message logged", logged)
	}
	// The worker reports the guest's failure message after its own prefix.
	want := map[string]string{
		// `?` converted the outbound::Error into wasmworker::Error, which
		// kept the host's message.
		"rust": ": " + message,
		// The guest failed with "code=<lastErrorCode>: <lastError>".
		"assemblyscript": ": code=-13: " + message,
	}[lang]
	if !strings.HasSuffix(failure, want) {
		t.Errorf("Denied failed with %q; want it to end with %q", failure, want)
	}
	if lang == "rust" && !slices.Contains(logged, "kind=Denied code=-13 message="+message) {
		t.Errorf("logs %q: want the error's kind Denied", logged)
	}
}

// sdkOutboundUpstream is the loopback server the guests call.
func sdkOutboundUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reply", "r-"+r.Method)
		fmt.Fprintf(w, "hello %s guest=%s accept=%s", r.Method, r.Header.Get("X-Guest"), r.Header.Get("Accept"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, sdkOutboundBigLen)
		for i := range b {
			b[i] = byte(i % 251)
		}
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// sdkOutboundApp lays out an app serving wasm with one HTTP function per
// entry point, each granted exactly the upstream's address.
func sdkOutboundApp(t *testing.T, wasm []byte, upstream string) string {
	t.Helper()
	app := t.TempDir()
	write := func(rel string, data []byte) {
		t.Helper()
		p := filepath.Join(app, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", []byte(`{"version": "2.0"}`))
	write("functions.wasm", wasm)
	for fn, entry := range sdkOutboundEntries {
		fj, err := json.MarshalIndent(map[string]any{
			"scriptFile": "../functions.wasm",
			"entryPoint": entry,
			"bindings": []map[string]any{
				{"type": "httpTrigger", "direction": "in", "name": "req", "methods": []string{"get", "post"}, "route": strings.ToLower(fn)},
				{"type": "http", "direction": "out", "name": "res"},
			},
			"wasmworker": map[string]any{"allowedHosts": []string{upstream}},
		}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(fn, "function.json"), fj)
	}
	return app
}

// sdkOutboundRust builds testdata/sdkoutbound/rust with the Rust SDK's
// one-command build (abi/sdk/rust/README.md) and Debian's rustc.
func sdkOutboundRust(t *testing.T) []byte {
	t.Helper()
	const rustc = "/usr/bin/rustc"
	out, err := exec.Command(rustc, "--print", "sysroot").Output()
	if err != nil {
		t.Skipf("Rust guest not built: %s not usable: %v (run scripts/install-toolchains.sh)", rustc, err)
	}
	if std := filepath.Join(strings.TrimSpace(string(out)), "lib", "rustlib", "wasm32-wasi", "lib"); !sdkOutboundExists(std) {
		t.Skipf("Rust guest not built: %s has no wasm32-wasi std, %s is missing (run scripts/install-toolchains.sh)", rustc, std)
	}
	src := sdkOutboundAbs(t, "testdata/sdkoutbound/rust/guest.rs")
	sdk := sdkOutboundAbs(t, "../../abi/sdk/rust/src")
	sdkFiles, err := filepath.Glob(filepath.Join(sdk, "*.rs"))
	if err != nil || len(sdkFiles) == 0 {
		t.Fatalf("Rust SDK sources in %s: %v (found %d)", sdk, err, len(sdkFiles))
	}
	return sdkOutboundBuild(t, "rust", append([]string{src}, sdkFiles...), "", rustc,
		func(out string) []string {
			return []string{"--target", "wasm32-wasi", "--edition", "2021", "--crate-type", "cdylib",
				"-C", "opt-level=3", "-C", "strip=symbols", "-D", "warnings", "-o", out, src}
		})
}

// sdkOutboundAS builds testdata/sdkoutbound/assemblyscript with the
// AssemblyScript SDK and its asconfig.json (WASI shim, version marker).
func sdkOutboundAS(t *testing.T) []byte {
	t.Helper()
	sdk := sdkOutboundAbs(t, "../../abi/sdk/assemblyscript")
	asc := filepath.Join(sdk, "node_modules", "assemblyscript", "bin", "asc.js")
	if !sdkOutboundExists(asc) {
		t.Skipf("AssemblyScript guest not built: %s is missing (npm ci in abi/sdk/assemblyscript, or scripts/install-toolchains.sh)", asc)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("AssemblyScript guest not built: node is not on PATH (run scripts/install-toolchains.sh)")
	}
	src := sdkOutboundAbs(t, "testdata/sdkoutbound/assemblyscript/guest.ts")
	inputs := []string{src, filepath.Join(sdk, "assembly", "index.ts"), filepath.Join(sdk, "assembly", "version.ts"),
		filepath.Join(sdk, "asconfig.json"), filepath.Join(sdk, "package-lock.json")}
	return sdkOutboundBuild(t, "assemblyscript", inputs, sdk, node, func(out string) []string {
		return []string{asc, src, "--config", "asconfig.json", "-o", out}
	})
}

// sdkOutboundBuild runs tool with args in dir unless a module built from
// the same inputs with the same command is in wasmbuild.CacheDir, and
// returns the module.
func sdkOutboundBuild(t *testing.T, lang string, inputs []string, dir, tool string, args func(out string) []string) []byte {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n", tool, args("OUT"))
	for _, f := range inputs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	out := filepath.Join(wasmbuild.CacheDir(), "sdk-outbound-"+lang+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if wasm, err := os.ReadFile(out); err == nil {
		return wasm
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "guest.wasm")
	cmd := exec.Command(tool, args(tmp)...)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the %s guest: %s %s: %v\n%s", lang, tool, strings.Join(args(tmp), " "), err, msg)
	}
	wasm, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	// Written under a unique name and renamed, so a concurrent test binary
	// never reads half a module.
	part := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	if err := os.WriteFile(part, wasm, 0o644); err == nil {
		os.Rename(part, out)
	}
	return wasm
}

func sdkOutboundAbs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sdkOutboundExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
