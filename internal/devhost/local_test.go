//go:build unix

package devhost

// Tests that run the host in this process (Start, with the worker and the
// apps TestMain built), for what the command's flags cannot reach: the
// HTTP listener's limits and the invocation path itself.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/queue"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// eventSink collects the events of a host in JSON mode (each emit is one
// Write of one line).
type eventSink struct {
	mu  sync.Mutex
	evs []Event
}

func (s *eventSink) Write(p []byte) (int, error) {
	var e Event
	if json.Unmarshal(p, &e) == nil {
		s.mu.Lock()
		s.evs = append(s.evs, e)
		s.mu.Unlock()
	}
	return len(p), nil
}

func (s *eventSink) find(ok func(Event) bool) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.evs {
		if ok(e) {
			out = append(out, e)
		}
	}
	return out
}

// workerExits returns the events that report a worker process exit or restart.
func (s *eventSink) workerExits() []Event {
	return s.find(func(e Event) bool {
		return e.Kind == "worker" && (strings.Contains(e.Message, "exited") || strings.Contains(e.Message, "restart"))
	})
}

// startLocal starts a host for app on a free port of 127.0.0.1 and checks
// that its worker is ready. The caller closes it.
func startLocal(app string, opts Options) (*Host, *eventSink, error) {
	sink := &eventSink{}
	opts.AppDir, opts.WorkersDir, opts.Addr, opts.Out, opts.JSON = app, workersDir, "127.0.0.1:0", sink, true
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	h, err := Start(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	if g := h.gen.Load(); g == nil || g.state != "Running" || g.pool == nil || !g.pool.ready() {
		h.Close()
		return nil, nil, fmt.Errorf("the host started without a ready worker: %+v", sink.find(func(Event) bool { return true }))
	}
	return h, sink, nil
}

// workerPIDs returns the pids of the host's ready worker processes.
func (h *Host) workerPIDs() []int {
	var pids []int
	if g := h.gen.Load(); g != nil {
		for _, p := range processList(g) {
			if p.State == "Ready" {
				pids = append(pids, p.PID)
			}
		}
	}
	return pids
}

func (h *Host) addr() string { return h.ln.Addr().String() }

func TestServerLimitDefaults(t *testing.T) {
	s := (&Host{}).newServer()
	if s.ReadHeaderTimeout != 10*time.Second || s.ReadTimeout != 60*time.Second || s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 1<<20 {
		t.Errorf("defaults: header %s, read %s, idle %s, max header bytes %d", s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
	s = (&Host{opts: Options{ReadHeaderTimeout: time.Second, ReadTimeout: -1, IdleTimeout: -1, MaxHeaderBytes: 4096}}).newServer()
	if s.ReadHeaderTimeout != time.Second || s.ReadTimeout != 0 || s.IdleTimeout != 0 || s.MaxHeaderBytes != 4096 {
		t.Errorf("set: header %s, read %s, idle %s, max header bytes %d", s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
	if limit(0, DefaultMaxConns) != 256 || limit(-1, DefaultMaxConns) != 0 || limit(7, DefaultMaxConns) != 7 {
		t.Error("limit() does not map 0 to the default, negative to none, positive to itself")
	}
}

// dialRaw opens a TCP connection to the host.
func dialRaw(t *testing.T, h *Host) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads from c until the host closes it and returns how long that took.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the host kept the connection open for %s", within)
	}
	return time.Since(start)
}

// TestHTTPLimits checks the listener's limits (issue #11 item 2) with
// short timeouts and a cap of three connections.
func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	const headerTimeout, readTimeout = 3 * time.Second, 2 * time.Second
	h, _, err := startLocal(copyApp(t, edgeApp, false), Options{
		ReadHeaderTimeout: headerTimeout, ReadTimeout: readTimeout, IdleTimeout: 2 * time.Second, MaxConns: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(t *testing.T, path string) (int, string) {
		t.Helper()
		resp, err := client.Get(h.URL() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("SlowHeaders", func(t *testing.T) {
		c := dialRaw(t, h)
		if _, err := io.WriteString(c, "GET /api/echo/x HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		if d := waitClosed(t, c, 4*headerTimeout); d < headerTimeout/2 {
			t.Errorf("closed after %s, before the header timeout of %s", d, headerTimeout)
		}
	})

	t.Run("SlowBody", func(t *testing.T) {
		c := dialRaw(t, h)
		if _, err := io.WriteString(c, "POST /api/echo/x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		// Dribble one byte every 100 ms: far too slow to finish within readTimeout.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(4 * readTimeout))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("a body cut by the read timeout got %d %s, want 400 (or no answer)", resp.StatusCode, b)
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the host was still reading the body after %s", 4*readTimeout)
		}
		if d := time.Since(start); d < readTimeout/2 {
			t.Errorf("the request ended after %s, before the read timeout of %s", d, readTimeout)
		}
		waitClosed(t, c, 4*readTimeout)
	})

	t.Run("LongFunction", func(t *testing.T) {
		// The read timeout bounds reading the request, not the function.
		if code, body := get(t, fmt.Sprintf("/api/status?code=200&sleep=%d", (readTimeout+time.Second).Milliseconds())); code != 200 || body != "x" {
			t.Errorf("a function running longer than the read timeout answered %d %q, want 200 x", code, body)
		}
	})

	t.Run("MaxHeaderBytes", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.URL()+"/api/echo/x", nil)
		req.Header.Set("X-Big", strings.Repeat("a", DefaultMaxHeaderBytes+6<<10))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("a request with headers over the limit: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("headers over %d bytes: got %d, want 431", DefaultMaxHeaderBytes, resp.StatusCode)
		}
	})

	t.Run("MaxConns", func(t *testing.T) {
		// Two slow clients hold two of the three connections; a healthy
		// client is served on the third.
		a, b := dialRaw(t, h), dialRaw(t, h)
		if code, body := get(t, "/api/echo/healthy"); code != 200 || !strings.Contains(body, `"healthy"`) {
			t.Fatalf("with two slow clients connected, GET = %d %s", code, body)
		}
		a.Close()
		b.Close()
		time.Sleep(time.Second) // the host lets closed connections go (net/http lingers 500 ms)

		// Three slow clients hold every connection: the next one waits.
		held := []net.Conn{dialRaw(t, h), dialRaw(t, h), dialRaw(t, h)}
		for _, c := range held {
			if _, err := io.WriteString(c, "GET /api/echo/slow HTTP/1.1\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		e := dialRaw(t, h) // the kernel completes the handshake; the host does not accept it yet
		if _, err := io.WriteString(e, "GET /api/echo/waiting HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(e)
		_ = e.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := br.Peek(1); err == nil {
			t.Fatal("a fourth connection was served while three were open, above MaxConns 3")
		} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("the fourth connection failed instead of waiting: %v", err)
		}
		held[0].Close() // frees a connection: the waiting client is served
		_ = e.SetReadDeadline(time.Now().Add(headerTimeout))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("the waiting client got no answer once a connection was free: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"waiting"`) {
			t.Errorf("the waiting client got %d %s", resp.StatusCode, body)
		}
	})
}

// TestUnsendableInvocation gives the invocation path a request protobuf
// cannot marshal (which the request builders no longer produce): that one
// invocation fails with a clear message, and the worker is not restarted.
func TestUnsendableInvocation(t *testing.T) {
	t.Parallel()
	h, sink, err := startLocal(copyApp(t, exampleApp, false), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pids := h.workerPIDs()
	g := h.gen.Load()
	f := g.byName["processjob"]
	for i := 0; i < 4; i++ {
		out := g.invoke(context.Background(), call{fn: f, reason: "test",
			trigger:  &rpc.TypedData{Data: &rpc.TypedData_String_{String_: "{\"task\":\"\xff\"}"}},
			metadata: map[string]*rpc.TypedData{"k\xfe": {Data: &rpc.TypedData_String_{String_: "v"}}}})
		var he *hostError
		if !errors.As(out.err, &he) || !strings.Contains(he.Error(), "is not valid UTF-8") {
			t.Fatalf("invocation %d: error %v, want a hostError about invalid UTF-8", i, out.err)
		}
	}
	resp, err := http.Get(h.URL() + "/api/hello/Ada")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/hello/Ada after the unsendable invocations = %d", resp.StatusCode)
	}
	if got := h.workerPIDs(); !slices.Equal(got, pids) || len(pids) != 1 {
		t.Errorf("worker pids %v, want %v unchanged", got, pids)
	}
	if ex := sink.workerExits(); len(ex) > 0 {
		t.Errorf("the worker exited or restarted: %+v", ex)
	}
}

func TestCheckSendable(t *testing.T) {
	ok := &rpc.InvocationRequest{InvocationId: "1", TriggerMetadata: map[string]*rpc.TypedData{"a": {Data: &rpc.TypedData_String_{String_: "\uFFFD"}}}}
	if err := checkSendable(ok); err != nil {
		t.Errorf("valid request: %v", err)
	}
	for want, req := range map[string]*rpc.InvocationRequest{
		"InvocationRequest.invocation_id":               {InvocationId: "\xff"},
		`InvocationRequest.trigger_metadata key "\xff"`: {TriggerMetadata: map[string]*rpc.TypedData{"\xff": {}}},
		`InvocationRequest.input_data[1].data.http.nullable_query["q"].value`: {InputData: []*rpc.ParameterBinding{{Name: "a"}, {Name: "req",
			RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
				NullableQuery: map[string]*rpc.NullableString{"q": {String_: &rpc.NullableString_Value{Value: "\xfe"}}}}}}}}}},
	} {
		err := checkSendable(req)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkSendable = %v, want an error naming %s", err, want)
		}
	}
}

// TestQueueTriggerInvalidUTF8: a message posted to a local queue
// (POST /admin/queues/<name>) may hold any bytes; its trigger value and
// metadata must still marshal.
func TestQueueTriggerInvalidUTF8(t *testing.T) {
	f := &function{Function: &funcapp.Function{}, trigger: &funcapp.Binding{Name: "msg"}}
	for _, body := range []string{"\xff", "{\"a\":[\"\xff\"],\"b\":\"\xfe\",\"\xfd\":{\"c\":\"\xfc\"},\"n\":1}"} {
		m := queue.Message{ID: "id", Body: []byte(body), InsertionTime: time.Now(), ExpirationTime: maxTime, NextVisibleTime: maxTime}
		trig, md := queueTrigger(f, m)
		req := &rpc.InvocationRequest{InvocationId: "1", TriggerMetadata: md, InputData: inputs(f, trig)}
		if err := checkSendable(req); err != nil {
			t.Errorf("message %q: %v", body, err)
		}
		if trig.GetBytes() == nil {
			t.Errorf("message %q: the trigger value is %T, want bytes", body, trig.GetData())
		}
	}
}
