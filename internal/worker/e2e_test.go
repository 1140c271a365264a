package worker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/worker"
)

func TestStartStreamAndInit(t *testing.T) {
	h := startWorker(t, exampleApp)
	start := h.stream.StartMessage()
	if start.GetStartStream().GetWorkerId() != h.proc.WorkerID() {
		t.Errorf("StartStream.worker_id = %q, want %q", start.GetStartStream().GetWorkerId(), h.proc.WorkerID())
	}
	if start.GetRequestId() == "" {
		t.Error("StartStream carries no request_id (the --requestId value)")
	}
	resp := h.initWorker()
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("init result = %v", resp.GetResult())
	}
	for k, v := range worker.Capabilities {
		if resp.Capabilities[k] != v {
			t.Errorf("capability %s = %q, want %q", k, resp.Capabilities[k], v)
		}
	}
	if _, ok := resp.Capabilities["SupportsLoadResponseCollection"]; ok {
		t.Error("SupportsLoadResponseCollection must not be advertised (docs/host-contract.md §2.6)")
	}
	md := resp.GetWorkerMetadata()
	if md.GetRuntimeName() != "wasm" || md.GetWorkerVersion() == "" || !strings.HasPrefix(md.GetRuntimeVersion(), "wazero") {
		t.Errorf("worker_metadata = %v", md)
	}
}

