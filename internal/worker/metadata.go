package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/wasmworker/wasmworker/internal/abi"
	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/jsonc"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
)

// Worker indexing (docs/host-contract.md, "Worker indexing"): the app's
// root *.wasm files that export abi.FunctionsExport are app modules; their
// declarations (abi/SPEC.md §2.3) become functions, next to the app's
// function.json folders. An app with no app module is left to the host
// (use_default_metadata_indexing).

// functionIDSpace is the namespace of FunctionID's UUIDs.
var functionIDSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/wasmworker/wasmworker#function-id"))

// FunctionID is the id the worker gives the function called name of the
// app in appDir when it indexes the app: a UUID (version 5) of the app
// folder and the lower-cased name, the same on every start.
func FunctionID(appDir, name string) string {
	return uuid.NewSHA1(functionIDSpace, []byte(filepath.Clean(appDir)+"\x00"+strings.ToLower(name))).String()
}

// indexed is what the worker knows of the functions of its last indexing,
// by function id: the declared functions that are valid, which a
// FunctionLoadRequest loads with no function.json, and why the invalid ones
// are, which their load reports.
type indexed struct {
	dir       string // the app folder indexed
	functions map[string]*funcapp.Function
	invalid   map[string]error
	failed    map[string]error // app modules (by path) that failed to declare their functions
}

// handleMetadata answers FunctionsMetadataRequest in the background:
// indexing runs the app modules' declaration exports.
func (w *Worker) handleMetadata(requestID string, req *rpc.FunctionsMetadataRequest) {
	w.background(func() {
		resp := w.indexApp(context.Background(), req.GetFunctionAppDirectory())
		msg := &rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionMetadataResponse{
			FunctionMetadataResponse: resp,
		}}
		if limit := w.opts.MaxMessageBytes; limit > 0 {
			if size := proto.Size(msg); size > limit {
				// Sent as it is, the answer would end the stream (and every
				// later load and invocation with it): answer with the reason.
				w.log.Error("the app's function list is above the host's message limit", "bytes", size, "limit", limit)
				msg.Content = &rpc.StreamingMessage_FunctionMetadataResponse{FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
					Result: failure(fmt.Sprintf("the worker's list of the app's functions is %d bytes, above the host's gRPC message limit of %d bytes (--grpcMaxMessageLength): declare fewer or smaller functions", size, limit), "FunctionIndexingError", true),
				}}
			}
		}
		w.send(msg)
	}, func(p any) {
		w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_FunctionMetadataResponse{
			FunctionMetadataResponse: &rpc.FunctionMetadataResponse{Result: failure(panicText("indexing the app's functions", p), "FunctionIndexingError", false)},
		}})
	})
}

