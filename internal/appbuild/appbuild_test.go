package appbuild

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// exampleApp is the bundled example function app.
const exampleApp = "../../examples-wasm/app"

var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

func assertWasm(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("script file: %v", err)
	}
	if !bytes.HasPrefix(b, wasmMagic) {
		t.Fatalf("%s does not start with the wasm magic and version: % x", path, b[:min(len(b), 8)])
	}
}

// writeApp creates a function app in a temporary folder (outside any Go
// module) from a map of relative path to content.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const helloGo = `//go:build wasip1

package main

import "fmt"

func main() { fmt.Println("{}") }
`

func TestBuildExampleAppThenInPlaceIsNoop(t *testing.T) {
	ctx := context.Background()
	dst := t.TempDir()
	built, err := Build(ctx, exampleApp, dst)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CallHello", "Enqueue", "HttpHello", "ProcessJob", "Tick"}
	if !slices.Equal(built, want) {
		t.Fatalf("built %v, want %v", built, want)
	}
	for _, fn := range want {
		assertWasm(t, filepath.Join(dst, fn, "main.wasm"))
		for _, f := range []string{"function.json", "main.go"} {
			if _, err := os.Stat(filepath.Join(dst, fn, f)); err != nil {
				t.Errorf("not copied: %v", err)
			}
		}
	}
	for _, f := range []string{"host.json", "local.settings.json"} {
		want, _ := os.ReadFile(filepath.Join(exampleApp, f))
		got, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not copied unchanged (err %v)", f, err)
		}
	}

	again, err := Build(ctx, dst, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second in-place build rebuilt %v, want nothing", again)
	}
}

func TestInPlaceRebuildsOnlyChangedFunction(t *testing.T) {
	ctx := context.Background()
	app := writeApp(t, map[string]string{
		"host.json":          `{"version":"2.0"}`,
		"A/function.json":    `{"bindings":[]}`,
		"A/main.go":          helloGo,
		"B/function.json":    `{"scriptFile":"bin/b.wasm","bindings":[]}`,
		"B/main.go":          helloGo,
		"Pre/function.json":  `{"scriptFile":"pre.wasm","bindings":[]}`,
		"Pre/pre.wasm":       "\x00asm\x01\x00\x00\x00",
		"NotAFunction/x.go":  "package x",
		"NotAFunction/a.txt": "kept",
	})
	built, err := Build(ctx, app, app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"A", "B"}) {
		t.Fatalf("built %v, want [A B]", built)
	}
	assertWasm(t, filepath.Join(app, "A", DefaultScriptFile))
	assertWasm(t, filepath.Join(app, "B", "bin", "b.wasm"))

	// Make B's source newer than its script file.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(app, "B", "main.go"), future, future); err != nil {
		t.Fatal(err)
	}
	built, err = Build(ctx, app, app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"B"}) {
		t.Fatalf("after touching B/main.go built %v, want [B]", built)
	}

	// A shared package outside the function folders affects every function.
	later := future.Add(time.Hour)
	if err := os.Chtimes(filepath.Join(app, "NotAFunction", "x.go"), later, later); err != nil {
		t.Fatal(err)
	}
	built, err = Build(ctx, app, app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"A", "B"}) {
		t.Fatalf("after touching a shared .go file built %v, want [A B]", built)
	}
}

func TestSyntaxErrorNamesFunction(t *testing.T) {
	app := writeApp(t, map[string]string{
		"host.json":            `{"version":"2.0"}`,
		"Good/function.json":   `{"scriptFile":"main.wasm","bindings":[]}`,
		"Good/main.go":         helloGo,
		"Broken/function.json": `{"scriptFile":"main.wasm","bindings":[]}`,
		"Broken/main.go":       "//go:build wasip1\n\npackage main\n\nfunc main() {\n\tx := \n}\n",
	})
	dst := t.TempDir()
	built, err := Build(context.Background(), app, dst)
	if err == nil {
		t.Fatal("Build succeeded on a syntax error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "function Broken") {
		t.Errorf("error does not name the function: %s", msg)
	}
	if !strings.Contains(msg, "main.go:7") || !strings.Contains(msg, "syntax error") {
		t.Errorf("error does not quote the compiler output: %s", msg)
	}
	if !slices.Equal(built, []string{"Good"}) {
		t.Errorf("built %v, want the other function [Good] built anyway", built)
	}
	assertWasm(t, filepath.Join(dst, "Good", "main.wasm"))
	if _, err := os.Stat(filepath.Join(dst, "Broken", "main.wasm")); err == nil {
		t.Error("a failed build left a script file")
	}
}

func TestBadFunctionJSON(t *testing.T) {
	cases := map[string]string{
		"not json":        `{"scriptFile":`,
		"escapes folder":  `{"scriptFile":"../other/main.wasm"}`,
		"absolute":        `{"scriptFile":"/tmp/main.wasm"}`,
		"not a wasm file": `{"scriptFile":"index.js"}`,
	}
	for name, fj := range cases {
		t.Run(name, func(t *testing.T) {
			app := writeApp(t, map[string]string{"F/function.json": fj, "F/main.go": helloGo})
			built, err := Build(context.Background(), app, app)
			if err == nil || !strings.Contains(err.Error(), "function F") {
				t.Fatalf("error %v, want one naming function F", err)
			}
			if len(built) != 0 {
				t.Errorf("built %v", built)
			}
		})
	}
}

func TestCopiesPrebuiltAndOtherFiles(t *testing.T) {
	app := writeApp(t, map[string]string{
		"host.json":         `{"version":"2.0"}`,
		"Pre/function.json": `{"scriptFile":"pre.wasm","bindings":[]}`,
		"Pre/pre.wasm":      "\x00asm\x01\x00\x00\x00prebuilt",
		"lib/readme.txt":    "shared",
		"Go/function.json":  `{"bindings":[]}`,
		"Go/main.go":        helloGo,
		"Go/main.wasm":      "stale, must be replaced",
	})
	dst := filepath.Join(t.TempDir(), "out")
	built, err := Build(context.Background(), app, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"Go"}) {
		t.Fatalf("built %v, want [Go]", built)
	}
	for _, f := range []string{"host.json", "Pre/function.json", "Pre/pre.wasm", "lib/readme.txt"} {
		want, _ := os.ReadFile(filepath.Join(app, f))
		got, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not copied unchanged (err %v)", f, err)
		}
	}
	assertWasm(t, filepath.Join(dst, "Go", "main.wasm"))
}

// TestReproducible builds the same sources from two different folders and
// expects identical bytes (-trimpath keeps folder names out of the module).
func TestReproducible(t *testing.T) {
	app := writeApp(t, map[string]string{"F/function.json": `{}`, "F/main.go": helloGo})
	first, second := t.TempDir(), t.TempDir()
	if _, err := Build(context.Background(), app, first); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(first, "F", "main.wasm")); err != nil {
		t.Fatal(err)
	}
	// Build from the copy, so the sources sit in another folder.
	if _, err := Build(context.Background(), first, second); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), app, app); err != nil {
		t.Fatal(err)
	}
	a, errA := os.ReadFile(filepath.Join(app, "F", "main.wasm"))
	b, errB := os.ReadFile(filepath.Join(second, "F", "main.wasm"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same sources from different folders differ")
	}
}

func TestRejectsBadFolders(t *testing.T) {
	app := writeApp(t, map[string]string{"host.json": `{}`})
	if _, err := Build(context.Background(), app, filepath.Join(app, "out")); err == nil || !strings.Contains(err.Error(), "inside the function app") {
		t.Errorf("dst inside src: error %v", err)
	}
	if _, err := Build(context.Background(), filepath.Join(app, "missing"), t.TempDir()); err == nil {
		t.Error("missing app: no error")
	}
	if _, err := Build(context.Background(), filepath.Join(app, "host.json"), t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("file as app: error %v", err)
	}
}

func TestCanceled(t *testing.T) {
	app := writeApp(t, map[string]string{"F/function.json": `{}`, "F/main.go": helloGo})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	built, err := Build(ctx, app, app)
	if err == nil || len(built) != 0 {
		t.Fatalf("canceled build: built %v, error %v", built, err)
	}
	if _, err := os.Stat(filepath.Join(app, "F", "main.wasm")); err == nil {
		t.Error("canceled build wrote a script file")
	}
}
