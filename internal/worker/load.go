package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
)

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
	start := time.Now()
	// Read host.json now, on the load's goroutine, for the invocations'
	// deadline: the first invocation would read it on the receive loop.
	w.deadline()
	fn := w.compileHeld(req)

	if fn.err != nil {
		msg := fn.loadError()
		w.log.Error("function failed to load", "function", fn.name, "functionId", id, "err", fn.err)
		w.systemLog(rpc.RpcLog_Error, msg)
		resp.Result = failure(msg, "FunctionLoadError", true)
	} else {
		w.log.Info("function loaded", "function", fn.name, "functionId", id,
			"module", fn.meta.ScriptFile, "took", time.Since(start).Round(time.Microsecond))
		resp.Result = success()
	}

	w.mu.Lock()
	old := w.functions[id]
	w.functions[id] = fn
	w.mu.Unlock()
	if old != nil && old.run != nil {
		// Close the replaced module once the invocations using it are done.
		go func() {
			old.active.Wait()
			_ = old.run.Close(context.Background())
		}()
	}
	return resp
}

// compileHeld is compile within one of the worker's load slots (loadSem),
// given back even if compile panics (background answers the panic; a slot
// kept would stall every later load).
func (w *Worker) compileHeld(req *rpc.FunctionLoadRequest) *function {
	w.loadSem <- struct{}{}
	defer func() { <-w.loadSem }()
	return w.compile(req)
}

// loadError is the one message that reports fn's load failure: the
// function's name once, then the reason.
func (fn *function) loadError() string {
	return fmt.Sprintf("function %q failed to load: %v", fn.name, fn.err)
}

// compile finds the function's metadata (the worker's index for a function
// declared in an app module, else its function.json) and compiles the
// module. It never returns nil. fn.err does not name the function; loadError adds the name.
func (w *Worker) compile(req *rpc.FunctionLoadRequest) *function {
	md := req.GetMetadata()
	fn := &function{id: req.GetFunctionId(), name: md.GetName()}
	if md == nil {
		fn.err = fmt.Errorf("FunctionLoadRequest %s carries no metadata", fn.id)
		return fn
	}
	indexed := false
	meta, err := w.indexedFunction(fn.id)
	if meta == nil && err == nil {
		w.indexForLoad(md)
		meta, err = w.indexedFunction(fn.id)
	}
	switch {
	case err != nil: // indexed, and listed as failed
		fn.err = err
		return fn
	case meta != nil: // declared in an app module: the index has it all
		fn.name = meta.Name
		indexed = true
	case w.failedModule(md.GetScriptFile()) != nil: // a declared function of a module that failed to declare
		fn.err = w.failedModule(md.GetScriptFile())
		return fn
	default:
		if meta, err = folderFunction(md); err != nil {
			fn.err = err
			return fn
		}
		fn.name = meta.Name
	}
	fn.meta = meta
	if meta.ScriptFile == "" {
		fn.err = fmt.Errorf("no script file: set \"scriptFile\" in %s to the function's .wasm",
			filepath.Join(md.GetDirectory(), "function.json"))
		return fn
	}
	appDir := w.appDirectory()
	if indexed {
		appDir = meta.Dir // the folder the worker indexed, as its checks of the grants used
	}
	pol, err := sandboxPolicy(meta, appDir, w.opts.MaxMessageBytes)
	if err != nil {
		fn.err = err
		return fn
	}
	if pol.limits.CompileTimeout, err = compileTimeout(); err != nil {
		fn.err = err
		return fn
	}
	fn.pol = pol
	spec := engine.FunctionSpec{
		Function:   invocation.Function{Name: meta.Name},
		Path:       meta.ScriptFile,
		EntryPoint: meta.EntryPoint,
		Limits:     pol.limits,
		Grants:     pol.grants,
	}
	for _, b := range meta.Bindings {
		spec.Bindings = append(spec.Bindings, invocation.Binding{Name: b.Name, Type: b.Type, Direction: b.Direction, DataType: b.DataType})
	}
	if fn.run, err = w.engine.LoadFunction(context.Background(), spec); err != nil {
		fn.err = nameCompileBudget(err)
	}
	return fn
}

// folderFunction reads the function.json of the folder a FunctionLoadRequest
// names; the host's values for the name, script file and entry point win
// over our own reading of it, since the host resolved them already
// (docs/host-contract.md §4.2).
func folderFunction(md *rpc.RpcFunctionMetadata) (*funcapp.Function, error) {
	if md.GetDirectory() == "" {
		return nil, errors.New("the host sent no directory, so function.json cannot be read")
	}
	meta, err := funcapp.LoadFunction(md.GetDirectory())
	if err != nil {
		return nil, err
	}
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
	return meta, nil
}

// handleLoad compiles one function in the background and answers with its
// FunctionLoadResponse (docs/host-contract.md §2.6).
func (w *Worker) handleLoad(requestID string, req *rpc.FunctionLoadRequest) {
	w.background(func() {
		w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionLoadResponse{
			FunctionLoadResponse: w.load(req),
		}})
	}, func(p any) {
		w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionLoadResponse{
			FunctionLoadResponse: loadPanicked(req, p),
		}})
	})
}

// loadPanicked is the answer to a load whose work panicked.
func loadPanicked(req *rpc.FunctionLoadRequest, p any) *rpc.FunctionLoadResponse {
	return &rpc.FunctionLoadResponse{FunctionId: req.GetFunctionId(),
		Result: failure(panicText("loading function "+rpcconv.Text(req.GetMetadata().GetName()), p), "WorkerError", false)}
}

// handleLoadCollection answers a FunctionLoadRequestCollection. We do not
// advertise SupportsLoadResponseCollection; if a host sends a collection
// anyway, each request is answered with its own collection message, which
// satisfies both readings of the host (docs/host-contract.md §2.6).
func (w *Worker) handleLoadCollection(requestID string, c *rpc.FunctionLoadRequestCollection) {
	for _, req := range c.GetFunctionLoadRequests() {
		answer := func(resp *rpc.FunctionLoadResponse) {
			w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionLoadResponseCollection{
				FunctionLoadResponseCollection: &rpc.FunctionLoadResponseCollection{
					FunctionLoadResponses: []*rpc.FunctionLoadResponse{resp},
				},
			}})
		}
		w.background(func() { answer(w.load(req)) }, func(p any) { answer(loadPanicked(req, p)) })
	}
}
