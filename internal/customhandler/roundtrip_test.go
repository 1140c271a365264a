package customhandler

import (
	"encoding/json"
	"testing"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// echoGuest plays a command-mode guest written from abi/COMMAND.md: it reads
// Data.<in>, undoes the host's encoding (one extra JSON decode for
// double-encoded values, nothing for objects and base64), and writes the
// value to Outputs.<out> in the form the output rules expect.
func echoGuest(t *testing.T, payload []byte, in, outName string, binary bool) []byte {
	t.Helper()
	var p struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatalf("guest: %v", err)
	}
	raw := p.Data[in]
	var value any
	if kind(raw) == '"' && !binary {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		// The documented one-liner: json.Unmarshal([]byte(s), &v).
		if err := json.Unmarshal([]byte(s), &value); err != nil {
			value = s // a plain string (a DateTimeOffset, say)
		}
	} else {
		value = raw // objects as they are; base64 passed through for binary
	}
	resp, err := json.Marshal(map[string]any{"Outputs": map[string]any{outName: value}, "Logs": []string{"echoed " + in}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRoundTrip(t *testing.T) {
	fn := newFn("Echo",
		bind("queueTrigger", "in", "msg"),
		bind("queue", "out", "out"),
		bind("blob", "out", "bin", "binary"))
	cases := []struct {
		name   string
		in     *invocation.Value
		binary bool
		want   *invocation.Value
	}{
		{"string", str("hello"), false, str("hello")},
		{"string with JSON text", str(`{"id":7}`), false, str(`{"id":7}`)},
		{"unicode string", str("héllo \u2028 <&> \"q\"\n"), false, str("héllo \u2028 <&> \"q\"\n")},
		{"bytes", byt([]byte{0, 1, 0xfe, 0xff}), true, byt([]byte{0, 1, 0xfe, 0xff})},
		{"json object", js(`{"a":[1,2.5,"x"],"b":null}`), false, js(`{"a":[1,2.5,"x"],"b":null}`)},
		{"json integer", js(`7`), false, js(`7`)},
		{"json bool", js(`true`), false, js(`true`)},
		{"json array", js(`["a","b"]`), false, js(`["a","b"]`)},
		{"int", &invocation.Value{Kind: invocation.KindInt, Int: 12}, false, js(`12`)},
		{"collection_string", &invocation.Value{Kind: invocation.KindCollectionString, List: &invocation.List{Strings: []string{"a", "b"}}}, false, js(`["a","b"]`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &invocation.Request{Inputs: []invocation.Input{input("msg", tc.in)}}
			payload, err := EncodeRequest(fn, req, testNow, testGUID)
			if err != nil {
				t.Fatal(err)
			}
			outName := "out"
			if tc.binary {
				outName = "bin"
			}
			res, err := DecodeResponse(fn, echoGuest(t, payload, "msg", outName, tc.binary))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Outputs) != 1 || res.Outputs[0].Name != outName {
				t.Fatalf("outputs = %v", res.Outputs)
			}
			if got, want := fmtValue(res.Outputs[0].Value), fmtValue(tc.want); got != want {
				t.Fatalf("round trip gave %s; want %s", got, want)
			}
			if len(res.Logs) != 1 || res.Logs[0] != "echoed msg" {
				t.Fatalf("logs = %q", res.Logs)
			}
		})
	}
}

// TestRoundTripHTTP runs the docs/host-contract.md §4.3 request through a guest that answers with
// the request's route parameter and body.
func TestRoundTripHTTP(t *testing.T) {
	fn := newFn("HelloHttp", httpBindings...)
	payload, err := EncodeRequest(fn, httpRequest43(), testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Data struct {
			Req struct {
				Method  string
				Headers map[string][]string
				Params  map[string]string
				Query   map[string]string
				Body    string
			}
		}
		Metadata struct {
			Sys struct{ MethodName, UtcNow, RandGUID string }
		}
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	var body struct{ Name string }
	if err := json.Unmarshal([]byte(p.Data.Req.Body), &body); err != nil {
		t.Fatal(err)
	}
	if p.Data.Req.Method != "POST" || p.Data.Req.Headers["content-type"][0] != "application/json" || p.Data.Req.Query["x"] != "1,2" ||
		p.Metadata.Sys.MethodName != "HelloHttp" || p.Metadata.Sys.RandGUID != testGUID || p.Metadata.Sys.UtcNow != "2024-10-25T10:00:00.1234567Z" {
		t.Fatalf("guest saw %+v", p)
	}
	answer, err := json.Marshal(map[string]any{"Outputs": map[string]any{"res": map[string]any{
		"statusCode": 201,
		"headers":    map[string]string{"content-type": "text/plain"},
		"body":       "hello " + p.Data.Req.Params["who"] + " from " + body.Name,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecodeResponse(fn, answer)
	if err != nil {
		t.Fatal(err)
	}
	want := resp("201", map[string]string{"content-type": "text/plain"}, str("hello world from a"))
	if len(res.Outputs) != 1 || res.Outputs[0].Name != "res" || fmtValue(res.Outputs[0].Value) != fmtValue(want) {
		t.Fatalf("outputs = %v", res.Outputs)
	}
}
