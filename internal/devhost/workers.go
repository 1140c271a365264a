package devhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wasmworker/wasmworker/internal/fnhost"
)

// ModulePath is this repository's Go module; the worker is built from it
// when no workers folder is found.
const ModulePath = "github.com/wasmworker/wasmworker"

// EnvWorkersDir names the environment variable that points at a workers folder.
const EnvWorkersDir = "WASMFUNC_WORKERS_DIR"

// FindWorkersDir decides which workers folder (the folder holding
// <language>/worker.config.json, like the host's "workers") to use, in this
// order: flag (when not ""), $WASMFUNC_WORKERS_DIR, "dist/workers" in the Go
// module root that holds appDir (or the current directory), "workers" next
// to the running executable. It returns "" and no error when none exists.
// An explicitly named folder (flag or variable) must exist.
func FindWorkersDir(flag, appDir string) (string, error) {
	for _, c := range []struct{ src, dir string }{{"--workers", flag}, {"$" + EnvWorkersDir, os.Getenv(EnvWorkersDir)}} {
		if c.dir == "" {
			continue
		}
		abs, err := filepath.Abs(c.dir)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", c.src, c.dir, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%s %s: not a folder (it should hold <language>/%s)", c.src, c.dir, fnhost.ConfigFileName)
		}
		return abs, nil
	}
	var candidates []string
	if root := moduleRoot(appDir); root != "" {
		candidates = append(candidates, filepath.Join(root, "dist", "workers"))
	}
	if wd, err := os.Getwd(); err == nil {
		if root := moduleRoot(wd); root != "" {
			candidates = append(candidates, filepath.Join(root, "dist", "workers"))
		}
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "workers"))
	}
	for _, c := range candidates {
		if hasWorkerConfig(c) {
			return c, nil
		}
	}
	return "", nil
}

// hasWorkerConfig reports whether some immediate sub-folder of dir has a worker.config.json.
func hasWorkerConfig(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*", fnhost.ConfigFileName))
	return len(m) > 0
}

// moduleRoot walks up from dir to the folder whose go.mod declares ModulePath.
func moduleRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
					return d
				}
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// WorkerBuildTags are the build tags the worker is built with, here, in the
// Makefile and in deploy/: grpcnotrace leaves out gRPC's request tracing
// (golang.org/x/net/trace, which brings html/template), which the worker
// never enables and which cost 2.2 MB of resident memory at every start
// (BENCHMARKS.md, "A third machine"). A worker built without them works
// the same.
const WorkerBuildTags = "grpcnotrace"

// BuildWorker builds cmd/wasmworker from the module that holds appDir (or
// the current directory) into cacheDir/wasm, with the worker.config.json of
// cmd/wasmworker, and returns cacheDir, ready to use as a workers folder.
// go build's own cache makes a second call cheap.
func BuildWorker(ctx context.Context, appDir, cacheDir string) (string, error) {
	root := moduleRoot(appDir)
	if root == "" {
		if wd, err := os.Getwd(); err == nil {
			root = moduleRoot(wd)
		}
	}
	if root == "" {
		return "", errors.New("no workers folder found and not inside the wasmworker source tree to build one: " +
			"pass --workers DIR (a folder holding wasm/" + fnhost.ConfigFileName + "), set $" + EnvWorkersDir +
			", set $WASMWORKER_ROOT to a wasmworker checkout to build one from, or run `make worker` in the wasmworker repository")
	}
	dst := filepath.Join(cacheDir, "wasm")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", fmt.Errorf("worker cache: %w", err)
	}
	exe := filepath.Join(dst, "wasmworker")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", WorkerBuildTags, "-o", exe, "./cmd/wasmworker")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the worker (go build ./cmd/wasmworker in %s): %w\n%s", root, err, out.String())
	}
	cfg, err := os.ReadFile(filepath.Join(root, "cmd", "wasmworker", fnhost.ConfigFileName))
	if err != nil {
		return "", fmt.Errorf("worker config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dst, fnhost.ConfigFileName), cfg, 0o644); err != nil {
		return "", fmt.Errorf("worker cache: %w", err)
	}
	return cacheDir, nil
}

// DefaultWorkerCache is where BuildWorker puts a worker built from source:
// <user cache dir>/wasmfunc/workers.
func DefaultWorkerCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "wasmfunc", "workers")
}
