//go:build unix

package examples

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// These tests build in-code Rust apps (functions declared in the module with
// the Rust SDK's functions! macro, no function.json) with Cargo, serve them
// under the local host (what `wasmfunc start` runs, worker indexing through
// the real worker process) and call them over HTTP and through queues.

// debianRegistry is where Debian's librust-*-dev packages put crates; Cargo
// uses it as a directory source when crates.io is not wanted (no network).
const debianRegistry = "/usr/share/cargo/registry"

// cargoToolchain returns the cargo to run and its environment for a Rust
// build of a WASI module, and the target: rustup's cargo when its rustc has
// the wasm32-wasip1 std, else Debian's cargo and rustc 1.63 with
// wasm32-wasi. It skips the test when neither is installed (fails under
// CI=true, where scripts/install-toolchains.sh ran).
func cargoToolchain(t *testing.T) (cargo string, env []string, target string) {
	t.Helper()
	hasStd := func(rustc, target string) bool {
		out, err := exec.Command(rustc, "--print", "target-libdir", "--target", target).Output()
		if err != nil {
			return false
		}
		_, err = os.Stat(strings.TrimSpace(string(out)))
		return err == nil
	}
	if rustc, err := exec.LookPath("rustc"); err == nil && hasStd(rustc, "wasm32-wasip1") {
		if cargo, err := exec.LookPath("cargo"); err == nil {
			return cargo, os.Environ(), "wasm32-wasip1"
		}
	}
	if hasStd("/usr/bin/rustc", "wasm32-wasi") {
		if _, err := os.Stat("/usr/bin/cargo"); err == nil {
			return "/usr/bin/cargo", append(os.Environ(), "RUSTC=/usr/bin/rustc", "RUSTDOC=/usr/bin/rustdoc"), "wasm32-wasi"
		}
	}
	msg := "no cargo with a WASI std (rustup target add wasm32-wasip1, or scripts/install-toolchains.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return "", nil, ""
}

// cargoTargetDir is a Cargo target folder kept across test runs (Cargo's
// own incremental builds keep a rebuild cheap).
func cargoTargetDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(wasmbuild.CacheDir(), "cargo-target")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inCodeApp makes an app folder of host.json and local.settings.json from
// src and the module built into app.wasm: the layout of an in-code app.
func inCodeApp(t *testing.T, src string, build func(out string)) string {
	t.Helper()
	app := t.TempDir()
	for _, f := range []string{"host.json", "local.settings.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build(filepath.Join(app, "app.wasm"))
	return app
}

// runBuild runs cmd, failing the test with its output.
func runBuild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

// do sends a request with a body and returns the status, content type and
// body of the response.
func do(t *testing.T, method, u, contentType, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := &http.Client{Timeout: 2 * time.Minute} // a bound for a broken run, not an assertion
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// awaitQueue polls the local host's queue endpoint until queue holds a
// message and returns the first message's text.
func awaitQueue(t *testing.T, base, queue string, out *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		code, body := get(t, base+"/admin/queues/"+queue)
		if code != http.StatusOK {
			t.Fatalf("GET /admin/queues/%s = %d %s", queue, code, body)
		}
		var msgs []struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("GET /admin/queues/%s: %v\n%s", queue, err, body)
		}
		if len(msgs) > 0 {
			if msgs[0].Text == nil {
				t.Fatalf("queue %s: a message that is not text: %s", queue, body)
			}
			return *msgs[0].Text
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no message on queue %s within a minute; host output:\n%s", queue, out)
	return ""
}

// TestInCodeRust builds examples-wasm/incode/rust with its build.sh (Cargo,
// the SDK as a path dependency), serves app.wasm alone (no function
// folders) and calls HttpHello (query, route, body) and ProcessJob (a
// queue message in, a result message out).
func TestInCodeRust(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Rust app and the worker")
	}
	cargo, env, target := cargoToolchain(t)
	src, err := filepath.Abs("incode/rust")
	if err != nil {
		t.Fatal(err)
	}
	app := inCodeApp(t, src, func(out string) {
		cmd := exec.Command(filepath.Join(src, "build.sh"))
		cmd.Env = append(env, "CARGO="+cargo, "TARGET="+target, "CARGO_TARGET_DIR="+cargoTargetDir(t), "OUT="+out,
			"CARGO_FLAGS=--offline")
		runBuild(t, cmd)
	})
	h, out := startHost(t, app)
	base := h.URL()

	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/api/hello?name=Query", "", "Hello, Query!"},
		{"GET", "/api/hello/Route", "", "Hello, Route!"},
		{"POST", "/api/hello", "Body", "Hello, Body!"},
		{"GET", "/api/hello", "", "Hello, world!"},
	} {
		code, ct, body := do(t, c.method, base+c.path, "text/plain", c.body)
		if code != http.StatusOK || body != c.want || ct != "text/plain; charset=utf-8" {
			t.Errorf("%s %s = %d %q %q, want 200 %q text/plain; charset=utf-8", c.method, c.path, code, ct, body, c.want)
		}
	}

	if code, _, body := do(t, "POST", base+"/admin/queues/jobs", "text/plain", "job-7"); code != http.StatusCreated {
		t.Fatalf("POST /admin/queues/jobs = %d %s", code, body)
	}
	if got, want := awaitQueue(t, base, "results", out), "done: job-7 (attempt 1)"; got != want {
		t.Errorf("queue results: %q, want %q", got, want)
	}
	if !strings.Contains(out.String(), "processed job ") {
		t.Errorf("ProcessJob's log line is missing from the host output:\n%s", out)
	}
}

