// Command wasmload measures the worker as the Functions host drives it: it
// starts the real worker process from a workers folder, loads a function app
// over gRPC, and keeps a number of invocations of one function in flight,
// then reports throughput and latency percentiles. With -echo the worker
// answers without running any wasm: the protocol limit on this machine, the
// baseline the benchmarks compare against. With -cold it measures cold
// start instead: process start to the first InvocationResponse.
//
// Every function of the app is loaded, as the host loads them, so that the
// worker's memory and speed are those of the whole app; -only loads just
// the functions driven (FUNCTION and the -mix ones). A function of the app
// that fails to load is reported and skipped, as the host does; one that
// is driven must load.
//
// Usage:
//
//	wasmload [flags] APPDIR FUNCTION
//
// Examples (from the repository root):
//
//	go run ./cmd/wasmbuild examples-wasm/app
//	go run ./cmd/wasmload -c 64 -n 20000 examples-wasm/app HttpHello
//	go run ./cmd/wasmload -echo -c 64 -n 20000 examples-wasm/app HttpHello
//	go run ./cmd/wasmload -cold -n 5 examples-wasm/app HttpHello
//
// With -upstream it also serves a loopback HTTP server for a function that
// calls out (outbound HTTP); -upstream -native makes the same calls with
// Go's own client instead, the baseline.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/devhost/route"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

type options struct {
	workers     string
	concurrency int
	n           int
	warmup      int
	echo        bool
	cold        bool
	coldCache   string
	path        string
	method      string
	body        string
	message     string
	mix         mixFlag
	jsonOut     bool
	sample      time.Duration
	only        bool
	upstream    bool
	native      bool
	appDir, fn  string
}

// mixFlag collects -mix NAME=PERCENT.
type mixFlag map[string]float64

func (m mixFlag) String() string { return fmt.Sprint(map[string]float64(m)) }

func (m mixFlag) Set(s string) error {
	name, pct, ok := strings.Cut(s, "=")
	p, err := strconv.ParseFloat(pct, 64)
	if !ok || err != nil || p <= 0 || p >= 100 {
		return fmt.Errorf("want NAME=PERCENT with 0 < PERCENT < 100, got %q", s)
	}
	m[name] = p
	return nil
}

func main() {
	o := options{mix: mixFlag{}}
	flag.StringVar(&o.workers, "workers", "", "workers folder holding wasm/worker.config.json (default: build the worker into the user cache)")
	flag.IntVar(&o.concurrency, "c", 64, "invocations kept in flight")
	flag.IntVar(&o.n, "n", 10000, "invocations to measure (with -cold: cold starts)")
	flag.IntVar(&o.warmup, "warmup", 500, "invocations before measuring")
	flag.BoolVar(&o.echo, "echo", false, "the worker answers without running wasm (WASMWORKER_BENCH_ECHO=1): the protocol baseline")
	flag.BoolVar(&o.cold, "cold", false, "measure cold start: worker process start, load of every function of the app, first response")
	flag.StringVar(&o.coldCache, "cache", "warm", "with -cold: compilation cache \"warm\" (filled by a first start) or \"empty\" (a new one per start)")
	flag.StringVar(&o.path, "path", "", "HTTP trigger: request path (default /api/<route> with every {param} set to \"x\")")
	flag.StringVar(&o.method, "method", "GET", "HTTP trigger: request method")
	flag.StringVar(&o.body, "body", "", "HTTP trigger: request body")
	flag.StringVar(&o.message, "message", `{"task":"bench"}`, "queue trigger: the message")
	flag.Var(o.mix, "mix", "NAME=PERCENT: also invoke function NAME for PERCENT % of invocations (repeatable; e.g. hostile guests for a soak)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.BoolVar(&o.only, "only", false, "load only the functions driven (FUNCTION and -mix), not the whole app")
	flag.BoolVar(&o.upstream, "upstream", false, "serve a loopback HTTP upstream for a function that calls out: the worker gets its URL in WASMLOAD_UPSTREAM_URL and WASMWORKER_ALLOWED_HOSTS allowing it")
	flag.BoolVar(&o.native, "native", false, "with -upstream: make the same calls with Go's net/http client from this process instead of running the worker (the native baseline)")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "sample the worker's RSS and health (goroutines, heap) this often")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: wasmload [flags] APPDIR FUNCTION\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	o.appDir, o.fn = flag.Arg(0), flag.Arg(1)
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wasmload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	app, err := funcapp.LoadApp(o.appDir)
	if err != nil {
		return err
	}
	for _, e := range app.Errors {
		fmt.Fprintf(os.Stderr, "wasmload: skipping a broken function of %s: %v\n", app.Dir, e)
	}
	workers := o.workers
	if workers == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		if workers, err = devhost.BuildWorker(ctx, app.Dir, filepath.Join(cache, "wasmload", "workers")); err != nil {
			return err
		}
	}
	cfg, err := fnhost.FindWorker(workers, "wasm")
	if err != nil {
		return err
	}
	if !cfg.WorkerIndexing && app.Function(o.fn) == nil {
		return fmt.Errorf("app %s has no function %q", app.Dir, o.fn)
	}
	if o.cold {
		return coldStart(ctx, o, app, cfg, out)
	}
	return load(ctx, o, app, cfg, out)
}

