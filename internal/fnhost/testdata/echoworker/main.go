// Command echoworker is a tiny language worker used by package host's tests:
// it speaks the worker side of the gRPC protocol with the generated client
// and reports what it sees (argv, environment, working directory, requests)
// back to the host as System RpcLogs.
//
// Behaviour is chosen with environment variables:
//
//	ECHOWORKER_START   "" (normal) | "wrong-first" | "unknown-id" — first message on the stream
//	ECHOWORKER_INIT    "" | "fail" | "silent" — how to answer WorkerInitRequest
//	ECHOWORKER_CAPS    comma-separated capabilities (default: the full set)
//	ECHOWORKER_STATUS  "" | "decoy-only" — decoy-only answers status requests only with a wrong request_id
//	ECHOWORKER_NO_METADATA "1" — send no worker_metadata
//	ECHOWORKER_EXIT    exit code on WorkerTerminate (default 0)
//	ECHOWORKER_IGNORE_TERMINATE "1" — keep running after WorkerTerminate
//
// Invocations act on the string value of their first input:
//
//	"sleep:<ms>"  sleep, then echo
//	"wait-cancel" answer Cancelled once InvocationCancel arrives
//	"logs:<n>"    send n User logs, the response, then one late log
//	"crash:<c>"   exit with code c
//	anything else echo it as output "out" and as the return value
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// Report is what the worker tells the host about itself (category "echoworker.report").
type Report struct {
	Args []string          `json:"args"`
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env"`
}

func main() {
	vals := map[string]string{}
	for i := 1; i < len(os.Args); i++ {
		a := os.Args[i]
		if strings.HasPrefix(a, "--") && i+1 < len(os.Args) {
			vals[a[2:]] = os.Args[i+1]
			i++
		}
	}
	u, err := url.Parse(vals["functions-uri"])
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "echoworker: error: missing --functions-uri")
		os.Exit(2)
	}
	workerID, requestID := vals["functions-worker-id"], vals["functions-request-id"]
	maxLen, _ := strconv.Atoi(vals["functions-grpc-max-message-length"])

	fmt.Println("echoworker stdout line")
	fmt.Fprintln(os.Stderr, "warn: echoworker stderr line")

	conn, err := grpc.NewClient(u.Host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxLen), grpc.MaxCallSendMsgSize(maxLen)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echoworker: error:", err)
		os.Exit(2)
	}
	stream, err := rpc.NewFunctionRpcClient(conn).EventStream(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "echoworker: error:", err)
		os.Exit(2)
	}
	w := &worker{stream: stream, cancels: map[string]chan struct{}{}}

	switch os.Getenv("ECHOWORKER_START") {
	case "wrong-first":
		w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerInitResponse{WorkerInitResponse: &rpc.WorkerInitResponse{}}})
		os.Exit(w.expectEndOK())
	case "unknown-id":
		w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_StartStream{StartStream: &rpc.StartStream{WorkerId: "not-" + workerID}}})
		os.Exit(w.expectEndOK())
	}
	w.send(&rpc.StreamingMessage{RequestId: requestID, Content: &rpc.StreamingMessage_StartStream{StartStream: &rpc.StartStream{WorkerId: workerID}}})
	w.report()
	w.loop()
}

type worker struct {
	stream  grpc.BidiStreamingClient[rpc.StreamingMessage, rpc.StreamingMessage]
	sendMu  sync.Mutex
	mu      sync.Mutex
	cancels map[string]chan struct{}
}

func (w *worker) send(m *rpc.StreamingMessage) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if err := w.stream.Send(m); err != nil {
		fmt.Fprintln(os.Stderr, "echoworker: send failed:", err)
	}
}

// expectEndOK waits for the host to end the call and returns 3 when it ended
// with status OK and nothing was sent, 4 otherwise.
func (w *worker) expectEndOK() int {
	m, err := w.stream.Recv()
	if m == nil && errors.Is(err, io.EOF) {
		return 3
	}
	fmt.Fprintln(os.Stderr, "echoworker: unexpected:", m, err)
	return 4
}

