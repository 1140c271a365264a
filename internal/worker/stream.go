package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func (w *Worker) serve(ctx context.Context) error {
	conn, err := grpc.NewClient("passthrough:///"+w.opts.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(w.opts.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(w.opts.MaxMessageBytes),
		),
	)
	if err != nil {
		return fmt.Errorf("dial host at %s: %w", w.opts.Addr, err)
	}
	defer conn.Close()

	streamCtx, cancelStream := context.WithCancel(ctx)
	defer cancelStream()
	stream, err := rpc.NewFunctionRpcClient(conn).EventStream(streamCtx, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("open EventStream to host at %s: %w", w.opts.Addr, err)
	}
	w.log.Info("connected to host", "addr", w.opts.Addr, "workerId", w.opts.WorkerID)

	// StartStream must be the first message on the stream (docs/host-contract.md §2.2).
	w.send(&rpc.StreamingMessage{
		RequestId: w.opts.RequestID,
		Content:   &rpc.StreamingMessage_StartStream{StartStream: &rpc.StartStream{WorkerId: w.opts.WorkerID}},
	})
	go w.sender(stream)

	recvDone := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			w.dispatch(msg)
		}
	}()

	select {
	case err := <-recvDone:
		if errors.Is(err, io.EOF) {
			err = errors.New("the host closed it")
		}
		w.log.Error("the stream to the host ended without WorkerTerminate; exiting so that the host restarts the worker", "err", err)
		// Nobody can receive responses any more: stop every guest.
		w.cancelAll(errors.New("the host closed the stream"))
		w.invWG.Wait()
		w.bgWG.Wait()
		w.flush()
		return fmt.Errorf("%w: %v", ErrStreamEnded, err)
	case <-w.terminated:
		w.log.Info("terminated by host; exiting")
	case <-ctx.Done():
		w.log.Info("signalled; draining", "cause", context.Cause(ctx))
		w.terminate(5 * time.Second)
		<-w.terminated
	}
	w.flush()
	// Send only hands messages to the transport; closing the connection now
	// could drop the last responses. The host ends its side once it has read
	// our half-close, so wait for that (briefly: the host may be gone).
	select {
	case <-recvDone:
	case <-time.After(2 * time.Second):
		w.log.Warn("host did not end the stream after our half-close; exiting anyway")
	}
	return nil
}

// send queues a message for the host. It never blocks once the sender has
// stopped.
func (w *Worker) send(m *rpc.StreamingMessage) {
	select {
	case w.out <- m:
	case <-w.senderQ:
	}
}

// flush sends everything queued so far, half-closes the stream and waits
// (briefly) for the sender to finish.
func (w *Worker) flush() {
	select {
	case w.out <- nil:
	case <-w.senderQ:
	}
	select {
	case <-w.senderQ:
	case <-time.After(5 * time.Second):
		w.log.Warn("timed out flushing messages to the host")
	}
}

func (w *Worker) sender(stream grpc.BidiStreamingClient[rpc.StreamingMessage, rpc.StreamingMessage]) {
	defer close(w.senderQ)
	var pm grpc.PreparedMsg
	for m := range w.out {
		if m == nil {
			_ = stream.CloseSend()
			return
		}
		// Encode first: grpc-go ends the whole stream when a Send fails, so
		// a message that cannot be encoded must never reach Send. Strings
		// are made valid UTF-8 where they are built (rpcconv.Text), so
		// this is a backstop: an InvocationResponse is replaced by a
		// failure naming the cause, anything else is dropped and logged.
		if err := pm.Encode(stream, m); err != nil {
			w.log.Error("a message to the host cannot be encoded", "type", fmt.Sprintf("%T", m.Content), "err", err)
			m = unsendable(m, err)
			if m == nil {
				continue
			}
			if err := pm.Encode(stream, m); err != nil {
				w.log.Error("dropping a message that cannot be encoded", "err", err)
				continue
			}
		}
		if err := stream.SendMsg(&pm); err != nil {
			w.log.Warn("send to host failed; dropping further messages", "err", err)
			return
		}
	}
}

