package appbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ConfigFile is the name of the file, at the root of a function app, that
// declares how the app's WebAssembly module is built.
const ConfigFile = "wasmfunc.json"

// maxQuotedOutput bounds how much of a failed build command's output an
// error quotes (the end of it, where compilers put the summary).
const maxQuotedOutput = 16 << 10

// Config is the content of wasmfunc.json:
//
//	{"build": "cargo build --release --target wasm32-wasi && cp target/wasm32-wasi/release/hello.wasm app.wasm",
//	 "watch": ["src/**/*.rs", "Cargo.toml"]}
type Config struct {
	// Build is a shell command, run with "sh -c" in the app folder, that
	// produces the app's .wasm module(s). Required.
	Build string `json:"build"`
	// Watch lists the globs of the files whose changes call for a
	// rebuild (see Matches). When empty, every file of the app counts but
	// .wasm files, hidden files and folders, and the folders named in
	// DefaultIgnoredDirs.
	Watch []string `json:"watch,omitempty"`
}

// DefaultIgnoredDirs are the folder names whose files are not build inputs
// when wasmfunc.json has no "watch" list: dependencies and the usual build
// output folders (Cargo's target, AssemblyScript's build, ...).
var DefaultIgnoredDirs = []string{"node_modules", "target", "build", "dist", "out", "obj", "bin"}

// ReadConfig reads wasmfunc.json in appDir. It returns nil and no error
// when the app has none.
func ReadConfig(appDir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(appDir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("appbuild: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("appbuild: %s: %w", filepath.Join(appDir, ConfigFile), err)
	}
	return c, nil
}

// ParseConfig parses and checks the content of a wasmfunc.json file:
// "build" must be a non-empty string, "watch" valid relative globs, and no
// other key may appear.
func ParseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("not a valid build declaration (want {\"build\": \"<command>\", \"watch\": [\"<glob>\", ...]}): %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected content after the JSON object")
	}
	if strings.TrimSpace(c.Build) == "" {
		return nil, errors.New(`"build" must be a non-empty shell command`)
	}
	for _, g := range c.Watch {
		if err := checkGlob(g); err != nil {
			return nil, fmt.Errorf("watch %q: %w", g, err)
		}
	}
	return &c, nil
}

// checkGlob rejects a watch glob that is empty, absolute, leaves the app
// folder or is malformed.
func checkGlob(g string) error {
	if g == "" {
		return errors.New("empty glob")
	}
	if strings.HasPrefix(g, "/") || filepath.IsAbs(g) {
		return errors.New("must be relative to the app folder")
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." {
			return errors.New("must stay inside the app folder")
		}
		if seg == "" || seg == "." {
			// Paths are matched clean ("src/x", not "./src//x"): such a
			// glob would silently never match.
			return fmt.Errorf("write it as %q (no empty or \".\" parts)", path.Clean(g))
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// Matches reports whether rel, a path relative to the app folder with "/"
// separators, is an input of the build. wasmfunc.json itself always is.
//
// A watch glob matches the path segment by segment with path.Match
// ("*", "?", "[a-z]" within one segment), and "**" matches any number of
// segments, zero included: "src/**/*.rs" matches src/lib.rs and
// src/a/b.rs. A glob without "/" matches the file's name in any folder:
// "*.c" matches every C file of the app.
//
// Without watch globs, every file is an input but .wasm files, hidden files
// and folders (".git", ".cache") and the folders of DefaultIgnoredDirs.
func (c *Config) Matches(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(rel), "./")
	if rel == ConfigFile {
		return true
	}
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return false
	}
	segs := strings.Split(rel, "/")
	if len(c.Watch) == 0 {
		for i, s := range segs {
			if strings.HasPrefix(s, ".") {
				return false
			}
			if i < len(segs)-1 && isDefaultIgnoredDir(s) {
				return false
			}
		}
		return !strings.EqualFold(path.Ext(rel), ".wasm")
	}
	for _, g := range c.Watch {
		if !strings.Contains(g, "/") {
			if ok, _ := path.Match(g, segs[len(segs)-1]); ok {
				return true
			}
			continue
		}
		if matchSegments(strings.Split(g, "/"), segs) {
			return true
		}
	}
	return false
}

