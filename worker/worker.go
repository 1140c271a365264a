// Package worker speaks the language-worker side of the Azure Functions gRPC
// contract and runs each invocation on the wasm runtime.
//
// One Worker owns one EventStream to the host (protocol.md §2). It answers
// WorkerInitRequest at once, compiles functions on FunctionLoadRequest, runs
// invocations concurrently (exactly one InvocationResponse each, whatever the
// guest does), and exits cleanly on WorkerTerminate or when the host ends the
// stream.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/wasmworker/wasmworker/funcapp"
	"github.com/wasmworker/wasmworker/proto/rpc"
	"github.com/wasmworker/wasmworker/runtime"
)

// Version is the worker's version, reported in WorkerInitResponse.
var Version = "0.1.0-dev"

// Options configure a Worker.
type Options struct {
	Args
	// CacheDir is the on-disk compilation cache (see runtime.Config).
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
	// Guests are CPU-bound, so more than a few per core only adds memory
	// and latency. Zero means DefaultMaxRunning().
	MaxRunning int
}

// DefaultMaxRunning is Options.MaxRunning when zero: four guests per core.
func DefaultMaxRunning() int { return 4 * max(goruntime.GOMAXPROCS(0), 1) }

// Capabilities are the features this worker declares in WorkerInitResponse
// (protocol.md §2.4, §8). Any non-empty value turns a feature on in the host.
var Capabilities = map[string]string{
	"RpcHttpBodyOnly":                   "true",
	"RawHttpBodyBytes":                  "true",
	"RpcHttpTriggerMetadataRemoved":     "true",
	"UseNullableValueDictionaryForHttp": "true",
	"IgnoreEmptyValuedRpcHttpHeaders":   "true",
	"TypedDataCollection":               "true",
	"WorkerStatus":                      "true",
	"HandlesWorkerTerminateMessage":     "true",
	"HandlesInvocationCancelMessage":    "true",
	"HandlesWorkerWarmupMessage":        "true",
}

// Worker is one connection to the host and the functions loaded over it.
type Worker struct {
	opts   Options
	log    *slog.Logger
	engine *runtime.Engine

	out     chan *rpc.StreamingMessage // to the sender goroutine; nil entry = flush and stop
	senderQ chan struct{}              // closed when the sender has stopped

	mu        sync.RWMutex
	functions map[string]*function // by function id
	appDir    string
	hostCfg   *funcapp.HostConfig

	invMu    sync.Mutex
	inflight map[string]*invocation // by invocation id
	draining bool
	invWG    sync.WaitGroup
	runSem   chan struct{} // one token per running guest (Options.MaxRunning)

	lastHealth atomic.Int64 // unix ns of the last health log

	loadSem chan struct{} // bounds parallel compilation
	bgWG    sync.WaitGroup

	terminated chan struct{} // closed once WorkerTerminate has drained
	termOnce   sync.Once
}

// Run connects to the host named in opts, serves the stream and returns when
// the worker should exit: nil after WorkerTerminate or when the host ends the
// stream, an error only when the host cannot be reached at all.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	engine, err := runtime.NewEngine(runtime.Config{CacheDir: opts.CacheDir, Logger: log})
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
		inflight:   map[string]*invocation{},
		loadSem:    make(chan struct{}, max(goruntime.GOMAXPROCS(0), 1)),
		runSem:     make(chan struct{}, cmp.Or(max(opts.MaxRunning, 0), DefaultMaxRunning())),
		terminated: make(chan struct{}),
	}
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

func (w *Worker) serve(ctx context.Context) error {
	conn, err := grpc.NewClient("passthrough:///"+w.opts.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(w.opts.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(w.opts.MaxMessageBytes),
		),
	)
	if err != nil {
		return fmt.Errorf("dial host at %s: %w", w.opts.Addr, err)
	}
	defer conn.Close()

	streamCtx, cancelStream := context.WithCancel(ctx)
	defer cancelStream()
	stream, err := rpc.NewFunctionRpcClient(conn).EventStream(streamCtx, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("open EventStream to host at %s: %w", w.opts.Addr, err)
	}
	w.log.Info("connected to host", "addr", w.opts.Addr, "workerId", w.opts.WorkerID)

	// StartStream must be the first message on the stream (§2.2).
	w.send(&rpc.StreamingMessage{
		RequestId: w.opts.RequestID,
		Content:   &rpc.StreamingMessage_StartStream{StartStream: &rpc.StartStream{WorkerId: w.opts.WorkerID}},
	})
	go w.sender(stream)

	recvDone := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			w.dispatch(msg)
		}
	}()

	select {
	case err := <-recvDone:
		if errors.Is(err, io.EOF) {
			w.log.Info("host ended the stream; exiting")
		} else {
			w.log.Warn("stream from host broke; exiting", "err", err)
		}
		// Nobody can receive responses any more: stop every guest.
		w.cancelAll(errors.New("the host closed the stream"))
		w.invWG.Wait()
		w.bgWG.Wait()
		w.flush()
		return nil
	case <-w.terminated:
		w.log.Info("terminated by host; exiting")
	case <-ctx.Done():
		w.log.Info("signalled; draining", "cause", context.Cause(ctx))
		w.terminate(5 * time.Second)
		<-w.terminated
	}
	w.flush()
	// Send only hands messages to the transport; closing the connection now
	// could drop the last responses. The host ends its side once it has read
	// our half-close, so wait for that (briefly: the host may be gone).
	select {
	case <-recvDone:
	case <-time.After(2 * time.Second):
		w.log.Warn("host did not end the stream after our half-close; exiting anyway")
	}
	return nil
}