func TestLoadAndInvokeExamples(t *testing.T) {
	h := startWorker(t, exampleApp)
	h.initWorker()
	ids := h.mustLoad("HttpHello", "Enqueue", "ProcessJob", "Tick")

	t.Run("http GET with route and query", func(t *testing.T) {
		req := httpRequest(ids["HttpHello"], "GET", "http://localhost:7071/api/hello/world?greeting=Hi",
			map[string]string{"name": "world"}, map[string]string{"greeting": "Hi"}, nil, nil)
		resp, logs := h.invoke(req, 30*time.Second)
		res := httpOutput(t, resp, "res")
		if res.StatusCode != "200" {
			t.Errorf("status_code = %q, want 200", res.StatusCode)
		}
		if got := res.Headers["Content-Type"]; got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := res.Headers["X-Powered-By"]; got != "wasmworker" {
			t.Errorf("X-Powered-By = %q", got)
		}
		if body := bodyText(t, res); !strings.Contains(body, "Hi, world.") {
			t.Errorf("body = %s", body)
		}
		if resp.ReturnValue != nil {
			t.Errorf("return_value set for an HTTP function without $return: %v", resp.ReturnValue)
		}
		if !hasLog(logs, "HttpHello: GET world -> 200") {
			t.Errorf("guest stderr line missing from user logs before the response: %v", logs)
		}
	})
	t.Run("http POST with JSON body", func(t *testing.T) {
		req := httpRequest(ids["HttpHello"], "POST", "http://localhost:7071/api/hello/ada",
			map[string]string{"name": "ada"}, nil, map[string]string{"Content-Type": "application/json"}, []byte(`{"punctuation":"!"}`))
		resp, _ := h.invoke(req, 30*time.Second)
		res := httpOutput(t, resp, "res")
		if res.StatusCode != "201" || !strings.Contains(bodyText(t, res), "Hello, ada!") {
			t.Errorf("got %s %s", res.StatusCode, bodyText(t, res))
		}
	})
	t.Run("http POST with a bad body answers 400", func(t *testing.T) {
		req := httpRequest(ids["HttpHello"], "POST", "http://localhost:7071/api/hello/ada",
			map[string]string{"name": "ada"}, nil, nil, []byte(`not json`))
		resp, _ := h.invoke(req, 30*time.Second)
		if res := httpOutput(t, resp, "res"); res.StatusCode != "400" {
			t.Errorf("status = %s, want 400", res.StatusCode)
		}
	})
	t.Run("http function with a queue output", func(t *testing.T) {
		req := httpRequest(ids["Enqueue"], "POST", "http://localhost:7071/api/jobs", nil, nil,
			map[string]string{"Content-Type": "application/json"}, []byte(`{"task":"resize"}`))
		resp, _ := h.invoke(req, 30*time.Second)
		res := httpOutput(t, resp, "res")
		if res.StatusCode != "202" {
			t.Errorf("status = %s, want 202", res.StatusCode)
		}
		job := output(resp, "job")
		if job == nil {
			t.Fatalf("no output named job: %v", resp.OutputData)
		}
		if !strings.Contains(job.GetJson()+job.GetString_(), "resize") {
			t.Errorf("job output = %v", job)
		}
	})
	t.Run("queue trigger with $return", func(t *testing.T) {
		resp, logs := h.invoke(queueRequest(ids["ProcessJob"], "msg", `{"task":"resize"}`, 2), 30*time.Second)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("result = %v", resp.GetResult())
		}
		var got struct {
			Task, Status, MessageID string
			Attempt                 int
		}
		if err := json.Unmarshal([]byte(resp.GetReturnValue().GetJson()), &got); err != nil {
			t.Fatalf("return_value %v is not the JSON result: %v", resp.GetReturnValue(), err)
		}
		if got.Task != "resize" || got.Status != "done" || got.Attempt != 2 || got.MessageID != "6c9d2a51-39ba-4c52-a5d8-0c6b0d5e2f10" {
			t.Errorf("result = %+v", got)
		}
		if len(resp.OutputData) != 0 {
			t.Errorf("output_data = %v, want none ($return goes to return_value)", resp.OutputData)
		}
		if !hasLog(logs, `did "resize"`) {
			t.Errorf("logs = %v", logs)
		}
	})
	t.Run("queue trigger failure", func(t *testing.T) {
		resp, _ := h.invoke(queueRequest(ids["ProcessJob"], "msg", `{"task":"x","fail":true}`, 1), 30*time.Second)
		r := resp.GetResult()
		if r.GetStatus() != rpc.StatusResult_Failure {
			t.Fatalf("status = %v, want Failure", r.GetStatus())
		}
		if msg := r.GetException().GetMessage(); !strings.Contains(msg, "exit") || !strings.Contains(msg, `job "x"`) {
			t.Errorf("failure message should give the exit and the stderr tail: %q", msg)
		}
	})
	t.Run("timer trigger", func(t *testing.T) {
		req := &rpc.InvocationRequest{
			FunctionId: ids["Tick"],
			InputData: []*rpc.ParameterBinding{{Name: "timer", RpcData: &rpc.ParameterBinding_Data{Data: jsn(
				`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-25T10:00:00+00:00","Next":"2026-11-25T10:05:00+00:00","LastUpdated":"2026-11-25T10:00:00+00:00"},"IsPastDue":false}`)}}},
		}
		resp, logs := h.invoke(req, 30*time.Second)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("result = %v", resp.GetResult())
		}
		if len(logs) == 0 {
			t.Error("the timer function logged nothing")
		}
	})
}

func TestLoadFailuresAreClearAndWorkerLivesOn(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	tests := []struct{ fn, want string }{
		{"NotWasm", "not a WebAssembly binary: the file looks like text"},
		{"Missing", "gone.wasm\" does not exist"},
		{"NoStart", "_start"},
		{"BadImport", "launch_missiles"},
		{"CmdABIImport", "wasmworker.log; a command module may import only the outbound HTTP functions"},
		{"AbiV2", "speaks wasmworker ABI version 2; this worker supports version 1 only"},
	}
	for _, tt := range tests {
		id, resp := h.load(tt.fn)
		if resp.GetFunctionId() != id {
			t.Errorf("%s: response echoes id %q, want %q", tt.fn, resp.GetFunctionId(), id)
		}
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure {
			t.Errorf("%s: load status %v, want Failure", tt.fn, resp.GetResult().GetStatus())
			continue
		}
		if msg := resp.GetResult().GetException().GetMessage(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, tt.fn) {
			t.Errorf("%s: load message %q should name the function and contain %q", tt.fn, msg, tt.want)
		}
		// An invocation of a function that failed to load fails with the reason.
		inv, _ := h.invoke(queueRequest(id, "msg", "x", 1), 10*time.Second)
		if inv.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(inv.GetResult().GetException().GetMessage(), tt.want) {
			t.Errorf("%s: invocation result %v", tt.fn, inv.GetResult())
		}
	}
	// The worker is still alive and loads good functions.
	ids := h.mustLoad("Echo")
	resp, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/1", map[string]string{"id": "1"}, nil, nil, nil), 30*time.Second)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("Echo after failed loads: %v", resp.GetResult())
	}
}

