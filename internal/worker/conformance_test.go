package worker_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// TestInvalidUTF8FromGuest: a command-mode guest writes bytes that are not
// UTF-8 where the protocol needs text (a JSON object body, a header value,
// stderr, "Logs"). The worker repairs them (U+FFFD) instead of failing to
// encode the response, which in grpc-go would end the stream for every
// invocation; the next invocation still works.
func TestInvalidUTF8FromGuest(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Invalid", "Echo")
	for i := range 2 {
		resp, logs := h.invoke(httpRequest(ids["Invalid"], "GET", "http://localhost/api/invalid", nil, nil, nil, nil), time.Minute)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("invocation %d: %v", i, resp.GetResult())
		}
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("the response does not encode: %v", err)
		}
		res := httpOutput(t, resp, "res")
		if body := res.GetBody().GetJson(); body != "{\"a\":\"\uFFFD\"}" {
			t.Errorf("body %q: want the invalid byte replaced by U+FFFD", body)
		}
		if v := res.GetHeaders()["x-bad"]; v != "a\uFFFDb" {
			t.Errorf("header %q", v)
		}
		var warnings int
		for _, l := range logs {
			if !utf8.ValidString(l.GetMessage()) {
				t.Errorf("log %q is not valid UTF-8", l.GetMessage())
			}
			if strings.Contains(l.GetMessage(), `no "$return" binding`) {
				warnings++
			}
		}
		// The dropped return value is said once per function load.
		if want := 1 - i; warnings != want {
			t.Errorf("invocation %d: %d warnings about the dropped return value, want %d (logs %v)", i, warnings, want, logs)
		}
	}
	resp, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/1", map[string]string{"id": "1"}, nil, nil, nil), time.Minute)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Errorf("the worker did not survive: %v", resp.GetResult())
	}
}

// TestInvocationIDReuse: the host's retry policies reuse the invocation id;
// a retry sent as soon as the first response arrives must run, not be
// refused as a duplicate.
func TestInvocationIDReuse(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Echo")
	req := httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/1", map[string]string{"id": "1"}, nil, nil, nil)
	for i := range 20 {
		resp, _ := h.invoke(proto.Clone(req).(*rpc.InvocationRequest), time.Minute)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("attempt %d with the same id: %v", i, resp.GetResult())
		}
		req.InvocationId = resp.GetInvocationId()
	}
}
