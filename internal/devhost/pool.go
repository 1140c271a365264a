package devhost

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/httpbind"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// errorWindow and the budget of 3 × processCount errors mirror the host's
// restart policy (docs/host-contract.md §2.17).
const errorWindow = 30 * time.Minute

// terminateGrace is the host's WorkerTerminate grace period (docs/host-contract.md §2.10).
const terminateGrace = 5 * time.Second

// pool runs processCount worker processes for one generation of the app,
// restarts those that die, and hands out ready workers round-robin.
//
// With worker indexing (the worker config's workerIndexing) the functions
// are not known when the pool starts: the first worker started is asked for
// them (index), the generation decides which to load (plan), and then every
// worker loads those, under the ids the worker answered.
type pool struct {
	g     *generation
	cfg   *fnhost.WorkerConfig
	slots []*slot
	rr    atomic.Uint64

	// fns and ids are what every worker loads (ids: the worker's function
	// ids with worker indexing, else nil); set before planned is closed
	// and not changed afterwards.
	fns     []*funcapp.Function
	ids     map[*funcapp.Function]fnhost.Indexed
	planned chan struct{}
	// indexFailed says what the worker's index has in error (reported once
	// by the generation); set with fns.
	indexFailed indexFailures

	// indexing is the config's workerIndexing; indexMu serializes the
	// FunctionsMetadataRequest so that only one worker is asked.
	indexing bool
	indexMu  sync.Mutex

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every slot state change
	// index is the worker's FunctionMetadataResponse (nil until answered).
	index *rpc.FunctionMetadataResponse

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// slot is one worker position of the pool.
type slot struct {
	p     *pool
	index int

	// guarded by p.mu
	w      *fnhost.Worker
	ids    map[string]string // function name → function id on this worker
	errs   map[string]error  // function name → load failure
	gaveUp error
	// restartWanted is set when the host itself restarts the worker (function
	// timeout); such a restart does not count against the error budget.
	restartWanted bool
}

// newPool makes a pool of count workers that load fns (host indexing).
func newPool(g *generation, cfg *fnhost.WorkerConfig, fns []*funcapp.Function, count int) *pool {
	p := newIndexingPool(g, cfg, count)
	p.indexing = false
	p.plan(fns, nil, indexFailures{})
	return p
}

// newIndexingPool makes a pool of count workers whose first started worker
// is asked for the app's functions (waitIndex); its workers load nothing
// until plan is called.
func newIndexingPool(g *generation, cfg *fnhost.WorkerConfig, count int) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool{g: g, cfg: cfg, indexing: true, planned: make(chan struct{}), changed: make(chan struct{}), ctx: ctx, cancel: cancel}
	for i := 0; i < count; i++ {
		p.slots = append(p.slots, &slot{p: p, index: i + 1})
	}
	return p
}

// plan sets the functions every worker loads, with their ids (nil: the
// host makes them), and lets the workers load them; indexFailed names the
// indexed functions in error. Only the first call counts.
func (p *pool) plan(fns []*funcapp.Function, ids map[*funcapp.Function]fnhost.Indexed, indexFailed indexFailures) {
	select {
	case <-p.planned:
		return
	default:
	}
	p.fns, p.ids, p.indexFailed = fns, ids, indexFailed
	close(p.planned)
}

// indexOn asks worker w for the app's functions, unless a worker of the
// pool already answered (docs/host-contract.md §2.5: the host asks one
// channel, once).
func (p *pool) indexOn(ctx context.Context, w *fnhost.Worker) error {
	p.indexMu.Lock()
	defer p.indexMu.Unlock()
	p.mu.Lock()
	done := p.index != nil
	p.mu.Unlock()
	if done {
		return nil
	}
	resp, err := w.IndexFunctions(ctx, p.g.app.Dir, fnhost.MetadataTimeout)
	if err != nil {
		return err
	}
	if resp == nil {
		resp = &rpc.FunctionMetadataResponse{}
	}
	p.mu.Lock()
	p.index = resp
	p.notify()
	p.mu.Unlock()
	return nil
}