func TestGuestFailures(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Fail", "Garbage", "Trap", "Panic")
	t.Run("non-zero exit", func(t *testing.T) {
		resp, logs := h.invoke(queueRequest(ids["Fail"], "msg", "x", 1), 30*time.Second)
		msg := resp.GetResult().GetException().GetMessage()
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "3") || !strings.Contains(msg, "the job is invalid") {
			t.Errorf("result %v: want Failure naming exit code 3 and the stderr tail", resp.GetResult())
		}
		if !hasLog(logs, "about to fail") {
			t.Errorf("stderr lines should arrive as user logs before the response: %v", logs)
		}
	})
	t.Run("not JSON on stdout", func(t *testing.T) {
		resp, _ := h.invoke(queueRequest(ids["Garbage"], "msg", "x", 1), 30*time.Second)
		msg := resp.GetResult().GetException().GetMessage()
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "hello, this is not JSON") {
			t.Errorf("result %v: want Failure quoting what the guest wrote", resp.GetResult())
		}
	})
	t.Run("wasm trap", func(t *testing.T) {
		resp, _ := h.invoke(queueRequest(ids["Trap"], "msg", "x", 1), 30*time.Second)
		msg := resp.GetResult().GetException().GetMessage()
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "unreachable") {
			t.Errorf("result %v: want Failure naming the trap", resp.GetResult())
		}
	})
	t.Run("Go panic", func(t *testing.T) {
		resp, logs := h.invoke(queueRequest(ids["Panic"], "msg", "x", 1), 30*time.Second)
		msg := resp.GetResult().GetException().GetMessage()
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "assignment to entry in nil map") {
			t.Errorf("result %v: want Failure quoting the panic", resp.GetResult())
		}
		if !hasLog(logs, "about to panic") {
			t.Errorf("stderr lines should arrive as user logs: %v", logs)
		}
	})
	t.Run("unknown function id", func(t *testing.T) {
		resp, _ := h.invoke(queueRequest("no-such-id", "msg", "x", 1), 10*time.Second)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(resp.GetResult().GetException().GetMessage(), "no-such-id") {
			t.Errorf("result %v", resp.GetResult())
		}
	})
}

func TestManyConcurrentInvocations(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Echo", "Sleep")
	const n = 300
	reqs := make([]*rpc.InvocationRequest, n)
	for i := range reqs {
		if i%3 == 0 {
			reqs[i] = queueRequest(ids["Sleep"], "msg", "100", 1)
		} else {
			body := []byte(fmt.Sprintf("payload %d", i))
			reqs[i] = httpRequest(ids["Echo"], "POST", "http://localhost/api/echo/"+fmt.Sprint(i),
				map[string]string{"id": fmt.Sprint(i)}, nil, nil, body)
		}
		h.sendInvocation(reqs[i]) // all in flight before any answer is read
	}
	for i, req := range reqs {
		resp, _ := h.awaitResponse(req.InvocationId, 2*time.Minute)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("invocation %d: %v", i, resp.GetResult())
		}
		if i%3 == 0 {
			if got := resp.GetReturnValue().GetString_(); got != "slept 100ms" {
				t.Errorf("invocation %d: return %v", i, resp.GetReturnValue())
			}
			continue
		}
		res := httpOutput(t, resp, "res")
		if want := fmt.Sprintf("payload %d", i); bodyText(t, res) != want || res.Headers["X-Id"] != fmt.Sprint(i) {
			t.Errorf("invocation %d answered with another's data: %s %v", i, bodyText(t, res), res.Headers)
		}
	}
	// Exactly one response per invocation.
	count := map[string]int{}
	for _, m := range h.all(func(m *rpc.StreamingMessage) bool { return m.GetInvocationResponse() != nil }) {
		count[m.GetInvocationResponse().GetInvocationId()]++
	}
	for _, req := range reqs {
		if count[req.InvocationId] != 1 {
			t.Errorf("%s answered %d times", req.InvocationId, count[req.InvocationId])
		}
	}
}