// indexApp indexes the app in dir ("" means the app directory the worker
// has), replaces the worker's index and returns the answer to the host.
func (w *Worker) indexApp(ctx context.Context, dir string) *rpc.FunctionMetadataResponse {
	if dir == "" {
		dir = w.appDirectory()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	w.indexMu.Lock() // one indexing at a time
	defer w.indexMu.Unlock()
	ix := &indexer{w: w, dir: dir, idx: &indexed{dir: dir, functions: map[string]*funcapp.Function{}, invalid: map[string]error{}, failed: map[string]error{}}, names: map[string]string{}}
	resp := ix.run(ctx)
	w.mu.Lock()
	w.index = ix.idx
	w.mu.Unlock()
	if !resp.GetUseDefaultMetadataIndexing() {
		w.log.Info("app indexed", "appDir", dir, "functions", len(resp.FunctionMetadataResults),
			"valid", len(ix.idx.functions)+ix.folders, "problems", len(ix.problems))
	}
	return resp
}

// indexer is one indexing of an app.
type indexer struct {
	w        *Worker
	dir      string
	idx      *indexed
	names    map[string]string // lower-cased function name → where it was declared
	results  []*rpc.RpcFunctionMetadata
	problems []string // for the overall result
	folders  int      // valid folder functions listed
}

func (ix *indexer) run(ctx context.Context) *rpc.FunctionMetadataResponse {
	modules, problems := appModules(ix.dir)
	for _, p := range problems {
		ix.w.log.Warn("root .wasm file ignored by indexing", "appDir", ix.dir, "reason", p)
	}
	if len(modules) == 0 {
		// Function folders only: the host reads them itself.
		return &rpc.FunctionMetadataResponse{Result: success(), UseDefaultMetadataIndexing: true}
	}
	for _, path := range modules {
		ix.module(ctx, path)
	}
	if len(ix.results) == 0 && len(ix.problems) == 0 {
		// Modules that can declare functions but declare none (every
		// module built with the Go SDK exports the declaration function):
		// the app is function.json folders only, and the host reads them.
		ix.w.log.Info("the app modules declare no functions; the host indexes the function.json folders", "appDir", ix.dir)
		return &rpc.FunctionMetadataResponse{Result: success(), UseDefaultMetadataIndexing: true}
	}
	ix.folderFunctions()
	resp := &rpc.FunctionMetadataResponse{FunctionMetadataResults: ix.results, Result: success()}
	if len(ix.problems) > 0 {
		msg := "indexing the function app " + ix.dir + ": " + strings.Join(ix.problems, "; ")
		ix.w.log.Error("function app indexing found problems", "appDir", ix.dir, "problems", strings.Join(ix.problems, "; "))
		resp.Result = failure(msg, "FunctionIndexingError", true)
	}
	return resp
}

// appModules returns, sorted by name, the .wasm files directly in dir that
// export abi.FunctionsExport; problems lists the .wasm files that could not
// be read (they are ignored, as other root .wasm files are).
func appModules(dir string) (modules, problems []string) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, []string{fmt.Sprintf("cannot list the app folder: %v", err)}
	}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".wasm") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		ok, err := engine.DeclaresFunctions(path)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if ok {
			modules = append(modules, path)
		}
	}
	return modules, problems
}

// module indexes the declarations of one app module.
func (ix *indexer) module(ctx context.Context, path string) {
	base := filepath.Base(path)
	decl, err := ix.w.engine.Declarations(ctx, path)
	if decl != nil {
		for _, l := range decl.Logs {
			ix.w.log.Log(ctx, guestLevel(l.Level), "guest log while declaring functions", "module", path, "message", l.Message)
		}
	}
	if err != nil {
		ix.w.log.Error("app module failed to declare its functions", "module", path, "err", err)
		ix.problems = append(ix.problems, fmt.Sprintf("app module %s failed to declare its functions: %v", base, err))
		ix.idx.failed[path] = fmt.Errorf("app module %s failed to declare its functions: %w", base, err)
		return
	}
	for i, data := range decl.Declarations {
		fn, err := funcapp.ParseDeclaration(ix.dir, path, data)
		if err != nil {
			var de *funcapp.DeclarationError
			if !errors.As(err, &de) || de.Name == "" {
				// No name to list it under: the whole app's result says it.
				ix.problems = append(ix.problems, fmt.Sprintf("declaration %d of %v", i+1, err))
				continue
			}
			raw, _ := jsonObject(data)
			ix.add(de.Name, base, nil, raw, path, err)
			continue
		}
		err = checkEntryPoint(fn, base, decl.EntryPoints)
		if err == nil {
			_, err = sandboxPolicy(fn, ix.dir, ix.w.opts.MaxMessageBytes)
			if err != nil {
				err = fmt.Errorf("%s: function %q: %w", base, fn.Name, err)
			}
		}
		ix.add(fn.Name, base, fn, fn.Raw, path, err)
	}
}