// unsendable returns what to send instead of m, which cannot be encoded, so
// that a request the host waits on is still answered exactly once: for an
// InvocationResponse a failure of that invocation, for a
// FunctionMetadataResponse or FunctionLoadResponse a failure of the
// indexing or the load, each saying why; nil for anything else.
func unsendable(m *rpc.StreamingMessage, err error) *rpc.StreamingMessage {
	why := fmt.Sprintf("the worker's answer cannot be sent to the host: %v", err)
	out := &rpc.StreamingMessage{RequestId: rpcconv.Text(m.GetRequestId())}
	switch {
	case m.GetInvocationResponse() != nil:
		failed := failedResponse(&rpc.InvocationRequest{InvocationId: rpcconv.Text(m.GetInvocationResponse().GetInvocationId())},
			"the function's response cannot be sent to the host: "+err.Error(), "WorkerError", false)
		out.Content = &rpc.StreamingMessage_InvocationResponse{InvocationResponse: failed}
	case m.GetFunctionMetadataResponse() != nil:
		out.Content = &rpc.StreamingMessage_FunctionMetadataResponse{FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
			Result: failure(why, "WorkerError", false)}}
	case m.GetFunctionLoadResponse() != nil:
		out.Content = &rpc.StreamingMessage_FunctionLoadResponse{FunctionLoadResponse: &rpc.FunctionLoadResponse{
			FunctionId: rpcconv.Text(m.GetFunctionLoadResponse().GetFunctionId()), Result: failure(why, "WorkerError", false)}}
	default:
		return nil
	}
	return out
}

// dispatch hands one host message to its handler (one file per message).
// Quick answers are sent inline, so they keep the order of the requests;
// loads, invocations and reloads run on their own goroutines.
func (w *Worker) dispatch(m *rpc.StreamingMessage) {
	switch c := m.Content.(type) {
	case *rpc.StreamingMessage_WorkerInitRequest:
		w.handleInit(m.RequestId, c.WorkerInitRequest)
	case *rpc.StreamingMessage_FunctionLoadRequest:
		w.handleLoad(m.RequestId, c.FunctionLoadRequest)
	case *rpc.StreamingMessage_FunctionLoadRequestCollection:
		w.handleLoadCollection(m.RequestId, c.FunctionLoadRequestCollection)
	case *rpc.StreamingMessage_FunctionsMetadataRequest:
		w.handleMetadata(m.RequestId, c.FunctionsMetadataRequest)
	case *rpc.StreamingMessage_InvocationRequest:
		w.startInvocation(m.RequestId, c.InvocationRequest)
	case *rpc.StreamingMessage_InvocationCancel:
		w.cancelInvocation(c.InvocationCancel.GetInvocationId())
	case *rpc.StreamingMessage_WorkerStatusRequest:
		w.handleStatus(m.RequestId, c.WorkerStatusRequest)
	case *rpc.StreamingMessage_FunctionEnvironmentReloadRequest:
		w.background(func() { w.handleEnvReload(m.RequestId, c.FunctionEnvironmentReloadRequest) },
			func(p any) {
				w.sendEnvReloadResult(m.RequestId, failure(panicText("reloading the environment", p), "WorkerError", false))
			})
	case *rpc.StreamingMessage_WorkerWarmupRequest:
		w.handleWarmup(m.RequestId, c.WorkerWarmupRequest)
	case *rpc.StreamingMessage_CloseSharedMemoryResourcesRequest:
		w.handleCloseSharedMemory(m.RequestId, c.CloseSharedMemoryResourcesRequest)
	case *rpc.StreamingMessage_WorkerTerminate:
		w.handleTerminate(c.WorkerTerminate)
	default:
		// Unknown or unused messages are ignored, as the host ignores ours (docs/host-contract.md §2.1).
		w.log.Debug("ignoring host message", "type", fmt.Sprintf("%T", m.Content))
	}
}

// background runs f on a goroutine that terminate waits for. A panic in
// f (a bug in loading, indexing or reloading) is logged and passed to
// answer, which sends the failure the host waits for: it must neither end
// the worker, and every invocation in it, nor leave the host without its
// answer. f sends its own answer last, so a panic comes before it.
func (w *Worker) background(f func(), answer func(panicked any)) {
	w.bgWG.Add(1)
	go func() {
		defer w.bgWG.Done()
		defer func() {
			if p := recover(); p != nil {
				w.log.Error("panic in the worker's background work", "panic", p, "stack", string(debug.Stack()))
				answer(p)
			}
		}()
		f()
	}()
}

// panicText is the failure message of background work that panicked.
func panicText(what string, p any) string {
	return fmt.Sprintf("internal worker error while %s: %v (a bug in the worker; its log has the stack)", what, p)
}