// waitIndex waits for the worker's FunctionMetadataResponse, or until every
// slot gave up.
func (p *pool) waitIndex(ctx context.Context) (*rpc.FunctionMetadataResponse, error) {
	for {
		p.mu.Lock()
		if p.index != nil {
			resp := p.index
			p.mu.Unlock()
			return resp, nil
		}
		gaveUp := p.allGaveUp()
		ch := p.changed
		p.mu.Unlock()
		if gaveUp != nil {
			return nil, gaveUp
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("no worker answered FunctionsMetadataRequest: %w", context.Cause(ctx))
		}
	}
}

// allGaveUp returns why no worker is running when every slot gave up, or
// nil while some slot still tries. p.mu is held.
func (p *pool) allGaveUp() error {
	var reasons []error
	for _, s := range p.slots {
		if s.gaveUp == nil {
			return nil
		}
		reasons = append(reasons, s.gaveUp)
	}
	return fmt.Errorf("no worker is running: %w", errors.Join(reasons...))
}

// start starts every slot's supervisor.
func (p *pool) start() {
	for _, s := range p.slots {
		p.wg.Add(1)
		go func(s *slot) {
			defer p.wg.Done()
			s.supervise()
		}(s)
	}
}

// stop terminates every worker and waits for the supervisors.
func (p *pool) stop() {
	p.cancel()
	p.wg.Wait()
}

func (p *pool) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// ready reports whether any worker is ready.
func (p *pool) ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.w != nil {
			return true
		}
	}
	return false
}

// waitReady waits until some worker is ready or every slot gave up.
func (p *pool) waitReady(ctx context.Context) error {
	for {
		p.mu.Lock()
		for _, s := range p.slots {
			if s.w != nil {
				p.mu.Unlock()
				return nil
			}
		}
		gaveUp := p.allGaveUp()
		ch := p.changed
		p.mu.Unlock()
		if gaveUp != nil {
			return gaveUp
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("no worker became ready: %w", context.Cause(ctx))
		}
	}
}

// loadErrors returns the load failures, by function name, of the first
// ready worker (nil when none is ready).
func (p *pool) loadErrors() map[string]error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.w != nil {
			return maps.Clone(s.errs)
		}
	}
	return nil
}

// pick returns a ready worker and the id of function name on it,
// round-robin over the ready workers, waiting while none is ready.
func (p *pool) pick(ctx context.Context, name string) (*slot, *fnhost.Worker, string, error) {
	for {
		p.mu.Lock()
		n := len(p.slots)
		start := int(p.rr.Add(1) % uint64(n))
		allGaveUp := true
		var reasons []error
		for i := 0; i < n; i++ {
			s := p.slots[(start+i)%n]
			if s.w != nil {
				w, id, lerr := s.w, s.ids[name], s.errs[name]
				p.mu.Unlock()
				if lerr != nil {
					return s, w, "", lerr // names the function
				}
				if name != "" && id == "" {
					return s, w, "", fmt.Errorf("function %s is not loaded in the worker", name)
				}
				return s, w, id, nil
			}
			if s.gaveUp == nil {
				allGaveUp = false
			} else {
				reasons = append(reasons, s.gaveUp)
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if allGaveUp {
			return nil, nil, "", fmt.Errorf("no worker is running: %w", errors.Join(reasons...))
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil, "", fmt.Errorf("no worker became ready: %w", context.Cause(ctx))
		}
	}
}

// capabilities returns the capabilities of a ready worker (all workers of a
// pool run the same program), waiting while none is ready.
func (p *pool) capabilities(ctx context.Context) (httpbind.Capabilities, error) {
	for {
		if err := p.waitReady(ctx); err != nil {
			return nil, err
		}
		p.mu.Lock()
		for _, s := range p.slots {
			if s.w != nil {
				caps := httpbind.Capabilities{}
				for k, v := range s.w.Capabilities() {
					caps[k] = v
				}
				p.mu.Unlock()
				return caps, nil
			}
		}
		p.mu.Unlock()
	}
}

// processInfo describes one worker process for GET /admin/host/status.
type processInfo struct {
	Worker string `json:"worker"`
	PID    int    `json:"pid,omitempty"`
	State  string `json:"state"` // "Ready", "Starting" or "Stopped"
}

// processes lists the pool's slots with the pid of their current process.
func (p *pool) processes() []processInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]processInfo, 0, len(p.slots))
	for _, s := range p.slots {
		i := processInfo{Worker: s.name(), State: "Starting"}
		switch {
		case s.w != nil:
			i.State = "Ready"
			if proc := s.w.Process(); proc != nil {
				i.PID = proc.Pid()
			}
		case s.gaveUp != nil:
			i.State = "Stopped"
		}
		out = append(out, i)
	}
	return out
}

