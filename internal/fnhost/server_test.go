package fnhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/google/uuid"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func TestServerURI(t *testing.T) {
	srv := listen(t)
	if srv.Port() <= 0 || srv.URI() != fmt.Sprintf("http://127.0.0.1:%d/", srv.Port()) {
		t.Errorf("Port %d URI %q", srv.Port(), srv.URI())
	}
}

// dial opens an EventStream to srv the way a worker does.
func dial(t *testing.T, srv *Server) grpc.BidiStreamingClient[rpc.StreamingMessage, rpc.StreamingMessage] {
	t.Helper()
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", srv.Port()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := rpc.NewFunctionRpcClient(conn).EventStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startStream(workerID string) *rpc.StreamingMessage {
	return &rpc.StreamingMessage{RequestId: "req", Content: &rpc.StreamingMessage_StartStream{StartStream: &rpc.StartStream{WorkerId: workerID}}}
}

func TestStreamPairingByWorkerID(t *testing.T) {
	srv := listen(t)
	p1, st1 := startEcho(t, srv, StartOptions{Env: echoEnv()})
	p2, st2 := startEcho(t, srv, StartOptions{Env: echoEnv()})
	if st1.StartMessage().GetStartStream().GetWorkerId() != p1.WorkerID() || st2.StartMessage().GetStartStream().GetWorkerId() != p2.WorkerID() {
		t.Fatal("streams paired with the wrong processes")
	}
	// Each report comes from its own process.
	if r := readReport(t, st1); !strings.Contains(strings.Join(r.Args, " "), p1.WorkerID()) {
		t.Errorf("stream 1 got a report from another worker: %q", r.Args)
	}
	if r := readReport(t, st2); !strings.Contains(strings.Join(r.Args, " "), p2.WorkerID()) {
		t.Errorf("stream 2 got a report from another worker: %q", r.Args)
	}
}

