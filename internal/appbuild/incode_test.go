package appbuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// fakeSDK is a stand-in for the Go SDK module: a package at SDKImportPath
// (so these tests do not depend on the real SDK's state) with one
// wasmexport, as the SDK has.
const fakeSDK = `package wasmworker

// Hello is called by the test functions.
func Hello() int32 { return 1 }
`

// writeSDKApp writes files into a fresh app folder that is a Go module
// requiring a fake SDK module (in a sibling folder, through a replace
// directive, as an app outside this repository does), and returns the
// app folder and the SDK folder.
func writeSDKApp(t *testing.T, files map[string]string) (app, sdk string) {
	t.Helper()
	base := t.TempDir()
	sdk = filepath.Join(base, "sdk")
	app = filepath.Join(base, "app")
	write := func(dir string, files map[string]string) {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(sdk, map[string]string{"go.mod": "module " + SDKImportPath + "\n\ngo 1.24\n", "sdk.go": fakeSDK})
	gomod := "module example.com/app\n\ngo 1.24\n\nrequire " + SDKImportPath + " v0.0.0\n\nreplace " + SDKImportPath + " => ../sdk\n"
	write(app, map[string]string{"go.mod": gomod, "host.json": `{"version":"2.0"}`})
	write(app, files)
	return app, sdk
}

const sdkMain = `package main

import ww "` + SDKImportPath + `"

func main() {}

//go:wasmexport run
func run() int32 { return ww.Hello() }
`

// exports lists the function exports of the module at path.
func exports(t *testing.T, path string) []string {
	t.Helper()
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	var names []string
	for n := range m.ExportedFunctions() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func assertReactor(t *testing.T, path string) {
	t.Helper()
	ex := exports(t, path)
	if !slices.Contains(ex, "_initialize") || slices.Contains(ex, "_start") || !slices.Contains(ex, "run") {
		t.Fatalf("%s exports %v; want a reactor (_initialize, run, no _start)", path, ex)
	}
}

// TestSDKFunctionFolderIsReactor: a function folder importing the SDK,
// directly or through a package of its module, is built with
// -buildmode=c-shared; one that does not stays a command.
func TestSDKFunctionFolderIsReactor(t *testing.T) {
	app, _ := writeSDKApp(t, map[string]string{
		"Direct/function.json":   `{"scriptFile":"f.wasm","entryPoint":"run","bindings":[]}`,
		"Direct/main.go":         sdkMain,
		"Indirect/function.json": `{"scriptFile":"f.wasm","entryPoint":"run","bindings":[]}`,
		"Indirect/main.go": `package main

import "example.com/app/lib"

func main() {}

//go:wasmexport run
func run() int32 { return lib.Call() }
`,
		"lib/lib.go":            "package lib\n\nimport ww \"" + SDKImportPath + "\"\n\n// Call calls the SDK.\nfunc Call() int32 { return ww.Hello() }\n",
		"Command/function.json": `{"bindings":[]}`,
		"Command/main.go":       helloGo,
	})
	built, err := Build(context.Background(), app, app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"Command", "Direct", "Indirect"}) {
		t.Fatalf("built %v", built)
	}
	assertReactor(t, filepath.Join(app, "Direct", "f.wasm"))
	assertReactor(t, filepath.Join(app, "Indirect", "f.wasm"))
	if ex := exports(t, filepath.Join(app, "Command", "main.wasm")); !slices.Contains(ex, "_start") {
		t.Errorf("Command exports %v; want a command (_start)", ex)
	}
}

// TestInCodeGoApp: a main package at the app root that imports the SDK
// becomes app.wasm, a reactor; a second build is skipped, and a change of
// the SDK outside the app (reached through the replace directive) rebuilds.
func TestInCodeGoApp(t *testing.T) {
	ctx := context.Background()
	app, sdk := writeSDKApp(t, map[string]string{"main.go": sdkMain})
	built, err := Build(ctx, app, app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{AppModule}) {
		t.Fatalf("built %v, want [%s]", built, AppModule)
	}
	assertReactor(t, filepath.Join(app, AppModule))

	if built, err = Build(ctx, app, app); err != nil || len(built) != 0 {
		t.Fatalf("second build: built %v, error %v; want nothing", built, err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(sdk, "sdk.go"), future, future); err != nil {
		t.Fatal(err)
	}
	if built, err = Build(ctx, app, app); err != nil || !slices.Equal(built, []string{AppModule}) {
		t.Fatalf("after touching the SDK: built %v, error %v; want [%s]", built, err, AppModule)
	}

	// Into another folder: the copy holds the module, not a stale one.
	dst := filepath.Join(t.TempDir(), "out")
	if built, err = Build(ctx, app, dst); err != nil || !slices.Equal(built, []string{AppModule}) {
		t.Fatalf("build into %s: built %v, error %v", dst, built, err)
	}
	assertReactor(t, filepath.Join(dst, AppModule))
}

// TestRootModuleNamedByFunctionJSON: root Go sources build into the one
// root module function.json files name ("../functions.wasm"), as
// examples-wasm/abi/go is laid out.
func TestRootModuleNamedByFunctionJSON(t *testing.T) {
	app, _ := writeSDKApp(t, map[string]string{
		"main.go":           sdkMain,
		"A/function.json":   `{"scriptFile":"../functions.wasm","entryPoint":"run","bindings":[]}`,
		"B/function.json":   `{"scriptFile":"../functions.wasm","entryPoint":"run","bindings":[]}`,
		"Pre/function.json": `{"scriptFile":"pre.wasm","bindings":[]}`,
	})
	built, err := Build(context.Background(), app, app)
	if err != nil || !slices.Equal(built, []string{"functions.wasm"}) {
		t.Fatalf("built %v, error %v; want [functions.wasm]", built, err)
	}
	assertReactor(t, filepath.Join(app, "functions.wasm"))
	if _, err := os.Stat(filepath.Join(app, AppModule)); err == nil {
		t.Errorf("%s built too", AppModule)
	}

	if err := os.WriteFile(filepath.Join(app, "B", "function.json"), []byte(`{"scriptFile":"../other.wasm"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), app, app); err == nil || !strings.Contains(err.Error(), "functions.wasm, other.wasm") {
		t.Errorf("two root modules named: error %v", err)
	}
}

// TestRootWithoutSDKIsNotBuilt: Go sources at the root that are not a main
// package depending on the SDK (a shared library, a tool for another
// platform) build nothing at the root.
func TestRootWithoutSDKIsNotBuilt(t *testing.T) {
	cases := map[string]string{
		"library":    "package shared\n\n// X is shared.\nconst X = 1\n",
		"plain main": helloGo,
		"other OS":   "//go:build linux\n\npackage main\n\nimport _ \"" + SDKImportPath + "\"\n\nfunc main() {}\n",
		"test only":  "package main\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			file := "x.go"
			if name == "test only" {
				file = "x_test.go"
			}
			app, _ := writeSDKApp(t, map[string]string{file: src})
			built, err := Build(context.Background(), app, app)
			if err != nil || len(built) != 0 {
				t.Fatalf("built %v, error %v; want nothing", built, err)
			}
		})
	}
}

// TestInCodeGoAppCompileError quotes the compiler and names the root.
func TestInCodeGoAppCompileError(t *testing.T) {
	app, _ := writeSDKApp(t, map[string]string{"main.go": sdkMain + "\nfunc broken() { x := }\n"})
	_, err := Build(context.Background(), app, app)
	if err == nil || !strings.Contains(err.Error(), "app root") || !strings.Contains(err.Error(), "-buildmode=c-shared") ||
		!strings.Contains(err.Error(), "main.go:10") {
		t.Fatalf("error %v; want one naming the app root and quoting the compiler", err)
	}
}

// TestFunctionFolderModule: a function folder that is a Go module of its
// own, taking the SDK through its own go.mod, is built as a reactor.
func TestFunctionFolderModule(t *testing.T) {
	app, _ := writeSDKApp(t, map[string]string{
		"Own/function.json": `{"entryPoint":"run","bindings":[]}`,
		"Own/main.go":       sdkMain,
		"Own/go.mod":        "module own\n\ngo 1.24\n\nrequire " + SDKImportPath + " v0.0.0\n\nreplace " + SDKImportPath + " => ../../sdk\n",
	})
	if err := os.Remove(filepath.Join(app, "go.mod")); err != nil {
		t.Fatal(err)
	}
	built, err := Build(context.Background(), app, app)
	if err != nil || !slices.Equal(built, []string{"Own"}) {
		t.Fatalf("built %v, error %v; want [Own]", built, err)
	}
	assertReactor(t, filepath.Join(app, "Own", DefaultScriptFile))
}
