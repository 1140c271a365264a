package worker_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/worker"
)

// Worker indexing (docs/host-contract.md, "Worker indexing"), through the
// worker process: apps are assembled from the modules in
// testdata/indexing (README.md there).

const indexingData = "testdata/indexing"

// TestIndexingModulesReproducible rebuilds the committed test modules from
// their sources and compares them byte for byte.
func TestIndexingModulesReproducible(t *testing.T) {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wat2wasm is not installed; scripts/install-toolchains.sh installs it")
		}
		t.Skip("wat2wasm (wabt) is not installed")
	}
	for _, m := range []string{"app", "bad", "trap", "empty", "Ping/ping"} {
		out := filepath.Join(t.TempDir(), "m.wasm")
		if b, err := exec.Command(tool, filepath.Join(indexingData, m+".wat"), "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s.wat: %v\n%s", m, err, b)
		}
		built, _ := os.ReadFile(out)
		committed, err := os.ReadFile(filepath.Join(indexingData, m+".wasm"))
		if err != nil || !bytes.Equal(built, committed) {
			t.Errorf("%s.wasm differs from what %s.wat builds (%v); rebuild it: see %s/README.md", m, m, err, indexingData)
		}
	}
}

// indexingApp makes an app folder with host.json and copies of the named
// files of testdata/indexing ("Ping" copies the folder).
func indexingApp(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(p string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "host.json"), []byte(`{"version":"2.0"}`))
	for _, f := range files {
		src := filepath.Join(indexingData, f)
		if f == "Ping" {
			for _, n := range []string{"function.json", "ping.wasm"} {
				b, err := os.ReadFile(filepath.Join(src, n))
				if err != nil {
					t.Fatal(err)
				}
				write(filepath.Join(dir, "Ping", n), b)
			}
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(dir, f), b)
	}
	return dir
}

// metadata sends FunctionsMetadataRequest for the worker's app and returns
// the answer.
func (h *hostConn) metadata() *rpc.FunctionMetadataResponse {
	h.t.Helper()
	h.send(&rpc.StreamingMessage{RequestId: uuid.NewString(), Content: &rpc.StreamingMessage_FunctionsMetadataRequest{
		FunctionsMetadataRequest: &rpc.FunctionsMetadataRequest{FunctionAppDirectory: h.appDir}}})
	m := h.await("FunctionMetadataResponse", time.Minute, func(m *rpc.StreamingMessage) bool { return m.GetFunctionMetadataResponse() != nil })
	return m.GetFunctionMetadataResponse()
}

// loadIndexed loads a function as the host loads one the worker indexed:
// from its RpcFunctionMetadata (bindings from raw_bindings), with no
// function.json.
func (h *hostConn) loadIndexed(md *rpc.RpcFunctionMetadata) *rpc.FunctionLoadResponse {
	h.t.Helper()
	fn := &funcapp.Function{Name: md.Name, Dir: md.Directory, ScriptFile: md.ScriptFile, EntryPoint: md.EntryPoint}
	for _, rb := range md.RawBindings {
		var b struct{ Name, Type, Direction, DataType string }
		if err := json.Unmarshal([]byte(rb), &b); err != nil {
			h.t.Fatalf("raw binding %s: %v", rb, err)
		}
		fn.Bindings = append(fn.Bindings, funcapp.Binding{Name: b.Name, Type: b.Type, Direction: b.Direction, DataType: b.DataType})
	}
	req := fnhost.FunctionLoadRequest(md.FunctionId, fn)
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: req}})
	m := h.await("FunctionLoadResponse for "+md.Name, time.Minute, func(m *rpc.StreamingMessage) bool {
		return m.GetFunctionLoadResponse().GetFunctionId() == md.FunctionId
	})
	return m.GetFunctionLoadResponse()
}

func byName(resp *rpc.FunctionMetadataResponse) map[string]*rpc.RpcFunctionMetadata {
	out := map[string]*rpc.RpcFunctionMetadata{}
	for _, md := range resp.GetFunctionMetadataResults() {
		out[md.Name] = md
	}
	return out
}