func TestCancelStopsRunawayGuest(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Spin", "Echo")
	req := queueRequest(ids["Spin"], "msg", "x", 1)
	h.sendInvocation(req)
	// Wait until the guest runs (it logs once), then cancel.
	h.await("Spin's log line", 30*time.Second, func(m *rpc.StreamingMessage) bool {
		return m.GetRpcLog().GetInvocationId() == req.InvocationId
	})
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: req.InvocationId}}})
	resp, _ := h.awaitResponse(req.InvocationId, 10*time.Second)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Cancelled {
		t.Errorf("status = %v, want Cancelled; %v", resp.GetResult().GetStatus(), resp.GetResult())
	}
	if msg := resp.GetResult().GetException().GetMessage(); !strings.Contains(msg, "the host cancelled the invocation (InvocationCancel)") {
		t.Errorf("the failure does not say who cancelled: %q", msg)
	}
	// A cancel for an unknown id is ignored, and the worker still serves.
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: "unknown"}}})
	ok, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/2", map[string]string{"id": "2"}, nil, nil, nil), 30*time.Second)
	if ok.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("after cancel: %v", ok.GetResult())
	}
}

func TestDeadlineFromFunctionTimeout(t *testing.T) {
	app := copyApp(t, testApp, "Spin")
	writeFile(t, filepath.Join(app, "host.json"), `{"version":"2.0","functionTimeout":"00:00:02"}`)
	h := startWorker(t, app)
	h.initWorker()
	ids := h.mustLoad("Spin")
	start := time.Now()
	resp, _ := h.invoke(queueRequest(ids["Spin"], "msg", "x", 1), 30*time.Second)
	took := time.Since(start)
	r := resp.GetResult()
	if r.GetStatus() != rpc.StatusResult_Failure || !strings.Contains(r.GetException().GetMessage(), "deadline") {
		t.Errorf("result %v, want a Failure naming the deadline", r)
	}
	// Stopped before the host's own 2 s timeout would restart the worker.
	t.Logf("runaway guest answered after %v (functionTimeout 2s)", took)
}

func TestWorkerStatusEchoesRequestID(t *testing.T) {
	h := startWorker(t, exampleApp)
	h.initWorker()
	for i := 0; i < 3; i++ {
		rid := uuid.NewString()
		h.send(&rpc.StreamingMessage{RequestId: rid, Content: &rpc.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpc.WorkerStatusRequest{}}})
		h.await("WorkerStatusResponse "+rid, 10*time.Second, func(m *rpc.StreamingMessage) bool {
			return m.GetWorkerStatusResponse() != nil && m.GetRequestId() == rid
		})
	}
}

func TestOtherHostMessages(t *testing.T) {
	h := startWorker(t, exampleApp)
	h.initWorker()
	// Messages the host never uses, or that we do not know, are ignored.
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerHeartbeat{WorkerHeartbeat: &rpc.WorkerHeartbeat{}}})
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FileChangeEventRequest{FileChangeEventRequest: &rpc.FileChangeEventRequest{FullPath: "x"}}})
	h.send(&rpc.StreamingMessage{})

	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerWarmupRequest{WorkerWarmupRequest: &rpc.WorkerWarmupRequest{WorkerDirectory: workersDir}}})
	m := h.await("WorkerWarmupResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool { return m.GetWorkerWarmupResponse() != nil })
	if m.GetWorkerWarmupResponse().GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("warmup result %v", m.GetWorkerWarmupResponse().GetResult())
	}
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_CloseSharedMemoryResourcesRequest{
		CloseSharedMemoryResourcesRequest: &rpc.CloseSharedMemoryResourcesRequest{MapNames: []string{"a", "b"}}}})
	m = h.await("CloseSharedMemoryResourcesResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool {
		return m.GetCloseSharedMemoryResourcesResponse() != nil
	})
	if got := m.GetCloseSharedMemoryResourcesResponse().GetCloseMapResults(); len(got) != 2 {
		t.Errorf("close_map_results = %v", got)
	}
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionsMetadataRequest{
		FunctionsMetadataRequest: &rpc.FunctionsMetadataRequest{FunctionAppDirectory: exampleApp}}})
	m = h.await("FunctionMetadataResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool { return m.GetFunctionMetadataResponse() != nil })
	if r := m.GetFunctionMetadataResponse(); !r.GetUseDefaultMetadataIndexing() || r.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("metadata response %v: want use_default_metadata_indexing (host indexing)", r)
	}
	// Still serving.
	ids := h.mustLoad("HttpHello")
	resp, _ := h.invoke(httpRequest(ids["HttpHello"], "GET", "http://localhost:7071/api/hello/x", map[string]string{"name": "x"}, nil, nil, nil), 30*time.Second)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("invoke after odd messages: %v", resp.GetResult())
	}
}

