package appbuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"build": "make", "watch": ["src/**/*.rs", "*.c", "Cargo.toml"]}`))
	if err != nil || c.Build != "make" || len(c.Watch) != 3 {
		t.Fatalf("ParseConfig = %+v, %v", c, err)
	}
	for name, bad := range map[string]string{
		"not json":        `{"build":`,
		"no build":        `{"watch": ["*.c"]}`,
		"blank build":     `{"build": "  "}`,
		"unknown key":     `{"build": "make", "output": "app.wasm"}`,
		"build not text":  `{"build": ["make"]}`,
		"absolute glob":   `{"build": "make", "watch": ["/src/*.c"]}`,
		"glob leaves app": `{"build": "make", "watch": ["../lib/*.c"]}`,
		"bad glob":        `{"build": "make", "watch": ["src/[a"]}`,
		"trailing":        `{"build": "make"} {}`,
		"dot segment":     `{"build": "make", "watch": ["./src/*.c"]}`,
		"empty segment":   `{"build": "make", "watch": ["src//*.c"]}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: ParseConfig(%s) succeeded", name, bad)
		}
	}
}

func TestMatches(t *testing.T) {
	globs := &Config{Build: "x", Watch: []string{"src/**/*.rs", "*.c", "Cargo.toml", "assembly/*.ts"}}
	dflt := &Config{Build: "x"}
	for _, tc := range []struct {
		c    *Config
		rel  string
		want bool
	}{
		{globs, "src/lib.rs", true},
		{globs, "src/a/b/c.rs", true},
		{globs, "lib.rs", false},
		{globs, "main.c", true},
		{globs, "deep/er/main.c", true},
		{globs, "Cargo.toml", true},
		{globs, "sub/Cargo.toml", true}, // a glob without "/" matches a name in any folder
		{globs, "assembly/index.ts", true},
		{globs, "assembly/x/index.ts", false},
		{globs, "wasmfunc.json", true},
		{globs, "app.wasm", false},
		{dflt, "main.c", true},
		{dflt, "src/a.rs", true},
		{dflt, "wasmfunc.json", true},
		{dflt, "app.wasm", false},
		{dflt, "x/y.WASM", false},
		{dflt, "target/wasm32-wasi/release/x.d", false},
		{dflt, "node_modules/a/index.js", false},
		{dflt, "build/release.wat", false},
		{dflt, ".git/HEAD", false},
		{dflt, ".gitignore", false},
		{dflt, "src/target", true}, // a file named target is not the folder
		{dflt, "../outside.c", false},
	} {
		if got := tc.c.Matches(tc.rel); got != tc.want {
			t.Errorf("%v.Matches(%q) = %v, want %v", tc.c.Watch, tc.rel, got, tc.want)
		}
	}
}

func TestIsBuildInput(t *testing.T) {
	app := writeApp(t, map[string]string{ConfigFile: `{"build": "true", "watch": ["*.c"]}`})
	for p, want := range map[string]bool{
		filepath.Join(app, "main.c"):      true,
		"main.c":                          true,
		filepath.Join(app, "x.h"):         false,
		filepath.Join(app, ConfigFile):    true,
		filepath.Join(app, "..", "out.c"): false,
	} {
		if got := IsBuildInput(app, p); got != want {
			t.Errorf("IsBuildInput(%q) = %v, want %v", p, got, want)
		}
	}
	plain := writeApp(t, map[string]string{"host.json": "{}"})
	if IsBuildInput(plain, filepath.Join(plain, "main.c")) || !IsBuildInput(plain, filepath.Join(plain, ConfigFile)) {
		t.Error("an app without wasmfunc.json: want only a new wasmfunc.json to count")
	}
	broken := writeApp(t, map[string]string{ConfigFile: `{"build": `})
	if !IsBuildInput(broken, filepath.Join(broken, ConfigFile)) || IsBuildInput(broken, filepath.Join(broken, "main.c")) {
		t.Error("a broken wasmfunc.json: want it, and only it, to count")
	}
}

// buildCommand writes a module (the wasm header and the content of
// src.txt) into app.wasm and counts its runs in ../runs.log.
const buildCommand = `echo run >> ../runs.log && { printf '\000asm\001\000\000\000'; cat src.txt; } > app.wasm`