// send queues a message for the host. It never blocks once the sender has
// stopped.
func (w *Worker) send(m *rpc.StreamingMessage) {
	select {
	case w.out <- m:
	case <-w.senderQ:
	}
}

// flush sends everything queued so far, half-closes the stream and waits
// (briefly) for the sender to finish.
func (w *Worker) flush() {
	select {
	case w.out <- nil:
	case <-w.senderQ:
	}
	select {
	case <-w.senderQ:
	case <-time.After(5 * time.Second):
		w.log.Warn("timed out flushing messages to the host")
	}
}

func (w *Worker) sender(stream grpc.BidiStreamingClient[rpc.StreamingMessage, rpc.StreamingMessage]) {
	defer close(w.senderQ)
	for m := range w.out {
		if m == nil {
			_ = stream.CloseSend()
			return
		}
		if err := stream.Send(m); err != nil {
			w.log.Warn("send to host failed; dropping further messages", "err", err)
			return
		}
	}
}

// dispatch handles one host message. Quick answers are sent inline, so they
// keep the order of the requests; loads and invocations run on their own
// goroutines.
func (w *Worker) dispatch(m *rpc.StreamingMessage) {
	switch c := m.Content.(type) {
	case *rpc.StreamingMessage_WorkerInitRequest:
		w.handleInit(m.RequestId, c.WorkerInitRequest)
	case *rpc.StreamingMessage_FunctionLoadRequest:
		w.background(func() {
			w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_FunctionLoadResponse{
				FunctionLoadResponse: w.load(c.FunctionLoadRequest),
			}})
		})
	case *rpc.StreamingMessage_FunctionLoadRequestCollection:
		// We do not advertise SupportsLoadResponseCollection; if a host sends a
		// collection anyway, answer each request with its own collection
		// message, which satisfies both readings of the host (§2.6).
		for _, req := range c.FunctionLoadRequestCollection.GetFunctionLoadRequests() {
			w.background(func() {
				w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_FunctionLoadResponseCollection{
					FunctionLoadResponseCollection: &rpc.FunctionLoadResponseCollection{
						FunctionLoadResponses: []*rpc.FunctionLoadResponse{w.load(req)},
					},
				}})
			})
		}
	case *rpc.StreamingMessage_FunctionsMetadataRequest:
		// Functions are described by function.json (host indexing): ask the
		// host to index them itself (§2.5).
		w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_FunctionMetadataResponse{
			FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
				Result:                     success(),
				UseDefaultMetadataIndexing: true,
			},
		}})
	case *rpc.StreamingMessage_InvocationRequest:
		w.startInvocation(m.RequestId, c.InvocationRequest)
	case *rpc.StreamingMessage_InvocationCancel:
		w.cancelInvocation(c.InvocationCancel.GetInvocationId())
	case *rpc.StreamingMessage_WorkerStatusRequest:
		w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_WorkerStatusResponse{
			WorkerStatusResponse: &rpc.WorkerStatusResponse{},
		}})
		w.logHealth()
	case *rpc.StreamingMessage_FunctionEnvironmentReloadRequest:
		w.background(func() { w.handleEnvReload(m.RequestId, c.FunctionEnvironmentReloadRequest) })
	case *rpc.StreamingMessage_WorkerWarmupRequest:
		w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_WorkerWarmupResponse{
			WorkerWarmupResponse: &rpc.WorkerWarmupResponse{Result: success()},
		}})
	case *rpc.StreamingMessage_CloseSharedMemoryResourcesRequest:
		// This worker never creates shared memory maps, so there is nothing
		// to close; the host ignores the answer (§2.14).
		results := map[string]bool{}
		for _, name := range c.CloseSharedMemoryResourcesRequest.GetMapNames() {
			results[name] = false
		}
		w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_CloseSharedMemoryResourcesResponse{
			CloseSharedMemoryResourcesResponse: &rpc.CloseSharedMemoryResourcesResponse{CloseMapResults: results},
		}})
	case *rpc.StreamingMessage_WorkerTerminate:
		grace := 5 * time.Second
		if d := c.WorkerTerminate.GetGracePeriod(); d != nil && d.AsDuration() > 0 {
			grace = d.AsDuration()
		}
		go w.terminate(grace)
	default:
		// Unknown or unused messages are ignored, as the host ignores ours (§2.1).
		w.log.Debug("ignoring host message", "type", fmt.Sprintf("%T", m.Content))
	}
}

// background runs f on a goroutine that terminate waits for.
func (w *Worker) background(f func()) {
	w.bgWG.Add(1)
	go func() {
		defer w.bgWG.Done()
		f()
	}()
}