// TestInCodeRustSerdeAndPanic builds incode/rust/testdata/sdkcheck (the
// SDK with its serde feature; serde from Debian's packages as a directory
// source when they are installed, else from crates.io) and checks through
// the worker: a JSON request body read into a struct and a JSON response, a
// JSON queue message read into a struct (with its dequeue count) and a JSON
// output, and a panic whose message and location become the invocation's
// failure message.
func TestInCodeRustSerdeAndPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Rust app and the worker")
	}
	cargo, env, target := cargoToolchain(t)
	src, err := filepath.Abs("incode/rust/testdata/sdkcheck")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "--release", "--target", target}
	if _, err := os.Stat(filepath.Join(debianRegistry, "serde_json-1.0.87")); err == nil {
		args = append(args, "--offline", "--config", `source.crates-io.replace-with="debian"`,
			"--config", `source.debian.directory="`+debianRegistry+`"`)
	}
	tdir := cargoTargetDir(t)
	app := inCodeApp(t, filepath.Join(src, "..", ".."), func(out string) {
		cmd := exec.Command(cargo, args...)
		cmd.Dir = src
		cmd.Env = append(env, "CARGO_TARGET_DIR="+tdir)
		runBuild(t, cmd)
		b, err := os.ReadFile(filepath.Join(tdir, target, "release", "sdkcheck.wasm"))
		if err == nil {
			err = os.WriteFile(out, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	h, out := startHost(t, app)
	base := h.URL()

	t.Run("serde", func(t *testing.T) {
		code, ct, body := do(t, "POST", base+"/api/total", "application/json", `{"item":"pen","qty":3,"unit_cents":150}`)
		// The host may add "; charset=utf-8".
		if code != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
			t.Errorf("POST /api/total = %d %q %s, want 200 application/json", code, ct, body)
		}
		jsonEqual(t, "POST /api/total", []byte(body), `{"item":"pen","total_cents":450,"attempt":0}`)
		code, _, body = do(t, "POST", base+"/api/total", "application/json", `{"item":"pen"}`)
		if code != http.StatusBadRequest || !strings.Contains(body, "missing field `qty`") {
			t.Errorf("POST /api/total without qty = %d %q, want 400 naming the missing field", code, body)
		}
		if code, _, body := do(t, "POST", base+"/admin/queues/orders", "application/json", `{"item":"ink","qty":2,"unit_cents":99}`); code != http.StatusCreated {
			t.Fatalf("POST /admin/queues/orders = %d %s", code, body)
		}
		jsonEqual(t, "queue priced", []byte(awaitQueue(t, base, "priced", out)), `{"item":"ink","total_cents":198,"attempt":1}`)
	})

	// Needs the worker to report the message a guest set with set_error
	// before it trapped (a panic aborts: wasm32 has no unwinding).
	t.Run("panic", func(t *testing.T) {
		code, _, body := do(t, "GET", base+"/api/boom?why=testing", "", "")
		if code != http.StatusInternalServerError {
			t.Errorf("GET /api/boom = %d %q, want 500", code, body)
		}
		// The host prints the InvocationResponse's failure ("Exception: ...")
		// after the invocation's logs, which also hold the panic's text.
		want := "panicked at src/lib.rs:"
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, "Exception:") && strings.Contains(line, "boom in Boom: testing") {
					if !strings.Contains(line, want) {
						t.Errorf("failure %q does not name the panic's location (%q)", line, want)
					}
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("no failure carrying the panic's message \"boom in Boom: testing\" in the host output:\n%s", out)
	})
}
