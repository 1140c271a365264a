package fnhost

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// ErrStreamEnded is returned by Stream.Send once the stream has ended.
var ErrStreamEnded = errors.New("host: worker stream has ended")

// Server is the host's gRPC endpoint that workers connect to (docs/host-contract.md §1.7):
// 127.0.0.1 on a free port, HTTP/2 cleartext, message limits of
// math.MaxInt32 in both directions, serving FunctionRpc/EventStream.
type Server struct {
	lis  net.Listener
	gs   *grpc.Server
	port int
	done chan struct{}

	mu      sync.Mutex
	streams map[string]*Stream
	closed  bool
}

// Listen starts a Server on 127.0.0.1 with a port chosen by the OS.
func Listen() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s := &Server{
		lis:     lis,
		port:    lis.Addr().(*net.TCPAddr).Port,
		done:    make(chan struct{}),
		streams: map[string]*Stream{},
	}
	s.gs = grpc.NewServer(
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(math.MaxInt32),
	)
	rpc.RegisterFunctionRpcServer(s.gs, &rpcService{s: s})
	go func() { _ = s.gs.Serve(lis) }()
	return s, nil
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// URI is the server address as the host passes it in --functions-uri:
// "http://127.0.0.1:<port>/", with the trailing slash of .NET's
// Uri.AbsoluteUri (docs/host-contract.md §1.5).
func (s *Server) URI() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) + "/" }

// Close ends every stream and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	streams := make([]*Stream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	for _, st := range streams {
		st.Close()
	}
	close(s.done)
	s.gs.Stop()
}

// Register announces a worker id before its process is started, like the
// host creating a channel. An EventStream whose first message is StartStream
// with this worker id is paired with the returned Stream. Registering an id
// that is already registered returns the existing Stream. Once the Stream
// has ended the id is forgotten, and later calls with it are ended as
// unknown (docs/host-contract.md §2.2).
func (s *Server) Register(workerID string) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.streams[workerID]; ok {
		return st
	}
	st := &Stream{
		srv:      s,
		workerID: workerID,
		started:  make(chan struct{}),
		closeCh:  make(chan struct{}),
		ended:    make(chan struct{}),
		wake:     make(chan struct{}, 1),
		inWake:   make(chan struct{}, 1),
		recv:     make(chan *rpc.StreamingMessage),
	}
	if s.closed {
		st.closeOnce.Do(func() { close(st.closeCh) })
		st.isEnded, st.inClosed = true, true
		st.endOnce.Do(func() { close(st.ended) })
	} else {
		s.streams[workerID] = st
	}
	go st.deliver()
	return st
}

func (s *Server) lookup(workerID string) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[workerID]
}

func (s *Server) forget(st *Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[st.workerID] == st {
		delete(s.streams, st.workerID)
	}
}

type rpcService struct {
	rpc.UnimplementedFunctionRpcServer
	s *Server
}

// EventStream mirrors FunctionRpcService.EventStream (docs/host-contract.md §2.2): the first
// message must be StartStream naming a registered worker id, otherwise the
// call simply ends with status OK and nothing is sent.
func (r *rpcService) EventStream(call grpc.BidiStreamingServer[rpc.StreamingMessage, rpc.StreamingMessage]) error {
	first, err := call.Recv()
	if err != nil {
		return nil
	}
	ss := first.GetStartStream()
	if ss == nil || ss.GetWorkerId() == "" {
		return nil
	}
	st := r.s.lookup(ss.GetWorkerId())
	if st == nil {
		return nil
	}
	return st.serve(call, first)
}

// Stream is the host's side of one worker's EventStream. Host messages are
// queued and written by the call, like the host's outbound channel; several
// EventStream calls with the same worker id (capability MultiStream, §2.2)
// share the queue and their inbound messages are merged.
type Stream struct {
	srv      *Server
	workerID string

	started   chan struct{}
	startOnce sync.Once
	startMsg  *rpc.StreamingMessage

	closeCh   chan struct{} // Close was called
	closeOnce sync.Once
	ended     chan struct{} // no call is attached any more and none can attach
	endOnce   sync.Once

	wake   chan struct{} // outbound queue became non-empty
	inWake chan struct{} // inbound queue became non-empty or ended

	mu       sync.Mutex
	out      []*rpc.StreamingMessage
	in       []*rpc.StreamingMessage
	active   int  // attached calls
	inClosed bool // no more inbound messages
	isEnded  bool

	recv chan *rpc.StreamingMessage

	dropped atomic.Int64 // messages that could not be encoded
}

// Dropped counts the messages Send accepted that could not be encoded for
// the wire (a string field holding invalid UTF-8) and were dropped; the
// stream itself goes on.
func (c *Stream) Dropped() int64 { return c.dropped.Load() }