func (w *worker) systemLog(category, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		Category: category, Message: msg, Level: rpc.RpcLog_Information, LogCategory: rpc.RpcLog_System,
	}}})
}

func (w *worker) report() {
	cwd, _ := os.Getwd()
	r := Report{Args: os.Args, Cwd: cwd, Env: map[string]string{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		r.Env[k] = v
	}
	b, _ := json.Marshal(r)
	w.systemLog("echoworker.report", string(b))
}

func (w *worker) loop() {
	for {
		m, err := w.stream.Recv()
		if err != nil {
			os.Exit(0)
		}
		switch c := m.Content.(type) {
		case *rpc.StreamingMessage_WorkerInitRequest:
			w.init(c.WorkerInitRequest)
		case *rpc.StreamingMessage_FunctionLoadRequest:
			w.load(c.FunctionLoadRequest)
		case *rpc.StreamingMessage_InvocationRequest:
			w.mu.Lock()
			w.cancels[c.InvocationRequest.InvocationId] = make(chan struct{})
			w.mu.Unlock()
			go w.invoke(c.InvocationRequest)
		case *rpc.StreamingMessage_InvocationCancel:
			w.mu.Lock()
			if ch, ok := w.cancels[c.InvocationCancel.InvocationId]; ok {
				close(ch)
				delete(w.cancels, c.InvocationCancel.InvocationId)
			}
			w.mu.Unlock()
		case *rpc.StreamingMessage_WorkerStatusRequest:
			w.send(&rpc.StreamingMessage{RequestId: "decoy-" + m.RequestId, Content: &rpc.StreamingMessage_WorkerStatusResponse{WorkerStatusResponse: &rpc.WorkerStatusResponse{}}})
			if os.Getenv("ECHOWORKER_STATUS") != "decoy-only" {
				w.send(&rpc.StreamingMessage{RequestId: m.RequestId, Content: &rpc.StreamingMessage_WorkerStatusResponse{WorkerStatusResponse: &rpc.WorkerStatusResponse{}}})
			}
		case *rpc.StreamingMessage_FunctionEnvironmentReloadRequest:
			w.reload(c.FunctionEnvironmentReloadRequest)
		case *rpc.StreamingMessage_WorkerTerminate:
			fmt.Fprintf(os.Stderr, "echoworker: terminate grace=%s\n", c.WorkerTerminate.GetGracePeriod().AsDuration())
			if os.Getenv("ECHOWORKER_IGNORE_TERMINATE") == "1" {
				continue
			}
			code, _ := strconv.Atoi(os.Getenv("ECHOWORKER_EXIT"))
			w.sendMu.Lock()
			_ = w.stream.CloseSend()
			os.Exit(code)
		default:
			b, _ := protojson.Marshal(m)
			w.systemLog("echoworker.unknown", string(b))
		}
	}
}

func (w *worker) init(req *rpc.WorkerInitRequest) {
	b, _ := protojson.Marshal(req)
	w.systemLog("echoworker.init", string(b))
	switch os.Getenv("ECHOWORKER_INIT") {
	case "silent":
		return
	case "fail":
		fmt.Fprintln(os.Stderr, "echoworker: error: init failed on purpose")
		w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerInitResponse{WorkerInitResponse: &rpc.WorkerInitResponse{
			Result: &rpc.StatusResult{Status: rpc.StatusResult_Failure, Exception: &rpc.RpcException{Message: "init failed on purpose"}},
		}}})
		return
	}
	caps := map[string]string{}
	list := "RpcHttpBodyOnly,RawHttpBodyBytes,TypedDataCollection,WorkerStatus,HandlesWorkerTerminateMessage,HandlesInvocationCancelMessage"
	if v, ok := os.LookupEnv("ECHOWORKER_CAPS"); ok {
		list = v
	}
	for _, c := range strings.Split(list, ",") {
		if c != "" {
			caps[c] = "true"
		}
	}
	resp := &rpc.WorkerInitResponse{
		Result:         &rpc.StatusResult{Status: rpc.StatusResult_Success},
		Capabilities:   caps,
		WorkerMetadata: &rpc.WorkerMetadata{RuntimeName: "echo", RuntimeVersion: "1.0"},
	}
	if os.Getenv("ECHOWORKER_NO_METADATA") == "1" {
		resp.WorkerMetadata = nil
	}
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_WorkerInitResponse{WorkerInitResponse: resp}})
}

