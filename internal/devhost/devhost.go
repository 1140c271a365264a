// Package devhost runs an Azure Functions app on a laptop like `func start`:
// it reads host.json, local.settings.json and every function.json, starts the
// language worker processes as the v4 host does and drives them over the
// real gRPC protocol, serving HTTP triggers, firing timers, running
// in-process queues and admin invocations, and reloading on file changes.
package devhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"

	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/devhost/route"
	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
)

// HostVersion is the host version wasmfunc reports to workers
// (WorkerInitRequest.host_version).
const HostVersion = "4.1037.0.0"

// DefaultAddr is where `func start` listens.
const DefaultAddr = "127.0.0.1:7071"

// Options configure a Host.
type Options struct {
	// AppDir is the function app folder (holding host.json).
	AppDir string
	// WorkersDir holds <language>/worker.config.json (see FindWorkersDir).
	WorkersDir string
	// Addr is the HTTP listen address; "" means DefaultAddr, port 0 a free port.
	Addr string
	// Out receives the terminal log (nil discards); JSON switches it to JSON lines.
	Out  io.Writer
	JSON bool
	// Verbose also shows, in human mode, the informational lines the worker
	// processes write (JSON mode always includes them).
	Verbose bool
	// Logger receives diagnostics of the gRPC side (nil discards).
	Logger *slog.Logger
	// Watch makes the host reload the app when host.json,
	// local.settings.json, a function.json, a .wasm, a .go, go.mod or go.sum
	// file changes, or a function folder is added or removed.
	Watch bool
	// WatchDebounce is how long after the last change of a burst the host
	// reloads (default DefaultWatchDebounce).
	WatchDebounce time.Duration
	// Rebuild, when set, runs before each load (e.g. appbuild.Build in place).
	Rebuild func(ctx context.Context, appDir string) ([]string, error)

	// Limits of the HTTP listener, so that slow or idle clients cannot hold
	// the host's connections forever (defaults: the Default* constants).
	// Zero means the default; a negative value turns the limit off, and
	// net/http then falls back as it does: ReadHeaderTimeout to ReadTimeout,
	// IdleTimeout to ReadTimeout (then ReadHeaderTimeout), MaxHeaderBytes to
	// its own 1 MiB.
	//
	// ReadHeaderTimeout bounds reading a request's line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body, from
	// when the host starts reading it; a client still sending then is
	// disconnected. It does not bound the function: once the body is read,
	// net/http clears the read deadline and the invocation runs until
	// functionTimeout.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's line and headers
	// (net/http allows 4 KiB more); larger requests are answered 431.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once
	// (netutil.LimitListener); further clients wait, queued by the
	// operating system, until one closes.
	MaxConns int
}

// Defaults of the HTTP listener's limits (Options), chosen for a developer
// machine: generous for any real client, short enough that a stuck or
// malicious one cannot hold the host.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 1 << 20 // 1 MiB
	DefaultMaxConns          = 256
)

// limit returns v, def when v is zero, or 0 (no limit) when v is negative.
func limit[T time.Duration | int](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	default:
		return v
	}
}

// Host is a running local Functions host.
type Host struct {
	opts   Options
	con    *console
	logger *slog.Logger
	grpc   *fnhost.Server
	queues *queue.Store
	// storage is what the storage backends keep across loads (storagebind.go).
	storage storageState
	ln      net.Listener
	srv     *http.Server

	gen    atomic.Pointer[generation]
	reload sync.Mutex // serializes loads
	// seen is what the last load saw of the app's files (with Watch), taken
	// before it read them; guarded by reload.
	seen fileSigs

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// generation is one load of the app: its functions, routes, workers and triggers.
type generation struct {
	h      *Host
	app    *funcapp.App
	env    []string
	lookup func(string) (string, bool)
	fns    []*function
	byName map[string]*function
	routes route.Table[*function]
	pool   *pool
	errs   []string
	state  string // "Running" or "Error"
	// failed maps the lower-cased name of each function in error (its
	// function.json is invalid, wasmfunc cannot serve its trigger, or the
	// worker failed to load it) to the reason. Such a function is not
	// indexed: its triggers do not fire and its route answers 404.
	failed map[string]string
	// noWorker is why no worker of this load became ready, or nil.
	noWorker error
	// store is this load's storage: queues, blobs and timer status
	// (storagebind.go openStorage).
	store *storage.Backend

	ctx    context.Context // cancelled when the triggers stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // trigger goroutines and in-flight invocations
}

// Start loads the app, starts its workers and triggers and serves HTTP. It
// returns once the HTTP listener is up and the workers are ready (or failed).
func Start(ctx context.Context, opts Options) (*Host, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Host{opts: opts, con: newConsole(opts.Out, opts.JSON, opts.Verbose), logger: logger, queues: queue.New()}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	var err error
	if h.grpc, err = fnhost.Listen(); err != nil {
		return nil, fmt.Errorf("gRPC server: %w", err)
	}
	g, err := h.load(ctx)
	if err != nil {
		h.grpc.Close()
		return nil, err
	}
	h.ln, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		g.stop()
		h.grpc.Close()
		return nil, fmt.Errorf("listen on %s: %w (is another host running? use --port)", opts.Addr, err)
	}
	if n := limit(opts.MaxConns, DefaultMaxConns); n > 0 {
		h.ln = netutil.LimitListener(h.ln, n)
	}
	h.srv = h.newServer()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.con.hostf("Error", "HTTP server: %v", err)
		}
	}()
	h.activate(g, nil)
	h.con.hostf("Information", "Listening on %s (app %s)", h.URL(), g.app.Dir)
	if opts.Watch {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.watch()
		}()
	}
	return h, nil
}

