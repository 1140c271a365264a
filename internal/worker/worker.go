// Package worker speaks the language-worker side of the Azure Functions gRPC
// contract and runs each invocation on the wasm engine.
//
// One Worker owns one EventStream to the host (docs/host-contract.md §2). It answers
// WorkerInitRequest at once, compiles functions on FunctionLoadRequest, runs
// invocations concurrently (exactly one InvocationResponse each, whatever the
// guest does), and exits cleanly on WorkerTerminate or when the host ends the
// stream.
//
// Each host message has its handler in a file named for it: init.go,
// load.go, metadata.go, invoke.go, cancel.go, status.go, reload.go,
// warmup.go, sharedmemory.go, terminate.go; stream.go receives and sends
// and dispatches; failure.go maps failures to the host's exception types.
// Protocol messages are converted to the engine's types at this edge
// (internal/rpcconv) and nowhere deeper.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmworker/wasmworker/internal/deadline"
	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// ErrStreamEnded is what Run returns when the host's stream ends without a
// WorkerTerminate: the worker cannot serve any more and must be restarted.
// cmd/wasmworker exits with code 1 then, which the host treats as a worker
// error (it fails the invocations in flight and restarts the worker at once;
// docs/host-contract.md §2.17), where exit code 0 would make it wait for its
// own timeouts.
var ErrStreamEnded = errors.New("the stream to the host ended without WorkerTerminate")

// Version is the worker's version, reported in WorkerInitResponse.
var Version = "0.1.0-dev"

// Options configure a Worker.
type Options struct {
	Args
	// CacheDir is the on-disk compilation cache (see engine.Config).
	CacheDir string
	// Logger receives the worker's own diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// EchoForBenchmarks answers every invocation of a loaded function at once
	// with a fixed success (HTTP outputs get status 200 and body "ok"),
	// without running its module. It measures the protocol path alone: the
	// baseline the benchmarks compare guests against. Never for production.
	EchoForBenchmarks bool
	// MaxRunning bounds the guests running at once across all functions;
	// further invocations wait (until their deadline or cancel) for a slot.
	// A guest gives its slot back while it waits (a sleep, an outbound
	// request, a free instance; internal/slots), so the bound counts guests
	// using a CPU: more than the cores can run only adds live instances,
	// and their memory. Zero means DefaultMaxRunning().
	MaxRunning int
}

// DefaultMaxRunning is Options.MaxRunning when zero: one guest per core.
func DefaultMaxRunning() int { return max(runtime.GOMAXPROCS(0), 1) }

// Capabilities are the features this worker declares in WorkerInitResponse
// (docs/host-contract.md §2.4, §8). Any non-empty value turns a feature on in the host.
var Capabilities = map[string]string{
	"RpcHttpBodyOnly":                   "true",
	"RawHttpBodyBytes":                  "true",
	"RpcHttpTriggerMetadataRemoved":     "true",
	"UseNullableValueDictionaryForHttp": "true",
	"IgnoreEmptyValuedRpcHttpHeaders":   "true",
	"TypedDataCollection":               "true",
	// Keep empty entries of string collections (as ""), so that a batch's
	// items line up with its per-item metadata arrays.
	"IncludeEmptyEntriesInMessagePayload": "true",
	"WorkerStatus":                        "true",
	"HandlesWorkerTerminateMessage":       "true",
	"HandlesInvocationCancelMessage":      "true",
	"HandlesWorkerWarmupMessage":          "true",
}

// Worker is one connection to the host and the functions loaded over it.
type Worker struct {
	opts   Options
	log    *slog.Logger
	engine *engine.Engine

	out     chan *rpc.StreamingMessage // to the sender goroutine; nil entry = flush and stop
	senderQ chan struct{}              // closed when the sender has stopped

	mu        sync.RWMutex
	functions map[string]*function // by function id
	index     *indexed             // the last worker indexing (metadata.go); nil before one
	appDir    string
	hostCfg   *funcapp.HostConfig
	// deadlineCache is the invocation deadline computed from deadlineFor
	// (the hostCfg of the time) and the environment; valid while
	// deadlineFor is hostCfg (a reload resets hostCfg).
	deadlineCache time.Duration
	deadlineCause error // deadlineError(deadlineCache)
	deadlineFor   *funcapp.HostConfig

	deadlines deadline.Timer // ends invocations that run past their deadline

	invMu    sync.Mutex
	inflight map[string]*running // by invocation id
	draining bool
	invWG    sync.WaitGroup
	running  *slots.Limit // one slot per guest using a CPU (Options.MaxRunning)
	runner   *runner      // the goroutines invocations run on

	lastHealth atomic.Int64 // unix ns of the last health log

	loadSem chan struct{} // bounds parallel compilation
	// indexMu serializes indexings; loadIndexMu the indexings a load starts
	// (Worker.indexForLoad).
	indexMu, loadIndexMu sync.Mutex
	bgWG                 sync.WaitGroup

	terminated chan struct{} // closed once WorkerTerminate has drained
	termOnce   sync.Once
}

// Run connects to the host named in opts, serves the stream and returns when
// the worker should exit: nil after WorkerTerminate (or a signal), an error
// wrapping ErrStreamEnded when the stream ends otherwise, and another error
// when the host cannot be reached at all.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// A module keeps warm instances for the guests that run at once, and
	// for those waiting on the network or a sleep meanwhile (which hold no
	// running slot), so at least the engine's default.
	maxRunning := cmp.Or(max(opts.MaxRunning, 0), DefaultMaxRunning())
	engine, err := engine.NewEngine(engine.Config{CacheDir: opts.CacheDir, Logger: log,
		MaxIdleInstances: max(maxRunning, engine.DefaultMaxIdleInstances())})
	if err != nil {
		return fmt.Errorf("start wasm engine: %w", err)
	}
	w := &Worker{
		opts:       opts,
		log:        log,
		engine:     engine,
		out:        make(chan *rpc.StreamingMessage, 4096),
		senderQ:    make(chan struct{}),
		functions:  map[string]*function{},
		inflight:   map[string]*running{},
		loadSem:    make(chan struct{}, max(runtime.GOMAXPROCS(0), 1)),
		running:    slots.New(maxRunning),
		terminated: make(chan struct{}),
	}
	w.runner = newRunner(w.runInvocation)
	if wd, err := os.Getwd(); err == nil {
		w.appDir = wd
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.closeFunctions(closeCtx)
		_ = engine.Close(closeCtx)
	}()
	return w.serve(ctx)
}

func success() *rpc.StatusResult {
	return &rpc.StatusResult{Status: rpc.StatusResult_Success}
}

func failure(msg, typ string, user bool) *rpc.StatusResult {
	return &rpc.StatusResult{
		Status: rpc.StatusResult_Failure,
		Exception: &rpc.RpcException{
			Message:         rpcconv.Text(msg),
			Source:          "wasmworker",
			Type:            typ,
			IsUserException: user,
		},
	}
}

// systemLog sends a worker diagnostic to the host's system log (docs/host-contract.md §2.15).
func (w *Worker) systemLog(level rpc.RpcLog_Level, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		Level:       level,
		Message:     rpcconv.Text(msg),
		Category:    "Worker.wasm",
		LogCategory: rpc.RpcLog_System,
	}}})
}