// A first message that is not StartStream, or names an unknown worker, ends
// the call with status OK and nothing sent (docs/host-contract.md §2.2). The echo worker exits
// with 3 when it observes exactly that.
func TestWrongFirstMessage(t *testing.T) {
	for _, mode := range []string{"wrong-first", "unknown-id"} {
		t.Run(mode, func(t *testing.T) {
			srv := listen(t)
			id := uuid.NewString()
			st := srv.Register(id)
			p, err := StartProcess(StartOptions{Config: echoConfig(t), AppDir: t.TempDir(), Port: srv.Port(), WorkerID: id, Env: echoEnv("ECHOWORKER_START=" + mode)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			select {
			case <-p.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("worker still running")
			}
			if p.ExitCode() != 3 {
				t.Errorf("worker exit %d (3 = call ended OK without messages); stderr %q", p.ExitCode(), p.StderrTail())
			}
			select {
			case <-st.Started():
				t.Error("stream started")
			default:
			}
		})
	}
}

func TestEmptyWorkerIDAndNoMessage(t *testing.T) {
	srv := listen(t)
	srv.Register("")
	c := dial(t, srv)
	if err := c.Send(startStream("")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("empty worker id: Recv err = %v, want io.EOF (status OK)", err)
	}
	c2 := dial(t, srv)
	if err := c2.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("no message: Recv err = %v, want io.EOF", err)
	}
}

func TestStreamOrderAndConcurrentSend(t *testing.T) {
	srv := listen(t)
	st := srv.Register("w1")
	// Queued before the worker connects.
	if err := st.Send(&rpc.StreamingMessage{RequestId: "early"}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv)
	if err := c.Send(startStream("w1")); err != nil {
		t.Fatal(err)
	}
	<-st.Started()
	if st.StartMessage().GetRequestId() != "req" {
		t.Errorf("StartMessage = %v", st.StartMessage())
	}
	m, err := c.Recv()
	if err != nil || m.RequestId != "early" {
		t.Fatalf("first host message %v, %v", m, err)
	}
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := st.Send(&rpc.StreamingMessage{RequestId: fmt.Sprintf("%d/%d", s, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	next := make([]int, senders)
	for n := 0; n < senders*each; n++ {
		m, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var s, i int
		fmt.Sscanf(m.RequestId, "%d/%d", &s, &i)
		if i != next[s] {
			t.Fatalf("sender %d: got message %d, want %d (order lost)", s, i, next[s])
		}
		next[s]++
	}
	wg.Wait()
	// Worker → host order.
	for i := 0; i < 100; i++ {
		if err := c.Send(&rpc.StreamingMessage{RequestId: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		m := <-st.Recv()
		if m.GetRequestId() != fmt.Sprint(i) {
			t.Fatalf("inbound %d: got %q", i, m.GetRequestId())
		}
	}
	// The worker half-closes: Recv closes, the call ends OK, Send fails.
	if err := c.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-st.Recv(); ok {
		t.Error("Recv delivered a message after the worker ended")
	}
	<-st.Done()
	if _, err := c.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("worker Recv after end: %v, want io.EOF", err)
	}
	if err := st.Send(&rpc.StreamingMessage{}); !errors.Is(err, ErrStreamEnded) {
		t.Errorf("Send after end = %v", err)
	}
	// The id is forgotten: a new call with it ends OK.
	c2 := dial(t, srv)
	_ = c2.Send(startStream("w1"))
	if _, err := c2.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("reused id: %v", err)
	}
}

func TestStreamCloseByHost(t *testing.T) {
	srv := listen(t)
	st := srv.Register("w2")
	c := dial(t, srv)
	if err := c.Send(startStream("w2")); err != nil {
		t.Fatal(err)
	}
	<-st.Started()
	st.Close()
	if _, err := c.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("worker Recv after host Close = %v, want io.EOF (status OK)", err)
	}
	<-st.Done()
	for range st.Recv() {
	}
	if err := st.Send(&rpc.StreamingMessage{}); !errors.Is(err, ErrStreamEnded) {
		t.Errorf("Send after Close = %v", err)
	}
	if srv.Register("w2") == st {
		t.Error("Register returned an ended stream")
	}
}

func TestLargeMessage(t *testing.T) {
	srv := listen(t)
	st := srv.Register("big")
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", srv.Port()), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageLength), grpc.MaxCallSendMsgSize(MaxMessageLength)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := rpc.NewFunctionRpcClient(conn).EventStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(startStream("big")); err != nil {
		t.Fatal(err)
	}
	<-st.Started()
	body := strings.Repeat("x", 8<<20) // above gRPC-Go's 4 MiB default
	if err := c.Send(msgInvocationRequest("i", "f", body)); err != nil {
		t.Fatal(err)
	}
	m := <-st.Recv()
	if len(m.GetInvocationRequest().GetInputData()[0].GetData().GetString_()) != len(body) {
		t.Error("8 MiB message from the worker not received")
	}
	if err := st.Send(msgInvocationRequest("i", "f", body)); err != nil {
		t.Fatal(err)
	}
	back, err := c.Recv()
	if err != nil || len(back.GetInvocationRequest().GetInputData()[0].GetData().GetString_()) != len(body) {
		t.Errorf("8 MiB message to the worker: %v", err)
	}
}

func TestServerCloseEndsStreams(t *testing.T) {
	srv, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Register("x")
	srv.Close()
	<-st.Done()
	if _, ok := <-st.Recv(); ok {
		t.Error("Recv open after Server.Close")
	}
	late := srv.Register("y")
	<-late.Done()
	if err := late.Send(&rpc.StreamingMessage{}); !errors.Is(err, ErrStreamEnded) {
		t.Errorf("Send on a stream registered after Close = %v", err)
	}
	srv.Close() // idempotent
}

// With MultiStream a worker may open more calls with the same id (docs/host-contract.md §2.2):
// they share the host's outbound queue, their inbound messages are merged,
// and the Stream ends only when the last call ends.
func TestMultiStream(t *testing.T) {
	srv := listen(t)
	st := srv.Register("multi")
	a, b := dial(t, srv), dial(t, srv)
	for _, c := range []grpc.BidiStreamingClient[rpc.StreamingMessage, rpc.StreamingMessage]{a, b} {
		if err := c.Send(startStream("multi")); err != nil {
			t.Fatal(err)
		}
	}
	<-st.Started()
	if err := b.Send(&rpc.StreamingMessage{RequestId: "from-b"}); err != nil {
		t.Fatal(err)
	}
	if m := <-st.Recv(); m.GetRequestId() != "from-b" {
		t.Errorf("got %v", m)
	}
	if err := a.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("call a: %v", err)
	}
	select {
	case <-st.Done():
		t.Fatal("stream ended while call b is still attached")
	default:
	}
	if err := st.Send(&rpc.StreamingMessage{RequestId: "to-b"}); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(); err != nil || m.GetRequestId() != "to-b" {
		t.Errorf("call b got %v, %v", m, err)
	}
	if err := b.CloseSend(); err != nil {
		t.Fatal(err)
	}
	<-st.Done()
}

// TestUnencodableMessageIsDropped: a message the host side cannot encode
// (invalid UTF-8 in a string field) is dropped and counted; the stream and
// the messages after it go on.
func TestUnencodableMessageIsDropped(t *testing.T) {
	srv := listen(t)
	id := uuid.NewString()
	st := srv.Register(id)
	c := dial(t, srv)
	if err := c.Send(startStream(id)); err != nil {
		t.Fatal(err)
	}
	<-st.Started()
	bad := &rpc.StreamingMessage{RequestId: "bad\xff", Content: &rpc.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpc.WorkerStatusRequest{}}}
	good := &rpc.StreamingMessage{RequestId: "good", Content: &rpc.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpc.WorkerStatusRequest{}}}
	if err := st.Send(bad); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(good); err != nil {
		t.Fatal(err)
	}
	m, err := c.Recv()
	if err != nil || m.GetRequestId() != "good" {
		t.Fatalf("after an unencodable message: %v, %v; want the next message", m, err)
	}
	if st.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", st.Dropped())
	}
}