// started is a worker with the app's functions loaded.
type started struct {
	w   *fnhost.Worker
	fns map[string]*funcapp.Function // by lower-cased name: every function of the app
	ids map[string]string            // function name → id, for those loaded
}

// function returns the app's function called name, or nil.
func (st *started) function(name string) *funcapp.Function { return st.fns[strings.ToLower(name)] }

// start starts a worker and loads the app's functions as the host does:
// with a worker config that has workerIndexing, it asks the worker for them
// first (an app declared in code, abi/SPEC.md §2.3) and falls back to the
// function.json folders when the worker answers use_default_metadata_indexing.
// With only set, just the functions named in driven are loaded. A function
// of driven that is missing or fails to load is an error; any other failure
// is reported and skipped, as the host does.
func start(ctx context.Context, app *funcapp.App, cfg *fnhost.WorkerConfig, env []string, only bool, driven []string, stderr func(string)) (*started, error) {
	w, err := fnhost.StartWorker(ctx, fnhost.WorkerOptions{
		StartOptions:    fnhost.StartOptions{Config: cfg, AppDir: app.Dir, Env: env, Stderr: stderr},
		FunctionTimeout: app.Host.FunctionTimeout,
	})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*started, error) {
		w.Terminate(time.Second)
		return nil, err
	}
	all := app.Functions
	var as map[*funcapp.Function]fnhost.Indexed
	if cfg.WorkerIndexing {
		resp, err := w.IndexFunctions(ctx, app.Dir, fnhost.MetadataTimeout)
		if err != nil {
			return fail(err)
		}
		if !resp.GetUseDefaultMetadataIndexing() {
			var problems []error
			all, as, problems = devhost.IndexedFunctions(resp)
			for _, p := range problems {
				fmt.Fprintf(os.Stderr, "wasmload: skipped, as the host does: %v\n", p)
			}
		}
	}
	st := &started{w: w, fns: map[string]*funcapp.Function{}, ids: map[string]string{}}
	for _, f := range all {
		st.fns[strings.ToLower(f.Name)] = f
	}
	var want []*funcapp.Function
	for _, name := range driven {
		f := st.function(name)
		if f == nil {
			return fail(fmt.Errorf("app %s has no function %q", app.Dir, name))
		}
		want = append(want, f)
	}
	fns := all
	if only {
		fns = want
	}
	loaded, err := w.LoadIndexed(ctx, fns, as)
	if err != nil {
		return fail(err)
	}
	for _, l := range loaded {
		switch {
		case l.Err == nil:
			st.ids[l.Function.Name] = l.ID
		case slices.Contains(want, l.Function):
			return fail(fmt.Errorf("load %s: %w", l.Function.Name, l.Err))
		default:
			fmt.Fprintf(os.Stderr, "wasmload: skipped, as the host does: %v\n", l.Err)
		}
	}
	return st, nil
}

