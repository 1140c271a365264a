package command

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/funcapp"
	"github.com/wasmworker/wasmworker/proto/rpc"
)

// Fixed sys values so payloads are deterministic.
var (
	testNow  = time.Date(2024, 10, 25, 10, 0, 0, 123456700, time.UTC)
	testGUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
)

// loadFn writes function.json (plus its script file) into <tmp>/<name> and
// loads it with funcapp, as the worker does.
func loadFn(t testing.TB, name, functionJSON string) *funcapp.Function {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(functionJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.wasm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fn, err := funcapp.LoadFunction(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

// The function.json files of protocol.md §4.3 and §4.4 (scriptFile adapted).
const (
	httpFnJSON = `{ "scriptFile": "f.wasm",
  "bindings": [
    { "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous",
      "methods": ["get","post"], "route": "hello/{who}" },
    { "type": "http", "direction": "out", "name": "res" } ] }`
	queueFnJSON = `{ "scriptFile": "f.wasm",
  "bindings": [
    { "type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "jobs", "connection": "AzureWebJobsStorage" },
    { "type": "queue", "direction": "out", "name": "$return", "queueName": "results", "connection": "AzureWebJobsStorage" } ] }`
	timerFnJSON = `{ "scriptFile": "f.wasm",
  "bindings": [
    { "type": "timerTrigger", "direction": "in", "name": "tick", "schedule": "0 */5 * * * *" },
    { "type": "queue", "direction": "out", "name": "out", "queueName": "ticks" },
    { "type": "blob", "direction": "out", "name": "img", "dataType": "binary", "path": "x/{rand-guid}" } ] }`
)

func str(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
func js(s string) *rpc.TypedData  { return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: s}} }
func byt(b []byte) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: b}} }
func ns(s string) *rpc.NullableString {
	return &rpc.NullableString{String_: &rpc.NullableString_Value{Value: s}}
}

const (
	nameClaimType = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	roleClaimType = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
)

// httpRequest43 is the InvocationRequest of protocol.md §4.3 (node's
// capability set: nullable maps, body as bytes, no request copies in metadata).
func httpRequest43() *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		InvocationId: "6f1c0000-0000-0000-0000-000000000001",
		FunctionId:   "load-id",
		InputData: []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
			Method: "POST",
			Url:    "http://localhost:7071/api/hello/world?x=1&x=2",
			NullableHeaders: map[string]*rpc.NullableString{
				"content-type":   ns("application/json"),
				"content-length": ns("13"),
				"host":           ns("localhost:7071"),
			},
			NullableQuery:  map[string]*rpc.NullableString{"x": ns("1,2")},
			NullableParams: map[string]*rpc.NullableString{"who": ns("world")},
			Identities: []*rpc.RpcClaimsIdentity{{
				NameClaimType: ns(nameClaimType),
				RoleClaimType: ns(roleClaimType),
			}},
			Body: byt([]byte("{\"name\":\"a\"}\n")),
		}}}}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"Query":   js(`{"x":"2"}`),
			"Headers": js(`{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"13"}`),
			"x":       str("2"),
			"who":     str("world"),
			"name":    str("a"),
		},
		TraceContext: &rpc.RpcTraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

// queueRequest44 is the InvocationRequest of protocol.md §4.4.
func queueRequest44() *rpc.InvocationRequest {
	msg := `{"id":7,"kind":"x"}`
	return &rpc.InvocationRequest{
		InvocationId: "inv-2",
		InputData:    []*rpc.ParameterBinding{{Name: "msg", RpcData: &rpc.ParameterBinding_Data{Data: str(msg)}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"QueueTrigger":    str(msg),
			"DequeueCount":    js("1"),
			"ExpirationTime":  js(`"2024-11-01T10:00:00+00:00"`),
			"Id":              str("800ae4b3-7c8e-4b4a-9c1e-2d0f5e6a7b8c"),
			"InsertionTime":   js(`"2024-10-25T10:00:00+00:00"`),
			"NextVisibleTime": js(`"2024-10-25T10:10:00+00:00"`),
			"PopReceipt":      str("AgAAAAMAAAAAAAAA"),
			"id":              str("7"),
			"kind":            str("x"),
		},
	}
}

// timerRequest is what the host sends for a timer trigger: TimerInfo as json.
func timerRequest() *rpc.InvocationRequest {
	info := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-10-25T09:55:00+00:00","Next":"2024-10-25T10:00:00+00:00","LastUpdated":"2024-10-25T09:55:00+00:00"},"IsPastDue":false}`
	return &rpc.InvocationRequest{
		InvocationId: "inv-3",
		InputData:    []*rpc.ParameterBinding{{Name: "tick", RpcData: &rpc.ParameterBinding_Data{Data: js(info)}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"tick": js(info),
		},
	}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %v:\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is invalid JSON %v:\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON differs\n got: %s\nwant: %s", got, compact(want))
	}
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
