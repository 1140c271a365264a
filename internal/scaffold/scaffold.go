// Package scaffold creates a new function app from a template, one per guest
// language, for `wasmfunc new`.
//
// The templates are the folders of templates/ (embedded in the binary):
// templates/<lang>/ holds the files of a runnable in-code app in that
// language. A file whose name ends in ".tmpl" is rendered with text/template
// and written without the suffix; every other file is copied as it is. The
// template data is Data: the app's name, and where the wasmworker checkout
// and the language's SDK are, so that the new app can depend on the SDK by
// path (a Go replace directive, a Cargo path dependency, an npm folder
// dependency, a C include path).
package scaffold

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

//go:embed all:templates
var embedded embed.FS

// Templates holds one folder of template files per language.
var Templates fs.FS = mustSub(embedded, "templates")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir is a constant that go:embed checked
	}
	return sub
}

// EnvRoot names the environment variable that can point at the wasmworker
// checkout.
const EnvRoot = "WASMWORKER_ROOT"

// Data is what a .tmpl file sees.
type Data struct {
	// Name is the app's name: the target folder's base name.
	Name string
	// SDK is the absolute path of the language's SDK folder in the
	// checkout: Root/abi/sdk/<lang>.
	SDK string
	// Root is the absolute path of the wasmworker checkout.
	Root string
}

// Options says where the templates and the wasmworker checkout are.
type Options struct {
	// Root is the wasmworker checkout (see FindRoot). Required.
	Root string
	// Templates holds the template folders; nil means the embedded ones
	// (Templates).
	Templates fs.FS
}

// Languages lists, sorted, the languages there is a template for (the
// folders of fsys; nil means Templates).
func Languages(fsys fs.FS) ([]string, error) {
	if fsys == nil {
		fsys = Templates
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("scaffold: listing the templates: %w", err)
	}
	var langs []string
	for _, e := range entries {
		if e.IsDir() {
			langs = append(langs, e.Name())
		}
	}
	sort.Strings(langs)
	return langs, nil
}

// validName is what an app name (a folder name) may look like: it becomes
// a Cargo package, an npm package and a Go module name.
var validName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// New creates the app of language lang in dir: it renders the template
// folder lang into dir, which must not exist or be empty, and returns the
// paths it created (files, relative to dir, with "/" separators, sorted).
// On an error it removes what it wrote.
func New(dir, lang string, opts Options) ([]string, error) {
	fsys := opts.Templates
	if fsys == nil {
		fsys = Templates
	}
	langs, err := Languages(fsys)
	if err != nil {
		return nil, err
	}
	if !contains(langs, lang) {
		return nil, fmt.Errorf("scaffold: no template for language %q (have: %s)", lang, strings.Join(langs, ", "))
	}
	if opts.Root == "" {
		return nil, errors.New("scaffold: the wasmworker checkout (Options.Root) is not set")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("scaffold: checkout %s: %w", opts.Root, err)
	}
	if !IsRoot(root) {
		return nil, fmt.Errorf("scaffold: %s is not a wasmworker checkout (no abi/SPEC.md and abi/sdk)", root)
	}
	sdk := filepath.Join(root, "abi", "sdk", lang)
	if st, err := os.Stat(sdk); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("scaffold: the checkout %s has no %s SDK folder (abi/sdk/%s)", root, lang, lang)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("scaffold: target %s: %w", dir, err)
	}
	data := Data{Name: filepath.Base(absDir), SDK: sdk, Root: root}
	if !validName.MatchString(data.Name) {
		return nil, fmt.Errorf("scaffold: the app's name %q (the target folder's name) must start with a letter and hold only letters, digits, '-' and '_'", data.Name)
	}
	created, err := prepareDir(absDir)
	if err != nil {
		return nil, err
	}
	files, err := render(fsys, lang, absDir, data)
	if err != nil {
		if created {
			_ = os.RemoveAll(absDir)
		} else {
			removeWritten(absDir, files)
		}
		return nil, err
	}
	return files, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// prepareDir makes sure dir exists and is empty, and reports whether it
