// Package appbuild builds the WebAssembly modules of a function app from the
// sources in the app folder. `wasmfunc start` runs it before every load of
// the app (on start and on each reload its file watcher asks for), and
// `wasmbuild` runs it once. It builds three kinds of sources.
//
// # Go function folders
//
// A sub-folder with a function.json that also holds Go sources (a package
// main that builds for GOOS=wasip1 GOARCH=wasm) is compiled into the file
// named by function.json's "scriptFile" ("main.wasm" when unset). When the
// package depends, directly or through other packages, on the Go SDK
// (package github.com/wasmworker/wasmworker/abi/sdk/go, SDKImportPath) it is
// an ABI module, built as a WASI reactor (-buildmode=c-shared); otherwise it
// is a command-mode program (a plain build with a main function).
//
// # In-code Go apps
//
// Go sources of a package main at the app root that depends on the Go SDK
// are built as a reactor into app.wasm (the app module the worker indexes,
// abi/SPEC.md §2.3), or, when function.json files name one module directly
// in the app root ("scriptFile": "../functions.wasm"), into that module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -o app.wasm .
//
// Go builds use "-trimpath -buildvcs=false", so the same sources give the
// same bytes, and are skipped, in place, when the output is newer than every
// .go, go.mod and go.sum file that can affect it: in the app, and in the
// folders of the packages it imports from outside the app (such as the SDK
// a replace directive points at).
//
// # Build commands: wasmfunc.json
//
// An app whose root holds wasmfunc.json (ConfigFile) declares how its module
// is built, in any language:
//
//	{
//	  "build": "clang --target=wasm32-wasi -mexec-model=reactor -O2 -o app.wasm app.c sdk/wasmworker.c",
//	  "watch": ["*.c", "*.h"]
//	}
//
// "build" (required) is a shell command, run with "sh -c" in the app folder,
// that must produce the app's .wasm module(s) (by convention app.wasm at the
// root). "watch" (optional) lists globs, relative to the app folder, of the
// files whose changes call for a rebuild (see Config.Matches for the
// syntax); by default every file of the app but .wasm files, hidden files
// and folders, and the folders of DefaultIgnoredDirs (node_modules, target,
// build, ...). No other key is allowed. With wasmfunc.json, Go sources at
// the app root are left to the command (Go function folders are still built
// as above).
//
// Build runs the command every time. A Builder (what `wasmfunc start` uses)
// runs it on its first build of an app, and after that only when an input,
// or one of the app root's .wasm files, changed since its last successful
// run: modification times cannot tell safely whether the command's outputs
// are up to date (they may depend on files outside the app), and the
// command's own tool (cargo, make, asc) knows what to recompile. A failing
// command's error quotes the command and the end of its output.
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
	"sync"
	"time"
)

// DefaultScriptFile is the script file a Go function is built into when its
// function.json names none.
const DefaultScriptFile = "main.wasm"

// AppModule is the file an in-code Go app at the app root is built into
// (unless function.json files name another module in the app root).
const AppModule = "app.wasm"

// Build copies the function app at src to dst (dst may equal src: build in
// place) and builds its modules there (see the package documentation):
// every function folder that holds Go sources, Go sources at the app root,
// and the command of wasmfunc.json. Other files (host.json,
// local.settings.json, function.json, prebuilt .wasm) are copied as they
// are. It returns what it built, sorted: the names of the Go functions,
// the root module's file name ("app.wasm"), and the root .wasm files the
// build command changed.
//
// An in-place build skips a Go module whose output is newer than every Go
// input that can affect it, so a second run is instant; a build into
// another folder always compiles. Each Go function is compiled from its
// source folder, so it uses the Go module that encloses src; outside any
// module, a function may import only the standard library. A failed module
// does not stop the others: the error joins one error per failure, each
// naming the function or the command and quoting its output.
//
// Build always runs wasmfunc.json's command; a Builder runs it only when
// its inputs changed.
func Build(ctx context.Context, src, dst string) ([]string, error) {
	var b Builder
	return b.Build(ctx, src, dst)
}