func TestIndexingGoodModule(t *testing.T) {
	app := indexingApp(t, "app.wasm")
	h := startWorker(t, app)
	h.initWorker()
	resp := h.metadata()
	if resp.GetUseDefaultMetadataIndexing() || resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("metadata answer: default=%v result=%v", resp.GetUseDefaultMetadataIndexing(), resp.GetResult())
	}
	fns := byName(resp)
	if len(fns) != 2 || fns["Hello"] == nil || fns["Work"] == nil {
		t.Fatalf("functions: %v", resp.GetFunctionMetadataResults())
	}
	module := filepath.Join(app, "app.wasm")
	hello, work := fns["Hello"], fns["Work"]
	for _, md := range []*rpc.RpcFunctionMetadata{hello, work} {
		if md.Directory != app || md.ScriptFile != module || md.EntryPoint != "run" || md.Status.GetStatus() != rpc.StatusResult_Success {
			t.Errorf("%s: directory %q script_file %q entry_point %q status %v", md.Name, md.Directory, md.ScriptFile, md.EntryPoint, md.Status)
		}
		if md.FunctionId != worker.FunctionID(app, md.Name) || uuid.MustParse(md.FunctionId).Version() != 5 {
			t.Errorf("%s: function id %q", md.Name, md.FunctionId)
		}
	}
	if hello.FunctionId == work.FunctionId || worker.FunctionID(app, "hello") != hello.FunctionId {
		t.Errorf("ids: %s %s", hello.FunctionId, work.FunctionId)
	}
	wantHello := []string{
		`{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["get","post"],"route":"hello"}`,
		`{"type":"http","direction":"out","name":"res"}`,
	}
	if !slices.Equal(hello.RawBindings, wantHello) {
		t.Errorf("Hello raw_bindings:\n%q\nwant\n%q", hello.RawBindings, wantHello)
	}
	if len(work.RawBindings) != 2 || !strings.Contains(work.RawBindings[0], `"queueName":"work"`) || !strings.Contains(work.RawBindings[1], `"name":"out"`) {
		t.Errorf("Work raw_bindings: %q", work.RawBindings)
	}
	if hello.RetryOptions != nil {
		t.Errorf("Hello retry: %v", hello.RetryOptions)
	}
	if r := work.RetryOptions; r.GetRetryStrategy() != rpc.RpcRetryOptions_fixed_delay || r.GetMaxRetryCount() != 2 || r.GetDelayInterval().AsDuration() != 3*time.Second {
		t.Errorf("Work retry: %v", r)
	}

	// Loaded with no function.json, from the ids of the answer.
	for _, md := range []*rpc.RpcFunctionMetadata{hello, work} {
		if lr := h.loadIndexed(md); lr.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("load %s: %v", md.Name, lr.GetResult())
		}
	}
	r, logs := h.invoke(httpRequest(hello.FunctionId, "GET", "http://localhost/api/hello", nil, nil, nil, nil), 30*time.Second)
	if got := bodyText(t, httpOutput(t, r, "res")); got != "invoked Hello" {
		t.Errorf("Hello answered %q", got)
	}
	if !hasLog(logs, "invoked Hello") {
		t.Errorf("Hello logs: %v", logs)
	}
	r, logs = h.invoke(queueRequest(work.FunctionId, "msg", "job 42", 1), 30*time.Second)
	if r.GetResult().GetStatus() != rpc.StatusResult_Success || output(r, "out").GetString_() != "job 42" {
		t.Fatalf("Work: %v, outputs %v", r.GetResult(), r.GetOutputData())
	}
	if !hasLog(logs, "invoked Work") {
		t.Errorf("Work logs: %v", logs)
	}

	// Indexing again (after an environment reload) gives the same ids.
	again := byName(h.metadata())
	if again["Hello"].GetFunctionId() != hello.FunctionId || again["Work"].GetFunctionId() != work.FunctionId {
		t.Errorf("ids changed on re-indexing")
	}
}

