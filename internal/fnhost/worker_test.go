package fnhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// logSink collects RpcLogs delivered to WorkerOptions.OnLog.
type logSink struct {
	mu   sync.Mutex
	logs []*rpc.RpcLog
	ch   chan *rpc.RpcLog
}

func newLogSink() *logSink { return &logSink{ch: make(chan *rpc.RpcLog, 1000)} }

func (s *logSink) add(l *rpc.RpcLog) {
	s.mu.Lock()
	s.logs = append(s.logs, l)
	s.mu.Unlock()
	select {
	case s.ch <- l:
	default:
	}
}

// wait returns the next log of the category.
func (s *logSink) wait(t *testing.T, category string) *rpc.RpcLog {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-s.ch:
			if l.Category == category {
				return l
			}
		case <-timeout:
			t.Fatalf("no %s log", category)
		}
	}
}

// startWorker starts the echo worker with extra environment entries and a
// config with the given processOptions JSON ("" for none).
func startWorker(t *testing.T, processOptions string, env ...string) (*Worker, *logSink) {
	t.Helper()
	w, sink, err := tryStartWorker(t, processOptions, env...)
	if err != nil {
		t.Fatal(err)
	}
	return w, sink
}

func tryStartWorker(t *testing.T, processOptions string, env ...string) (*Worker, *logSink, error) {
	t.Helper()
	js := fmt.Sprintf(`{"description":{"language":"echo","defaultExecutablePath":%q,"defaultRuntimeVersion":"7"}`, echoWorkerBin)
	if processOptions != "" {
		js += `,"processOptions":` + processOptions
	}
	cfg, err := LoadWorkerConfig(writeConfig(t, js+"}"))
	if err != nil {
		t.Fatal(err)
	}
	sink := newLogSink()
	w, err := StartWorker(context.Background(), WorkerOptions{
		StartOptions: StartOptions{Config: cfg, AppDir: t.TempDir(), Env: echoEnv(env...)},
		OnLog:        sink.add,
	})
	if err == nil {
		t.Cleanup(func() { w.Terminate(time.Second) })
	}
	return w, sink, err
}

func TestStartWorkerInit(t *testing.T) {
	w, sink := startWorker(t, "")
	var init map[string]any
	if err := json.Unmarshal([]byte(sink.wait(t, "echoworker.init").Message), &init); err != nil {
		t.Fatal(err)
	}
	caps, _ := init["capabilities"].(map[string]any)
	if init["hostVersion"] != DefaultHostVersion || len(caps) != 1 || caps["MultiStream"] != "10" ||
		init["workerDirectory"] != w.cfg.Dir || init["functionAppDirectory"] != w.Process().Dir() || init["logCategories"] != nil {
		t.Errorf("WorkerInitRequest = %v", init)
	}
	if !w.HasCapability(CapWorkerStatus) || w.Capabilities()["RpcHttpBodyOnly"] != "true" {
		t.Errorf("capabilities %v", w.Capabilities())
	}
	if m := w.Metadata(); m.RuntimeName != "echo" || m.RuntimeVersion != "1.0" {
		t.Errorf("metadata %v", m)
	}
	select {
	case <-w.Done():
		t.Fatal("worker done right after start")
	default:
	}
	if w.Err() != nil {
		t.Errorf("Err = %v while running", w.Err())
	}
}

func TestStartWorkerMetadataDefaults(t *testing.T) {
	// Without worker_metadata, runtime name/version default to the config's
	// language and defaultRuntimeVersion (docs/host-contract.md §2.3).
	w, _ := startWorker(t, "", "ECHOWORKER_CAPS=", "ECHOWORKER_NO_METADATA=1")
	if len(w.Capabilities()) != 0 {
		t.Errorf("capabilities %v, want none", w.Capabilities())
	}
	if m := w.Metadata(); m.RuntimeName != "echo" || m.RuntimeVersion != "7" {
		t.Errorf("metadata %v, want echo/7 from the config", m)
	}
}