// WorkerID is the worker id the Stream was registered with.
func (c *Stream) WorkerID() string { return c.workerID }

// Started is closed when the worker's StartStream arrived.
func (c *Stream) Started() <-chan struct{} { return c.started }

// StartMessage is the StartStream envelope (nil before Started is closed).
func (c *Stream) StartMessage() *rpc.StreamingMessage {
	select {
	case <-c.started:
		return c.startMsg
	default:
		return nil
	}
}

// Done is closed when the stream has ended: the worker's side ended (every
// attached call finished) or Close was called.
func (c *Stream) Done() <-chan struct{} { return c.ended }

// Send queues m for the worker. Messages are written in Send order. It is
// safe for concurrent use and returns ErrStreamEnded after the stream ended.
// Messages sent before StartStream are delivered once the worker connects.
func (c *Stream) Send(m *rpc.StreamingMessage) error {
	if m == nil {
		return errors.New("host: nil message")
	}
	select {
	case <-c.closeCh:
		return ErrStreamEnded
	default:
	}
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return ErrStreamEnded
	}
	c.out = append(c.out, m)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Recv delivers every message the worker sent after StartStream, in order.
// It is closed when the worker's side has ended.
func (c *Stream) Recv() <-chan *rpc.StreamingMessage { return c.recv }

// Close ends the stream from the host's side: attached EventStream calls
// return (status OK), like the host disposing a channel. Queued messages not
// yet written are dropped.
func (c *Stream) Close() {
	c.closeOnce.Do(func() { close(c.closeCh) })
	c.mu.Lock()
	none := c.active == 0
	c.mu.Unlock()
	if none {
		c.finish()
	}
}

// finish marks the stream ended and stops inbound delivery.
func (c *Stream) finish() {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.isEnded = true
		c.inClosed = true
		c.out = nil
		c.mu.Unlock()
		c.srv.forget(c)
		close(c.ended)
		select {
		case c.inWake <- struct{}{}:
		default:
		}
	})
}

// serve runs one attached EventStream call until the worker's side ends or
// the host closes the stream.
func (c *Stream) serve(call grpc.BidiStreamingServer[rpc.StreamingMessage, rpc.StreamingMessage], first *rpc.StreamingMessage) error {
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return nil
	}
	c.active++
	c.mu.Unlock()
	c.startOnce.Do(func() {
		c.startMsg = first
		close(c.started)
	})

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			m, err := call.Recv()
			if err != nil {
				return
			}
			c.mu.Lock()
			if !c.inClosed {
				c.in = append(c.in, m)
			}
			c.mu.Unlock()
			select {
			case c.inWake <- struct{}{}:
			default:
			}
		}
	}()

	ctx := call.Context()
	var pm grpc.PreparedMsg
writeLoop:
	for {
		for {
			c.mu.Lock()
			if len(c.out) == 0 || c.isEnded {
				c.mu.Unlock()
				break
			}
			m := c.out[0]
			c.out[0] = nil
			c.out = c.out[1:]
			c.mu.Unlock()
			// Encode first: in grpc-go a failed Send ends the call, and
			// with it the stream for every invocation. A message that
			// cannot be encoded (invalid UTF-8 in a string field) is
			// dropped and counted instead; callers check what they build
			// (the local host refuses such requests before sending).
			if err := pm.Encode(call, m); err != nil {
				c.dropped.Add(1)
				continue
			}
			if err := call.SendMsg(&pm); err != nil {
				break writeLoop // the connection is gone; the call ends
			}
		}
		select {
		case <-c.wake:
		case <-readerDone:
			break writeLoop
		case <-c.closeCh:
			break writeLoop
		case <-ctx.Done():
			break writeLoop
		}
	}
	// The reader goroutine ends by itself once this method has returned and
	// gRPC has finished the call.

	c.mu.Lock()
	c.active--
	last := c.active == 0
	c.mu.Unlock()
	if last {
		c.finish()
	}
	// Another waiting writer may need to pick up queued messages.
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// deliver moves inbound messages to the Recv channel without ever blocking
// the gRPC reader, and closes Recv when the stream has ended.
func (c *Stream) deliver() {
	defer close(c.recv)
	for {
		c.mu.Lock()
		var m *rpc.StreamingMessage
		if len(c.in) > 0 {
			m = c.in[0]
			c.in[0] = nil
			c.in = c.in[1:]
		}
		closed := c.inClosed && len(c.in) == 0 && m == nil
		c.mu.Unlock()
		if closed {
			return
		}
		if m == nil {
			select {
			case <-c.inWake:
			case <-c.srv.done:
				return
			}
			continue
		}
		select {
		case c.recv <- m:
		case <-c.srv.done:
			return
		}
	}
}