func (w *Worker) handleInit(requestID string, req *rpc.WorkerInitRequest) {
	if dir := req.GetFunctionAppDirectory(); dir != "" {
		w.mu.Lock()
		w.appDir = dir
		w.mu.Unlock()
	}
	w.log.Info("init", "hostVersion", req.GetHostVersion(), "appDir", req.GetFunctionAppDirectory(),
		"workerDir", req.GetWorkerDirectory())
	// Answer at once (§2.3): compilation happens at load, after this reply.
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_WorkerInitResponse{
		WorkerInitResponse: &rpc.WorkerInitResponse{
			WorkerVersion:  Version,
			Capabilities:   Capabilities,
			Result:         success(),
			WorkerMetadata: workerMetadata(),
		},
	}})
}

func (w *Worker) handleEnvReload(requestID string, req *rpc.FunctionEnvironmentReloadRequest) {
	err := w.reloadEnvironment(req)
	result := success()
	if err != nil {
		w.log.Error("environment reload failed", "err", err)
		result = failure(err.Error(), "EnvironmentReload", false)
	}
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionEnvironmentReloadResponse{
		FunctionEnvironmentReloadResponse: &rpc.FunctionEnvironmentReloadResponse{
			WorkerMetadata:             workerMetadata(),
			Capabilities:               Capabilities,
			Result:                     result,
			CapabilitiesUpdateStrategy: rpc.FunctionEnvironmentReloadResponse_replace,
		},
	}})
}

// reloadEnvironment replaces the process environment, moves to the new app
// directory and reloads every function already loaded (§2.11).
func (w *Worker) reloadEnvironment(req *rpc.FunctionEnvironmentReloadRequest) error {
	os.Clearenv()
	for k, v := range req.GetEnvironmentVariables() {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set environment variable %q: %w", k, err)
		}
	}
	if dir := req.GetFunctionAppDirectory(); dir != "" {
		if err := os.Chdir(dir); err != nil {
			return fmt.Errorf("change directory to the function app %s: %w", dir, err)
		}
		w.mu.Lock()
		w.appDir = dir
		w.hostCfg = nil // read host.json again
		w.mu.Unlock()
	}
	var errs []error
	for _, req := range w.loadRequests() {
		if resp := w.load(req); resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			errs = append(errs, errors.New(resp.GetResult().GetException().GetMessage()))
		}
	}
	return errors.Join(errs...)
}

// terminate stops taking invocations, lets running ones finish within the
// grace period, cancels the rest, and then releases Run. Whatever is still
// running shortly before the grace period ends is answered as Cancelled, so
// every invocation has its response before the host kills the process
// (protocol.md §2.10).
func (w *Worker) terminate(grace time.Duration) {
	w.invMu.Lock()
	w.draining = true
	w.invMu.Unlock()
	margin := min(grace/5, time.Second)
	done := make(chan struct{})
	go func() {
		w.invWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace - margin):
		w.cancelAll(errors.New("the host is terminating the worker"))
		select {
		case <-done:
		case <-time.After(margin / 2):
			w.abandonAll("the worker was terminated by the host (WorkerTerminate) before the invocation finished")
		}
	}
	w.termOnce.Do(func() { close(w.terminated) })
}

func workerMetadata() *rpc.WorkerMetadata {
	return &rpc.WorkerMetadata{
		RuntimeName:    "wasm",
		RuntimeVersion: wazeroVersion(),
		WorkerVersion:  Version,
		WorkerBitness:  goruntime.GOARCH,
		CustomProperties: map[string]string{
			"goVersion": goruntime.Version(),
		},
	}
}

// wazeroVersion reports the wazero module version built into this binary.
func wazeroVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				return "wazero " + d.Version
			}
		}
	}
	return "wazero"
}

func success() *rpc.StatusResult {
	return &rpc.StatusResult{Status: rpc.StatusResult_Success}
}

func failure(msg, typ string, user bool) *rpc.StatusResult {
	return &rpc.StatusResult{
		Status: rpc.StatusResult_Failure,
		Exception: &rpc.RpcException{
			Message:         msg,
			Source:          "wasmworker",
			Type:            typ,
			IsUserException: user,
		},
	}
}

// systemLog sends a worker diagnostic to the host's system log (§2.15).
func (w *Worker) systemLog(level rpc.RpcLog_Level, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		Level:       level,
		Message:     msg,
		Category:    "Worker.wasm",
		LogCategory: rpc.RpcLog_System,
	}}})
}

// logHealth logs the worker's own health (goroutines, invocations in flight,
// heap) when the host asks for its status, at most every 10 s, so that a
// long run shows whether anything grows.
func (w *Worker) logHealth() {
	now := time.Now().UnixNano()
	last := w.lastHealth.Load()
	if now-last < int64(10*time.Second) || !w.lastHealth.CompareAndSwap(last, now) {
		return
	}
	w.invMu.Lock()
	inflight := len(w.inflight)
	w.invMu.Unlock()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	w.log.Info("health", "goroutines", goruntime.NumGoroutine(), "inflight", inflight,
		"heapMiB", ms.HeapAlloc>>20, "sysMiB", ms.Sys>>20)
}
