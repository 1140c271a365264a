package worker_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// TestMessageSizeLimit starts the worker with a small --grpcMaxMessageLength
// (the real host always passes 2147483647, §1.5, so this plays a host
// configured otherwise). A guest output that would not fit fails its own
// invocation, naming the limit; a host message over the limit ends the
// stream (grpc-go refuses it), and the worker then exits 1 like after any
// stream end without WorkerTerminate, for the host to restart it.
func TestMessageSizeLimit(t *testing.T) {
	srv, err := fnhost.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	id := uuid.NewString()
	st := srv.Register(id)
	const limit = 256 << 10
	cmd := exec.Command(filepath.Join(workersDir, "wasm", "wasmworker"),
		"--host", "127.0.0.1", "--port", strconv.Itoa(srv.Port()), "--workerId", id, "--requestId", uuid.NewString(),
		"--grpcMaxMessageLength", strconv.Itoa(limit))
	cmd.Dir = testApp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("worker stderr:\n%s", stderr.String())
		}
	}()
	select {
	case <-st.Started():
	case <-time.After(30 * time.Second):
		t.Fatal("no StartStream")
	}
	await := func(what string, pred func(*rpc.StreamingMessage) bool) *rpc.StreamingMessage {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case m, ok := <-st.Recv():
				if !ok {
					t.Fatalf("stream ended while waiting for %s", what)
				}
				if pred(m) {
					return m
				}
			case <-deadline:
				t.Fatalf("no %s", what)
			}
		}
	}
	send := func(m *rpc.StreamingMessage) {
		t.Helper()
		if err := st.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	send(&rpc.StreamingMessage{RequestId: "init", Content: &rpc.StreamingMessage_WorkerInitRequest{WorkerInitRequest: &rpc.WorkerInitRequest{
		HostVersion: "4.1037.0.0", FunctionAppDirectory: testApp}}})
	await("WorkerInitResponse", func(m *rpc.StreamingMessage) bool { return m.GetWorkerInitResponse() != nil })
	fid := uuid.NewString()
	send(&rpc.StreamingMessage{RequestId: "load", Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: &rpc.FunctionLoadRequest{
		FunctionId: fid,
		Metadata:   &rpc.RpcFunctionMetadata{Name: "Echo", Directory: filepath.Join(testApp, "Echo"), ScriptFile: "main.wasm"},
	}}})
	if m := await("FunctionLoadResponse", func(m *rpc.StreamingMessage) bool { return m.GetFunctionLoadResponse() != nil }); m.GetFunctionLoadResponse().GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("load: %v", m.GetFunctionLoadResponse().GetResult())
	}

	// An echo of 240 KiB fits in the request but not, with its JSON, in the
	// output the function may write (the limit less 64 KiB of room).
	req := httpRequest(fid, "POST", "http://localhost/api/echo/1", map[string]string{"id": "1"}, nil, nil, bytes.Repeat([]byte("a"), 240<<10))
	req.InvocationId = fnhost.NewInvocationID()
	send(&rpc.StreamingMessage{RequestId: "inv", Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: req}})
	m := await("InvocationResponse", func(m *rpc.StreamingMessage) bool {
		return m.GetInvocationResponse().GetInvocationId() == req.InvocationId
	})
	if r := m.GetInvocationResponse().GetResult(); r.GetStatus() != rpc.StatusResult_Failure || !strings.Contains(r.GetException().GetMessage(), "stdout limit of") {
		t.Errorf("oversized output: %v, want a failure naming the stdout limit", r)
	}

	// A host message over the limit: grpc-go refuses it and ends the stream.
	big := httpRequest(fid, "POST", "http://localhost/api/echo/2", map[string]string{"id": "2"}, nil, nil, bytes.Repeat([]byte("b"), limit+1024))
	big.InvocationId = fnhost.NewInvocationID()
	send(&rpc.StreamingMessage{RequestId: "big", Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: big}})
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("worker exit after an oversized host message: %v, want exit status 1", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker still running after the stream broke")
	}
}