// restart asks for worker w of slot s to be replaced (after a function timeout).
func (s *slot) restart(w *fnhost.Worker) {
	s.p.mu.Lock()
	if s.w != w {
		s.p.mu.Unlock()
		return
	}
	s.restartWanted = true
	s.p.mu.Unlock()
	go w.Terminate(terminateGrace)
}

func (s *slot) name() string { return strconv.Itoa(s.index) }

// supervise starts the worker, loads the functions, waits for the process to
// end and starts it again: the first restart at once, later ones at least
// processRestartInterval apart, until 3 × processCount errors within 30
// minutes exhaust the budget (docs/host-contract.md §2.17).
func (s *slot) supervise() {
	p := s.p
	con := p.g.h.con
	var errorsAt []time.Time
	var lastRestart time.Time
	// Like the host, start the pool's processes processStartupInterval
	// apart; the first one starts at once.
	if delay := time.Duration(s.index-1) * p.cfg.Process.ProcessStartupInterval; delay > 0 {
		select {
		case <-time.After(delay):
		case <-p.ctx.Done():
			return
		}
	}
	for attempt := 0; ; attempt++ {
		if p.ctx.Err() != nil {
			return
		}
		if attempt > 0 {
			wait := time.Until(lastRestart.Add(p.cfg.Process.ProcessRestartInterval))
			if lastRestart.IsZero() {
				wait = 0
			}
			if wait > 0 {
				con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Information",
					Message: fmt.Sprintf("restarting in %s", wait.Round(time.Millisecond))})
				select {
				case <-time.After(wait):
				case <-p.ctx.Done():
					return
				}
			}
			lastRestart = time.Now()
		}
		w, err := s.startOnce()
		counted := true
		if err == nil {
			select {
			case <-w.Done():
			case <-p.ctx.Done():
				s.setWorker(nil, nil, nil)
				w.Terminate(terminateGrace)
				return
			}
			// The stream may end before the process: make sure it is gone.
			select {
			case <-w.Process().Done():
			default:
				w.Terminate(terminateGrace)
			}
			p.mu.Lock()
			wanted := s.restartWanted
			s.restartWanted = false
			p.mu.Unlock()
			s.setWorker(nil, nil, nil)
			code := w.Process().ExitCode()
			switch {
			case p.ctx.Err() != nil:
				return
			case wanted:
				counted = false
				con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Warning", Message: "worker restarted after a function timeout"})
			case code == 200:
				counted = false
				con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Information", Message: "worker exited with code 200 and asked for a restart"})
			default:
				err = fmt.Errorf("worker process exited with code %d%s", code, stderrTail(w.Process(), p.cfg.UseStdErrorStreamForErrorsOnly))
			}
		}
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Error", Message: err.Error()})
		}
		if counted && err != nil {
			now := time.Now()
			kept := errorsAt[:0]
			for _, t := range errorsAt {
				if now.Sub(t) < errorWindow {
					kept = append(kept, t)
				}
			}
			errorsAt = append(kept, now)
			if budget := 3 * len(p.slots); len(errorsAt) >= budget {
				gave := fmt.Errorf("worker %s failed %d times within %s, the host's restart budget; "+
					"fix the function app and save a file to reload (last error: %v)", s.name(), len(errorsAt), errorWindow, err)
				con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Error", Message: gave.Error()})
				p.mu.Lock()
				s.gaveUp = gave
				p.notify()
				p.mu.Unlock()
				return
			}
		}
	}
}