// checkEntryPoint checks that the module exports fn's entry point as a
// function of type () -> i32.
func checkEntryPoint(fn *funcapp.Function, module string, entries []string) error {
	ep := fn.EntryPoint
	if ep == "" {
		ep = abi.DefaultEntryPoint
	}
	if slices.Contains(entries, ep) {
		return nil
	}
	how := fmt.Sprintf("entryPoint %q", ep)
	if fn.EntryPoint == "" {
		how = fmt.Sprintf("no entryPoint, so the default %q,", ep)
	}
	there := "none"
	if len(entries) > 0 {
		there = strings.Join(entries, ", ")
	}
	return fmt.Errorf("%s: function %q: the declaration names %s but the module exports no such function of type () -> i32; its entry points are: %s",
		module, fn.Name, how, there)
}

// add lists one declared function: valid when fn is set and err nil. A name
// declared before (case-insensitively) leaves this one out.
func (ix *indexer) add(name, where string, fn *funcapp.Function, raw map[string]json.RawMessage, script string, err error) {
	md := ix.list(name, where, ix.dir, script, fn, raw, err)
	if md == nil {
		return
	}
	if err != nil {
		ix.w.log.Warn("function listed as failed", "function", name, "err", err)
		ix.idx.invalid[md.FunctionId] = err
	} else {
		ix.idx.functions[md.FunctionId] = fn
	}
}

// list appends one function's metadata to the response, failed with err
// when err is set, and returns it; nil when a function of that name
// (case-insensitively) is listed already: this one is left out, as a
// problem of the overall result. where names the declaration for messages.
// Names and paths are made valid UTF-8, so that the response can be sent
// whatever the file names.
func (ix *indexer) list(name, where, dir, script string, fn *funcapp.Function, raw map[string]json.RawMessage, err error) *rpc.RpcFunctionMetadata {
	key := strings.ToLower(name)
	if prev, dup := ix.names[key]; dup {
		ix.problems = append(ix.problems, fmt.Sprintf("%s: function %q is left out: a function of that name is already declared in %s (function names are unique in an app, case-insensitively)",
			where, name, prev))
		return nil
	}
	ix.names[key] = where
	bindings := rawBindings(raw)
	for i, b := range bindings {
		bindings[i] = rpcconv.Text(b)
	}
	md := &rpc.RpcFunctionMetadata{
		Name:        rpcconv.Text(name),
		Directory:   rpcconv.Text(dir),
		ScriptFile:  rpcconv.Text(script),
		FunctionId:  FunctionID(ix.dir, name),
		RawBindings: bindings,
		Language:    "wasm",
		Properties:  map[string]string{},
		Status:      success(),
	}
	if fn != nil {
		md.EntryPoint = rpcconv.Text(fn.EntryPoint)
		md.RetryOptions = retryOptions(fn.Retry)
		if fn.Disabled {
			md.Properties["IsDisabled"] = "True"
		}
	}
	if err != nil {
		md.Status = failure(err.Error(), "FunctionIndexingError", true)
	}
	ix.results = append(ix.results, md)
	return md
}

// folderFunctions lists the app's function.json folders, answered from
// their function.json; the broken ones are listed with their failure. A
// folder named like a declared function is left out.
func (ix *indexer) folderFunctions() {
	app, err := funcapp.LoadApp(ix.dir)
	if err != nil {
		ix.problems = append(ix.problems, fmt.Sprintf("function folders not indexed: %v", err))
		return
	}
	for _, fn := range app.Functions {
		if ix.folder(fn.Name, fn.Dir, fn.ScriptFile, fn, fn.Raw, nil) {
			ix.folders++
		}
	}
	for _, e := range app.Errors {
		var fe *funcapp.FunctionError
		if !errors.As(e, &fe) {
			ix.problems = append(ix.problems, e.Error())
			continue
		}
		dir := filepath.Join(ix.dir, fe.Name)
		raw := map[string]json.RawMessage{}
		if data, err := os.ReadFile(filepath.Join(dir, "function.json")); err == nil {
			if clean, err := jsonc.Strip(data); err == nil {
				raw, _ = jsonObject(clean)
			}
		}
		ix.folder(fe.Name, dir, "", nil, raw, e)
	}
}

// folder lists one function folder; it reports whether it listed it as valid.
func (ix *indexer) folder(name, dir, script string, fn *funcapp.Function, raw map[string]json.RawMessage, err error) bool {
	return ix.list(name, name+"/function.json", dir, script, fn, raw, err) != nil && err == nil
}