func TestIndexingBadDeclarations(t *testing.T) {
	app := indexingApp(t, "app.wasm", "bad.wasm", "trap.wasm")
	h := startWorker(t, app)
	h.initWorker()
	resp := h.metadata()
	fns := byName(resp)

	// The module that traps fails as a whole, naming itself; the
	// duplicate name is named in the overall result too.
	res := resp.GetResult()
	msg := res.GetException().GetMessage()
	if res.GetStatus() != rpc.StatusResult_Failure {
		t.Fatalf("overall result %v; want Failure", res)
	}
	for _, w := range []string{
		"app module trap.wasm failed to declare its functions", "wasmworker_functions failed", "unreachable", "config missing",
		`bad.wasm: function "hello" is left out: a function of that name is already declared in app.wasm`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("overall message %q\ndoes not contain %q", msg, w)
		}
	}
	if fns["Lost"] != nil || fns["hello"] != nil {
		t.Errorf("Lost or the second hello listed: %v", resp.GetFunctionMetadataResults())
	}

	want := map[string]string{
		"1bad":       `bad.wasm: function "1bad": "1bad" is not a valid function name`,
		"NoTrigger":  `bad.wasm: function "NoTrigger": no trigger binding`,
		"DupBinding": `bad.wasm: function "DupBinding": bindings 1 and 2 are both named "MSG"`,
		"ReturnIn":   `bad.wasm: function "ReturnIn": binding 2 ("$return") must have direction "out"`,
		"UnknownKey": `bad.wasm: function "UnknownKey": unknown key "entrypoint" (did you mean "entryPoint"?)`,
		"NoEntry":    `bad.wasm: function "NoEntry": the declaration names entryPoint "missing" but the module exports no such function of type () -> i32; its entry points are: run`,
		"BadSandbox": `bad.wasm: function "BadSandbox": the "wasmworker" settings: json: unknown field "maxMemory"`,
	}
	for name, w := range want {
		md := fns[name]
		if md == nil {
			t.Errorf("%s is not listed", name)
			continue
		}
		if md.Status.GetStatus() != rpc.StatusResult_Failure || !strings.Contains(md.Status.GetException().GetMessage(), w) {
			t.Errorf("%s: status %v\nwant a failure containing %q", name, md.Status, w)
		}
		if len(md.RawBindings) == 0 || md.FunctionId == "" || md.ScriptFile != filepath.Join(app, "bad.wasm") {
			t.Errorf("%s: raw_bindings %q id %q script %q", name, md.RawBindings, md.FunctionId, md.ScriptFile)
		}
	}
	// A failed function's load says why, should the host load it anyway.
	if lr := h.loadIndexed(fns["NoTrigger"]); lr.GetResult().GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(lr.GetResult().GetException().GetMessage(), "no trigger binding") {
		t.Errorf("load NoTrigger: %v", lr.GetResult())
	}

	// The good functions of both modules are served.
	for _, name := range []string{"Hello", "Work", "Fine"} {
		md := fns[name]
		if md == nil || md.Status.GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("%s: %v", name, md)
		}
		if lr := h.loadIndexed(md); lr.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("load %s: %v", name, lr.GetResult())
		}
	}
	if len(fns) != 10 {
		t.Errorf("%d functions listed; want 10 (Hello, Work and bad.wasm's 8 but hello)", len(fns))
	}
	// Fine checks that declare answers UNSUPPORTED in _initialize and in an
	// entry point, and that bad.wasm's invalid JSON got BAD_JSON (it traps
	// otherwise, and would not have been indexed).
	r, _ := h.invoke(queueRequest(fns["Fine"].FunctionId, "msg", "x", 1), 30*time.Second)
	if r.GetResult().GetStatus() != rpc.StatusResult_Success || output(r, "out").GetString_() != "declare: UNSUPPORTED" {
		t.Fatalf("Fine: %v, outputs %v", r.GetResult(), r.GetOutputData())
	}
	r, _ = h.invoke(httpRequest(fns["Hello"].FunctionId, "GET", "http://localhost/api/hello", nil, nil, nil, nil), 30*time.Second)
	if got := bodyText(t, httpOutput(t, r, "res")); got != "invoked Hello" {
		t.Errorf("Hello answered %q", got)
	}
}