func TestEnvironmentReload(t *testing.T) {
	app := copyApp(t, testApp, "Echo", "Fail")
	other := copyApp(t, testApp, "Echo", "Spin")
	writeFile(t, filepath.Join(other, "host.json"), `{"version":"2.0","functionTimeout":"00:30:00"}`)
	h := startWorker(t, app)
	h.initWorker()
	ids := h.mustLoad("Echo")

	// Break the loaded function's file: the reload must not recompile
	// anything (the host loads the new app's functions itself afterwards,
	// docs/host-contract.md §2.11), so it still answers success at once.
	writeFile(t, filepath.Join(app, "Echo", "main.wasm"), "not wasm")
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionEnvironmentReloadRequest{
		FunctionEnvironmentReloadRequest: &rpc.FunctionEnvironmentReloadRequest{
			EnvironmentVariables: map[string]string{"PATH": os.Getenv("PATH"), "NEW_SETTING": "1",
				// The app setting that overrides host.json's functionTimeout.
				"AzureFunctionsJobHost__functionTimeout": "00:00:02"},
			FunctionAppDirectory: other,
		}}})
	m := h.await("FunctionEnvironmentReloadResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool {
		return m.GetFunctionEnvironmentReloadResponse() != nil
	})
	r := m.GetFunctionEnvironmentReloadResponse()
	if r.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("reload result %v", r.GetResult())
	}
	if r.GetCapabilities()["WorkerStatus"] == "" || r.GetWorkerMetadata().GetRuntimeName() != "wasm" {
		t.Errorf("reload response lacks capabilities or metadata: %v", r)
	}
	// The function loaded before the reload keeps serving.
	resp, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/1", map[string]string{"id": "1"}, nil, nil, nil), 30*time.Second)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("a function loaded before the reload: %v", resp.GetResult())
	}
	// Loads after the reload come from the new directory; the deadline
	// follows the app setting over the new host.json's 30 minutes.
	h.appDir = other
	spin := h.mustLoad("Spin")
	start := time.Now()
	resp, _ = h.invoke(queueRequest(spin["Spin"], "msg", "x", 1), 30*time.Second)
	if resp.GetResult().GetException().GetType() != "Wasm:DeadlineExceeded" || !strings.Contains(resp.GetResult().GetException().GetMessage(), "1.8s") {
		t.Errorf("Spin under AzureFunctionsJobHost__functionTimeout=00:00:02: %v (after %v)", resp.GetResult(), time.Since(start))
	}
}