// created it.
func prepareDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("scaffold: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("scaffold: target %s: %w", dir, err)
	case len(entries) > 0:
		return false, fmt.Errorf("scaffold: %s is not empty; choose a new or empty folder", dir)
	}
	return false, nil
}

// render writes the files of the template folder lang into dir and
// returns their paths relative to dir, sorted, also when it fails (those
// written so far).
func render(fsys fs.FS, lang, dir string, data Data) ([]string, error) {
	var written []string
	err := fs.WalkDir(fsys, lang, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, lang), "/")
		if rel == "" {
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, filepath.FromSlash(rel)), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		content, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			if content, err = execute(p, content, data); err != nil {
				return err
			}
		}
		if path.Base(rel) == "" || strings.HasSuffix(rel, "/") {
			return fmt.Errorf("template file %s has no name once .tmpl is dropped", p)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		written = append(written, rel)
		if _, err := f.Write(content); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	sort.Strings(written)
	if err != nil {
		return written, fmt.Errorf("scaffold: template %s: %w", lang, err)
	}
	return written, nil
}

// quoting are the template functions that write a value (the SDK path,
// which may hold spaces or quotes) into the files' syntaxes: goquote for
// go.mod, json for JSON and TOML strings, jsoninner for the inside of a
// JSON string, shquote for a POSIX shell word.
var quoting = template.FuncMap{
	"goquote": strconv.Quote,
	"json": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
	"jsoninner": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b[1 : len(b)-1]), err
	},
	"shquote": func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" },
}

// execute renders one .tmpl file; a missing field is an error.
func execute(name string, content []byte, data Data) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(quoting).Parse(string(content))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// removeWritten removes the files render wrote into a folder that existed
// before (empty), and the folders it made there.
func removeWritten(dir string, files []string) {
	for _, f := range files {
		_ = os.Remove(filepath.Join(dir, filepath.FromSlash(f)))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// IsRoot reports whether dir is a wasmworker checkout: it holds
// abi/SPEC.md and the folder abi/sdk.
func IsRoot(dir string) bool {
	spec, err := os.Stat(filepath.Join(dir, "abi", "SPEC.md"))
	if err != nil || !spec.Mode().IsRegular() {
		return false
	}
	sdk, err := os.Stat(filepath.Join(dir, "abi", "sdk"))
	return err == nil && sdk.IsDir()
}

// FindRoot finds the wasmworker checkout whose SDKs a new app uses: the
// checkout that holds flag (the checkout itself or a folder in it, such as
// abi/sdk/rust) when flag is set; else the one $WASMWORKER_ROOT names; else
// the first found by walking up from the folder of the executable and then
// from the current folder (start, when set, replaces the current folder).
// See IsRoot.
func FindRoot(flag, start string) (string, error) {
	if flag != "" {
		if r := rootAbove(flag); r != "" {
			return r, nil
		}
		return "", fmt.Errorf("scaffold: %s is not in a wasmworker checkout (no folder from it up holds abi/SPEC.md and abi/sdk)", flag)
	}
	if env := os.Getenv(EnvRoot); env != "" {
		abs, err := filepath.Abs(env)
		if err != nil || !IsRoot(abs) {
			return "", fmt.Errorf("scaffold: $%s=%s is not a wasmworker checkout (no abi/SPEC.md and abi/sdk in it)", EnvRoot, env)
		}
		return abs, nil
	}
	var tried []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if r := rootAbove(filepath.Dir(exe)); r != "" {
			return r, nil
		}
		tried = append(tried, filepath.Dir(exe))
	}
	if start == "" {
		if wd, err := os.Getwd(); err == nil {
			start = wd
		}
	}
	if start != "" {
		if r := rootAbove(start); r != "" {
			return r, nil
		}
		tried = append(tried, start)
	}
	return "", fmt.Errorf("scaffold: cannot find the wasmworker checkout (a folder holding abi/SPEC.md and abi/sdk) above %s; pass -sdk PATH or set %s to a clone of the repository", strings.Join(tried, " or "), EnvRoot)
}

// rootAbove returns the first checkout found walking up from dir, or "".
func rootAbove(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		if IsRoot(d) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