func TestStartWorkerInitFailure(t *testing.T) {
	_, _, err := tryStartWorker(t, "", "ECHOWORKER_INIT=fail")
	if err == nil || !strings.Contains(err.Error(), "init failed on purpose") || !strings.Contains(err.Error(), "warn: echoworker stderr line") {
		t.Errorf("err = %v, want the worker's message and stderr tail", err)
	}
}

func TestStartWorkerInitTimeout(t *testing.T) {
	_, _, err := tryStartWorker(t, `{"initializationTimeout":"00:00:01"}`, "ECHOWORKER_INIT=silent")
	if err == nil || !strings.Contains(err.Error(), "initializationTimeout") {
		t.Errorf("err = %v", err)
	}
}

func TestStartWorkerNoStartStream(t *testing.T) {
	_, _, err := tryStartWorker(t, "", "ECHOWORKER_START=wrong-first")
	if err == nil || !strings.Contains(err.Error(), "exited with code 3 before opening the gRPC stream") {
		t.Errorf("err = %v", err)
	}
}

func testFunctions(t *testing.T) []*funcapp.Function {
	dir := t.TempDir()
	return []*funcapp.Function{
		{Name: "off", Dir: filepath.Join(dir, "off"), ScriptFile: filepath.Join(dir, "off", "f.wasm"), Disabled: true,
			Bindings: []funcapp.Binding{{Name: "t", Type: "timerTrigger", Direction: "in"}}},
		{Name: "Hello", Dir: filepath.Join(dir, "Hello"), ScriptFile: filepath.Join(dir, "Hello", "hello.wasm"), EntryPoint: "run",
			Bindings: []funcapp.Binding{
				{Name: "req", Type: "httpTrigger", Direction: "in", Raw: map[string]json.RawMessage{"route": []byte(`"x"`)}},
				{Name: "res", Type: "http", Direction: "out"},
				{Name: "blob", Type: "blob", Direction: "inout", DataType: "binary"},
			}},
		{Name: "badfn", Dir: filepath.Join(dir, "badfn"), ScriptFile: filepath.Join(dir, "badfn", "b.wasm"),
			Bindings: []funcapp.Binding{{Name: "q", Type: "queueTrigger", Direction: "in", DataType: "string"}}},
	}
}