// Builder builds apps like Build, remembering what the build command of
// each app's wasmfunc.json last saw, so that a rebuild with unchanged inputs
// does not run it again. The zero value is ready to use; a Builder is safe
// for concurrent use.
type Builder struct {
	// Notify, when set, is called with a line of text before a build
	// command runs (such a command may take a while).
	Notify func(msg string)

	mu   sync.Mutex
	last map[string]string // dst folder → input digest of the last successful command run
}

// Build builds the app at src into dst; see the package function Build.
func (b *Builder) Build(ctx context.Context, src, dst string) ([]string, error) {
	src, dst, err := checkDirs(src, dst)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(src)
	if err != nil {
		return nil, err
	}
	fns, err := findGoFunctions(src)
	if err != nil {
		return nil, err
	}
	var root *goFunction
	if cfg == nil {
		if root, err = findRootApp(ctx, src); err != nil {
			return nil, err
		}
	}
	inPlace := src == dst
	if !inPlace {
		// The outputs of Go builds are rebuilt, so a stale copy in src is
		// not worth copying.
		skip := map[string]bool{}
		for _, f := range fns {
			if f.err == nil {
				skip[filepath.Join(f.name, f.script)] = true
			}
		}
		if root != nil && root.err == nil {
			skip[root.script] = true
		}
		if err := copyTree(ctx, src, dst, skip); err != nil {
			return nil, err
		}
	}
	var shared time.Time // newest build input outside the function folders
	if inPlace && (len(fns) > 0 || root != nil) {
		if shared, err = newestSharedInput(src, fns); err != nil {
			return nil, err
		}
	}
	var built []string
	var errs []error
	targets := fns
	if root != nil {
		targets = append(targets, *root)
	}
	for _, f := range targets {
		if err := ctx.Err(); err != nil {
			return built, errors.Join(append(errs, fmt.Errorf("appbuild: %w", err))...)
		}
		if f.err != nil {
			errs = append(errs, f.err)
			continue
		}
		dir := filepath.Join(src, f.name)
		out := filepath.Join(dst, f.name, f.script)
		pkg := f.pkg
		if pkg == nil {
			info := inspectPackage(ctx, dir)
			pkg = &info
		}
		// When its dependencies cannot be listed, the module is checked
		// against the app's own Go files only (the compiler, if it has to
		// run, says what is wrong).
		if inPlace {
			fresh, err := upToDate(dir, out, shared, pkg.outside(src), f.name == "")
			if err != nil {
				errs = append(errs, fmt.Errorf("appbuild: %s: %w", f.label(), err))
				continue
			}
			if fresh {
				continue
			}
		}
		if err := compile(ctx, dir, out, f.name == "" || pkg.reactor); err != nil {
			errs = append(errs, fmt.Errorf("appbuild: %s: %w", f.label(), err))
			continue
		}
		if f.name == "" {
			built = append(built, f.script)
		} else {
			built = append(built, f.name)
		}
	}
	if cfg != nil {
		if err := ctx.Err(); err != nil {
			return built, errors.Join(append(errs, fmt.Errorf("appbuild: %w", err))...)
		}
		changed, err := b.runConfig(ctx, cfg, dst)
		if err != nil {
			errs = append(errs, err)
		}
		built = append(built, changed...)
	}
	sort.Strings(built)
	return built, errors.Join(errs...)
}