// requestFor builds the InvocationRequest the host would send to fn.
type requestFor func(id string) *rpc.InvocationRequest

func builder(o options, app *funcapp.App, fn *funcapp.Function, caps httpbind.Capabilities) (requestFor, error) {
	trig := fn.Trigger()
	if trig == nil {
		return nil, fmt.Errorf("function %s has no trigger binding", fn.Name)
	}
	switch strings.ToLower(trig.Type) {
	case "httptrigger":
		return httpBuilder(o, app, fn, *trig, caps)
	case "queuetrigger":
		msg := o.message
		return func(id string) *rpc.InvocationRequest {
			now := `"` + time.Now().UTC().Format(time.RFC3339Nano) + `"`
			return &rpc.InvocationRequest{
				InvocationId: fnhost.NewInvocationID(),
				FunctionId:   id,
				InputData:    []*rpc.ParameterBinding{{Name: trig.Name, RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_String_{String_: msg}}}}},
				TriggerMetadata: map[string]*rpc.TypedData{
					"QueueTrigger":    {Data: &rpc.TypedData_String_{String_: msg}},
					"DequeueCount":    {Data: &rpc.TypedData_Json{Json: "1"}},
					"Id":              {Data: &rpc.TypedData_String_{String_: uuid.NewString()}},
					"PopReceipt":      {Data: &rpc.TypedData_String_{String_: "AgAAAAMAAAAAAAAA"}},
					"InsertionTime":   {Data: &rpc.TypedData_Json{Json: now}},
					"NextVisibleTime": {Data: &rpc.TypedData_Json{Json: now}},
					"ExpirationTime":  {Data: &rpc.TypedData_Json{Json: now}},
				},
			}
		}, nil
	case "timertrigger":
		return func(id string) *rpc.InvocationRequest {
			timer := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`
			return &rpc.InvocationRequest{
				InvocationId: fnhost.NewInvocationID(),
				FunctionId:   id,
				InputData:    []*rpc.ParameterBinding{{Name: trig.Name, RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Json{Json: timer}}}}},
			}
		}, nil
	}
	return nil, fmt.Errorf("function %s: wasmload drives HTTP, queue and timer triggers, not %q", fn.Name, trig.Type)
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func httpBuilder(o options, app *funcapp.App, fn *funcapp.Function, trig funcapp.Binding, caps httpbind.Capabilities) (requestFor, error) {
	tmpl := trig.Str("route")
	if tmpl == "" {
		tmpl = fn.Name
	}
	prefix := strings.Trim(app.Host.RoutePrefix, "/")
	path := o.path
	if path == "" {
		path = "/" + strings.TrimPrefix(prefix+"/"+paramRE.ReplaceAllString(tmpl, "x"), "/")
	}
	rt, err := route.Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("function %s: route %q: %w", fn.Name, tmpl, err)
	}
	params, ok := rt.Match(strings.TrimPrefix(strings.TrimPrefix(path, "/"+prefix), "/"))
	if !ok {
		return nil, fmt.Errorf("function %s: path %s does not match its route %q (prefix %q)", fn.Name, path, tmpl, prefix)
	}
	body := []byte(o.body)
	return func(id string) *rpc.InvocationRequest {
		r := httptest.NewRequest(o.method, "http://localhost:7071"+path, bytes.NewReader(body))
		req := httpbind.Request(r, body, params, caps)
		return &rpc.InvocationRequest{
			InvocationId:    fnhost.NewInvocationID(),
			FunctionId:      id,
			InputData:       []*rpc.ParameterBinding{{Name: trig.Name, RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}}}},
			TriggerMetadata: httpbind.TriggerMetadata(r, body, params, req, trig.Name, caps),
		}
	}, nil
}

// report is what a load run measured.
type report struct {
	Function    string             `json:"function"`
	Echo        bool               `json:"echo"`
	Native      bool               `json:"native,omitempty"` // -native: Go's client, no worker
	Concurrency int                `json:"concurrency"`
	Invocations int                `json:"invocations"`
	Failures    int                `json:"failures"`
	FirstError  string             `json:"firstError,omitempty"`
	Mixed       map[string]int     `json:"mixed,omitempty"`
	Seconds     float64            `json:"seconds"`
	PerSecond   float64            `json:"perSecond"` // all invocations, mixed-in ones included
	LatencyMS   map[string]float64 `json:"latencyMs"`
	RSSStartKiB int64              `json:"rssStartKiB"`
	RSSEndKiB   int64              `json:"rssEndKiB"`
	// AnonStartKiB and AnonEndKiB are the anonymous part of the RSS
	// (RssAnon: heap, stacks, compiled code, linear memories); the rest is
	// file pages, mostly the worker's own executable, shared with every
	// process that maps it and growing as code paths are first run.
	AnonStartKiB int64 `json:"anonStartKiB"`
	AnonEndKiB   int64 `json:"anonEndKiB"`
	// RSSPeakKiB is the worker's peak RSS since it started (VmHWM),
	// loading included.
	RSSPeakKiB int64 `json:"rssPeakKiB"`
	// CPU time per measured invocation, user and system, of the worker
	// process and of wasmload itself (the host's part), in µs; 0 where
	// /proc is missing.
	WorkerCPUMicros float64 `json:"workerCpuMicros,omitempty"`
	ClientCPUMicros float64 `json:"clientCpuMicros,omitempty"`
	// The worker's read and write system calls per measured invocation.
	WorkerReads  float64  `json:"workerReads,omitempty"`
	WorkerWrites float64  `json:"workerWrites,omitempty"`
	Samples      []string `json:"samples,omitempty"` // RSS every -sample
	// StrayResponses counts answers to no request in flight (a second
	// answer to one request): every request must be answered exactly once.
	StrayResponses int64    `json:"strayResponses"`
	Health         []string `json:"health,omitempty"` // the worker's health logs
}

func load(ctx context.Context, o options, app *funcapp.App, cfg *fnhost.WorkerConfig, out io.Writer) error {
	if o.concurrency < 1 || o.n < 1 {
		return errors.New("-c and -n must be at least 1")
	}
	env := os.Environ()
	if o.echo {
		env = append(env, "WASMWORKER_BENCH_ECHO=1")
	}
	if o.upstream {
		srv, upEnv := startUpstream()
		defer srv.Close()
		if o.native {
			return nativeLoad(ctx, o, srv.URL+"/", out)
		}
		env = append(env, upEnv...)
	}
	driven := []string{o.fn}
	for name := range o.mix {
		driven = append(driven, name)
	}
	var healthMu sync.Mutex
	var health []string // the worker's "health" log lines (goroutines, heap)
	st, err := start(ctx, app, cfg, env, o.only, driven, func(line string) {
		if strings.Contains(line, "msg=health") {
			healthMu.Lock()
			health = append(health, line)
			healthMu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	w, ids, target := st.w, st.ids, st.function(o.fn)
	defer w.Terminate(5 * time.Second)
	// Sample the worker's RSS, and make it log its health, every -sample.
	var samples []string
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t0 := time.Now()
		tick := time.NewTicker(o.sample)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				_, _ = w.Status(ctx)
				samples = append(samples, fmt.Sprintf("%4.0fs rss=%dKiB", time.Since(t0).Seconds(), rssKiB(w.Process().Pid())))
			}
		}
	}()
	caps := httpbind.Capabilities(w.Capabilities())
	type choice struct {
		name string
		pct  float64
		req  requestFor
	}
	var mix []choice
	for name, pct := range o.mix {
		f := st.function(name)
		b, err := builder(o, app, f, caps)
		if err != nil {
			return err
		}
		mix = append(mix, choice{f.Name, pct, b})
	}
	targetReq, err := builder(o, app, target, caps)
	if err != nil {
		return err
	}

	var (
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, o.n)
		failures int
		firstErr string
		mixed    = map[string]int{}
	)
	var startRSS, startAnon int64
	var startCPU cpuTimes
	began := drive(o.concurrency, o.warmup, o.n, func() {
		startRSS = rssKiB(w.Process().Pid())
		startAnon = statusKiB(w.Process().Pid(), "RssAnon:")
		startCPU = readCPU(w.Process().Pid())
	}, func(measuring bool) bool {
		name, build, id := target.Name, targetReq, ids[target.Name]
		if len(mix) > 0 {
			r := rand.Float64() * 100
			for _, c := range mix {
				if r < c.pct {
					name, build, id = c.name, c.req, ids[c.name]
					break
				}
				r -= c.pct
			}
		}
		t0 := time.Now()
		resp, err := w.Invoke(ctx, build(id), nil)
		d := time.Since(t0)
		if err != nil {
			// The worker is gone or the stream broke: nothing more can be measured.
			mu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			failures++
			mu.Unlock()
			return false
		}
		if !measuring {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		if name != target.Name {
			mixed[name]++
			return true
		}
		lat = append(lat, d)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			failures++
			if firstErr == "" {
				firstErr = resp.GetResult().GetException().GetMessage()
			}
		}
		return true
	})
	elapsed := time.Since(began)
	cpu := readCPU(w.Process().Pid()).since(startCPU)
	close(stopSampling)
	<-sampled
	_, _ = w.Status(ctx) // a last health line, if 10 s have passed
	time.Sleep(100 * time.Millisecond)
	r := report{
		Function: target.Name, Echo: o.echo, Concurrency: o.concurrency,
		Invocations: len(lat), Failures: failures, FirstError: firstErr, Mixed: mixed,
		Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)+sum(mixed)) / elapsed.Seconds(),
		LatencyMS: percentiles(lat), RSSStartKiB: startRSS, RSSEndKiB: rssKiB(w.Process().Pid()),
		AnonStartKiB: startAnon, AnonEndKiB: statusKiB(w.Process().Pid(), "RssAnon:"),
		RSSPeakKiB: statusKiB(w.Process().Pid(), "VmHWM:"),
		Samples:    samples, StrayResponses: w.StrayResponses(),
	}
	if n := len(lat) + sum(mixed); n > 0 && cpu.ok {
		r.WorkerCPUMicros = float64(cpu.worker.Microseconds()) / float64(n)
		r.ClientCPUMicros = float64(cpu.client.Microseconds()) / float64(n)
		if cpu.reads >= 0 {
			r.WorkerReads, r.WorkerWrites = float64(cpu.reads)/float64(n), float64(cpu.writes)/float64(n)
		}
	}
	healthMu.Lock()
	for _, l := range health {
		if i := strings.Index(l, "goroutines="); i >= 0 {
			r.Health = append(r.Health, l[i:])
		}
	}
	healthMu.Unlock()
	return printReport(out, o.jsonOut, r)
}

func coldStart(ctx context.Context, o options, app *funcapp.App, cfg *fnhost.WorkerConfig, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "wasmload-cold-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	functions := 0 // the app's functions, as the last start listed them
	once := func(cacheDir string) (time.Duration, error) {
		env := append(os.Environ(), "WASMWORKER_CACHE_DIR="+cacheDir)
		t0 := time.Now()
		st, err := start(ctx, app, cfg, env, false, []string{o.fn}, nil)
		if err != nil {
			return 0, err
		}
		defer st.w.Terminate(5 * time.Second)
		target := st.function(o.fn)
		functions = len(st.fns)
		build, err := builder(o, app, target, httpbind.Capabilities(st.w.Capabilities()))
		if err != nil {
			return 0, err
		}
		resp, err := st.w.Invoke(ctx, build(st.ids[target.Name]), nil)
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			return 0, fmt.Errorf("first invocation failed: %s", resp.GetResult().GetException().GetMessage())
		}
		return d, nil
	}
	warm := filepath.Join(tmp, "warm")
	if o.coldCache == "warm" {
		if _, err := once(warm); err != nil { // fills the cache
			return err
		}
	} else if o.coldCache != "empty" {
		return fmt.Errorf("-cache must be warm or empty, not %q", o.coldCache)
	}
	var ds []time.Duration
	for i := range o.n {
		dir := warm
		if o.coldCache == "empty" {
			dir = filepath.Join(tmp, "empty"+strconv.Itoa(i))
		}
		d, err := once(dir)
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	res := map[string]any{
		"function": o.fn, "functions": functions, "cache": o.coldCache,
		"starts": len(ds), "coldStartMs": percentiles(ds),
	}
	if o.jsonOut {
		return json.NewEncoder(out).Encode(res)
	}
	p := res["coldStartMs"].(map[string]float64)
	_, err = fmt.Fprintf(out, "cold start of %s (%d functions, %s cache), %d starts: p50 %.1f ms, min %.1f ms, max %.1f ms\n",
		o.fn, functions, o.coldCache, len(ds), p["p50"], p["min"], p["max"])
	return err
}

func printReport(out io.Writer, asJSON bool, r report) error {
	if asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	mode := "wasm"
	switch {
	case r.Echo:
		mode = "echo (no wasm)"
	case r.Native:
		mode = "native net/http (no worker)"
	}
	mixed := ""
	if n := sum(r.Mixed); n > 0 {
		mixed = fmt.Sprintf(" (+%d mixed in)", n)
	}
	fmt.Fprintf(out, "%s, %s, concurrency %d: %d invocations%s in %.2f s = %.0f/s in all\n", r.Function, mode, r.Concurrency, r.Invocations, mixed, r.Seconds, r.PerSecond)
	l := r.LatencyMS
	fmt.Fprintf(out, "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", l["p50"], l["p90"], l["p99"], l["max"])
	if len(r.Mixed) > 0 {
		fmt.Fprintf(out, "mixed in: %v\n", r.Mixed)
	}
	fmt.Fprintf(out, "worker RSS: %d KiB after warm-up, %d KiB at the end, %d KiB at its peak (VmHWM); anonymous: %d KiB after warm-up, %d KiB at the end\n",
		r.RSSStartKiB, r.RSSEndKiB, r.RSSPeakKiB, r.AnonStartKiB, r.AnonEndKiB)
	if r.WorkerCPUMicros > 0 {
		fmt.Fprintf(out, "CPU per invocation: worker %.1f µs, wasmload (the host's part) %.1f µs; worker system calls per invocation: %.2f reads, %.2f writes\n",
			r.WorkerCPUMicros, r.ClientCPUMicros, r.WorkerReads, r.WorkerWrites)
	}
	fmt.Fprintf(out, "stray responses (a request answered twice): %d\n", r.StrayResponses)
	for _, x := range r.Samples {
		fmt.Fprintf(out, "  sample %s\n", x)
	}
	for _, x := range r.Health {
		fmt.Fprintf(out, "  worker health: %s\n", x)
	}
	if r.StrayResponses > 0 {
		return fmt.Errorf("%d responses answered no invocation in flight (answered twice?)", r.StrayResponses)
	}
	if r.Failures > 0 {
		fmt.Fprintf(out, "FAILURES: %d (first: %s)\n", r.Failures, r.FirstError)
		return fmt.Errorf("%d invocations of %s failed", r.Failures, r.Function)
	}
	return nil
}

func percentiles(ds []time.Duration) map[string]float64 {
	if len(ds) == 0 {
		return map[string]float64{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
	}
	return map[string]float64{"min": at(0), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": float64(s[len(s)-1].Microseconds()) / 1000}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// rssKiB reads a process's resident set size from /proc (0 where there is none).
func rssKiB(pid int) int64 { return statusKiB(pid, "VmRSS:") }

// statusKiB reads one field, in kB, of /proc/<pid>/status: VmRSS (the
// resident set) or VmHWM (its peak since the process started).
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// drive makes warmup+n calls from c goroutines and returns when they are
// done. onMeasure runs once, as the first measured call starts, and drive
// returns that time. call is told whether its call is measured; it returns
// false to stop its goroutine (the others go on).
func drive(c, warmup, n int, onMeasure func(), call func(measuring bool) bool) (began time.Time) {
	var next atomic.Int64
	var once sync.Once
	total := int64(warmup + n)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				measuring := i > int64(warmup)
				if measuring {
					once.Do(func() {
						onMeasure()
						began = time.Now()
					})
				}
				if !call(measuring) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return began
}