func (w *worker) load(req *rpc.FunctionLoadRequest) {
	b, _ := protojson.Marshal(req)
	w.systemLog("echoworker.load", string(b))
	res := &rpc.StatusResult{Status: rpc.StatusResult_Success}
	if strings.HasPrefix(req.GetMetadata().GetName(), "bad") {
		res = &rpc.StatusResult{Status: rpc.StatusResult_Failure, Exception: &rpc.RpcException{Message: "cannot load " + req.GetMetadata().GetName()}}
	}
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadResponse{FunctionLoadResponse: &rpc.FunctionLoadResponse{
		FunctionId: req.FunctionId, Result: res,
	}}})
}

func (w *worker) userLog(id, msg string) {
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{
		InvocationId: id, Message: msg, Level: rpc.RpcLog_Information, LogCategory: rpc.RpcLog_User,
	}}})
}

func (w *worker) respond(id string, status rpc.StatusResult_Status, value *rpc.TypedData) {
	resp := &rpc.InvocationResponse{InvocationId: id, Result: &rpc.StatusResult{Status: status}}
	if value != nil {
		resp.OutputData = []*rpc.ParameterBinding{{Name: "out", RpcData: &rpc.ParameterBinding_Data{Data: value}}}
		resp.ReturnValue = value
	}
	w.mu.Lock()
	delete(w.cancels, id)
	w.mu.Unlock()
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: resp}})
}

func (w *worker) invoke(req *rpc.InvocationRequest) {
	id := req.InvocationId
	var in *rpc.TypedData
	if len(req.InputData) > 0 {
		in = req.InputData[0].GetData()
	}
	s := in.GetString_()
	switch {
	case strings.HasPrefix(s, "sleep:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(s, "sleep:"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case s == "wait-cancel":
		w.mu.Lock()
		ch := w.cancels[id]
		w.mu.Unlock()
		if ch != nil {
			<-ch
		}
		w.userLog(id, "cancelled")
		w.respond(id, rpc.StatusResult_Cancelled, nil)
		return
	case strings.HasPrefix(s, "logs:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(s, "logs:"))
		for i := 0; i < n; i++ {
			w.userLog(id, fmt.Sprintf("log %d", i))
		}
		w.respond(id, rpc.StatusResult_Success, in)
		w.userLog(id, "late")
		return
	case strings.HasPrefix(s, "crash:"):
		code, _ := strconv.Atoi(strings.TrimPrefix(s, "crash:"))
		fmt.Fprintln(os.Stderr, "echoworker: error: crashing on purpose")
		os.Exit(code)
	}
	w.userLog(id, "hello "+id)
	w.respond(id, rpc.StatusResult_Success, in)
}

func (w *worker) reload(req *rpc.FunctionEnvironmentReloadRequest) {
	os.Clearenv()
	for k, v := range req.EnvironmentVariables {
		os.Setenv(k, v)
	}
	res := &rpc.StatusResult{Status: rpc.StatusResult_Success}
	if err := os.Chdir(req.FunctionAppDirectory); err != nil {
		res = &rpc.StatusResult{Status: rpc.StatusResult_Failure, Exception: &rpc.RpcException{Message: err.Error()}}
	}
	w.report()
	w.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionEnvironmentReloadResponse{FunctionEnvironmentReloadResponse: &rpc.FunctionEnvironmentReloadResponse{
		Result:                     res,
		Capabilities:               map[string]string{"Reloaded": "true"},
		CapabilitiesUpdateStrategy: rpc.FunctionEnvironmentReloadResponse_merge,
	}}})
}
