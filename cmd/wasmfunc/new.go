package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wasmworker/wasmworker/internal/scaffold"
)

// newUsage is the help of `wasmfunc new`; %s is the list of languages.
const newUsage = `Usage:
  wasmfunc new [-lang LANG] [-sdk PATH] DIR

Creates a runnable in-code function app in DIR (a new or empty folder; its
name is the app's name): host.json, local.settings.json, the sources of an
HTTP function Hello (GET /api/hello?name=Ada) and a queue function Work
(queue "work" to queue "work-done"), and for languages other than Go a
wasmfunc.json with the build command. Run it with: wasmfunc start DIR

Flags:
  -lang LANG   the language: %s (default go)
  -sdk PATH    the wasmworker checkout whose SDKs the app uses (or a folder in
               it); default: $WASMWORKER_ROOT, else the checkout found above
               the wasmfunc executable or the current folder
`

type newOptions struct {
	lang, sdk, dir string
}

func parseNew(args []string, stderr io.Writer, langs []string) (newOptions, error) {
	var o newOptions
	fs := flag.NewFlagSet("wasmfunc new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, newUsage, strings.Join(langs, ", ")) }
	fs.StringVar(&o.lang, "lang", "go", "")
	fs.StringVar(&o.sdk, "sdk", "", "")
	positional, err := parseAnywhere(fs, args) // flags may come before or after DIR
	if err != nil {
		return o, err
	}
	if len(positional) != 1 {
		fs.Usage()
		return o, fmt.Errorf("wasmfunc new takes one folder, got %d arguments", len(positional))
	}
	o.dir = positional[0]
	return o, nil
}

// runNew implements `wasmfunc new`.
func runNew(args []string, stdout, stderr io.Writer) error {
	langs, err := scaffold.Languages(nil)
	if err != nil {
		return err
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprintf(stdout, newUsage, strings.Join(langs, ", "))
			return nil
		}
	}
	o, err := parseNew(args, stderr, langs)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(langs) == 0 {
		return errors.New("this wasmfunc has no app templates built in")
	}
	if !slices.Contains(langs, o.lang) { // before looking for a checkout, whose absence would hide this
		return fmt.Errorf("no template for language %q (have: %s)", o.lang, strings.Join(langs, ", "))
	}
	root, err := scaffold.FindRoot(o.sdk, "")
	if err != nil {
		return err
	}
	files, err := scaffold.New(o.dir, o.lang, scaffold.Options{Root: root})
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		abs = o.dir
	}
	fmt.Fprintf(stdout, "Created a %s function app in %s (SDK: %s):\n", o.lang, abs, filepath.Join(root, "abi", "sdk", o.lang))
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(o.dir, filepath.FromSlash(f)))
	}
	fmt.Fprintf(stdout, "\nNext:\n  wasmfunc start %s\n  curl 'http://localhost:7071/api/hello?name=Ada'\n", o.dir)
	return nil
}
