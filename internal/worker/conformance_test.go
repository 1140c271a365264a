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
		resp, logs := h.invoke(httpRequest(ids["Invalid"], "GET", "http://localhost/api/invalid?case=utf8", nil, map[string]string{"case": "utf8"}, nil, nil), time.Minute)
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

// TestHeaderTheHostRefuses: a command-mode response header that the host's
// web server would refuse (CR LF in the value) fails the invocation, naming
// the header, rather than succeeding and leaving the caller a 500.
func TestHeaderTheHostRefuses(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	ids := h.mustLoad("Invalid")
	resp, _ := h.invoke(httpRequest(ids["Invalid"], "GET", "http://localhost/api/invalid?case=header", nil, map[string]string{"case": "header"}, nil, nil), time.Minute)
	ex := resp.GetResult().GetException()
	if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || ex.GetType() != "Wasm:InvalidOutput" ||
		!strings.Contains(ex.GetMessage(), `response header "x-split": control character 0x0d`) {
		t.Errorf("result %v: want an InvalidOutput failure naming the header", resp.GetResult())
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

// TestBatchWithEmptyEntries: the worker declares
// IncludeEmptyEntriesInMessagePayload, so a host keeps the empty events of
// a batch (cardinality "many") and the items line up with the per-event
// metadata arrays; the guest sees every entry, empty ones included.
func TestBatchWithEmptyEntries(t *testing.T) {
	h := startWorker(t, testApp)
	if caps := h.initWorker().GetCapabilities(); caps["IncludeEmptyEntriesInMessagePayload"] == "" {
		t.Fatalf("capability IncludeEmptyEntriesInMessagePayload not declared: %v", caps)
	}
	ids := h.mustLoad("Batch")
	events := []string{"a", "", "c", ""}
	req := &rpc.InvocationRequest{
		FunctionId: ids["Batch"],
		InputData: []*rpc.ParameterBinding{{Name: "events", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{
			Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: events}}}}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"SequenceNumberArray": {Data: &rpc.TypedData_Json{Json: "[1,2,3,4]"}},
			// A Guid and a DateTimeOffset as the host serializes them over
			// gRPC (json); a custom handler gets the Guid double-encoded.
			"Guid":     {Data: &rpc.TypedData_Json{Json: `"0f8fad5b-d9cb-469f-a165-70867728950e"`}},
			"Enqueued": {Data: &rpc.TypedData_Json{Json: `"2024-11-01T10:00:00+00:00"`}},
			"events":   {Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: events}}},
		},
	}
	resp, _ := h.invoke(req, time.Minute)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("batch: %v", resp.GetResult())
	}
	if got, want := resp.GetReturnValue().GetString_(), `4 4 a||c| "0f8fad5b-d9cb-469f-a165-70867728950e" 2024-11-01T10:00:00+00:00`; got != want {
		t.Errorf("the guest saw %q, want %q", got, want)
	}
}