// stderrTail formats the last three error-classified stderr lines of proc,
// which the host puts in the message of a worker that exited (docs/host-contract.md §1.6).
func stderrTail(proc *fnhost.Process, errorsOnly bool) string {
	if proc == nil {
		return ""
	}
	var errs []string
	for _, l := range proc.StderrTail() {
		if fnhost.StderrLevelFor(l, errorsOnly) != "Error" {
			continue
		}
		if msg, ok := fnhost.SystemConsoleLine(l); ok {
			l = msg
		}
		errs = append(errs, l)
	}
	if len(errs) > 3 {
		errs = errs[len(errs)-3:]
	}
	if len(errs) == 0 {
		return ""
	}
	return ": " + strings.Join(errs, " | ")
}

func (s *slot) setWorker(w *fnhost.Worker, ids map[string]string, errs map[string]error) {
	s.p.mu.Lock()
	s.w, s.ids, s.errs = w, ids, errs
	s.p.notify()
	s.p.mu.Unlock()
}

// startOnce starts one worker process, initializes it and loads every function.
func (s *slot) startOnce() (*fnhost.Worker, error) {
	p := s.p
	g := p.g
	con := g.h.con
	errorsOnly := p.cfg.UseStdErrorStreamForErrorsOnly
	held := &heldEvents{con: con, on: true}
	var errs map[string]error
	var indexFailed indexFailures
	defer func() { held.release(errs, indexFailed) }()
	opts := fnhost.WorkerOptions{
		StartOptions: fnhost.StartOptions{
			Config: p.cfg,
			AppDir: g.app.Dir,
			Env:    g.env,
			Stdout: func(line string) {
				msg, system := fnhost.SystemConsoleLine(line)
				if !system {
					msg = line
				}
				held.emit(Event{Kind: "worker", Worker: s.name(), Stream: "stdout", System: system, Level: "Information", Message: msg})
			},
			Stderr: func(line string) {
				msg, system := fnhost.SystemConsoleLine(line)
				if !system {
					msg = line
				}
				held.emit(Event{Kind: "worker", Worker: s.name(), Stream: "stderr", System: system, Level: fnhost.StderrLevelFor(msg, errorsOnly), Message: msg})
			},
		},
		Server:          g.h.grpc,
		Logger:          g.h.logger,
		HostVersion:     HostVersion,
		FunctionTimeout: g.app.Host.FunctionTimeout,
		OnLog: func(l *rpc.RpcLog) {
			held.emit(Event{Kind: "worker", Worker: s.name(), Stream: "rpc", System: true, Level: levelName(l.GetLevel()), Message: logText(l)})
		},
	}
	startCtx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	w, err := fnhost.StartWorker(startCtx, opts)
	if err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	if p.indexing {
		// docs/host-contract.md §2.1 B: after WorkerInitResponse the host
		// asks for the functions, then loads them.
		if err := p.indexOn(startCtx, w); err != nil {
			w.Terminate(terminateGrace)
			return nil, err
		}
	}
	select {
	case <-p.planned:
		indexFailed = p.indexFailed
	case <-p.ctx.Done():
		w.Terminate(terminateGrace)
		return nil, fmt.Errorf("starting worker: %w", p.ctx.Err())
	}
	loadCtx, cancelLoad := context.WithTimeout(p.ctx, loadTimeout(g.app.Host.FunctionTimeout))
	defer cancelLoad()
	loaded, err := w.LoadIndexed(loadCtx, p.fns, p.ids)
	if err != nil {
		w.Terminate(terminateGrace)
		return nil, fmt.Errorf("loading functions: %w", err)
	}
	// A function that fails to load is reported once, by the generation
	// (load), not by every worker that loads it.
	ids := map[string]string{}
	errs = map[string]error{}
	for _, lf := range loaded {
		ids[lf.Function.Name] = lf.ID
		if lf.Err != nil {
			errs[lf.Function.Name] = lf.Err
		}
	}
	held.release(errs, indexFailed)
	s.setWorker(w, ids, errs)
	pid := 0
	if w.Process() != nil {
		pid = w.Process().Pid()
	}
	con.emit(Event{Kind: "worker", Worker: s.name(), Level: "Information",
		Message: fmt.Sprintf("worker process %d started; %d function(s) loaded, %d failed", pid, len(loaded)-len(errs), len(errs))})
	return w, nil
}

