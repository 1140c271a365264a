// Command wasmbuild builds the Go functions of an Azure Functions app into
// their .wasm script files.
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

Builds every function folder of the function app APP that holds Go sources
into its scriptFile (GOOS=wasip1 GOARCH=wasm). With OUTDIR, the app is first
copied there and built in the copy; without it, APP is built in place and
functions whose script file is newer than their sources are skipped.
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
	built, err := appbuild.Build(ctx, src, dst)
	for _, name := range built {
		fmt.Printf("built %s\n", filepath.Join(dst, name))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(built) == 0 {
		fmt.Println("nothing to build: no Go function is out of date")
	}
}
