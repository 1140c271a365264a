// Package appbuild builds the Go sources of a function app's functions into
// their .wasm script files.
//
// A function app is a folder with host.json and one sub-folder per function,
// each holding a function.json. A function folder that also holds Go sources
// (a package main that builds for GOOS=wasip1 GOARCH=wasm) is compiled into
// the file named by function.json's "scriptFile" ("main.wasm" when unset).
package appbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultScriptFile is the script file a Go function is built into when its
// function.json names none.
const DefaultScriptFile = "main.wasm"

// Build copies the function app at src to dst (dst may equal src: build in
// place) and, for every function folder that holds Go sources (*.go), builds
// them with GOOS=wasip1 GOARCH=wasm into the function's scriptFile (from
// function.json; default "main.wasm"). Other files (host.json,
// local.settings.json, function.json, prebuilt .wasm) are copied as they are.
// It returns the names of the functions it built, sorted.
//
// An in-place build skips a function whose script file is newer than every
// .go, go.mod and go.sum file that can affect it (its own folder's, and the
// app's outside any function folder), so a second run is instant. A build
// into another folder always compiles. Each function is compiled from its
// source folder, so it uses the Go module that encloses src; outside any
// module, a function may import only the standard library. The build uses
// "go build -trimpath -buildvcs=false", so the same sources give the same
// bytes. A failed function does not stop the others: the error joins one
// error per failed function, each naming it and quoting the compiler output.
func Build(ctx context.Context, src, dst string) ([]string, error) {
	src, dst, err := checkDirs(src, dst)
	if err != nil {
		return nil, err
	}
	fns, err := findGoFunctions(src)
	if err != nil {
		return nil, err
	}
	inPlace := src == dst
	if !inPlace {
		// The script files of Go functions are rebuilt, so a stale copy
		// in src is not worth copying.
		skip := map[string]bool{}
		for _, f := range fns {
			if f.err == nil {
				skip[filepath.Join(f.name, f.script)] = true
			}
		}
		if err := copyTree(ctx, src, dst, skip); err != nil {
			return nil, err
		}
	}
	var shared time.Time // newest build input outside the function folders
	if inPlace && len(fns) > 0 {
		if shared, err = newestSharedInput(src, fns); err != nil {
			return nil, err
		}
	}
	var built []string
	var errs []error
	for _, f := range fns {
		if err := ctx.Err(); err != nil {
			return built, errors.Join(append(errs, fmt.Errorf("appbuild: %w", err))...)
		}
		if f.err != nil {
			errs = append(errs, f.err)
			continue
		}
		out := filepath.Join(dst, f.name, f.script)
		if inPlace {
			fresh, err := upToDate(filepath.Join(src, f.name), out, shared)
			if err != nil {
				errs = append(errs, fmt.Errorf("appbuild: function %s: %w", f.name, err))
				continue
			}
			if fresh {
				continue
			}
		}
		if err := compile(ctx, filepath.Join(src, f.name), out); err != nil {
			errs = append(errs, fmt.Errorf("appbuild: function %s: %w", f.name, err))
			continue
		}
		built = append(built, f.name)
	}
	return built, errors.Join(errs...)
}

// goFunction is a function folder that holds Go sources.
type goFunction struct {
	name   string // folder name = function name
	script string // scriptFile, cleaned, relative to the function folder
	err    error  // why the function cannot be built
}

// checkDirs makes src and dst absolute and rejects layouts that cannot work.
func checkDirs(src, dst string) (string, string, error) {
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return "", "", fmt.Errorf("appbuild: source %s: %w", src, err)
	}
	absDst, err := filepath.Abs(dst)
	if err != nil {
		return "", "", fmt.Errorf("appbuild: destination %s: %w", dst, err)
	}
	st, err := os.Stat(absSrc)
	if err != nil {
		return "", "", fmt.Errorf("appbuild: function app: %w", err)
	}
	if !st.IsDir() {
		return "", "", fmt.Errorf("appbuild: function app %s is not a folder", src)
	}
	if absSrc != absDst && strings.HasPrefix(absDst, absSrc+string(filepath.Separator)) {
		return "", "", fmt.Errorf("appbuild: destination %s is inside the function app %s; choose a folder outside it, or the same folder to build in place", dst, src)
	}
	return absSrc, absDst, nil
}

