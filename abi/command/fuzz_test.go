package command

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/proto/rpc"
)

// FuzzDecodeResponse checks that no stdout makes DecodeResponse panic, and
// that what it accepts obeys the output rules.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":["x"]}`,
		`{"Outputs":{"out":"o","img":"aGk=","state":[1,{"a":null}]},"ReturnValue":{"id":7}}`,
		`{"Outputs":{"res":{"cookies":[{"name":"a","value":"b","expires":"2025-01-02T15:04:05Z","sameSite":"Lax","maxAge":1}]}}}`,
		`{"Outputs":{"res":"{\"body\":1}"}}`,
		"", "null", "{} trailing", "\xff",
	} {
		f.Add([]byte(s))
	}
	fn := loadFn(f, "F", allOutputsFnJSON)
	f.Fuzz(func(t *testing.T, stdout []byte) {
		res, err := DecodeResponse(fn, stdout)
		if err != nil {
			if res != nil {
				t.Fatalf("result with error %v", err)
			}
			return
		}
		for _, o := range res.Outputs {
			b := fn.Binding(o.GetName())
			if b == nil || !b.IsOutput() || o.GetName() == "$return" {
				t.Fatalf("output %q is not a declared output binding", o.GetName())
			}
			checkOutputData(t, o.GetData())
		}
		if res.ReturnValue != nil {
			checkOutputData(t, res.ReturnValue)
		}
	})
}

// checkOutputData asserts the invariants of TypedData sent to the host.
func checkOutputData(t *testing.T, td *rpc.TypedData) {
	switch d := td.GetData().(type) {
	case *rpc.TypedData_String_, *rpc.TypedData_Bytes:
	case *rpc.TypedData_Json:
		if !json.Valid([]byte(d.Json)) {
			t.Fatalf("invalid json TypedData %q", d.Json)
		}
	case *rpc.TypedData_Http:
		if d.Http.GetBody() == nil || d.Http.GetStatusCode() == "" || len(d.Http.GetNullableHeaders()) > 0 {
			t.Fatalf("bad http response %v", d.Http)
		}
	default:
		t.Fatalf("forbidden output TypedData %T", d)
	}
}

// FuzzEncodeRequest builds InvocationRequests from fuzz bytes and checks that
// EncodeRequest never panics and always writes a JSON object with Data and
// Metadata.
func FuzzEncodeRequest(f *testing.F) {
	for _, req := range []*rpc.InvocationRequest{httpRequest43(), queueRequest44(), timerRequest(), {}} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fn := loadFn(f, "F", httpFnJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &rpc.InvocationRequest{}
		if err := proto.Unmarshal(data, req); err != nil {
			t.Skip()
		}
		out, err := EncodeRequest(fn, req, testNow, testGUID)
		if err != nil {
			return
		}
		var p map[string]json.RawMessage
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("invalid JSON %v: %q", err, out)
		}
		if kind(p["Data"]) != '{' || kind(p["Metadata"]) != '{' {
			t.Fatalf("payload lacks Data or Metadata: %s", out)
		}
	})
}
