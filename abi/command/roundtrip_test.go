package command

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/proto/rpc"
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
	fn := loadFn(t, "Echo", `{"scriptFile":"f.wasm","bindings":[
		{"type":"queueTrigger","direction":"in","name":"msg"},
		{"type":"queue","direction":"out","name":"out"},
		{"type":"blob","direction":"out","name":"bin","dataType":"binary"}]}`)
	cases := []struct {
		name   string
		in     *rpc.TypedData
		binary bool
		want   *rpc.TypedData
	}{
		{"string", str("hello"), false, str("hello")},
		{"string with JSON text", str(`{"id":7}`), false, str(`{"id":7}`)},
		{"unicode string", str("héllo \u2028 <&> \"q\"\n"), false, str("héllo \u2028 <&> \"q\"\n")},
		{"bytes", byt([]byte{0, 1, 0xfe, 0xff}), true, byt([]byte{0, 1, 0xfe, 0xff})},
		{"json object", js(`{"a":[1,2.5,"x"],"b":null}`), false, js(`{"a":[1,2.5,"x"],"b":null}`)},
		{"json integer", js(`7`), false, js(`7`)},
		{"json bool", js(`true`), false, js(`true`)},
		{"json array", js(`["a","b"]`), false, js(`["a","b"]`)},
		{"int", &rpc.TypedData{Data: &rpc.TypedData_Int{Int: 12}}, false, js(`12`)},
		{"collection_string", &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", "b"}}}}, false, js(`["a","b"]`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &rpc.InvocationRequest{InputData: []*rpc.ParameterBinding{{Name: "msg", RpcData: &rpc.ParameterBinding_Data{Data: tc.in}}}}
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
			if len(res.Outputs) != 1 || res.Outputs[0].GetName() != outName {
				t.Fatalf("outputs = %v", res.Outputs)
			}
			if got := res.Outputs[0].GetData(); !proto.Equal(got, tc.want) {
				t.Fatalf("round trip gave %s; want %s", prototext.Format(got), prototext.Format(tc.want))
			}
			if len(res.Logs) != 1 || res.Logs[0] != "echoed msg" {
				t.Fatalf("logs = %q", res.Logs)
			}
		})
	}
}

// TestRoundTripHTTP runs the §4.3 request through a guest that answers with
// the request's route parameter and body.
func TestRoundTripHTTP(t *testing.T) {
	fn := loadFn(t, "HelloHttp", httpFnJSON)
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
	if len(res.Outputs) != 1 || !proto.Equal(res.Outputs[0].GetData(), want) {
		t.Fatalf("outputs = %v", res.Outputs)
	}
}
