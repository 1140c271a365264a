package worker

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/wasmworker/wasmworker/abi"
	"github.com/wasmworker/wasmworker/funcapp"
	"github.com/wasmworker/wasmworker/proto/rpc"
	"github.com/wasmworker/wasmworker/runtime"
)

// function is one loaded function: its metadata, its compiled module, or
// the reason it failed to load.
type function struct {
	id   string
	req  *rpc.FunctionLoadRequest // kept to reload after an environment reload
	meta *funcapp.Function
	mod  *runtime.Module
	err  error // load failure; invocations fail with it

	pol      policy            // limits and grants from function.json
	entry    string            // ABI modules: the export that serves this function
	bindings []abi.BindingSpec // ABI modules: the function's bindings

	active sync.WaitGroup // invocations running on mod
}

// load compiles the function a FunctionLoadRequest names and registers it
// under the request's function id, replacing an earlier load of that id.
// Failures are reported in the response; the worker lives on.
func (w *Worker) load(req *rpc.FunctionLoadRequest) *rpc.FunctionLoadResponse {
	id := req.GetFunctionId()
	resp := &rpc.FunctionLoadResponse{FunctionId: id}
	if id == "" {
		resp.Result = failure("FunctionLoadRequest has an empty function_id", "FunctionLoadError", false)
		return resp
	}
	w.loadSem <- struct{}{}
	start := time.Now()
	fn := w.compile(req)
	<-w.loadSem

	name := req.GetMetadata().GetName()
	if fn.err != nil {
		w.log.Error("function failed to load", "function", name, "functionId", id, "err", fn.err)
		w.systemLog(rpc.RpcLog_Error, fmt.Sprintf("Function %q failed to load: %v", name, fn.err))
		resp.Result = failure(fn.err.Error(), "FunctionLoadError", true)
	} else {
		w.log.Info("function loaded", "function", name, "functionId", id,
			"module", fn.meta.ScriptFile, "took", time.Since(start).Round(time.Microsecond))
		resp.Result = success()
	}

	w.mu.Lock()
	old := w.functions[id]
	w.functions[id] = fn
	w.mu.Unlock()
	if old != nil && old.mod != nil {
		// Close the replaced module once the invocations using it are done.
		go func() {
			old.active.Wait()
			_ = old.mod.Close(context.Background())
		}()
	}
	return resp
}

// compile reads function.json and compiles the module. It never returns nil.
func (w *Worker) compile(req *rpc.FunctionLoadRequest) *function {
	fn := &function{id: req.GetFunctionId(), req: req}
	md := req.GetMetadata()
	if md == nil {
		fn.err = fmt.Errorf("FunctionLoadRequest %s carries no metadata", fn.id)
		return fn
	}
	if md.GetDirectory() == "" {
		fn.err = fmt.Errorf("function %q: the host sent no directory, so function.json cannot be read", md.GetName())
		return fn
	}
	meta, err := funcapp.LoadFunction(md.GetDirectory())
	if err != nil {
		fn.err = fmt.Errorf("function %q: %w", md.GetName(), err)
		return fn
	}
	// The host resolved the script file and entry point already (§4.2);
	// its values win over our own reading of function.json.
	if md.GetName() != "" {
		meta.Name = md.GetName()
	}
	if sf := md.GetScriptFile(); sf != "" {
		if !filepath.IsAbs(sf) {
			sf = filepath.Join(md.GetDirectory(), sf)
		}
		meta.ScriptFile = sf
	}
	if ep := md.GetEntryPoint(); ep != "" {
		meta.EntryPoint = ep
	}
	fn.meta = meta
	if meta.ScriptFile == "" {
		fn.err = fmt.Errorf("function %q: no script file: set \"scriptFile\" in %s to the function's .wasm",
			meta.Name, filepath.Join(md.GetDirectory(), "function.json"))
		return fn
	}
	pol, err := sandboxPolicy(meta, w.appDirectory(), w.opts.MaxMessageBytes)
	if err != nil {
		fn.err = fmt.Errorf("function %q: %w", meta.Name, err)
		return fn
	}
	fn.pol = pol
	mod, err := w.engine.LoadWithGrants(context.Background(), meta.ScriptFile, pol.limits, pol.grants)
	if err != nil {
		fn.err = fmt.Errorf("function %q: %w", meta.Name, err)
		return fn
	}
	if mod.Mode() == runtime.ABI {
		if fn.entry, err = mod.Entry(meta.EntryPoint); err != nil {
			_ = mod.Close(context.Background())
			fn.err = fmt.Errorf("function %q: %w", meta.Name, err)
			return fn
		}
		for _, b := range meta.Bindings {
			fn.bindings = append(fn.bindings, abi.BindingSpec{Name: b.Name, Type: b.Type, Direction: b.Direction, DataType: b.DataType})
		}
	}
	fn.mod = mod
	return fn
}

// acquire returns the function registered under id and marks one
// invocation active on it; the caller must call release.
func (w *Worker) acquire(id string) *function {
	w.mu.RLock()
	defer w.mu.RUnlock()
	fn := w.functions[id]
	if fn != nil {
		fn.active.Add(1)
	}
	return fn
}

func (fn *function) release() { fn.active.Done() }

// loadRequests returns the load requests of every function, by id order.
func (w *Worker) loadRequests() []*rpc.FunctionLoadRequest {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ids := make([]string, 0, len(w.functions))
	for id := range w.functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	reqs := make([]*rpc.FunctionLoadRequest, 0, len(ids))
	for _, id := range ids {
		reqs = append(reqs, w.functions[id].req)
	}
	return reqs
}

// hostConfig returns the app's host.json settings, reading them on first use.
// A missing or broken host.json gives defaults (the host itself would have
// refused to start on a broken one).
func (w *Worker) hostConfig() *funcapp.HostConfig {
	w.mu.RLock()
	cfg, dir := w.hostCfg, w.appDir
	w.mu.RUnlock()
	if cfg != nil {
		return cfg
	}
	cfg, err := funcapp.LoadHostConfig(dir)
	if err != nil || cfg == nil {
		w.log.Debug("no usable host.json; using defaults", "appDir", dir, "err", err)
		cfg = &funcapp.HostConfig{}
	}
	w.mu.Lock()
	w.hostCfg = cfg
	w.mu.Unlock()
	return cfg
}

func (w *Worker) closeFunctions(ctx context.Context) {
	w.mu.Lock()
	fns := w.functions
	w.functions = map[string]*function{}
	w.mu.Unlock()
	for _, fn := range fns {
		if fn.mod != nil {
			_ = fn.mod.Close(ctx)
		}
	}
}

// appDirectory is the function app root (the host's FunctionAppDirectory, or
// the working directory).
func (w *Worker) appDirectory() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.appDir
}
