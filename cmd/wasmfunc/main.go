// Command wasmfunc runs an Azure Functions app with WebAssembly functions on
// a laptop, like `func start` of Azure Functions Core Tools, and creates new
// apps, like `func init`:
//
//	wasmfunc start [appdir] [--port 7071] [--host 127.0.0.1] [--workers DIR] [--json] [--no-build] [--no-watch]
//	wasmfunc new [-lang go|rust|c|assemblyscript] [-sdk PATH] DIR
//
// start builds what the app's sources need (Go function folders, an
// in-code Go app at the app root, the command of wasmfunc.json; see package
// appbuild), finds (or builds) the wasm language worker, starts it as the
// Functions host does and serves the app's triggers (package devhost); it
// rebuilds and reloads when the sources change. new renders the template
// of a language (package scaffold) into a new folder.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/scaffold"
)

const usage = `wasmfunc runs a function app of WebAssembly functions locally, and creates new ones.

Usage:
  wasmfunc start [appdir] [flags]
  wasmfunc new [-lang LANG] [-sdk PATH] DIR     (wasmfunc new -h lists the languages)

appdir defaults to the current directory. start builds the app's sources
(Go function folders, Go sources at the app root into app.wasm, the "build"
command of wasmfunc.json) on start and when they change. Flags:
  --port N        HTTP port (default 7071; 0 picks a free port)
  --host ADDR     interface to listen on (default 127.0.0.1)
  --workers DIR   folder holding wasm/worker.config.json (default: $WASMFUNC_WORKERS_DIR,
                  else dist/workers of this repository, else the worker is built from source)
  --json          log one JSON object per line instead of text
  --no-build      do not build the app's sources (Go sources, wasmfunc.json)
  --no-watch      do not reload when host.json, local.settings.json, function.json,
                  .wasm, .go, go.mod or go.sum files change
  --verbose       also show the worker processes' informational output, and
                  log the gRPC side's diagnostics to stderr

HTTP listener limits (0 keeps the default, a negative value turns the limit off):
  --read-header-timeout D  time for a request's line and headers (default 10s)
  --read-timeout D         time for a whole request, body included (default 60s;
                           the function itself may run until functionTimeout)
  --idle-timeout D         how long a keep-alive connection may stay idle (default 120s)
  --max-header-bytes N     larger request headers get 431 (default 1048576)
  --max-conns N            connections open at once; more wait (default 256)
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wasmfunc:", err)
		os.Exit(1)
	}
}

type options struct {
	appDir, host, workers  string
	port                   int
	json, noBuild, noWatch bool
	verbose                bool

	readHeaderTimeout, readTimeout, idleTimeout time.Duration
	maxHeaderBytes, maxConns                    int
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("wasmfunc start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.IntVar(&o.port, "port", 7071, "")
	fs.StringVar(&o.host, "host", "127.0.0.1", "")
	fs.StringVar(&o.workers, "workers", "", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.noBuild, "no-build", false, "")
	fs.BoolVar(&o.noWatch, "no-watch", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 0, "")
	fs.DurationVar(&o.readTimeout, "read-timeout", 0, "")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 0, "")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", 0, "")
	fs.IntVar(&o.maxConns, "max-conns", 0, "")
	positional, err := parseAnywhere(fs, args) // flags may come before or after appdir
	if err != nil {
		return o, err
	}
	switch len(positional) {
	case 0:
		o.appDir = "."
	case 1:
		o.appDir = positional[0]
	default:
		return o, fmt.Errorf("expected one app folder, got %q", positional)
	}
	if o.port < 0 || o.port > 65535 {
		return o, fmt.Errorf("--port %d is not a TCP port", o.port)
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "new" {
		return runNew(args[1:], stdout, stderr)
	}
	if args[0] != "start" {
		return fmt.Errorf("unknown command %q (try: wasmfunc start [appdir], or wasmfunc new DIR)", args[0])
	}
	o, err := parse(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if st, err := os.Stat(o.appDir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a function app folder", o.appDir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	workers, err := devhost.FindWorkersDir(o.workers, o.appDir)
	if err != nil {
		return err
	}
	if workers == "" {
		cache := devhost.DefaultWorkerCache()
		fmt.Fprintf(stderr, "wasmfunc: no workers folder found; building the wasm worker into %s\n", cache)
		// The worker's sources: the checkout that holds the app, else the
		// one $WASMWORKER_ROOT names or that holds this executable (an app
		// of its own elsewhere, docs/your-own-app.md).
		src := o.appDir
		if root, err := scaffold.FindRoot(o.appDir, ""); err == nil {
			src = root
		} else if root, err := scaffold.FindRoot("", o.appDir); err == nil {
			src = root
		} else if os.Getenv(scaffold.EnvRoot) != "" {
			return err // a wrong $WASMWORKER_ROOT, said as such
		}
		if workers, err = devhost.BuildWorker(ctx, src, cache); err != nil {
			return err
		}
	}
	opts := devhost.Options{
		AppDir:     o.appDir,
		WorkersDir: workers,
		Addr:       net.JoinHostPort(o.host, strconv.Itoa(o.port)),
		Out:        stdout,
		JSON:       o.json,
		Watch:      !o.noWatch,
		Verbose:    o.verbose,

		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		MaxConns:          o.maxConns,
	}
	if o.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if !o.noBuild {
		b := &appbuild.Builder{}
		if !o.json {
			b.Notify = func(msg string) { fmt.Fprintf(stderr, "wasmfunc: %s\n", msg) }
		}
		opts.Rebuild = func(ctx context.Context, dir string) ([]string, error) {
			return b.Build(ctx, dir, dir)
		}
	}
	h, err := devhost.Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return h.Close()
}

// parseAnywhere parses args with fs, letting flags come before, between or
// after the positional arguments, which it returns in order.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