// jsonObject decodes data as a JSON object, or returns nil.
func jsonObject(data []byte) (map[string]json.RawMessage, bool) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil || raw == nil {
		return nil, false
	}
	return raw, true
}

// rawBindings returns the elements of raw's "bindings" array that are JSON
// objects, each as compact JSON text (what the host reads in raw_bindings).
func rawBindings(raw map[string]json.RawMessage) []string {
	v, ok := jsonc.Lookup(raw, "bindings")
	if !ok {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(v, &list) != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, b := range list {
		if _, ok := jsonObject(b); !ok {
			continue
		}
		var buf bytes.Buffer
		if json.Compact(&buf, b) != nil { // cannot happen: b is a JSON object
			continue
		}
		out = append(out, buf.String())
	}
	return out
}

// retryOptions converts a function's retry policy for the host; nil stays nil.
func retryOptions(r *funcapp.Retry) *rpc.RpcRetryOptions {
	if r == nil {
		return nil
	}
	o := &rpc.RpcRetryOptions{MaxRetryCount: int32(r.MaxRetryCount)}
	if r.Strategy == funcapp.StrategyFixedDelay {
		o.RetryStrategy = rpc.RpcRetryOptions_fixed_delay
		o.DelayInterval = durationpb.New(r.DelayInterval)
	} else {
		o.RetryStrategy = rpc.RpcRetryOptions_exponential_backoff
		o.MinimumInterval = durationpb.New(r.MinimumInterval)
		o.MaximumInterval = durationpb.New(r.MaximumInterval)
	}
	return o
}

// indexedFunction returns the indexed function with id (a copy), or the
// reason it is invalid; (nil, nil) when id was not indexed from a module.
func (w *Worker) indexedFunction(id string) (*funcapp.Function, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.index == nil {
		return nil, nil
	}
	if fn := w.index.functions[id]; fn != nil {
		c := *fn
		return &c, nil
	}
	return nil, w.index.invalid[id]
}

// failedModule returns why the app module at path failed to declare its
// functions when the worker indexed it, or nil.
func (w *Worker) failedModule(path string) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.index == nil {
		return nil
	}
	return w.index.failed[path]
}

// indexForLoad indexes the app a FunctionLoadRequest names when the
// worker was not asked to: with several worker processes, the host asks one
// of them for the functions and sends the loads to all (docs/host-contract.md
// §10). It does so only for a request that looks like one for a declared
// function (its script file is a .wasm directly in its directory, which
// holds no function.json) and when that folder is not the one indexed last.
// Function ids are the same in every process, so the load then finds its id.
func (w *Worker) indexForLoad(md *rpc.RpcFunctionMetadata) {
	dir, script := md.GetDirectory(), md.GetScriptFile()
	if dir == "" || script == "" || !strings.EqualFold(filepath.Ext(script), ".wasm") {
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if !filepath.IsAbs(script) {
		script = filepath.Join(dir, script)
	}
	if filepath.Dir(filepath.Clean(script)) != dir {
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "function.json")); err == nil {
		return
	}
	w.mu.RLock()
	done := w.index != nil && w.index.dir == dir
	w.mu.RUnlock()
	if done {
		return
	}
	w.loadIndexMu.Lock() // concurrent loads index once
	defer w.loadIndexMu.Unlock()
	w.mu.RLock()
	done = w.index != nil && w.index.dir == dir
	w.mu.RUnlock()
	if done {
		return
	}
	w.log.Info("indexing the app for a load the worker was not asked to index for", "appDir", dir, "function", md.GetName())
	w.indexApp(context.Background(), dir)
}

// guestLevel maps a guest log level to slog's.
func guestLevel(l invocation.Level) slog.Level {
	switch {
	case l >= invocation.LevelError:
		return slog.LevelError
	case l == invocation.LevelWarning:
		return slog.LevelWarn
	case l == invocation.LevelInformation:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
