package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/appbuild"
	"github.com/wasmworker/wasmworker/internal/devhost"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// These tests play the Functions host: a real gRPC server on loopback, the
// real worker binary started from a workers/wasm folder with the host's
// command line, environment and working directory (host package), and real
// wasm functions built from sources in this repository.

var (
	workersDir string // holds wasm/{wasmworker,worker.config.json}
	testApp    string // worker/testdata/app, built
	exampleApp string // examples-wasm/app, built
	abiApps    string // examples-wasm/abi/<lang>, one app per SDK

	abiLanguages = []string{"c", "rust", "assemblyscript", "go"}
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "wasmworker-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	// What `make worker` lays out: wasm/{wasmworker,worker.config.json}.
	if workersDir, err = devhost.BuildWorker(ctx, ".", filepath.Join(tmp, "workers")); err != nil {
		return 0, err
	}
	testApp = filepath.Join(tmp, "testapp")
	if _, err := appbuild.Build(ctx, "testdata/app", testApp); err != nil {
		return 0, fmt.Errorf("build test app: %w", err)
	}
	exampleApp = filepath.Join(tmp, "examples")
	if _, err := appbuild.Build(ctx, filepath.Join("..", "..", "examples-wasm", "app"), exampleApp); err != nil {
		return 0, fmt.Errorf("build example app: %w", err)
	}
	abiApps = filepath.Join(tmp, "abi")
	if err := copyABIExamples(abiApps); err != nil {
		return 0, err
	}
	// One compilation cache for the whole run, as on a real machine.
	os.Setenv("WASMWORKER_CACHE_DIR", filepath.Join(tmp, "cache"))
	return m.Run(), nil
}

// hostConn is one worker process and the host's end of its stream.
type hostConn struct {
	t      testing.TB
	srv    *fnhost.Server
	stream *fnhost.Stream
	proc   *fnhost.Process
	appDir string

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever msgs grows or the stream ends
	msgs     []*rpc.StreamingMessage
	consumed []bool
	ended    bool
	stderr   []string
}

// startWorker starts the worker for appDir exactly as the host does and
// waits for StartStream.
func startWorker(t testing.TB, appDir string) *hostConn {
	t.Helper()
	cfg, err := fnhost.FindWorker(workersDir, "wasm")
	if err != nil {
		t.Fatalf("find worker: %v", err)
	}
	srv, err := fnhost.Listen()
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &hostConn{t: t, srv: srv, appDir: appDir, changed: make(chan struct{})}
	workerID := uuid.NewString()
	h.stream = srv.Register(workerID)
	env := append(os.Environ(), "FUNCTIONS_WORKER_RUNTIME=wasm", "AzureWebJobsStorage=UseDevelopmentStorage=true")
	h.proc, err = fnhost.StartProcess(fnhost.StartOptions{
		Config:    cfg,
		AppDir:    appDir,
		Env:       env,
		Port:      srv.Port(),
		WorkerID:  workerID,
		RequestID: uuid.NewString(),
		Stderr: func(line string) {
			h.mu.Lock()
			h.stderr = append(h.stderr, line)
			h.mu.Unlock()
		},
	})
	if err != nil {
		srv.Close()
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(func() {
		h.proc.Kill()
		<-h.proc.Done()
		srv.Close()
		if t.Failed() {
			t.Logf("worker stderr:\n%s", strings.Join(h.stderrLines(), "\n"))
		}
	})
	select {
	case <-h.stream.Started():
	case <-h.proc.Done():
		t.Fatalf("worker exited (code %d) before StartStream:\n%s", h.proc.ExitCode(), strings.Join(h.stderrLines(), "\n"))
	case <-time.After(30 * time.Second):
		t.Fatal("no StartStream within 30s")
	}
	go h.pump()
	return h
}

func (h *hostConn) pump() {
	for m := range h.stream.Recv() {
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.consumed = append(h.consumed, false)
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
	}
	h.mu.Lock()
	h.ended = true
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *hostConn) stderrLines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.stderr...)
}

func (h *hostConn) send(m *rpc.StreamingMessage) {
	h.t.Helper()
	if err := h.stream.Send(m); err != nil {
		h.t.Fatalf("send %T: %v", m.Content, err)
	}
}

// await returns the first message not returned before that satisfies pred,
// waiting up to timeout.
func (h *hostConn) await(what string, timeout time.Duration, pred func(*rpc.StreamingMessage) bool) *rpc.StreamingMessage {
	h.t.Helper()
	m, idx := h.tryAwait(timeout, pred)
	if idx < 0 {
		h.t.Fatalf("no %s from the worker within %v", what, timeout)
	}
	return m
}