func isDefaultIgnoredDir(name string) bool {
	for _, d := range DefaultIgnoredDirs {
		if name == d {
			return true
		}
	}
	return false
}

// matchSegments matches path segments against glob segments, "**"
// standing for any number of segments.
func matchSegments(glob, segs []string) bool {
	if len(glob) == 0 {
		return len(segs) == 0
	}
	if glob[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegments(glob[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(glob[0], segs[0]); !ok {
		return false
	}
	return matchSegments(glob[1:], segs[1:])
}

// IsBuildInput reports whether a change to the file at path (absolute, or
// relative to appDir) calls for a rebuild of the app in appDir, whose
// wasmfunc.json declares a build command: path is wasmfunc.json (also when
// it is being created, or is not valid: a reload then says why), or a file
// its watch globs (or the default) select. Without a valid wasmfunc.json
// only that file counts (the Go inputs, .go, go.mod and go.sum files, are
// not covered here). A file watcher can use it to decide
// which changes to react to; the build's own outputs are .wasm files
// (never inputs by default) or, when they match, are seen unchanged by the
// next build. It reads wasmfunc.json at each call; InputMatcher reads it
// once.
func IsBuildInput(appDir, path string) bool {
	return InputMatcher(appDir)(path)
}

// InputMatcher reads the wasmfunc.json of appDir once and returns
// IsBuildInput for that app and that content.
func InputMatcher(appDir string) func(path string) bool {
	absApp, absErr := filepath.Abs(appDir)
	c, cfgErr := ReadConfig(appDir)
	return func(p string) bool {
		rel := p
		if filepath.IsAbs(p) {
			if absErr != nil {
				return false
			}
			var err error
			if rel, err = filepath.Rel(absApp, p); err != nil {
				return false
			}
		}
		rel = filepath.ToSlash(rel)
		if rel == ConfigFile {
			return true // created, changed, removed or broken: reload
		}
		if cfgErr != nil || c == nil {
			return false
		}
		return c.Matches(rel)
	}
}

// inputDigest returns a digest of the names and contents of the build
// inputs under app (see Matches), and the SHA-256 of each .wasm file
// directly in app, by name.
func (c *Config) inputDigest(app string) (string, map[string]string, error) {
	type entry struct{ rel, sum string }
	var inputs []entry
	wasm := map[string]string{}
	err := filepath.WalkDir(app, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(app, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (d.Name() == ".git" || d.Name() == "node_modules" ||
				(len(c.Watch) == 0 && (strings.HasPrefix(d.Name(), ".") || isDefaultIgnoredDir(d.Name())))) {
				return filepath.SkipDir
			}
			return nil
		}
		isRootWasm := !strings.Contains(rel, "/") && strings.EqualFold(path.Ext(rel), ".wasm")
		input := c.Matches(rel)
		if !isRootWasm && !input {
			return nil
		}
		sum, err := fileSum(p)
		if err != nil {
			return err
		}
		if isRootWasm {
			wasm[rel] = sum
		}
		if input {
			inputs = append(inputs, entry{rel, sum})
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("reading the build inputs: %w", err)
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].rel < inputs[j].rel })
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", c.Build)
	for _, e := range inputs {
		fmt.Fprintf(h, "%s\x00%s\x00", e.rel, e.sum)
	}
	return hex.EncodeToString(h.Sum(nil)), wasm, nil
}

// wasmDigest summarizes the .wasm files of inputDigest in one string.
func wasmDigest(wasm map[string]string) string {
	names := make([]string, 0, len(wasm))
	for n := range wasm {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "|%s=%s", n, wasm[n])
	}
	return b.String()
}

// fileSum is the SHA-256 of the file at p, in hex.
func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// runCommand runs the build command of c with "sh -c" in app and returns
// an error quoting the end of its output when it fails.
func (c *Config) runCommand(ctx context.Context, app string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Build)
	cmd.Dir = app
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// The command may start children (cargo, npm); let it finish writing
	// its output rather than hang on a pipe a child keeps open.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > maxQuotedOutput {
			msg = "[...]\n" + msg[len(msg)-maxQuotedOutput:]
		}
		if msg == "" {
			msg = "(no output)"
		}
		return fmt.Errorf("%s build command %q failed (%w):\n%s", ConfigFile, c.Build, err, msg)
	}
	return nil
}
