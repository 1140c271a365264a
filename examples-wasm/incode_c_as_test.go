//go:build unix

package examples

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
)

// The in-code example apps of the C and AssemblyScript SDKs
// (examples-wasm/incode/c, examples-wasm/incode/assemblyscript): host.json
// plus one app.wasm that declares HttpHello and ProcessJob itself. These
// tests rebuild each app.wasm with the command of its wasmfunc.json and
// compare it with the committed one, then serve the committed module under
// the local host with the real worker process, which indexes it (worker
// indexing), and call both functions.

// inCodeLangs are the in-code apps these tests cover.
var inCodeLangs = []string{"c", "assemblyscript"}

// needInCodeToolchain skips the test when lang's toolchain is not installed
// (scripts/install-toolchains.sh), and fails it instead under CI=true, where
// the toolchains are always installed.
func needInCodeToolchain(t *testing.T, lang string) {
	t.Helper()
	var missing string
	switch lang {
	case "c":
		if _, err := exec.LookPath("clang"); err != nil {
			missing = "clang not found"
		} else if _, err := os.Stat("/usr/lib/wasm32-wasi"); err != nil {
			missing = "wasi-libc not installed (/usr/lib/wasm32-wasi)"
		}
	case "assemblyscript":
		if _, err := exec.LookPath("node"); err != nil {
			missing = "node not found"
		} else if _, err := os.Stat("../abi/sdk/assemblyscript/node_modules/assemblyscript/bin/asc.js"); err != nil {
			missing = "the assemblyscript package is not installed (npm ci in abi/sdk/assemblyscript)"
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %s (scripts/install-toolchains.sh runs before the tests in CI)", lang, missing)
	}
	t.Skipf("%s: %s (scripts/install-toolchains.sh)", lang, missing)
}

// TestInCodeAppsReproducible runs each in-code app's wasmfunc.json build in
// a copy of its folder, at the same depth below a root whose abi folder is
// the repository's (the command names the SDK as ../../../abi/sdk/<lang>),
// and checks that it gives the committed app.wasm byte for byte.
func TestInCodeAppsReproducible(t *testing.T) {
	abi, err := filepath.Abs("../abi")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range inCodeLangs {
		t.Run(lang, func(t *testing.T) {
			needInCodeToolchain(t, lang)
			src := filepath.Join("incode", lang)
			cfg, err := appbuild.ReadConfig(src)
			if err != nil || cfg == nil {
				t.Fatalf("%s/wasmfunc.json: %v (want a build command)", src, err)
			}
			root := t.TempDir()
			if err := os.Symlink(abi, filepath.Join(root, "abi")); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(root, "examples-wasm", "incode", lang)
			copyAppSources(t, src, dst)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", cfg.Build)
			cmd.Dir = dst
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cfg.Build, err, out)
			}
			built, err := os.ReadFile(filepath.Join(dst, "app.wasm"))
			if err != nil {
				t.Fatalf("the build command made no app.wasm: %v", err)
			}
			committed, err := os.ReadFile(filepath.Join(src, "app.wasm"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(built, committed) {
				t.Errorf("%s/app.wasm (%d bytes) differs from a fresh build (%d bytes); rebuild it: (cd %s && sh -c '%s')",
					src, len(committed), len(built), src, cfg.Build)
			}
		})
	}
}

// copyAppSources copies the files of app folder src, but its .wasm files,
// into dst.
func copyAppSources(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestInCodeAppsServe serves each committed in-code app (host.json,
// local.settings.json, app.wasm; no function folders) under the local host
// and calls HttpHello over HTTP and ProcessJob through its queue.
func TestInCodeAppsServe(t *testing.T) {
	for _, lang := range inCodeLangs {
		t.Run(lang, func(t *testing.T) {
			src := filepath.Join("incode", lang)
			app := t.TempDir()
			for _, name := range []string{"host.json", "local.settings.json", "app.wasm"} {
				b, err := os.ReadFile(filepath.Join(src, name))
				if err == nil {
					err = os.WriteFile(filepath.Join(app, name), b, 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			h, _ := startHost(t, app)

			for _, c := range []struct{ path, want string }{
				{"/api/hello/Ada", "Hello, Ada!"},
				{"/api/hello?name=Bob", "Hello, Bob!"},
				{"/api/hello", "Hello, world!"},
			} {
				if code, body := get(t, h.URL()+c.path); code != http.StatusOK || body != c.want {
					t.Errorf("GET %s = %d %q; want 200 %q", c.path, code, body, c.want)
				}
			}
			resp, err := http.Post(h.URL()+"/api/hello", "text/plain", strings.NewReader("Eve"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "Hello, Eve!" {
				t.Errorf("POST /api/hello Eve = %d %q; want 200 \"Hello, Eve!\"", resp.StatusCode, body)
			}

			h.Queues().Put("jobs", []byte(`{"id":7}`))
			want := `done: {"id":7} (attempt 1)`
			deadline := time.Now().Add(time.Minute) // a bound for a broken host, not an assertion
			for {
				msgs := h.Queues().Peek("results")
				if len(msgs) > 0 {
					if len(msgs) != 1 || string(msgs[0].Body) != want {
						var got []string
						for _, m := range msgs {
							got = append(got, string(m.Body))
						}
						t.Errorf("queue results holds %q; want [%q]", got, want)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("ProcessJob wrote nothing to queue results; jobs holds %d message(s)", len(h.Queues().Peek("jobs")))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// sdkDeclareGuest builds the declaration test guest of lang's SDK
// (abi/sdk/c/testdata/declare.c, abi/sdk/assemblyscript/testdata/declare.ts)
// and returns the module.
func sdkDeclareGuest(t *testing.T, lang string) []byte {
	t.Helper()
	needInCodeToolchain(t, lang)
	sdk, err := filepath.Abs(filepath.Join("..", "abi", "sdk", lang))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "app.wasm")
	var cmd *exec.Cmd
	switch lang {
	case "c":
		cmd = exec.Command("clang", "--target=wasm32-wasi", "-O2", "-s", "-mexec-model=reactor",
			"-Wl,--stack-first", "-Wl,-z,stack-size=1048576", "-Wall", "-Wextra", "-Werror",
			"-I", sdk, "-o", out, filepath.Join(sdk, "testdata", "declare.c"), filepath.Join(sdk, "wasmworker.c"))
	case "assemblyscript":
		cmd = exec.Command("node", filepath.Join("node_modules", "assemblyscript", "bin", "asc.js"),
			filepath.Join("testdata", "declare.ts"), "--config", "asconfig.json", "-o", out)
		cmd.Dir = sdk
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSDKDeclarations serves each SDK's declaration test guest under the
// local host: two functions declared on one entry point tell themselves
// apart by function_name, a declared env grant reaches the guest, a
// disabled function is not served, a declaration the host refuses fails
// alone, the builder escapes strings, and a failed write is reported with
// the binding's name without the guest writing a message itself (C) or
// with lastError (AssemblyScript).
func TestSDKDeclarations(t *testing.T) {
	for _, c := range []struct{ lang, strerror, nope string }{
		{"c", "WW_E_NOT_OUTPUT: not an output binding of the function", `set_output "nope": WW_E_NOT_OUTPUT`},
		{"assemblyscript", "NotOutput: not an output binding of the function", `setOutput "nope": NotOutput`},
	} {
		t.Run(c.lang, func(t *testing.T) {
			wasm := sdkDeclareGuest(t, c.lang)
			app := t.TempDir()
			for name, text := range map[string]string{
				"host.json":           `{"version": "2.0", "extensions": {"http": {"routePrefix": "api"}}}`,
				"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "wasm", "AzureWebJobsStorage": "", "GREETING": "hi there"}}`,
				"app.wasm":            string(wasm),
			} {
				if err := os.WriteFile(filepath.Join(app, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h, out := startHost(t, app)
			for _, g := range []struct {
				path string
				code int
				body string
			}{
				{"/api/one", http.StatusOK, "NameOne"},
				{"/api/two", http.StatusOK, "NameTwo"},
				{"/api/greeting", http.StatusOK, "hi there"},
				{"/api/codes", http.StatusOK, c.strerror + "\n" +
					`{"name":"X","entryPoint":"run","bindings":[{"type":"blob","direction":"in","name":"doc","path":"a\"b","n":2}]}`},
			} {
				if code, body := get(t, h.URL()+g.path); code != g.code || body != g.body {
					t.Errorf("GET %s = %d %q; want %d %q", g.path, code, body, g.code, g.body)
				}
			}
			if code, body := get(t, h.URL()+"/api/off"); code != http.StatusNotFound {
				t.Errorf("GET /api/off (a disabled function) = %d %q; want 404", code, body)
			}
			if code, body := get(t, h.URL()+"/api/nope"); code != http.StatusInternalServerError {
				t.Errorf("GET /api/nope = %d %q; want 500", code, body)
			}
			deadline := time.Now().Add(10 * time.Second) // the log line may follow the response
			for !strings.Contains(out.String(), c.nope) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(out.String(), c.nope) {
				t.Errorf("the host's output does not report Nope's failure as %q:\n%s", c.nope, out)
			}
			if !strings.Contains(out.String(), "Broken") || !strings.Contains(out.String(), "scriptFile") {
				t.Errorf("the host's output does not name the refused declaration Broken and its scriptFile:\n%s", out)
			}
		})
	}
}