func runs(t *testing.T, app string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app, "..", "runs.log"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// TestBuilderRunsCommandWhenInputsChange: the first build runs the
// command; a rebuild with the same inputs does not; a changed input, a
// deleted module and a changed wasmfunc.json each run it again.
func TestBuilderRunsCommandWhenInputsChange(t *testing.T) {
	ctx := context.Background()
	app := writeApp(t, map[string]string{
		"app/" + ConfigFile: `{"build": "` + strings.ReplaceAll(strings.ReplaceAll(buildCommand, `\`, `\\`), `"`, `\"`) + `"}`,
		"app/src.txt":       "one",
		"app/host.json":     `{"version":"2.0"}`,
	})
	app = filepath.Join(app, "app")
	var notes []string
	b := &Builder{Notify: func(m string) { notes = append(notes, m) }}
	step := func(what string, wantRuns int, wantBuilt []string) {
		t.Helper()
		built, err := b.Build(ctx, app, app)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := runs(t, app); n != wantRuns {
			t.Fatalf("%s: the command ran %d times in all, want %d", what, n, wantRuns)
		}
		if !slices.Equal(built, wantBuilt) {
			t.Fatalf("%s: built %v, want %v", what, built, wantBuilt)
		}
	}
	step("first build", 1, []string{AppModule})
	assertWasm(t, filepath.Join(app, AppModule))
	if len(notes) != 1 || !strings.Contains(notes[0], "printf") {
		t.Errorf("notes %q; want one naming the command", notes)
	}
	step("same inputs", 1, nil)
	if err := os.WriteFile(filepath.Join(app, "src.txt"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	step("changed source", 2, []string{AppModule})
	step("same inputs again", 2, nil)
	if err := os.Remove(filepath.Join(app, AppModule)); err != nil {
		t.Fatal(err)
	}
	step("deleted module", 3, []string{AppModule})
	// Same bytes as before: the command runs, but the module did not change.
	if err := os.WriteFile(filepath.Join(app, ConfigFile), []byte(`{"build": "`+strings.ReplaceAll(strings.ReplaceAll(buildCommand, `\`, `\\`), `"`, `\"`)+` && true"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	step("changed wasmfunc.json", 4, nil)

	// The package function always runs the command.
	if _, err := Build(ctx, app, app); err != nil || runs(t, app) != 5 {
		t.Fatalf("Build: %v, runs %d, want 5", err, runs(t, app))
	}
}

// TestBuildCommandFails quotes the command and its output, and the next
// build runs it again.
func TestBuildCommandFails(t *testing.T) {
	app := writeApp(t, map[string]string{
		ConfigFile: `{"build": "echo compiling; echo 'main.c:3: error: expected ;' >&2; exit 3"}`,
	})
	var b Builder
	for i := 0; i < 2; i++ {
		_, err := b.Build(context.Background(), app, app)
		if err == nil {
			t.Fatal("a failing command: no error")
		}
		msg := err.Error()
		for _, want := range []string{ConfigFile, "exit 3", "exit status 3", "compiling", "main.c:3: error: expected ;"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
	}
	bad := writeApp(t, map[string]string{ConfigFile: `{"build": "make", "outputs": []}`})
	if _, err := Build(context.Background(), bad, bad); err == nil || !strings.Contains(err.Error(), `unknown field "outputs"`) {
		t.Errorf("unknown key: error %v", err)
	}
}

// TestBuildCommandInCopy runs the command in the destination folder.
func TestBuildCommandInCopy(t *testing.T) {
	app := writeApp(t, map[string]string{
		ConfigFile: `{"build": "printf '\\000asm\\001\\000\\000\\000' > app.wasm"}`,
		"x.c":      "int x;",
	})
	dst := filepath.Join(t.TempDir(), "out")
	built, err := Build(context.Background(), app, dst)
	if err != nil || !slices.Equal(built, []string{AppModule}) {
		t.Fatalf("built %v, error %v", built, err)
	}
	assertWasm(t, filepath.Join(dst, AppModule))
	if _, err := os.Stat(filepath.Join(app, AppModule)); err == nil {
		t.Error("the command ran in the source folder")
	}
}

// TestBuildCommandCanceled stops a long command with the context.
func TestBuildCommandCanceled(t *testing.T) {
	app := writeApp(t, map[string]string{ConfigFile: `{"build": "sleep 30"}`})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { cancel() }()
	if _, err := Build(ctx, app, app); err == nil {
		t.Fatal("a canceled build succeeded")
	}
}