// TestIndexingFoldersOnly: with no app module (function folders only, a
// root .wasm that cannot declare, and one that can but declares nothing),
// the host indexes.
func TestIndexingFoldersOnly(t *testing.T) {
	app := indexingApp(t, "Ping", "empty.wasm")
	b, err := os.ReadFile(filepath.Join(indexingData, "Ping", "ping.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "stray.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWorker(t, app)
	h.initWorker()
	resp := h.metadata()
	if !resp.GetUseDefaultMetadataIndexing() || resp.GetResult().GetStatus() != rpc.StatusResult_Success || len(resp.GetFunctionMetadataResults()) != 0 {
		t.Fatalf("folders only: %v", resp)
	}
	ids := h.mustLoad("Ping")
	r, _ := h.invoke(httpRequest(ids["Ping"], "GET", "http://localhost/api/ping", nil, nil, nil, nil), 30*time.Second)
	if got := bodyText(t, httpOutput(t, r, "res")); got != "pong" {
		t.Errorf("Ping answered %q", got)
	}
}

// TestIndexingMix: an app module and function folders are indexed
// together; a broken folder is listed with its failure.
func TestIndexingMix(t *testing.T) {
	app := indexingApp(t, "app.wasm", "Ping")
	broken := filepath.Join(app, "Broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "function.json"), []byte(`{"scriptFile":"x.wasm","bindings":[{"type":"http","direction":"out","name":"res"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWorker(t, app)
	h.initWorker()
	resp := h.metadata()
	if resp.GetUseDefaultMetadataIndexing() || resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("mix: default=%v result=%v", resp.GetUseDefaultMetadataIndexing(), resp.GetResult())
	}
	fns := byName(resp)
	if len(fns) != 4 {
		t.Fatalf("functions: %v", resp.GetFunctionMetadataResults())
	}
	ping := fns["Ping"]
	if ping.Directory != filepath.Join(app, "Ping") || ping.ScriptFile != filepath.Join(app, "Ping", "ping.wasm") ||
		ping.Status.GetStatus() != rpc.StatusResult_Success || ping.FunctionId != worker.FunctionID(app, "Ping") ||
		len(ping.RawBindings) != 2 || !strings.Contains(ping.RawBindings[0], `"route":"ping"`) {
		t.Errorf("Ping: %v", ping)
	}
	if b := fns["Broken"]; b.Status.GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(b.Status.GetException().GetMessage(), "Broken/function.json: no trigger binding") || len(b.RawBindings) != 1 {
		t.Errorf("Broken: %v", b)
	}
	// The folder function loads from its function.json (the host's load
	// request names its folder), the declared one from the index.
	for _, name := range []string{"Ping", "Hello"} {
		if lr := h.loadIndexed(fns[name]); lr.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("load %s: %v", name, lr.GetResult())
		}
	}
	r, _ := h.invoke(httpRequest(ping.FunctionId, "GET", "http://localhost/api/ping", nil, nil, nil, nil), 30*time.Second)
	if got := bodyText(t, httpOutput(t, r, "res")); got != "pong" {
		t.Errorf("Ping answered %q", got)
	}
	r, _ = h.invoke(httpRequest(fns["Hello"].FunctionId, "GET", "http://localhost/api/hello", nil, nil, nil, nil), 30*time.Second)
	if got := bodyText(t, httpOutput(t, r, "res")); got != "invoked Hello" {
		t.Errorf("Hello answered %q", got)
	}
}

// TestIndexingLoadWithoutMetadata: with several worker processes the host
// asks one for the functions and sends the loads to all; a worker never
// asked indexes the app itself and finds the id.
func TestIndexingLoadWithoutMetadata(t *testing.T) {
	app := indexingApp(t, "app.wasm")
	h := startWorker(t, app)
	h.initWorker()
	md := &rpc.RpcFunctionMetadata{
		Name: "Work", Directory: app, ScriptFile: filepath.Join(app, "app.wasm"), EntryPoint: "run",
		FunctionId: worker.FunctionID(app, "Work"),
		RawBindings: []string{
			`{"type":"queueTrigger","direction":"in","name":"msg","queueName":"work"}`,
			`{"type":"queue","direction":"out","name":"out","queueName":"work-done"}`,
		},
	}
	if lr := h.loadIndexed(md); lr.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("load: %v", lr.GetResult())
	}
	r, _ := h.invoke(queueRequest(md.FunctionId, "msg", "unasked", 1), 30*time.Second)
	if r.GetResult().GetStatus() != rpc.StatusResult_Success || output(r, "out").GetString_() != "unasked" {
		t.Fatalf("Work: %v, outputs %v", r.GetResult(), r.GetOutputData())
	}
	// An id the app does not declare still fails, naming function.json.
	md.FunctionId, md.Name = worker.FunctionID(app, "Nope"), "Nope"
	if lr := h.loadIndexed(md); lr.GetResult().GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(lr.GetResult().GetException().GetMessage(), "function.json") {
		t.Fatalf("load of an unknown id: %v", lr.GetResult())
	}
}

// TestIndexingBadFolderName: a function folder whose name is not valid
// UTF-8 does not cost the answer: the app's functions are listed, the
// folder's name made valid.
func TestIndexingBadFolderName(t *testing.T) {
	app := indexingApp(t, "app.wasm")
	bad := filepath.Join(app, "F\xff")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "function.json"), []byte(`{"scriptFile":"x.wasm","bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWorker(t, app)
	h.initWorker()
	resp := h.metadata()
	fns := byName(resp)
	if fns["Hello"] == nil || fns["Hello"].Status.GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("the declared functions are not listed: %v", resp)
	}
	if f := fns["F\uFFFD"]; f == nil || f.Status.GetStatus() != rpc.StatusResult_Failure {
		t.Errorf("the folder with the bad name: %v", resp.GetFunctionMetadataResults())
	}
}

// TestIndexingLoadFromFailedModule: a load of a function whose app module
// failed to declare its functions fails with that module's failure, not
// with a missing function.json.
func TestIndexingLoadFromFailedModule(t *testing.T) {
	app := indexingApp(t, "app.wasm", "trap.wasm")
	h := startWorker(t, app)
	h.initWorker()
	h.metadata()
	lr := h.loadIndexed(&rpc.RpcFunctionMetadata{Name: "Gone", Directory: app, ScriptFile: filepath.Join(app, "trap.wasm"),
		FunctionId: worker.FunctionID(app, "Gone")})
	if msg := lr.GetResult().GetException().GetMessage(); lr.GetResult().GetStatus() != rpc.StatusResult_Failure ||
		!strings.Contains(msg, "trap.wasm failed to declare its functions") || strings.Contains(msg, "function.json") {
		t.Errorf("load: %v", lr.GetResult())
	}
}
