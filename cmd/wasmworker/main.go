// Command wasmworker is the Azure Functions language worker for WebAssembly.
//
// The Functions host starts it (through worker.config.json) with the address
// of its gRPC server on the command line; see README.md. It exits 0 after
// WorkerTerminate (or SIGTERM/SIGINT, after draining), 1 when the stream to
// the host ends any other way (so that the host restarts it at once instead
// of waiting for its function timeouts; docs/host-contract.md §2.17) or the
// host cannot be reached, and 2 for a bad command line. A guest never makes
// it exit.
//
// Environment:
//
//	WASMWORKER_LOG_LEVEL   debug, info (default), warn or error
//	WASMWORKER_CACHE_DIR   the compilation cache ("off" disables the disk cache)
//	GOGC                   when unset, the worker uses 200 (memlimit.DefaultGOGC; BENCHMARKS.md issue #16)
//	WASMWORKER_MEMORY_LIMIT_MB  soft memory limit (GOMEMLIMIT) in MiB, "off" for none; default
//	                       80 % of the container's (cgroup) memory limit, if any
//	WASMWORKER_CPUPROFILE  write a CPU profile of the whole run to this file (for go tool pprof)
//	WASMWORKER_MEMPROFILE  write the allocations of the whole run to this file when the worker ends
//	WASMWORKER_MAX_RUNNING guests using a CPU at once (default one per core); more invocations wait
//	WASMWORKER_COMPILE_TIMEOUT  how long a load waits for its module to compile (Go duration or
//	                       seconds; default 60 s)
//	WASMWORKER_IDLE_RELEASE  release a module's compiled code after it served no invocation for
//	                       this long (Go duration; default 5m; "off" keeps it); it compiles again,
//	                       from the cache, on its next invocation
//	WASMWORKER_ALLOWED_HOSTS, WASMWORKER_OUTBOUND_CA_FILE, WASMWORKER_MAX_OUTBOUND_REQUESTS,
//	WASMWORKER_MAX_OUTBOUND_RESPONSE_MB  outbound HTTP of guests (abi/SPEC.md §5.7)
//	WASMWORKER_BENCH_ECHO  "1": answer invocations without running any wasm (the benchmarks' baseline)
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/wasmworker/wasmworker/internal/memlimit"
	"github.com/wasmworker/wasmworker/internal/protocol/wire"
	"github.com/wasmworker/wasmworker/internal/worker"
	"google.golang.org/grpc/encoding"
)

// The worker's messages go through the wire codec (generated decoders and
// encoders). It is registered under gRPC's name for protobuf, so that requests keep
// the content type application/grpc, as with gRPC's own codec.
func init() { encoding.RegisterCodecV2(wire.Codec{}) }

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	for _, a := range args {
		if a == "--version" || a == "-version" {
			fmt.Fprintln(stderr, "wasmworker", worker.Version)
			return 0
		}
	}
	logger := slog.New(slog.NewTextHandler(&consoleLog{w: stderr}, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(logger)

	parsed, err := worker.ParseArgs(args)
	if err != nil {
		logger.Error("bad command line", "err", err, "args", strings.Join(args, " "))
		return 2
	}
	setMemoryPolicy(logger)
	if path := os.Getenv("WASMWORKER_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err != nil {
			logger.Warn("cannot write the CPU profile", "err", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			logger.Warn("cannot start the CPU profile", "err", err)
		} else {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	if path := os.Getenv("WASMWORKER_MEMPROFILE"); path != "" {
		defer writeAllocs(logger, path)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = worker.Run(ctx, worker.Options{
		Args:     parsed,
		CacheDir: os.Getenv("WASMWORKER_CACHE_DIR"),
		Logger:   logger,

		EchoForBenchmarks: os.Getenv("WASMWORKER_BENCH_ECHO") == "1",
		MaxRunning:        envInt(logger, "WASMWORKER_MAX_RUNNING"),
	})
	if err != nil {
		logger.Error("worker failed", "err", err)
		return 1
	}
	return 0
}

// writeAllocs writes the allocation profile (go tool pprof -sample_index
// alloc_space) to path.
func writeAllocs(logger *slog.Logger, path string) {
	f, err := os.Create(path)
	if err != nil {
		logger.Warn("cannot write the allocation profile", "err", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		logger.Warn("cannot write the allocation profile", "err", err)
	}
}

// setMemoryPolicy sets the GC policy unless GOGC or GOMEMLIMIT say
// otherwise: GOGC=memlimit.DefaultGOGC (200: linear memories are outside
// the Go heap, so the 400 that instantiating per invocation once needed
// (docs/guest-toolchains.md §6) only doubled the heap's floor; BENCHMARKS.md,
// issue #16), bounded by a soft memory limit (internal/memlimit:
// WASMWORKER_MEMORY_LIMIT_MB, else 80 % of the container's limit), near
// which the runtime collects as often as needed.
func setMemoryPolicy(logger *slog.Logger) {
	if p := memlimit.GCPercent(os.Getenv); p >= 0 {
		debug.SetGCPercent(p)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit, where, err := memlimit.OS()
	switch {
	case err != nil:
		logger.Warn("ignoring the memory limit setting", "err", err)
	case limit > 0:
		debug.SetMemoryLimit(limit)
		logger.Info("soft memory limit", "MiB", limit>>20, "from", where)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("WASMWORKER_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// consoleLog prefixes every line with LanguageWorkerConsoleLog, which makes
// the host file it as a system log of this worker rather than as user output
// (docs/host-contract.md §1.6). slog writes one record per Write call.
type consoleLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, "LanguageWorkerConsoleLog"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// envInt reads a positive integer from the environment (0 when unset or bad).
func envInt(log *slog.Logger, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		log.Warn("ignoring a setting that is not a positive integer", "name", name, "value", v)
		return 0
	}
	return n
}