func (h *hostConn) tryAwait(timeout time.Duration, pred func(*rpc.StreamingMessage) bool) (*rpc.StreamingMessage, int) {
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		for i, m := range h.msgs {
			if !h.consumed[i] && pred(m) {
				h.consumed[i] = true
				h.mu.Unlock()
				return m, i
			}
		}
		ch, ended := h.changed, h.ended
		h.mu.Unlock()
		if ended {
			return nil, -1
		}
		select {
		case <-ch:
		case <-deadline:
			return nil, -1
		}
	}
}

// messagesBefore returns the messages received before index idx that
// satisfy pred.
func (h *hostConn) messagesBefore(idx int, pred func(*rpc.StreamingMessage) bool) []*rpc.StreamingMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*rpc.StreamingMessage
	for _, m := range h.msgs[:idx] {
		if pred(m) {
			out = append(out, m)
		}
	}
	return out
}

func (h *hostConn) all(pred func(*rpc.StreamingMessage) bool) []*rpc.StreamingMessage {
	h.mu.Lock()
	n := len(h.msgs)
	h.mu.Unlock()
	return h.messagesBefore(n, pred)
}

// initWorker performs the init handshake as the host does (docs/host-contract.md §2.3).
func (h *hostConn) initWorker() *rpc.WorkerInitResponse {
	h.t.Helper()
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerInitRequest{WorkerInitRequest: &rpc.WorkerInitRequest{
		HostVersion:          "4.1037.0.0",
		Capabilities:         map[string]string{"MultiStream": "10"},
		WorkerDirectory:      filepath.Join(workersDir, "wasm"),
		FunctionAppDirectory: h.appDir,
	}}})
	m := h.await("WorkerInitResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool { return m.GetWorkerInitResponse() != nil })
	return m.GetWorkerInitResponse()
}

// loadRequest builds a FunctionLoadRequest the way the host fills it (docs/host-contract.md §4.2).
func loadRequest(t testing.TB, appDir, name string) *rpc.FunctionLoadRequest {
	t.Helper()
	dir := filepath.Join(appDir, name)
	id := uuid.NewString()
	fn, err := funcapp.LoadFunction(dir)
	if err != nil {
		// The worker must cope with a function whose files changed after the
		// host indexed it: send what the host would have sent.
		var raw struct{ ScriptFile string }
		b, _ := os.ReadFile(filepath.Join(dir, "function.json"))
		_ = json.Unmarshal(b, &raw)
		return &rpc.FunctionLoadRequest{FunctionId: id, Metadata: &rpc.RpcFunctionMetadata{
			Name: name, Directory: dir, ScriptFile: filepath.Join(dir, raw.ScriptFile),
			Properties: map[string]string{"FunctionId": id},
		}}
	}
	req := fnhost.FunctionLoadRequest(id, fn)
	req.Metadata.Name = name
	maps.Copy(req.Metadata.Properties, map[string]string{"IsDisabled": "False", "IsDirect": "False", "IsCodeless": "False"})
	return req
}

// load sends a FunctionLoadRequest for the named function and waits for
// its response.
func (h *hostConn) load(name string) (string, *rpc.FunctionLoadResponse) {
	h.t.Helper()
	req := loadRequest(h.t, h.appDir, name)
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: req}})
	m := h.await("FunctionLoadResponse for "+name, time.Minute, func(m *rpc.StreamingMessage) bool {
		return m.GetFunctionLoadResponse().GetFunctionId() == req.FunctionId
	})
	return req.FunctionId, m.GetFunctionLoadResponse()
}

// mustLoad loads the named functions and fails the test if any fails.
func (h *hostConn) mustLoad(names ...string) map[string]string {
	h.t.Helper()
	ids := map[string]string{}
	for _, n := range names {
		id, resp := h.load(n)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			h.t.Fatalf("load %s: %v", n, resp.GetResult().GetException().GetMessage())
		}
		ids[n] = id
	}
	return ids
}

// invoke sends the request and waits for its response; it also returns the
// user logs of the invocation that arrived before the response.
func (h *hostConn) invoke(req *rpc.InvocationRequest, timeout time.Duration) (*rpc.InvocationResponse, []*rpc.RpcLog) {
	h.t.Helper()
	h.sendInvocation(req)
	return h.awaitResponse(req.InvocationId, timeout)
}

func (h *hostConn) sendInvocation(req *rpc.InvocationRequest) {
	h.t.Helper()
	if req.InvocationId == "" {
		req.InvocationId = fnhost.NewInvocationID()
	}
	if req.TraceContext == nil {
		req.TraceContext = &rpc.RpcTraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	}
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: req}})
}

