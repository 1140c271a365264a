package appbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// SDKImportPath is the import path of the Go SDK of the guest ABI. A Go
// package that depends on it is an ABI module, built as a WASI reactor.
const SDKImportPath = "github.com/wasmworker/wasmworker/abi/sdk/go"

// wasmContext is go/build's view of GOOS=wasip1 GOARCH=wasm, so that file
// names and build constraints select the files a wasm build compiles.
func wasmContext() build.Context {
	c := build.Default
	c.GOOS = "wasip1"
	c.GOARCH = "wasm"
	c.CgoEnabled = false
	return c
}

// pkgInfo is what a build needs to know of a Go package.
type pkgInfo struct {
	// reactor is set when the package depends on the Go SDK.
	reactor bool
	// ext are the folders of the non-standard packages it depends on,
	// itself included (as `go list -deps` reports them).
	ext []string
	// listErr is why the dependencies could not be listed (ext is then
	// empty, and reactor says whether the package imports the SDK itself).
	listErr error
}

// outside returns the folders of ext that are not inside app (those inside
// are covered by the app-wide check of upToDate).
func (p pkgInfo) outside(app string) []string {
	var out []string
	for _, d := range p.ext {
		if d != app && !strings.HasPrefix(d, app+string(filepath.Separator)) {
			out = append(out, d)
		}
	}
	return out
}

// inspectPackage reads the imports of the Go package in dir (for
// GOOS=wasip1 GOARCH=wasm). When it imports only the standard library and
// the SDK, that is enough; otherwise `go list -deps` tells whether it
// depends on the SDK through another package, and where its dependencies
// live.
func inspectPackage(ctx context.Context, dir string) pkgInfo {
	wc := wasmContext()
	pkg, err := wc.ImportDir(dir, 0)
	if err != nil {
		return pkgInfo{listErr: err}
	}
	var info pkgInfo
	needList := false
	for _, imp := range pkg.Imports {
		switch {
		case imp == SDKImportPath:
			info.reactor = true
			needList = true // the SDK's folder is an input
		case !isStandard(wc, imp):
			needList = true
		}
	}
	if !needList {
		return info
	}
	deps, err := listDeps(ctx, dir)
	if err != nil {
		info.listErr = err
		return info
	}
	for _, d := range deps {
		if d.importPath == SDKImportPath {
			info.reactor = true
		}
		if !d.standard && d.dir != "" {
			info.ext = append(info.ext, d.dir)
		}
	}
	return info
}

// isStandard reports whether the import path names a package of the Go
// distribution.
func isStandard(wc build.Context, imp string) bool {
	if imp == "C" {
		return true
	}
	first, _, _ := strings.Cut(imp, "/")
	if strings.Contains(first, ".") {
		return false
	}
	st, err := os.Stat(filepath.Join(wc.GOROOT, "src", filepath.FromSlash(imp)))
	return err == nil && st.IsDir()
}

// dep is one line of `go list -deps`.
type dep struct {
	importPath, dir string
	standard        bool
}

// listDeps runs `go list -deps` on the package in dir for GOOS=wasip1
// GOARCH=wasm.
func listDeps(ctx context.Context, dir string) ([]dep, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the Go toolchain is needed to build Go sources: %w", err)
	}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{.Standard}}"}
	if inModule(dir) {
		args = append(args, ".")
	} else {
		files, err := goFiles(dir)
		if err != nil {
			return nil, err
		}
		args = append(args, files...)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var deps []dep
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			continue
		}
		deps = append(deps, dep{importPath: parts[0], dir: parts[1], standard: parts[2] == "true"})
	}
	return deps, nil
}

// findRootApp returns the in-code Go app at the root of app: a package
// main (for GOOS=wasip1 GOARCH=wasm) that depends on the Go SDK, to be
// built into the one module function.json files name in the app root, else
// into app.wasm. It returns nil when the root holds no such package.
func findRootApp(ctx context.Context, app string) (*goFunction, error) {
	hasGo, err := holdsGo(app)
	if err != nil {
		return nil, fmt.Errorf("appbuild: read function app: %w", err)
	}
	if !hasGo {
		return nil, nil
	}
	wc := wasmContext()
	pkg, err := wc.ImportDir(app, 0)
	var noGo *build.NoGoError
	if errors.As(err, &noGo) {
		return nil, nil // constraints exclude every file for wasip1
	}
	if err != nil || pkg.Name != "main" {
		// Not a wasm main package (a library the functions share, or
		// sources for another platform): nothing to build at the root.
		return nil, nil
	}
	info := inspectPackage(ctx, app)
	if !info.reactor {
		return nil, nil
	}
	root := &goFunction{script: AppModule, pkg: &info}
	named, err := rootModulesNamed(app)
	if err != nil {
		return nil, err
	}
	switch len(named) {
	case 0:
	case 1:
		root.script = named[0]
	default:
		root.err = fmt.Errorf("appbuild: the Go app at the app root builds one module, but function.json files name several in the app root: %s", strings.Join(named, ", "))
	}
	return root, nil
}

// rootModulesNamed lists, sorted, the .wasm files directly in app that the
// function.json of a function folder without Go sources names as its
// scriptFile (e.g. "../functions.wasm").
func rootModulesNamed(app string) ([]string, error) {
	entries, err := os.ReadDir(app)
	if err != nil {
		return nil, fmt.Errorf("appbuild: read function app: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(app, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "function.json")); err != nil {
			continue
		}
		if hasGo, err := holdsGo(dir); err != nil || hasGo {
			continue
		}
		script, err := rawScriptFile(dir)
		if err != nil || script == "" {
			continue
		}
		p := filepath.Clean(filepath.Join(e.Name(), filepath.FromSlash(script)))
		if filepath.Dir(p) == "." && strings.EqualFold(filepath.Ext(p), ".wasm") {
			seen[p] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