func TestTerminateDrainsThenExitsZero(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Sleep", "Spin")
	var reqs []*rpc.InvocationRequest
	for i := 0; i < 5; i++ {
		r := queueRequest(ids["Sleep"], "msg", "300", 1)
		h.sendInvocation(r)
		reqs = append(reqs, r)
	}
	spin := queueRequest(ids["Spin"], "msg", "x", 1)
	h.sendInvocation(spin)
	h.await("Spin running", 30*time.Second, func(m *rpc.StreamingMessage) bool {
		return m.GetRpcLog().GetInvocationId() == spin.InvocationId
	})
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerTerminate{WorkerTerminate: &rpc.WorkerTerminate{GracePeriod: durationpb.New(3 * time.Second)}}})
	for _, r := range reqs {
		resp, _ := h.awaitResponse(r.InvocationId, 10*time.Second)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Errorf("in-flight invocation during terminate: %v", resp.GetResult())
		}
	}
	resp, _ := h.awaitResponse(spin.InvocationId, 10*time.Second)
	if resp.GetResult().GetStatus() == rpc.StatusResult_Success {
		t.Errorf("runaway invocation should be stopped at the end of the grace period: %v", resp.GetResult())
	}
	if code := h.exited(10 * time.Second); code != 0 {
		t.Errorf("exit code after WorkerTerminate = %d, want 0", code)
	}
}

func TestHostClosingStreamMidInvocation(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Spin")
	req := queueRequest(ids["Spin"], "msg", "x", 1)
	h.sendInvocation(req)
	h.await("Spin running", 30*time.Second, func(m *rpc.StreamingMessage) bool {
		return m.GetRpcLog().GetInvocationId() == req.InvocationId
	})
	h.stream.Close()
	// Ending the stream without WorkerTerminate is an error for the host's
	// restart rules: exit 1 makes it restart the worker at once.
	if code := h.exited(15 * time.Second); code != 1 {
		t.Errorf("exit code after the host ended the stream = %d, want 1", code)
	}
	if !slices.ContainsFunc(h.stderrLines(), func(l string) bool { return strings.Contains(l, "without WorkerTerminate") }) {
		t.Errorf("the worker did not say why it exits:\n%s", strings.Join(h.stderrLines(), "\n"))
	}
}

func TestLargeMessages(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Echo")
	body := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16) // 6 MiB: over gRPC-Go's 4 MiB default
	resp, _ := h.invoke(httpRequest(ids["Echo"], "POST", "http://localhost/api/echo/big", map[string]string{"id": "big"}, nil, nil, body), time.Minute)
	res := httpOutput(t, resp, "res")
	if got := bodyText(t, res); len(got) != len(body) {
		t.Errorf("echoed %d bytes, want %d", len(got), len(body))
	}
}

// Helpers over responses.

func output(resp *rpc.InvocationResponse, name string) *rpc.TypedData {
	for _, b := range resp.GetOutputData() {
		if b.GetName() == name {
			return b.GetData()
		}
	}
	return nil
}

func httpOutput(t *testing.T, resp *rpc.InvocationResponse, name string) *rpc.RpcHttp {
	t.Helper()
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("invocation failed: %v", resp.GetResult())
	}
	d := output(resp, name)
	if d.GetHttp() == nil {
		t.Fatalf("output %q is not http: %v", name, resp.GetOutputData())
	}
	if d.GetHttp().Body == nil {
		t.Fatalf("http output has no body field; the host would ignore status and headers (docs/host-contract.md §3.4)")
	}
	return d.GetHttp()
}

func bodyText(t *testing.T, r *rpc.RpcHttp) string {
	t.Helper()
	switch b := r.GetBody(); {
	case b.GetBytes() != nil:
		return string(b.GetBytes())
	case b.GetJson() != "":
		return b.GetJson()
	default:
		return b.GetString_()
	}
}

func hasLog(logs []*rpc.RpcLog, substr string) bool {
	for _, l := range logs {
		if strings.Contains(l.GetMessage(), substr) && l.GetLogCategory() == rpc.RpcLog_User {
			return true
		}
	}
	return false
}

// copyApp copies host.json and the named function folders of a built app.
func copyApp(t *testing.T, src string, fns ...string) string {
	t.Helper()
	dst := t.TempDir()
	copyFile(t, filepath.Join(src, "host.json"), filepath.Join(dst, "host.json"))
	for _, fn := range fns {
		entries, err := os.ReadDir(filepath.Join(src, fn))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			copyFile(t, filepath.Join(src, fn, e.Name()), filepath.Join(dst, fn, e.Name()))
		}
	}
	return dst
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompilationCacheOnDisk(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("WASMWORKER_CACHE_DIR", cache)
	h := startWorker(t, exampleApp)
	h.initWorker()
	h.mustLoad("HttpHello")
	var files int
	err := filepath.WalkDir(cache, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return err
	})
	if err != nil || files == 0 {
		t.Fatalf("compilation cache %s holds %d files (err %v); the load should have stored the compiled module", cache, files, err)
	}
}