func (h *hostConn) awaitResponse(invocationID string, timeout time.Duration) (*rpc.InvocationResponse, []*rpc.RpcLog) {
	h.t.Helper()
	m, idx := h.tryAwait(timeout, func(m *rpc.StreamingMessage) bool {
		return m.GetInvocationResponse().GetInvocationId() == invocationID
	})
	if idx < 0 {
		h.t.Fatalf("no InvocationResponse for %s within %v", invocationID, timeout)
	}
	var logs []*rpc.RpcLog
	for _, l := range h.messagesBefore(idx, func(m *rpc.StreamingMessage) bool {
		return m.GetRpcLog().GetInvocationId() == invocationID
	}) {
		logs = append(logs, l.GetRpcLog())
	}
	return m.GetInvocationResponse(), logs
}

// exited waits for the worker process to exit and returns its exit code.
func (h *hostConn) exited(timeout time.Duration) int {
	h.t.Helper()
	select {
	case <-h.proc.Done():
		return h.proc.ExitCode()
	case <-time.After(timeout):
		h.t.Fatalf("worker still running %v later", timeout)
		return -1
	}
}

// Payload builders shaped like the host's (docs/host-contract.md §4.3, §4.4).

func nullable(kv ...string) map[string]*rpc.NullableString {
	m := map[string]*rpc.NullableString{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &rpc.NullableString{String_: &rpc.NullableString_Value{Value: kv[i+1]}}
	}
	return m
}

func str(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
func jsn(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: s}} }

// httpRequest is an InvocationRequest for an HTTP trigger named "req", as
// the host builds it for a worker with our capabilities.
func httpRequest(functionID, method, url string, params map[string]string, query map[string]string, headers map[string]string, body []byte) *rpc.InvocationRequest {
	hdr := nullable("host", "localhost:7071")
	for k, v := range headers {
		hdr[strings.ToLower(k)] = nullable(k, v)[k]
	}
	q, p := map[string]*rpc.NullableString{}, map[string]*rpc.NullableString{}
	meta := map[string]*rpc.TypedData{}
	for k, v := range query {
		q[k] = nullable(k, v)[k]
		meta[k] = str(v)
	}
	for k, v := range params {
		p[k] = nullable(k, v)[k]
		meta[k] = str(v)
	}
	r := &rpc.RpcHttp{
		Method:          method,
		Url:             url,
		NullableHeaders: hdr,
		NullableQuery:   q,
		NullableParams:  p,
		Identities:      []*rpc.RpcClaimsIdentity{{}},
	}
	if len(body) > 0 {
		r.Body = &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: body}}
		hdr["content-length"] = nullable("x", fmt.Sprint(len(body)))["x"]
	}
	meta["Headers"] = jsn(`{"Host":"localhost:7071"}`)
	meta["Query"] = jsn("{}")
	return &rpc.InvocationRequest{
		FunctionId:      functionID,
		InputData:       []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: r}}}}},
		TriggerMetadata: meta,
	}
}

// queueRequest is an InvocationRequest for a queue trigger named name with
// the queue extension's trigger metadata.
func queueRequest(functionID, name, message string, dequeueCount int) *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		FunctionId: functionID,
		InputData:  []*rpc.ParameterBinding{{Name: name, RpcData: &rpc.ParameterBinding_Data{Data: str(message)}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"QueueTrigger":    str(message),
			"DequeueCount":    jsn(fmt.Sprint(dequeueCount)),
			"ExpirationTime":  jsn(`"2026-12-02T10:00:00+00:00"`),
			"Id":              str("6c9d2a51-39ba-4c52-a5d8-0c6b0d5e2f10"),
			"InsertionTime":   jsn(`"2026-11-25T10:00:00+00:00"`),
			"NextVisibleTime": jsn(`"2026-11-25T10:10:00+00:00"`),
			"PopReceipt":      str("AgAAAAMAAAAAAAAA"),
		},
	}
}

// copyABIExamples copies the ABI example apps of examples-wasm/abi (one per
// SDK language) into dir, building the Go one, whose module is not committed.
func copyABIExamples(dir string) error {
	for _, lang := range abiLanguages {
		src := filepath.Join("..", "..", "examples-wasm", "abi", lang)
		dst := filepath.Join(dir, lang)
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			return fmt.Errorf("copy ABI example %s: %w", lang, err)
		}
	}
	wasm, err := wasmbuild.Go(filepath.Join("..", "..", "examples-wasm", "abi", "go"), wasmbuild.Options{BuildMode: "c-shared"})
	if err != nil {
		return fmt.Errorf("build the Go ABI example: %w", err)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go", "functions.wasm"), b, 0o644)
}
