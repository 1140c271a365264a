package scaffold

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// testTemplates is a tiny template tree: two languages, a rendered file, a
// copied file with template syntax in it, a nested folder, a script.
var testTemplates = fstest.MapFS{
	"go/host.json":           {Data: []byte(`{"version": "2.0"}`)},
	"go/go.mod.tmpl":         {Data: []byte("module {{.Name}}\n\nreplace x => {{.SDK}}\n// root {{.Root}}\n")},
	"go/README.md":           {Data: []byte("literal {{.Name}}\n")},
	"go/.gitignore":          {Data: []byte("app.wasm\n")},
	"go/src/lib/lib.go.tmpl": {Data: []byte("package lib // {{.Name}}\n")},
	"go/build.sh":            {Data: []byte("#!/bin/sh\n")},
	"rust/Cargo.toml.tmpl":   {Data: []byte("name = \"{{.Name}}\"\n")},
	"broken/x.tmpl":          {Data: []byte("{{.Nope}}")},
	"README.md":              {Data: []byte("not a language")},
}

// fakeRoot makes a folder that looks like a wasmworker checkout.
func fakeRoot(t *testing.T, langs ...string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "abi"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "abi", "SPEC.md"), []byte("# spec"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range append([]string{""}, langs...) {
		if err := os.MkdirAll(filepath.Join(root, "abi", "sdk", l), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLanguages(t *testing.T) {
	langs, err := Languages(testTemplates)
	if err != nil || !slices.Equal(langs, []string{"broken", "go", "rust"}) {
		t.Fatalf("Languages = %v, %v", langs, err)
	}
	// The embedded tree: whatever templates exist, README.md is not one.
	langs, err = Languages(nil)
	if err != nil || slices.Contains(langs, "README.md") {
		t.Fatalf("Languages(nil) = %v, %v", langs, err)
	}
}

func TestNewRendersAndCopies(t *testing.T) {
	root := fakeRoot(t, "go", "rust")
	dir := filepath.Join(t.TempDir(), "my-app")
	files, err := New(dir, "go", Options{Root: root, Templates: testTemplates})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "README.md", "build.sh", "go.mod", "host.json", "src/lib/lib.go"}
	if !slices.Equal(files, want) {
		t.Fatalf("created %v, want %v", files, want)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sdk := filepath.Join(root, "abi", "sdk", "go")
	if got, want := read("go.mod"), "module my-app\n\nreplace x => "+sdk+"\n// root "+root+"\n"; got != want {
		t.Errorf("go.mod = %q, want %q", got, want)
	}
	if got := read("README.md"); got != "literal {{.Name}}\n" {
		t.Errorf("a file without .tmpl was rendered: %q", got)
	}
	if got := read("src/lib/lib.go"); got != "package lib // my-app\n" {
		t.Errorf("nested template: %q", got)
	}
	for name, mode := range map[string]os.FileMode{"go.mod": 0o644, "build.sh": 0o755, ".gitignore": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", name, st.Mode().Perm(), err, mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod.tmpl")); err == nil {
		t.Error("the .tmpl file itself was written")
	}
}

func TestNewRefusals(t *testing.T) {
	root := fakeRoot(t, "go") // no rust SDK folder
	opts := Options{Root: root, Templates: testTemplates}

	full := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(full, "go", opts); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(full, "keep.txt")); string(b) != "mine" {
		t.Error("the non-empty folder was changed")
	}
	fresh := func() string { return filepath.Join(t.TempDir(), "app") }
	if _, err := New(fresh(), "cobol", opts); err == nil || !strings.Contains(err.Error(), "have: broken, go, rust") {
		t.Errorf("unknown language: %v", err)
	}
	if _, err := New(fresh(), "rust", opts); err == nil || !strings.Contains(err.Error(), "abi/sdk/rust") {
		t.Errorf("missing SDK folder: %v", err)
	}
	if _, err := New(fresh(), "go", Options{Root: t.TempDir(), Templates: testTemplates}); err == nil || !strings.Contains(err.Error(), "not a wasmworker checkout") {
		t.Errorf("not a checkout: %v", err)
	}
	if _, err := New(fresh(), "go", Options{Templates: testTemplates}); err == nil {
		t.Error("no root: no error")
	}
	if _, err := New(filepath.Join(t.TempDir(), "9 lives"), "go", opts); err == nil || !strings.Contains(err.Error(), "must start with a letter") {
		t.Errorf("bad name: %v", err)
	}

	// A template that fails to render leaves nothing behind.
	if err := os.MkdirAll(filepath.Join(root, "abi", "sdk", "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := fresh()
	if _, err := New(dir, "broken", opts); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("broken template: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a failed New left the folder it created")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(empty, "broken", opts); err == nil {
		t.Error("broken template into an empty folder: no error")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a failed New left %d entries in the empty folder", len(entries))
	}
}

func TestFindRoot(t *testing.T) {
	root := fakeRoot(t, "rust")
	t.Setenv(EnvRoot, "")
	if got, err := FindRoot(filepath.Join(root, "abi", "sdk", "rust"), ""); err != nil || got != root {
		t.Errorf("FindRoot(flag inside the checkout) = %q, %v; want %q", got, err, root)
	}
	if _, err := FindRoot(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "not in a wasmworker checkout") {
		t.Errorf("FindRoot(flag elsewhere): %v", err)
	}
	if got, err := FindRoot("", filepath.Join(root, "abi")); err != nil || got != root {
		t.Errorf("FindRoot from a folder inside = %q, %v", got, err)
	}
	outside := t.TempDir()
	if _, err := FindRoot("", outside); err == nil || !strings.Contains(err.Error(), "-sdk PATH") {
		t.Errorf("FindRoot outside any checkout: %v", err)
	}
	t.Setenv(EnvRoot, root)
	if got, err := FindRoot("", outside); err != nil || got != root {
		t.Errorf("FindRoot with $%s = %q, %v", EnvRoot, got, err)
	}
	t.Setenv(EnvRoot, outside)
	if _, err := FindRoot("", ""); err == nil || !strings.Contains(err.Error(), EnvRoot) {
		t.Errorf("FindRoot with a wrong $%s: %v", EnvRoot, err)
	}
}

// TestSDKPathWithSpacesAndQuotes renders the embedded templates from a
// checkout whose path holds a space and quotes: each file that names the
// SDK still names it exactly (go.mod as go reads it, package.json as JSON,
// the C build command as the shell splits it).
func TestSDKPathWithSpacesAndQuotes(t *testing.T) {
	parent := filepath.Join(t.TempDir(), `sp ace 'q" x`)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "wasmworker")
	if err := os.Rename(fakeRoot(t, "go", "c", "assemblyscript", "rust"), root); err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, lang := range []string{"go", "c", "assemblyscript", "rust"} {
		sdk := filepath.Join(root, "abi", "sdk", lang)
		dir := filepath.Join(t.TempDir(), "app")
		if _, err := New(dir, lang, Options{Root: root}); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		switch lang {
		case "go":
			out, err := exec.Command("go", "mod", "edit", "-json", filepath.Join(dir, "go.mod")).Output()
			var mod struct {
				Replace []struct{ New struct{ Path string } }
			}
			if err != nil || json.Unmarshal(out, &mod) != nil || len(mod.Replace) != 1 || mod.Replace[0].New.Path != sdk {
				t.Errorf("go.mod: %v %s", err, out)
			}
		case "assemblyscript":
			var pkg struct{ Dependencies map[string]string }
			if err := json.Unmarshal(read(filepath.Join(dir, "package.json")), &pkg); err != nil || pkg.Dependencies["wasmworker"] != "file:"+sdk {
				t.Errorf("package.json: %v %v", err, pkg)
			}
		case "c":
			var cfg struct{ Build string }
			if err := json.Unmarshal(read(filepath.Join(dir, "wasmfunc.json")), &cfg); err != nil {
				t.Fatalf("wasmfunc.json: %v", err)
			}
			words, err := exec.Command("sh", "-c", `printf '%s\n' `+strings.TrimPrefix(cfg.Build, "clang ")).Output()
			if err != nil || !slices.Contains(strings.Split(string(words), "\n"), sdk) ||
				!slices.Contains(strings.Split(string(words), "\n"), sdk+"/wasmworker.c") {
				t.Errorf("the build command's words: %v\n%s", err, words)
			}
		case "rust":
			q, _ := json.Marshal(sdk)
			if !strings.Contains(string(read(filepath.Join(dir, "Cargo.toml"))), "path = "+string(q)) {
				t.Errorf("Cargo.toml does not name the SDK as a quoted string:\n%s", read(filepath.Join(dir, "Cargo.toml")))
			}
		}
	}
}