func TestLoad(t *testing.T) {
	w, sink := startWorker(t, "")
	loaded, err := w.Load(context.Background(), testFunctions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 3 || loaded[2].Function.Name != "off" {
		t.Fatalf("loaded %v, want the disabled function last", loaded)
	}
	byName := map[string]LoadedFunction{}
	for _, lf := range loaded {
		byName[lf.Function.Name] = lf
		if len(lf.ID) != 36 {
			t.Errorf("id %q is not a GUID", lf.ID)
		}
	}
	if byName["Hello"].Err != nil || byName["off"].Err != nil {
		t.Errorf("unexpected load errors %v %v", byName["Hello"].Err, byName["off"].Err)
	}
	if e := byName["badfn"].Err; e == nil || !strings.Contains(e.Error(), "cannot load badfn") {
		t.Errorf("badfn Err = %v", e)
	}
	// The requests as the worker saw them, in send order.
	var reqs []*rpc.FunctionLoadRequest
	for i := 0; i < 3; i++ {
		r := &rpc.FunctionLoadRequest{}
		if err := protojson.Unmarshal([]byte(sink.wait(t, "echoworker.load").Message), r); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	if reqs[2].GetMetadata().GetName() != "off" || reqs[2].GetMetadata().GetProperties()["IsDisabled"] != "True" {
		t.Errorf("disabled function not sent last: %v", reqs[2])
	}
	var hello *rpc.FunctionLoadRequest
	for _, r := range reqs {
		if r.GetMetadata().GetName() == "Hello" {
			hello = r
		}
	}
	h, f := hello.GetMetadata(), byName["Hello"].Function
	if hello.FunctionId != byName["Hello"].ID || h.Properties["FunctionId"] != hello.FunctionId || len(h.Properties) != 1 ||
		h.FunctionId != "" || h.Directory != f.Dir || h.ScriptFile != f.ScriptFile || h.EntryPoint != "run" || h.IsProxy || h.Language != "" {
		t.Errorf("Hello metadata %v", hello)
	}
	want := map[string]string{"req": "httpTrigger/in/undefined", "res": "http/out/undefined", "blob": "blob/inout/binary"}
	for name, bi := range h.Bindings {
		if got := fmt.Sprintf("%s/%s/%s", bi.Type, bi.Direction, bi.DataType); got != want[name] || len(bi.Properties) != 0 {
			t.Errorf("binding %s = %s %v, want %s without properties", name, got, bi.Properties, want[name])
		}
	}
	if len(h.Bindings) != 3 {
		t.Errorf("bindings %v", h.Bindings)
	}
	// Invocations of a function whose load failed never reach the worker.
	_, err = w.Invoke(context.Background(), msgInvocationRequest(NewInvocationID(), byName["badfn"].ID, "x").GetInvocationRequest(), nil)
	if err == nil || !strings.Contains(err.Error(), "cannot load badfn") {
		t.Errorf("invoke of failed function: %v", err)
	}
	if loaded, err := w.Load(context.Background(), nil); err != nil || len(loaded) != 0 {
		t.Errorf("empty load: %v %v", loaded, err)
	}
}

func TestInvokeConcurrent(t *testing.T) {
	w, sink := startWorker(t, "")
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := NewInvocationID()
			value := fmt.Sprintf("value-%d", i)
			if i%3 == 0 {
				value = fmt.Sprintf("sleep:%d", rand.IntN(50))
			}
			var mu sync.Mutex
			var logs []string
			resp, err := w.Invoke(context.Background(), msgInvocationRequest(id, "f", value).GetInvocationRequest(), func(l *rpc.RpcLog) {
				mu.Lock()
				logs = append(logs, l.Message)
				mu.Unlock()
			})
			if err != nil {
				t.Error(err)
				return
			}
			if resp.InvocationId != id || resp.GetResult().GetStatus() != rpc.StatusResult_Success || resp.GetReturnValue().GetString_() != value {
				t.Errorf("invocation %s got %v", id, resp)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(logs) != 1 || logs[0] != "hello "+id {
				t.Errorf("invocation %s logs %q", id, logs)
			}
		}()
	}
	wg.Wait()
	// No invocation's log leaked to OnLog.
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, l := range sink.logs {
		if l.LogCategory == rpc.RpcLog_User {
			t.Errorf("user log reached OnLog: %v", l)
		}
	}
}

func TestInvokeLogsUntilResponse(t *testing.T) {
	w, sink := startWorker(t, "")
	id := NewInvocationID()
	var logs []string
	resp, err := w.Invoke(context.Background(), msgInvocationRequest(id, "f", "logs:3").GetInvocationRequest(), func(l *rpc.RpcLog) { logs = append(logs, l.Message) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success || strings.Join(logs, ",") != "log 0,log 1,log 2" {
		t.Errorf("resp %v logs %q", resp, logs)
	}
	// The late log has no live invocation: it goes to OnLog, not onLog.
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-sink.ch:
			if l.Message == "late" {
				if l.InvocationId != id || len(logs) != 3 {
					t.Errorf("late log %v, invocation logs %q", l, logs)
				}
				return
			}
		case <-timeout:
			t.Fatal("late log not delivered to OnLog")
		}
	}
}

func TestInvokeCancel(t *testing.T) {
	w, _ := startWorker(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	id := NewInvocationID()
	type result struct {
		resp *rpc.InvocationResponse
		err  error
		logs []string
	}
	done := make(chan result)
	go func() {
		var logs []string
		resp, err := w.Invoke(ctx, msgInvocationRequest(id, "f", "wait-cancel").GetInvocationRequest(), func(l *rpc.RpcLog) { logs = append(logs, l.Message) })
		done <- result{resp, err, logs}
	}()
	cancel()
	r := <-done
	if r.err != nil || r.resp.GetResult().GetStatus() != rpc.StatusResult_Cancelled || strings.Join(r.logs, ",") != "cancelled" {
		t.Errorf("cancel with capability: resp %v err %v logs %q", r.resp, r.err, r.logs)
	}
}

func TestInvokeCancelWithoutCapability(t *testing.T) {
	w, _ := startWorker(t, "", "ECHOWORKER_CAPS=HandlesWorkerTerminateMessage")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := w.Invoke(ctx, msgInvocationRequest(NewInvocationID(), "f", "wait-cancel").GetInvocationRequest(), nil)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// The worker still runs and answers others.
	resp, err := w.Invoke(context.Background(), msgInvocationRequest(NewInvocationID(), "f", "x").GetInvocationRequest(), nil)
	if err != nil || resp.GetReturnValue().GetString_() != "x" {
		t.Errorf("next invoke: %v %v", resp, err)
	}
	if _, err := w.Status(context.Background()); err == nil {
		t.Error("Status without the WorkerStatus capability: no error")
	}
}

func TestInvokeErrors(t *testing.T) {
	w, _ := startWorker(t, "")
	if _, err := w.Invoke(context.Background(), &rpc.InvocationRequest{}, nil); err == nil {
		t.Error("empty invocation id: no error")
	}
	id := NewInvocationID()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := w.Invoke(ctx, msgInvocationRequest(id, "f", "wait-cancel").GetInvocationRequest(), nil)
		first <- err
	}()
	for registered := false; !registered; { // wait until the first call is in flight
		w.mu.Lock()
		registered = w.invocations[id] != nil
		w.mu.Unlock()
		runtime.Gosched()
	}
	if _, err := w.Invoke(context.Background(), msgInvocationRequest(id, "f", "x").GetInvocationRequest(), nil); err == nil || !strings.Contains(err.Error(), "already in flight") {
		t.Errorf("duplicate id: %v", err)
	}
	cancel()
	if err := <-first; err != nil {
		t.Errorf("first call after cancel: %v", err)
	}
}

func TestStatus(t *testing.T) {
	w, _ := startWorker(t, "")
	for i := 0; i < 3; i++ {
		if _, err := w.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Concurrent requests are each matched to their own request_id.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Status(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestStatusMatchesRequestID(t *testing.T) {
	// The worker answers only with a wrong request_id: Status must not accept it.
	w, _ := startWorker(t, "", "ECHOWORKER_STATUS=decoy-only")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := w.Status(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context deadline (no matching response)", err)
	}
}

func TestReloadEnvironment(t *testing.T) {
	w, sink := startWorker(t, "")
	newApp := t.TempDir()
	resp, err := w.ReloadEnvironment(context.Background(), map[string]string{"A": "1", "EMPTY": "", "PATH": os.Getenv("PATH")}, newApp)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success || w.Capabilities()["Reloaded"] != "true" || !w.HasCapability(CapWorkerStatus) {
		t.Errorf("resp %v caps %v (merge expected)", resp, w.Capabilities())
	}
	var r echoReport
	for {
		l := sink.wait(t, "echoworker.report")
		if err := json.Unmarshal([]byte(l.Message), &r); err != nil {
			t.Fatal(err)
		}
		if r.Env["A"] == "1" {
			break
		}
	}
	if _, ok := r.Env["EMPTY"]; ok {
		t.Error("empty variable sent")
	}
	realApp, _ := filepath.EvalSymlinks(newApp)
	if r.Cwd != newApp && r.Cwd != realApp {
		t.Errorf("cwd %q, want %q", r.Cwd, newApp)
	}
	if r.Env["FUNCTIONS_WORKER_DIRECTORY"] != w.cfg.Dir || r.Env["FUNCTIONS_APPLICATION_DIRECTORY"] != newApp {
		t.Errorf("env %v", r.Env)
	}
	// A failure result is an error.
	if _, err := w.ReloadEnvironment(context.Background(), map[string]string{}, filepath.Join(newApp, "missing")); err == nil {
		t.Error("reload into a missing folder: no error")
	}
}

func TestTerminate(t *testing.T) {
	w, _ := startWorker(t, "", "ECHOWORKER_EXIT=4")
	if code := w.Terminate(2 * time.Second); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	<-w.Done()
	found := false
	for _, l := range w.Process().StderrTail() {
		found = found || l == "echoworker: terminate grace=2s"
	}
	if !found {
		t.Errorf("worker did not see grace_period 2s: %q", w.Process().StderrTail())
	}
	if _, err := w.Status(context.Background()); !errors.Is(err, ErrWorkerDone) {
		t.Errorf("Status after Terminate = %v", err)
	}
}

func TestTerminateWithoutCapabilityKills(t *testing.T) {
	w, _ := startWorker(t, "", "ECHOWORKER_CAPS=")
	if code := w.Terminate(time.Second); code != 137 {
		t.Errorf("exit code %d, want 137 (killed)", code)
	}
}

func TestTerminateIgnoredKillsAfterGrace(t *testing.T) {
	w, _ := startWorker(t, "", "ECHOWORKER_IGNORE_TERMINATE=1")
	if code := w.Terminate(500 * time.Millisecond); code != 137 {
		t.Errorf("exit code %d, want 137 (killed after the grace period)", code)
	}
}

func TestWorkerCrash(t *testing.T) {
	w, _ := startWorker(t, "")
	other := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, err := w.Invoke(ctx, msgInvocationRequest(NewInvocationID(), "f", "wait-cancel").GetInvocationRequest(), nil)
		other <- err
	}()
	_, err := w.Invoke(context.Background(), msgInvocationRequest(NewInvocationID(), "f", "crash:9").GetInvocationRequest(), nil)
	if !errors.Is(err, ErrWorkerDone) {
		t.Errorf("crashing invocation: %v", err)
	}
	if err := <-other; !errors.Is(err, ErrWorkerDone) {
		t.Errorf("in-flight invocation: %v", err)
	}
	<-w.Done()
	<-w.Process().Done()
	if w.Process().ExitCode() != 9 {
		t.Errorf("exit code %d", w.Process().ExitCode())
	}
	if e := w.Err(); e == nil || !(strings.Contains(e.Error(), "code 9") || strings.Contains(e.Error(), "stream ended")) {
		t.Errorf("Err = %v", e)
	}
}

func TestWorkerKilled(t *testing.T) {
	w, _ := startWorker(t, "")
	w.Process().Kill()
	select {
	case <-w.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done not closed after the process was killed")
	}
	if !errors.Is(w.Err(), ErrWorkerDone) {
		t.Errorf("Err = %v", w.Err())
	}
}

// BenchmarkInvoke measures one Invoke round trip to the echo worker, serial
// and with parallel callers.
func BenchmarkInvoke(b *testing.B) {
	cfg, err := LoadWorkerConfig(writeBenchConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	w, err := StartWorker(context.Background(), WorkerOptions{StartOptions: StartOptions{Config: cfg, AppDir: b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Terminate(time.Second)
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := w.Invoke(context.Background(), msgInvocationRequest(NewInvocationID(), "f", "x").GetInvocationRequest(), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := w.Invoke(context.Background(), msgInvocationRequest(NewInvocationID(), "f", "x").GetInvocationRequest(), nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func writeBenchConfig(b *testing.B) string {
	dir := b.TempDir()
	js := fmt.Sprintf(`{"description":{"language":"echo","defaultExecutablePath":%q}}`, echoWorkerBin)
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(js), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