// TestProtocolFaults sends what a confused or buggy host might: every
// InvocationRequest still gets exactly one answer and the worker serves on.
func TestProtocolFaults(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Sleep", "Echo")

	t.Run("duplicate invocation id", func(t *testing.T) {
		first := queueRequest(ids["Sleep"], "msg", "500", 1)
		h.sendInvocation(first)
		dup := queueRequest(ids["Sleep"], "msg", "1", 1)
		dup.InvocationId = first.InvocationId
		h.sendInvocation(dup)
		a, _ := h.awaitResponse(first.InvocationId, 30*time.Second)
		b, _ := h.awaitResponse(first.InvocationId, 30*time.Second)
		statuses := []rpc.StatusResult_Status{a.GetResult().GetStatus(), b.GetResult().GetStatus()}
		// The duplicate is refused at once, so it is answered first.
		if statuses[0] != rpc.StatusResult_Failure || !strings.Contains(a.GetResult().GetException().GetMessage(), "duplicate") {
			t.Errorf("first answer %v: want the duplicate refused", a.GetResult())
		}
		if statuses[1] != rpc.StatusResult_Success || b.GetReturnValue().GetString_() != "slept 500ms" {
			t.Errorf("second answer %v: want the original invocation's result", b)
		}
	})
	t.Run("cancel for an unknown id", func(t *testing.T) {
		h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: fnhost.NewInvocationID()}}})
		resp, _ := h.invoke(queueRequest(ids["Sleep"], "msg", "1", 1), 30*time.Second)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Errorf("invocation after a stray cancel: %v", resp.GetResult())
		}
	})
	t.Run("TypedData with no case set", func(t *testing.T) {
		req := &rpc.InvocationRequest{
			FunctionId: ids["Echo"],
			InputData:  []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{}}}},
			TriggerMetadata: map[string]*rpc.TypedData{
				"id":    {},
				"Query": {},
			},
		}
		resp, _ := h.invoke(req, 30*time.Second)
		if resp.GetResult() == nil {
			t.Fatalf("response without a result: %v", resp)
		}
		// The guest gets an empty value and decides; here it fails, and says why.
		if r := resp.GetResult(); r.GetStatus() == rpc.StatusResult_Failure && !strings.Contains(r.GetException().GetMessage(), "Echo") {
			t.Errorf("failure should name the function and the cause: %v", r)
		}
	})
	t.Run("parameter binding with no data", func(t *testing.T) {
		req := &rpc.InvocationRequest{
			FunctionId: ids["Sleep"],
			InputData:  []*rpc.ParameterBinding{{Name: "msg"}, {}},
		}
		resp, _ := h.invoke(req, 30*time.Second)
		if resp.GetResult() == nil {
			t.Fatalf("response without a result: %v", resp)
		}
	})
	// Still healthy.
	resp, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/7", map[string]string{"id": "7"}, nil, nil, nil), 30*time.Second)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("Echo after protocol faults: %v", resp.GetResult())
	}
}