// runConfig runs the build command of cfg in app unless its inputs are the
// ones of the last successful run, and returns the root .wasm files whose
// content the run changed.
func (b *Builder) runConfig(ctx context.Context, cfg *Config, app string) ([]string, error) {
	inputs, wasmBefore, err := cfg.inputDigest(app)
	if err != nil {
		return nil, fmt.Errorf("appbuild: %s: %w", ConfigFile, err)
	}
	b.mu.Lock()
	last, ran := b.last[app]
	b.mu.Unlock()
	if ran && last == inputs+wasmDigest(wasmBefore) {
		return nil, nil
	}
	if b.Notify != nil {
		b.Notify(fmt.Sprintf("running the build command of %s: %s", ConfigFile, cfg.Build))
	}
	if err := cfg.runCommand(ctx, app); err != nil {
		b.mu.Lock()
		delete(b.last, app)
		b.mu.Unlock()
		return nil, fmt.Errorf("appbuild: %w", err)
	}
	_, wasmAfter, err := cfg.inputDigest(app)
	if err != nil {
		return nil, fmt.Errorf("appbuild: %s: %w", ConfigFile, err)
	}
	b.mu.Lock()
	if b.last == nil {
		b.last = map[string]string{}
	}
	// The inputs as the command found them (a change made while it ran
	// calls for another run), and the modules as it left them (a module
	// deleted or replaced since calls for one too).
	b.last[app] = inputs + wasmDigest(wasmAfter)
	b.mu.Unlock()
	var changed []string
	for name, sum := range wasmAfter {
		if wasmBefore[name] != sum {
			changed = append(changed, name)
		}
	}
	return changed, nil
}

// goFunction is a function folder that holds Go sources, or the app root
// when it holds an in-code Go app.
type goFunction struct {
	name   string   // folder name = function name; "" for the app root
	script string   // scriptFile, cleaned, relative to the folder
	err    error    // why the function cannot be built
	pkg    *pkgInfo // what inspectPackage found, when it already ran
}

// label names the function, or the root module, in errors.
func (f goFunction) label() string {
	if f.name == "" {
		return "the Go app at the app root (" + f.script + ")"
	}
	return "function " + f.name
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

// rawScriptFile returns the scriptFile of the function.json in dir, as
// written ("" when unset).
func rawScriptFile(dir string) (string, error) {
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
	if meta.ScriptFile == nil {
		return "", nil
	}
	return *meta.ScriptFile, nil
}

// scriptFile reads function.json in dir and returns its scriptFile, checked
// to be a .wasm file inside the function folder.
func scriptFile(dir string) (string, error) {
	name, err := rawScriptFile(dir)
	if err != nil {
		return "", err
	}
	if name == "" {
		return DefaultScriptFile, nil
	}
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

// upToDate reports whether the output file out is newer than the Go
// sources in dir (all of them under dir, unless justDir: then only those of
// dir itself, for an app root whose sub-folders hold other things), than
// shared, the newest shared input, and than the Go files of the folders in
// ext (packages imported from outside the app).
func upToDate(dir, out string, shared time.Time, ext []string, justDir bool) (bool, error) {
	info, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var newest time.Time
	if !justDir {
		if newest, err = newestInput(dir, nil); err != nil {
			return false, fmt.Errorf("check sources: %w", err)
		}
	}
	if shared.After(newest) {
		newest = shared
	}
	for _, d := range append([]string{dir}, ext...) {
		t, err := newestInDir(d)
		if err != nil {
			return false, fmt.Errorf("check sources: %w", err)
		}
		if t.After(newest) {
			newest = t
		}
	}
	return info.ModTime().After(newest), nil
}

// newestInDir returns the newest modification time of the .go, go.mod and
// go.sum files directly in dir.
func newestInDir(dir string) (time.Time, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || (!strings.HasSuffix(n, ".go") && n != "go.mod" && n != "go.sum") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return time.Time{}, err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
	}
	return newest, nil
}

// compile builds the Go package in dir into the file out, replacing it
// only once the build succeeded; as a WASI reactor (-buildmode=c-shared)
// when reactor is set.
func compile(ctx context.Context, dir, out string, reactor bool) error {
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

	args := []string{"build"}
	if reactor {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, "-trimpath", "-buildvcs=false", "-o", tmp.Name())
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
		mode := ""
		if reactor {
			mode = " -buildmode=c-shared"
		}
		return fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build%s failed (%w):\n%s", mode, err, strings.TrimSpace(string(msg)))
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