// heldEvents holds a starting worker's own output until its functions are
// loaded: its error lines about a function that failed to load repeat what
// the generation reports once (load), so they are then shown as Debug
// (--verbose in human mode). Lines that come after the load (the worker's
// stderr is read apart from its answers, and can lag behind them) are
// shown as Debug on the same terms.
type heldEvents struct {
	con *console
	mu  sync.Mutex
	on  bool
	evs []Event
	// what release was given, for the lines that come after it
	failed      []string // the names of the functions that failed to load
	indexFailed indexFailures
}

func (h *heldEvents) emit(e Event) {
	h.mu.Lock()
	if h.on {
		e.Time = time.Now()
		h.evs = append(h.evs, e)
		h.mu.Unlock()
		return
	}
	failed, indexFailed := h.failed, h.indexFailed
	h.mu.Unlock()
	demote(&e, failed, indexFailed)
	h.con.emit(e)
}

// demote makes e Debug when it is a worker's error or warning line about a
// failure the generation reports itself: a function named in failed, or
// what indexFailed is about.
func demote(e *Event, failed []string, indexFailed indexFailures) {
	if (e.Level == "Error" || e.Level == "Warning") && indexFailed.about(e.Message) {
		e.Level = "Debug"
	}
	if e.Level == "Error" && strings.Contains(e.Message, "failed to load") {
		for _, name := range failed {
			if strings.Contains(e.Message, `function "`+name+`"`) || strings.Contains(e.Message+" ", "function="+name+" ") {
				e.Level = "Debug"
				break
			}
		}
	}
}

// indexFailures is what the worker's index has in error, which the
// generation reports once: the worker's own error lines about it are
// shown as Debug.
type indexFailures struct {
	// functions are the names of the functions in error; a worker line
	// naming one (`function "Name"`, or slog's `function=Name`) is about it.
	functions []string
	// modules are the base names of the modules (`app.wasm`) the failed
	// result of the answer names; a worker line naming one is about it.
	modules []string
}

// about reports whether msg is about one of the failures.
func (f indexFailures) about(msg string) bool {
	for _, name := range f.functions {
		if strings.Contains(msg, `function "`+name+`"`) || strings.Contains(msg+" ", "function="+name+" ") {
			return true
		}
	}
	for _, m := range f.modules {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// release emits what was held and stops holding; failed are the functions
// that failed to load, indexFailed what the worker's index has in error
// (the worker's error and warning lines about those become Debug too). A
// second call does nothing.
func (h *heldEvents) release(failed map[string]error, indexFailed indexFailures) {
	h.mu.Lock()
	if !h.on {
		h.mu.Unlock()
		return
	}
	evs := h.evs
	h.on, h.evs = false, nil
	h.failed, h.indexFailed = slices.Collect(maps.Keys(failed)), indexFailed
	names := h.failed
	h.mu.Unlock()
	for _, e := range evs {
		demote(&e, names, indexFailed)
		h.con.emit(e)
	}
}

// loadTimeout is the host's deadline for load responses: max(functionTimeout, 1 min) (docs/host-contract.md §2.6).
func loadTimeout(functionTimeout time.Duration) time.Duration {
	if functionTimeout > time.Minute {
		return functionTimeout
	}
	return time.Minute
}

func levelName(l rpc.RpcLog_Level) string {
	switch l {
	case rpc.RpcLog_Trace:
		return "Trace"
	case rpc.RpcLog_Debug:
		return "Debug"
	case rpc.RpcLog_Information:
		return "Information"
	case rpc.RpcLog_Warning:
		return "Warning"
	case rpc.RpcLog_Error:
		return "Error"
	case rpc.RpcLog_Critical:
		return "Critical"
	default:
		return "None"
	}
}

func logText(l *rpc.RpcLog) string {
	msg := l.GetMessage()
	if ex := l.GetException(); ex != nil && ex.GetMessage() != "" && ex.GetMessage() != msg {
		msg += ": " + ex.GetMessage()
	}
	return msg
}