// TestWaitingGuestsFreeTheirSlot runs the worker with one running slot. A
// guest asleep, and one waiting for the only instance its function may
// have, give the slot back (internal/slots): an Echo sent after them is
// answered while the first still sleeps. Holding the slot, either would
// keep the Echo waiting until the sleep ended.
func TestWaitingGuestsFreeTheirSlot(t *testing.T) {
	t.Setenv("WASMWORKER_MAX_RUNNING", "1")
	app := copyApp(t, testApp, "Sleep", "Echo")
	writeFile(t, filepath.Join(app, "Sleep", "function.json"), `{
  "scriptFile": "main.wasm",
  "wasmworker": { "maxInstances": 1 },
  "bindings": [
    { "type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "sleep" },
    { "type": "queue", "direction": "out", "name": "$return", "queueName": "slept" }
  ]
}`)
	h := startWorker(t, app)
	h.initWorker()
	ids := h.mustLoad("Sleep", "Echo")
	echo := func(n int) *rpc.InvocationRequest {
		return httpRequest(ids["Echo"], "GET", fmt.Sprintf("http://localhost/api/echo/%d", n), map[string]string{"id": fmt.Sprint(n)}, nil, nil, nil)
	}
	// Both modules compiled before anything is ordered.
	for _, req := range []*rpc.InvocationRequest{echo(0), queueRequest(ids["Sleep"], "msg", "1", 1)} {
		if resp, _ := h.invoke(req, time.Minute); resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("warm-up: %v", resp.GetResult())
		}
	}
	sleeper := queueRequest(ids["Sleep"], "msg", "4000", 1)
	waiter := queueRequest(ids["Sleep"], "msg", "1", 1)
	late := echo(1)
	h.sendInvocation(sleeper)
	time.Sleep(300 * time.Millisecond) // not a measurement: lets the sleeper reach its sleep first
	h.sendInvocation(waiter)
	time.Sleep(300 * time.Millisecond) // and the waiter its wait for the instance
	h.sendInvocation(late)
	order := map[string]int{}
	for _, req := range []*rpc.InvocationRequest{sleeper, waiter, late} {
		m, idx := h.tryAwait(time.Minute, func(m *rpc.StreamingMessage) bool {
			return m.GetInvocationResponse().GetInvocationId() == req.InvocationId
		})
		if idx < 0 {
			t.Fatalf("no response to %s", req.InvocationId)
		}
		if st := m.GetInvocationResponse().GetResult().GetStatus(); st != rpc.StatusResult_Success {
			t.Fatalf("%s: %v", req.InvocationId, m.GetInvocationResponse().GetResult())
		}
		order[req.InvocationId] = idx
	}
	if order[late.InvocationId] > order[sleeper.InvocationId] {
		t.Error("the Echo was answered after the sleeping guest: a guest asleep, or waiting for an instance, kept the only running slot")
	}
	if order[waiter.InvocationId] < order[sleeper.InvocationId] {
		t.Error("the second Sleep was answered before the first, whose instance it had to wait for")
	}
}

// TestRunawayGuestSharesTheSlot runs the worker with one running slot and
// a guest that spins until it is stopped: an Echo sent while it spins is
// answered, because a guest that held its slot for a quantum while others
// wait gives it up at its next yield point (internal/slots). Without that,
// the Echo would wait for the spinner's deadline, five minutes away.
func TestRunawayGuestSharesTheSlot(t *testing.T) {
	t.Setenv("WASMWORKER_MAX_RUNNING", "1")
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Spin", "Echo")
	echo := func(n int) *rpc.InvocationRequest {
		return httpRequest(ids["Echo"], "GET", fmt.Sprintf("http://localhost/api/echo/%d", n), map[string]string{"id": fmt.Sprint(n)}, nil, nil, nil)
	}
	if resp, _ := h.invoke(echo(0), time.Minute); resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("warm-up: %v", resp.GetResult())
	}
	spin := queueRequest(ids["Spin"], "msg", "x", 1)
	h.sendInvocation(spin)
	h.await("Spin's log line", time.Minute, func(m *rpc.StreamingMessage) bool {
		return m.GetRpcLog().GetInvocationId() == spin.InvocationId
	})
	for i := 1; i <= 3; i++ {
		if resp, _ := h.invoke(echo(i), time.Minute); resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("echo %d while a guest spins: %v", i, resp.GetResult())
		}
	}
	if _, idx := h.tryAwait(0, func(m *rpc.StreamingMessage) bool {
		return m.GetInvocationResponse().GetInvocationId() == spin.InvocationId
	}); idx >= 0 {
		t.Fatal("the spinning guest ended before the Echos were answered")
	}
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: spin.InvocationId}}})
	if resp, _ := h.awaitResponse(spin.InvocationId, time.Minute); resp.GetResult().GetStatus() != rpc.StatusResult_Cancelled {
		t.Errorf("the spinner after its cancel: %v", resp.GetResult())
	}
}