// newServer makes the HTTP server with the limits of the options
// (http.Server treats a zero timeout as none).
func (h *Host) newServer() *http.Server {
	o := h.opts
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limit(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       limit(o.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:       limit(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    limit(o.MaxHeaderBytes, DefaultMaxHeaderBytes),
	}
}

// URL returns the base URL of the HTTP listener, e.g. "http://127.0.0.1:7071".
func (h *Host) URL() string {
	addr := h.ln.Addr().(*net.TCPAddr)
	ip := addr.IP.String()
	if addr.IP.IsUnspecified() {
		ip = "localhost"
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(addr.Port))
}

// Queues returns the in-process queue store.
func (h *Host) Queues() *queue.Store { return h.queues }

// Close stops triggers, drains in-flight invocations (up to the worker's
// processShutdownTimeout), terminates the workers and closes the listeners.
func (h *Host) Close() error {
	h.cancel()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.srv.Shutdown(sctx)
	if g := h.gen.Swap(nil); g != nil {
		g.stop()
	}
	h.wg.Wait()
	h.grpc.Close()
	return err
}

// Reload loads the app again (as a file change does) and swaps it in. A
// reload that fails (the app cannot be read or built, or no worker of the
// new load becomes ready) leaves the previous functions serving and says
// why; a function in error does not fail the reload.
func (h *Host) Reload(ctx context.Context) error {
	g, err := h.load(ctx)
	if err == nil && g.noWorker != nil && h.gen.Load() != nil {
		err = g.noWorker
		g.stop()
	}
	if err != nil {
		h.con.hostf("Error", "reload failed, keeping the previous functions: %v", err)
		return err
	}
	h.activate(g, h.gen.Load())
	return nil
}

// loadedFiles returns what the last load saw of the app's files (nil
// without Watch).
func (h *Host) loadedFiles() fileSigs {
	h.reload.Lock()
	defer h.reload.Unlock()
	return h.seen
}

// load reads the app and starts a new generation's workers; triggers start in activate.
func (h *Host) load(ctx context.Context) (*generation, error) {
	h.reload.Lock()
	defer h.reload.Unlock()
	dir := h.opts.AppDir
	var buildErr error
	var before fileSigs
	if h.opts.Watch {
		before = snapshot(filepath.Clean(dir))
	}
	if h.opts.Rebuild != nil {
		var built []string
		built, buildErr = h.opts.Rebuild(ctx, dir)
		if len(built) > 0 {
			h.con.hostf("Information", "built %s", strings.Join(built, ", "))
		}
	}
	if h.opts.Watch {
		// After the build's own writes, before anything is read: a change
		// the watcher reports later that this did not see needs a reload.
		h.seen = snapshot(filepath.Clean(dir))
		// A source that changed while the build ran may have been read
		// before the change: it stays unseen, so the watcher reloads
		// (at worst once more for a file the build itself rewrote). The
		// build's outputs, the .wasm files, count as seen.
		for p, sig := range h.seen {
			if old, ok := before[p]; (!ok || old != sig) && !strings.HasSuffix(p, ".wasm") && sig != "d" {
				if ok {
					h.seen[p] = old
				} else {
					delete(h.seen, p)
				}
			}
		}
	}
	if buildErr != nil {
		return nil, fmt.Errorf("building the app: %w", buildErr)
	}
	app, err := funcapp.LoadApp(dir)
	if err != nil {
		return nil, err
	}
	values, err := funcapp.LoadSettings(app.Dir)
	if err != nil {
		return nil, err
	}
	env, skipped := buildEnv(values)
	for _, k := range skipped {
		h.con.hostf("Information", "Skipping '%s' from local.settings.json as it's already defined in the environment", k)
	}
	g := &generation{h: h, app: app, env: env, lookup: envLookup(env), byName: map[string]*function{}, state: "Running", failed: map[string]string{}}
	g.ctx, g.cancel = context.WithCancel(h.ctx)
	runtime, _ := g.lookup("FUNCTIONS_WORKER_RUNTIME")
	if runtime == "" {
		runtime = "wasm"
		h.con.hostf("Warning", "FUNCTIONS_WORKER_RUNTIME is not set (local.settings.json Values); using %q", runtime)
	}
	cfg, err := fnhost.FindWorker(h.opts.WorkersDir, runtime)
	if err != nil {
		return nil, fmt.Errorf("finding the %q worker in %s: %w", runtime, h.opts.WorkersDir, err)
	}
	// The functions: function.json folders (host indexing), or what the
	// worker answers (worker indexing, docs/host-contract.md §2.1 B).
	fns, fnErrs := app.Functions, app.Errors
	var ids map[*funcapp.Function]fnhost.Indexed
	var indexFailed indexFailures
	if cfg.WorkerIndexing {
		ix, err := g.startIndexing(ctx, cfg)
		if err != nil {
			// No worker answered: like no worker becoming ready.
			g.state, g.noWorker = "Error", err
			g.errs = append(g.errs, err.Error())
			h.con.hostf("Error", "%v", err)
			h.con.hostf("Information", "loaded 0 function(s), %d failed", len(g.failed))
			return g, nil
		}
		if ix != nil {
			if ix.overall != "" {
				g.fail("", "Worker failed to index functions: "+ix.overall)
				indexFailed.modules = moduleNames(ix.overall)
			}
			fns, ids, fnErrs = ix.fns, ix.ids, nil
			for _, e := range ix.failed {
				fnErrs = append(fnErrs, e)
				if e.Name != "" {
					indexFailed.functions = append(indexFailed.functions, e.Name)
				}
			}
		}
	}
	for _, e := range fnErrs {
		var fe *funcapp.FunctionError
		var de *funcapp.DeclarationError
		name := ""
		switch {
		case errors.As(e, &fe):
			name = fe.Name
		case errors.As(e, &de):
			name = de.Name
		}
		g.fail(name, e.Error())
	}
	var loadable []*funcapp.Function
	var prepared []*function
	for _, fn := range fns {
		if !hasExtension(cfg.Extensions, fn.ScriptFile) {
			g.fail(fn.Name, fmt.Sprintf("%s: script file %s does not belong to the %s worker (extensions %v)", fn.Name, fn.ScriptFile, runtime, cfg.Extensions))
			continue
		}
		f, err := prepare(fn, app.Host.RoutePrefix, g.lookup)
		if err != nil {
			g.fail(fn.Name, err.Error())
			continue
		}
		for _, w := range unemulatedBindings(fn) {
			h.con.hostf("Warning", "%s", w)
		}
		prepared = append(prepared, f)
		loadable = append(loadable, fn)
	}
	if err := g.openStorage(ctx, prepared); err != nil {
		g.cancel()
		if g.pool != nil {
			g.pool.stop()
		}
		return nil, err
	}
	if len(prepared) == 0 {
		if g.pool != nil {
			g.pool.stop()
			g.pool = nil
			h.con.hostf("Warning", "no functions found in %s; the worker is stopped", app.Dir)
		} else {
			h.con.hostf("Warning", "no functions found in %s; no worker is started", app.Dir)
		}
		h.con.hostf("Information", "loaded 0 function(s), %d failed", len(g.failed))
		return g, nil
	}
	if g.pool != nil {
		h.con.hostf("Information", "Loading %d function(s) in %d %s worker process(es)", len(loadable), len(g.pool.slots), cfg.Language)
		g.pool.plan(loadable, ids, indexFailed)
	} else {
		count := processCount(cfg, g.lookup)
		h.con.hostf("Information", "Starting %d %s worker process(es) for %d function(s) (worker %s)", count, cfg.Language, len(loadable), cfg.Dir)
		g.pool = newPool(g, cfg, loadable, count)
		g.pool.start()
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.Process.ProcessStartupTimeout+cfg.Process.InitializationTimeout+loadTimeout(app.Host.FunctionTimeout))
	defer cancel()
	loaded := 0
	if err := g.pool.waitReady(wctx); err != nil {
		g.state, g.noWorker = "Error", err
		g.errs = append(g.errs, err.Error())
		h.con.hostf("Error", "%v", err)
	} else {
		// Every worker runs the same program on the same files, so the
		// first one ready tells which functions fail to load.
		lerrs := g.pool.loadErrors()
		for _, f := range prepared {
			if err, bad := lerrs[f.Name]; bad {
				g.fail(f.Name, err.Error())
			} else {
				loaded++
			}
		}
	}
	for _, f := range prepared {
		if _, bad := g.failed[strings.ToLower(f.Name)]; bad {
			continue
		}
		g.fns = append(g.fns, f)
		g.byName[strings.ToLower(f.Name)] = f
		if f.kind == kindHTTP {
			g.routes.Add(f.route, f)
		}
	}
	h.con.hostf("Information", "loaded %d function(s), %d failed", loaded, len(g.failed))
	return g, nil
}

// fail records that function name (as in function.json's folder; "" when
// unknown) is in error for reason, which names it, and reports it once.
func (g *generation) fail(name, reason string) {
	if name != "" {
		g.failed[strings.ToLower(name)] = reason
	}
	g.errs = append(g.errs, reason)
	g.h.con.hostf("Error", "%s", reason)
}

// processCount is FUNCTIONS_WORKER_PROCESS_COUNT (values < 1 → 1), else the
// number of CPUs when the config sets setProcessCountToNumberOfCpuCores,
// else the config's processCount; it is capped by maxProcessCount (docs/host-contract.md §1.2).
func processCount(cfg *fnhost.WorkerConfig, lookup func(string) (string, bool)) int {
	n := cfg.Process.ProcessCount
	if cfg.Process.SetProcessCountToNumberOfCpuCores {
		n = runtime.NumCPU()
	}
	if v, ok := lookup("FUNCTIONS_WORKER_PROCESS_COUNT"); ok && strings.TrimSpace(v) != "" {
		if c, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			n = c
		}
	}
	if n < 1 {
		n = 1
	}
	if cfg.Process.MaxProcessCount > 0 && n > cfg.Process.MaxProcessCount {
		n = cfg.Process.MaxProcessCount
	}
	return n
}

func hasExtension(exts []string, file string) bool {
	for _, e := range exts {
		if e != "" && strings.HasSuffix(strings.ToLower(file), strings.ToLower(e)) {
			return true
		}
	}
	return false
}

// activate makes g the current generation: the old one's triggers stop, g's
// start, and the old workers drain and terminate in the background.
func (h *Host) activate(g, old *generation) {
	if old != nil {
		old.cancel()
	}
	if !h.gen.CompareAndSwap(old, g) {
		// Closed meanwhile.
		g.stop()
		return
	}
	h.printFunctions(g)
	g.startTriggers()
	if old != nil {
		go old.stop()
	}
}

// stop stops the triggers, waits for in-flight invocations and terminates the workers.
func (g *generation) stop() {
	g.cancel()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	wait := 10 * time.Second
	if g.pool != nil {
		wait = g.pool.cfg.Process.ProcessShutdownTimeout
	}
	select {
	case <-done:
	case <-time.After(wait):
	}
	if g.pool != nil {
		g.pool.stop()
	}
}

// printFunctions lists the functions as `func start` does: a "Functions:"
// header, then one line per function (indented by the console).
func (h *Host) printFunctions(g *generation) {
	if len(g.fns) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("Functions:")
	for _, f := range g.fns {
		b.WriteString("\n" + f.Name + ": ")
		switch f.kind {
		case kindHTTP:
			var ms []string
			for m := range f.methods {
				ms = append(ms, m)
			}
			sort.Strings(ms)
			if len(ms) > 0 {
				b.WriteString("[" + strings.Join(ms, ",") + "] ")
			}
			b.WriteString(h.URL() + "/" + f.routeText)
		case kindQueue:
			b.WriteString("queueTrigger (queue " + f.queueName + ")")
		case kindTimer:
			b.WriteString("timerTrigger (schedule " + f.schedule.text + ")")
		default:
			b.WriteString(f.trigger.Type + " (invoke with POST " + h.URL() + "/admin/functions/" + f.Name + ")")
		}
		if f.disabled {
			b.WriteString(" [disabled]")
		}
	}
	h.con.hostf("Information", "%s", b.String())
}

// startTriggers starts timers and queue listeners.
func (g *generation) startTriggers() {
	for _, f := range g.fns {
		if f.disabled {
			continue
		}
		switch f.kind {
		case kindTimer:
			g.wg.Add(1)
			go func(f *function) { defer g.wg.Done(); g.runTimer(f) }(f)
		case kindQueue:
			g.wg.Add(1)
			go func(f *function) { defer g.wg.Done(); g.runQueue(f) }(f)
		case kindBlob:
			g.wg.Add(1)
			go func(f *function) { defer g.wg.Done(); g.runBlob(f) }(f)
		}
	}
}