// findGoFunctions lists, sorted by name, the function folders of the app
// (sub-folders with a function.json) that hold non-test Go files.
func findGoFunctions(app string) ([]goFunction, error) {
	entries, err := os.ReadDir(app)
	if err != nil {
		return nil, fmt.Errorf("appbuild: read function app: %w", err)
	}
	var fns []goFunction
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(app, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "function.json")); err != nil {
			continue
		}
		hasGo, err := holdsGo(dir)
		if err != nil {
			return nil, fmt.Errorf("appbuild: function %s: %w", e.Name(), err)
		}
		if !hasGo {
			continue
		}
		f := goFunction{name: e.Name()}
		f.script, f.err = scriptFile(dir)
		if f.err != nil {
			f.err = fmt.Errorf("appbuild: function %s: %w", f.name, f.err)
		}
		fns = append(fns, f)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].name < fns[j].name })
	return fns, nil
}

func holdsGo(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true, nil
		}
	}
	return false, nil
}

// scriptFile reads function.json in dir and returns its scriptFile, checked
// to be a .wasm file inside the function folder.
func scriptFile(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "function.json"))
	if err != nil {
		return "", err
	}
	var meta struct {
		ScriptFile *string `json:"scriptFile"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("function.json is not valid JSON: %w", err)
	}
	if meta.ScriptFile == nil || *meta.ScriptFile == "" {
		return DefaultScriptFile, nil
	}
	name := *meta.ScriptFile
	clean := filepath.Clean(filepath.FromSlash(name))
	if filepath.IsAbs(clean) || !filepath.IsLocal(clean) {
		return "", fmt.Errorf("function.json: scriptFile %q must be a path inside the function folder", name)
	}
	if !strings.EqualFold(filepath.Ext(clean), ".wasm") {
		return "", fmt.Errorf("function.json: scriptFile %q must end in .wasm to be built from Go sources", name)
	}
	return clean, nil
}

// newestSharedInput returns the newest modification time of the Go build
// inputs of the app that lie outside every Go function folder: shared
// packages and the app's go.mod/go.sum.
func newestSharedInput(app string, fns []goFunction) (time.Time, error) {
	skip := map[string]bool{}
	for _, f := range fns {
		skip[filepath.Join(app, f.name)] = true
	}
	return newestInput(app, skip)
}

// newestInput returns the newest modification time of the .go, go.mod and
// go.sum files under dir, not descending into the folders in skip.
func newestInput(dir string, skip map[string]bool) (time.Time, error) {
	var newest time.Time
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[p] || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if !strings.HasSuffix(n, ".go") && n != "go.mod" && n != "go.sum" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest, err
}

// upToDate reports whether the script file out is newer than the function's
// sources in fnDir and than shared, the newest shared input.
func upToDate(fnDir, out string, shared time.Time) (bool, error) {
	info, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	newest, err := newestInput(fnDir, nil)
	if err != nil {
		return false, fmt.Errorf("check sources: %w", err)
	}
	if shared.After(newest) {
		newest = shared
	}
	return info.ModTime().After(newest), nil
}

// compile builds the Go package in dir into the file out, replacing it
// only once the build succeeded.
func compile(ctx context.Context, dir, out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the Go toolchain is needed to build Go functions: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // no-op after the rename

	args := []string{"build", "-trimpath", "-buildvcs=false", "-o", tmp.Name()}
	if inModule(dir) {
		args = append(args, ".")
	} else {
		// Outside a module "go build ." fails; naming the files builds them
		// as a package of their own (standard library imports only).
		files, err := goFiles(dir)
		if err != nil {
			return err
		}
		args = append(args, files...)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build failed (%w):\n%s", err, strings.TrimSpace(string(msg)))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// inModule reports whether dir lies inside a Go module (a go.mod in it or
// in a parent folder).
func inModule(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// goFiles lists the non-test .go files of dir, sorted.
func goFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, n)
		}
	}
	return files, nil
}

// copyTree copies the files under src to dst, keeping their permissions and
// modification times, except .git folders and the paths (relative to src)
// in skip.
func copyTree(ctx context.Context, src, dst string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("appbuild: copy: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("appbuild: copy: %w", err)
			}
			return nil
		}
		if skip[rel] {
			return nil
		}
		info, err := os.Stat(p) // follows a symbolic link to a file
		if err != nil {
			return fmt.Errorf("appbuild: copy: %w", err)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		if err := copyFile(p, target, info); err != nil {
			return fmt.Errorf("appbuild: copy %s: %w", rel, err)
		}
		return nil
	})
}

func copyFile(from, to string, info fs.FileInfo) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(to, info.ModTime(), info.ModTime())
}
