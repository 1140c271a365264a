// Command wasmbuild builds the WebAssembly modules of an Azure Functions app
// from its sources, as `wasmfunc start` does before it loads the app: the Go
// function folders into their .wasm script files, Go sources at the app
// root into app.wasm (a reactor over the Go SDK), and the "build" command of
// the app's wasmfunc.json (see package appbuild).
//
// Usage:
//
//	wasmbuild APP          build APP in place
//	wasmbuild APP OUTDIR   copy APP to OUTDIR and build there
//
// For example: go run ./cmd/wasmbuild examples-wasm/app
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/wasmworker/wasmworker/internal/appbuild"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), `usage: wasmbuild APP [OUTDIR]

Builds the modules of the function app APP from its sources: every function
folder that holds Go sources into its scriptFile (GOOS=wasip1 GOARCH=wasm;
-buildmode=c-shared when it uses the Go SDK), Go sources of a main package at
the app root that uses the Go SDK into app.wasm (-buildmode=c-shared), and
the "build" command of APP/wasmfunc.json (run with sh -c in the app folder).
With OUTDIR, the app is first copied there and built in the copy; without
it, APP is built in place and Go modules newer than their sources are
skipped.
`)
	}
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		flag.Usage()
		os.Exit(2)
	}
	src := flag.Arg(0)
	dst := src
	if flag.NArg() == 2 {
		dst = flag.Arg(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := &appbuild.Builder{Notify: func(msg string) { fmt.Fprintln(os.Stderr, "wasmbuild:", msg) }}
	built, err := b.Build(ctx, src, dst)
	for _, name := range built {
		fmt.Printf("built %s\n", filepath.Join(dst, name))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(built) == 0 {
		fmt.Println("no module changed")
	}
}
