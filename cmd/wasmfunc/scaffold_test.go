//go:build unix

package main

// TestScaffoldedApps creates an app with `wasmfunc new` for every language
// there is a template for, starts it with `wasmfunc start` (which builds
// it: the Go SDK app as a reactor, the others through their wasmfunc.json),
// and calls its two functions: Hello over HTTP and Work through the local
// host's memory queues. Then it edits the greeting in the sources and
// waits for the rebuilt app to answer with the new one. It runs the real wasmfunc command and the real
// worker, both built from this repository.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/scaffold"
)

// toolchains names, per template language, the commands its build needs
// (scripts/install-toolchains.sh installs them).
var toolchains = map[string][]string{
	"go":             {"go"},
	"rust":           {"cargo", "rustc"},
	"c":              {"clang"},
	"assemblyscript": {"node"},
}

// scaffoldWait bounds the first start of an app, which builds it (a Rust
// app compiles the SDK crate; the machine may be busy).
const scaffoldWait = 5 * time.Minute

// changeWait bounds the rebuild and reload after a source changes.
const changeWait = 2 * time.Minute

func TestScaffoldedApps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts an app per language; skipped with -short")
	}
	ci := os.Getenv("CI") == "true"
	langs, err := scaffold.Languages(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(langs) == 0 {
		if ci {
			t.Fatal("no templates in internal/scaffold/templates: nothing to test")
		}
		t.Skip("no templates in internal/scaffold/templates")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "wasmfunc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wasmfunc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wasmfunc: %v\n%s", err, out)
	}
	workers, err := devhost.BuildWorker(context.Background(), root, t.TempDir())
	if err != nil {
		t.Fatalf("building the worker: %v", err)
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			for _, tool := range toolchains[lang] {
				if _, err := exec.LookPath(tool); err != nil {
					msg := fmt.Sprintf("the %s template needs %s (scripts/install-toolchains.sh installs it): %v", lang, tool, err)
					if ci {
						t.Fatal(msg)
					}
					t.Skip(msg)
				}
			}
			dir := filepath.Join(t.TempDir(), "hello-"+lang)
			newCmd := exec.Command(bin, "new", "-lang", lang, "-sdk", root, dir)
			newCmd.Env = cleanEnv()
			out, err := newCmd.CombinedOutput()
			if err != nil {
				t.Fatalf("wasmfunc new -lang %s: %v\n%s", lang, err, out)
			}
			if !strings.Contains(string(out), "wasmfunc start "+dir) {
				t.Errorf("wasmfunc new does not say what to run next:\n%s", out)
			}
			h := startApp(t, bin, dir, workers)

			for query, want := range map[string]string{"?name=Ada": "Hello, Ada!", "": "Hello, world!"} {
				code, body := h.do(http.MethodGet, "/api/hello"+query, "")
				if code != http.StatusOK || !strings.Contains(body, want) {
					t.Errorf("GET /api/hello%s = %d %q, want 200 and %q", query, code, body, want)
				}
			}
			if code, body := h.do(http.MethodPost, "/admin/queues/work", "hello from "+lang); code != http.StatusCreated {
				t.Fatalf("POST /admin/queues/work = %d %s", code, body)
			}
			want := strings.ToUpper("hello from " + lang)
			deadline := time.Now().Add(time.Minute)
			for {
				code, body := h.do(http.MethodGet, "/admin/queues/work-done", "")
				if code != http.StatusOK {
					t.Fatalf("GET /admin/queues/work-done = %d %s", code, body)
				}
				var msgs []struct {
					Text string `json:"text"`
				}
				if err := json.Unmarshal([]byte(body), &msgs); err != nil {
					t.Fatalf("GET /admin/queues/work-done: %v: %s", err, body)
				}
				if len(msgs) > 0 {
					if len(msgs) != 1 || !strings.Contains(msgs[0].Text, want) {
						t.Fatalf("work-done holds %+v, want one message with %q", msgs, want)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Work wrote nothing to work-done within a minute")
				}
				time.Sleep(50 * time.Millisecond)
			}

			t.Run("rebuild on change", func(t *testing.T) {
				h.t = t
				edited := replaceInSources(t, dir, "Hello, ", "Howdy, ")
				if len(edited) == 0 {
					t.Fatal(`no source file of the template holds "Hello, "`)
				}
				deadline := time.Now().Add(changeWait)
				for {
					code, body := h.do(http.MethodGet, "/api/hello?name=Ada", "")
					if code == http.StatusOK && strings.Contains(body, "Howdy, Ada!") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("after editing %v, GET /api/hello?name=Ada still answers %d %q after %v "+
							"(the watcher of wasmfunc start must reload on the inputs of wasmfunc.json: appbuild.IsBuildInput)", edited, code, body, changeWait)
					}
					time.Sleep(200 * time.Millisecond)
				}
			})
		})
	}
}

// replaceInSources replaces old by new in the app's files (not in .wasm
// files, dependencies or build outputs) and returns the files it changed.
func replaceInSources(t *testing.T, dir, old, new string) []string {
	t.Helper()
	var edited []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "target" || d.Name() == "build") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".wasm") || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), old) {
			return err
		}
		edited = append(edited, p)
		return os.WriteFile(p, []byte(strings.ReplaceAll(string(b), old, new)), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return edited
}

// cleanEnv is the environment without the settings that would point the
// command at another worker or app.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, devhost.EnvWorkersDir+"=") || strings.HasPrefix(kv, "FUNCTIONS_") ||
			strings.HasPrefix(kv, "WASMWORKER_CACHE_DIR=") || strings.HasPrefix(kv, scaffold.EnvRoot+"=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WASMWORKER_CACHE_DIR="+engine.DefaultCacheDir())
}

// appProcess is a running `wasmfunc start`.
type appProcess struct {
	t   *testing.T
	url string

	mu     sync.Mutex
	output []string // stdout and stderr lines
}

// startApp starts `wasmfunc start dir --port 0` and waits until it
// listens; the test's cleanup interrupts it and checks that it exits 0.
func startApp(t *testing.T, bin, dir, workers string) *appProcess {
	t.Helper()
	return startAppEnv(t, bin, dir, workers, nil)
}

// startAppEnv is startApp with extra environment variables; with workers
// "" wasmfunc finds or builds the worker itself.
func startAppEnv(t *testing.T, bin, dir, workers string, env []string) *appProcess {
	t.Helper()
	args := []string{"start", dir, "--port", "0"}
	if workers != "" {
		args = append(args, "--workers", workers)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a failed test leaves no worker behind
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting wasmfunc: %v", err)
	}
	h := &appProcess{t: t}
	listening := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		re := regexp.MustCompile(`Listening on (http://[^\s"]+)`)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			h.mu.Lock()
			h.output = append(h.output, line)
			h.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case listening <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("wasmfunc exited with code %d after an interrupt", code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("wasmfunc did not exit within 30s of an interrupt")
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			h.mu.Lock()
			t.Logf("wasmfunc output:\n%s", strings.Join(h.output, "\n"))
			h.mu.Unlock()
		}
	})
	select {
	case h.url = <-listening:
	case <-exited:
		t.Fatalf("wasmfunc start %s exited before listening", dir)
	case <-time.After(scaffoldWait):
		t.Fatalf("wasmfunc start %s did not listen within %v", dir, scaffoldWait)
	}
	return h
}

// do sends a request with a text body and returns the status and body.
func (h *appProcess) do(method, path, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain")
	}
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// TestStartOutsideCheckout follows docs/your-own-app.md: an app created
// outside any checkout, started with no workers folder, from a folder
// outside the checkout: wasmfunc builds the worker from the checkout that
// $WASMWORKER_ROOT names, into a fresh user cache folder.
func TestStartOutsideCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and an app; skipped with -short")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the c template needs clang (scripts/install-toolchains.sh installs it)")
		}
		t.Skip("no clang")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "wasmfunc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wasmfunc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wasmfunc: %v\n%s", err, out)
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "myapp")
	newCmd := exec.Command(bin, "new", "-lang", "c", dir)
	newCmd.Dir = t.TempDir()
	newCmd.Env = append(cleanEnv(), scaffold.EnvRoot+"="+root)
	if out, err := newCmd.CombinedOutput(); err != nil {
		t.Fatalf("wasmfunc new: %v\n%s", err, out)
	}
	h := startAppEnv(t, bin, dir, "", []string{
		scaffold.EnvRoot + "=" + root,
		"XDG_CACHE_HOME=" + t.TempDir(), // no worker built before
		"GOCACHE=" + strings.TrimSpace(string(gocache)),
	})
	if code, body := h.do(http.MethodGet, "/api/hello?name=Ada", ""); code != http.StatusOK || !strings.Contains(body, "Hello, Ada!") {
		t.Errorf("GET /api/hello?name=Ada = %d %q", code, body)
	}
}
