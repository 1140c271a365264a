package abi

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/invocation"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"google.golang.org/protobuf/proto"
)

func tdString(s string) *rpc.TypedData {
	return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}}
}
func tdJSON(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: s}} }
func tdBytes(b string) *rpc.TypedData {
	return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte(b)}}
}
func ns(s string) *rpc.NullableString {
	return &rpc.NullableString{String_: &rpc.NullableString_Value{Value: s}}
}

// httpRequest is an HTTP-trigger InvocationRequest shaped like docs/host-contract.md
// abi/SPEC.md §4.3 (node's capability set: nullable maps, bytes body).
func httpRequest() *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		InvocationId: "6f1c0000-0000-4000-8000-000000000001",
		FunctionId:   "fn-1",
		InputData: []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
			Method:          "POST",
			Url:             "http://localhost:7071/api/hello/world?x=1&x=2",
			NullableHeaders: map[string]*rpc.NullableString{"content-type": ns("application/json"), "host": ns("localhost:7071"), "x-empty": ns("")},
			NullableQuery:   map[string]*rpc.NullableString{"x": ns("1,2"), "Name": ns("Azure")},
			NullableParams:  map[string]*rpc.NullableString{"who": ns("world")},
			Body:            tdBytes(`{"name":"a"}` + "\n"),
		}}}}}},
		TriggerMetadata: map[string]*rpc.TypedData{"who": tdString("world"), "Query": tdJSON(`{"x":"2"}`)},
		TraceContext:    &rpc.RpcTraceContext{TraceParent: "00-abc-def-01", TraceState: "k=v"},
	}
}

var httpBindings = []invocation.Binding{
	{Name: "req", Type: "httpTrigger", Direction: "in"},
	{Name: "res", Type: "http", Direction: "out"},
	{Name: "out", Type: "queue", Direction: "out"},
}

// bytesOf renders a value as the guest would receive it.
func bytesOf(v value) []byte {
	switch v.typ {
	case TypeInt, TypeDouble:
		return binary.LittleEndian.AppendUint64(nil, v.n)
	}
	if v.isStr {
		return []byte(v.s)
	}
	return v.b
}

func TestCodecReadHTTP(t *testing.T) {
	inv := newInv(httpRequest(), httpBindings)
	cases := []struct {
		src  Source
		name string
		typ  Type
		want string
		code int32
	}{
		{SourceInput, "req", TypeHTTP, "", 0},
		{SourceInput, "nope", 0, "", ErrNotFound},
		{SourceHTTP, "method", TypeString, "POST", 0},
		{SourceHTTP, "url", TypeString, "http://localhost:7071/api/hello/world?x=1&x=2", 0},
		{SourceHTTP, "body", TypeBytes, `{"name":"a"}` + "\n", 0},
		{SourceHTTP, "raw_body", 0, "", ErrNotFound},
		{SourceHTTP, "bogus", 0, "", ErrBadSource},
		{SourceHTTPHeader, "Content-Type", TypeString, "application/json", 0}, // case-insensitive
		{SourceHTTPHeader, "x-empty", TypeString, "", 0},                      // nullable keeps empty values
		{SourceHTTPHeader, "missing", 0, "", ErrNotFound},
		{SourceHTTPQuery, "x", TypeString, "1,2", 0},
		{SourceHTTPQuery, "name", TypeString, "Azure", 0}, // fallback to case-insensitive
		{SourceHTTPParam, "who", TypeString, "world", 0},
		{SourceMetadata, "Query", TypeJSON, `{"x":"2"}`, 0},
		{SourceContext, "invocation_id", TypeString, "6f1c0000-0000-4000-8000-000000000001", 0},
		{SourceContext, "function_id", TypeString, "fn-1", 0},
		{SourceContext, "trace_parent", TypeString, "00-abc-def-01", 0},
		{SourceContext, "trace_state", TypeString, "k=v", 0},
		{SourceContext, "retry_count", 0, "", ErrNotFound},
		{SourceContext, "bogus", 0, "", ErrBadSource},
		{Source(99), "x", 0, "", ErrBadSource},
	}
	for _, c := range cases {
		v, code := inv.get(c.src, []byte(c.name))
		if code != c.code {
			t.Errorf("get(%d, %q): code %d, want %d", c.src, c.name, code, c.code)
			continue
		}
		if code == 0 && (v.typ != c.typ || string(bytesOf(v)) != c.want) {
			t.Errorf("get(%d, %q) = %v %q, want %v %q", c.src, c.name, v.typ, bytesOf(v), c.typ, c.want)
		}
	}
	// Plain maps are used when the host sends no nullable ones.
	req := httpRequest()
	h := req.InputData[0].GetData().GetHttp()
	h.NullableHeaders, h.Headers = nil, map[string]string{"accept": "text/html"}
	if v, code := newInv(req, nil).get(SourceHTTPHeader, []byte("Accept")); code != 0 || v.s != "text/html" {
		t.Errorf("plain header: %q %d", v.s, code)
	}
}

func TestCodecKeys(t *testing.T) {
	inv := newInv(httpRequest(), httpBindings)
	keys := func(src Source) (out []string, code int32) {
		for i := 0; ; i++ {
			v, c := inv.getKey(src, i)
			if c == ErrNotFound {
				return out, 0
			}
			if c != 0 {
				return out, c
			}
			out = append(out, v.s)
		}
	}
	for _, c := range []struct {
		src  Source
		want string
	}{
		{SourceInput, "req"},
		{SourceMetadata, "Query,who"},
		{SourceHTTPHeader, "content-type,host,x-empty"},
		{SourceHTTPQuery, "Name,x"},
		{SourceHTTPParam, "who"},
	} {
		got, code := keys(c.src)
		if code != 0 || strings.Join(got, ",") != c.want {
			t.Errorf("keys(%d) = %v (code %d), want %s", c.src, got, code, c.want)
		}
	}
	if _, code := inv.getKey(SourceContext, 0); code != ErrBadSource {
		t.Errorf("keys of CONTEXT: code %d", code)
	}
	if _, code := newInv(&rpc.InvocationRequest{}, nil).getKey(SourceHTTPHeader, 0); code != ErrNoHTTP {
		t.Errorf("headers without a request: code %d", code)
	}
}

func TestCodecReadTypes(t *testing.T) {
	req := &rpc.InvocationRequest{
		InputData: []*rpc.ParameterBinding{
			{Name: "null", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{}}},
			{Name: "int", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Int{Int: -5}}}},
			{Name: "dbl", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Double{Double: 2.5}}}},
			{Name: "stream", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Stream{Stream: []byte{1, 2}}}}},
			{Name: "cs", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", "bc", ""}}}}}},
			{Name: "cb", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionBytes{CollectionBytes: &rpc.CollectionBytes{Bytes: [][]byte{{9}}}}}}},
			{Name: "cd", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionDouble{CollectionDouble: &rpc.CollectionDouble{Double: []float64{1.5, -1}}}}}},
			{Name: "ci", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionSint64{CollectionSint64: &rpc.CollectionSInt64{Sint64: []int64{7}}}}}},
			{Name: "mbd", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_ModelBindingData{ModelBindingData: &rpc.ModelBindingData{}}}}},
			{Name: "shm", RpcData: &rpc.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpc.RpcSharedMemory{Name: "m"}}},
		},
		RetryContext: &rpc.RetryContext{RetryCount: 2, MaxRetryCount: 5},
	}
	inv := newInv(req, nil)
	get := func(name string) (value, int32) { return inv.get(SourceInput, []byte(name)) }

	if v, code := get("null"); code != 0 || v.typ != TypeNone || v.length() != 0 {
		t.Errorf("null: %+v %d", v, code)
	}
	if v, _ := get("int"); v.typ != TypeInt || int64(v.n) != -5 || v.length() != 8 {
		t.Errorf("int: %+v", v)
	}
	if v, _ := get("dbl"); v.typ != TypeDouble || math.Float64frombits(v.n) != 2.5 {
		t.Errorf("double: %+v", v)
	}
	if v, _ := get("stream"); v.typ != TypeStream || string(v.b) != "\x01\x02" {
		t.Errorf("stream: %+v", v)
	}
	for name, want := range map[string]struct {
		typ   Type
		count int
		elem  Type
		first string
	}{
		"cs": {TypeCollectionString, 3, TypeString, "a"},
		"cb": {TypeCollectionBytes, 1, TypeBytes, "\x09"},
		"cd": {TypeCollectionDouble, 2, TypeDouble, string(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5)))},
		"ci": {TypeCollectionInt, 1, TypeInt, string(binary.LittleEndian.AppendUint64(nil, 7))},
	} {
		v, code := get(name)
		if code != 0 || v.typ != want.typ || v.length() != want.count {
			t.Errorf("%s: %+v %d", name, v, code)
		}
		it, code := inv.getItem(SourceInput, []byte(name), 0)
		if code != 0 || it.typ != want.elem || string(bytesOf(it)) != want.first {
			t.Errorf("%s[0]: %+v %d", name, it, code)
		}
		if _, code := inv.getItem(SourceInput, []byte(name), want.count); code != ErrNotFound {
			t.Errorf("%s[end]: code %d", name, code)
		}
		if _, code := inv.getItem(SourceInput, []byte(name), -1); code != ErrNotFound {
			t.Errorf("%s[-1]: code %d", name, code)
		}
	}
	// An empty entry of a batch (IncludeEmptyEntriesInMessagePayload) is
	// an empty string, not a missing item.
	if it, code := inv.getItem(SourceInput, []byte("cs"), 2); code != 0 || it.typ != TypeString || it.length() != 0 {
		t.Errorf("cs[2], an empty entry: %+v %d", it, code)
	}
	if _, code := inv.getItem(SourceInput, []byte("int"), 0); code != ErrBadType {
		t.Errorf("item of a non-collection: code %d", code)
	}
	if _, code := get("mbd"); code != ErrUnsupported {
		t.Errorf("model binding data: code %d", code)
	}
	if _, code := get("shm"); code != ErrUnsupported {
		t.Errorf("shared memory: code %d", code)
	}
	if v, code := inv.get(SourceContext, []byte("max_retry_count")); code != 0 || v.typ != TypeInt || v.n != 5 {
		t.Errorf("max_retry_count: %+v %d", v, code)
	}
	if _, code := inv.get(SourceHTTP, []byte("method")); code != ErrNoHTTP {
		t.Errorf("http without a request: code %d", code)
	}
}

func TestCodecOutputs(t *testing.T) {
	bindings := []invocation.Binding{
		{Name: "msg", Type: "queueTrigger", Direction: "in"},
		{Name: "out", Type: "queue", Direction: "out"},
		{Name: "doc", Type: "blob", Direction: "inout"},
		{Name: "$return", Type: "queue", Direction: "out"},
	}
	inv := newInv(&rpc.InvocationRequest{InvocationId: "i"}, bindings)
	le := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	for _, c := range []struct {
		name string
		typ  Type
		data []byte
		code int32
	}{
		{"out", TypeString, []byte("first"), 0},
		{"out", TypeString, []byte("second"), 0}, // replaces
		{"doc", TypeBytes, []byte{0, 1}, 0},
		{"$return", TypeJSON, []byte(`{"a":[1,2]}`), 0},
		{"msg", TypeString, []byte("x"), ErrNotOutput},
		{"missing", TypeString, []byte("x"), ErrNotOutput},
		{"out", TypeJSON, []byte(`{"a":`), ErrBadJSON},
		{"out", TypeString, []byte{0xff}, ErrBadUTF8},
		{"out", TypeHTTP, nil, ErrBadType},
		{"out", TypeCollectionString, nil, ErrBadType},
		{"out", TypeNone, nil, ErrBadType},
		{"out", TypeInt, []byte{1, 2}, ErrBadValue},
	} {
		if code := inv.setOutput([]byte(c.name), c.typ, c.data); code != c.code {
			t.Errorf("setOutput(%q, %v, %q) = %d, want %d", c.name, c.typ, c.data, code, c.code)
		}
	}
	inv.finish(0, nil)
	outs, ret, _, err := rpcResult(inv)
	if err != nil {
		t.Fatal(err)
	}
	want := []*rpc.ParameterBinding{
		{Name: "out", RpcData: &rpc.ParameterBinding_Data{Data: tdString("second")}},
		{Name: "doc", RpcData: &rpc.ParameterBinding_Data{Data: tdBytes("\x00\x01")}},
	}
	if len(outs) != len(want) {
		t.Fatalf("outputs %v", outs)
	}
	for i := range want {
		if !proto.Equal(outs[i], want[i]) {
			t.Errorf("output %d = %v, want %v", i, outs[i], want[i])
		}
	}
	if !proto.Equal(ret, tdJSON(`{"a":[1,2]}`)) {
		t.Errorf("return value %v", ret)
	}

	// Numbers.
	inv = newInv(&rpc.InvocationRequest{}, bindings)
	inv.setOutput([]byte("out"), TypeInt, le(uint64(1<<63|5)))
	inv.setOutput([]byte("doc"), TypeDouble, le(math.Float64bits(-0.25)))
	inv.finish(0, nil)
	outs, _, _, _ = rpcResult(inv)
	if outs[0].GetData().GetInt() != -(1<<63)+5 || outs[1].GetData().GetDouble() != -0.25 {
		t.Errorf("numbers: %v", outs)
	}

	// $return is refused without a $return binding.
	inv = newInv(&rpc.InvocationRequest{}, bindings[:2])
	if code := inv.setOutput([]byte("$return"), TypeString, []byte("x")); code != ErrNotOutput {
		t.Errorf("$return without binding: %d", code)
	}
}

func TestCodecHTTPResponse(t *testing.T) {
	inv := newInv(httpRequest(), httpBindings)
	steps := []struct {
		name string
		code int32
	}{
		{"status", inv.httpStatus(201)},
		{"bad status", inv.httpStatus(42)},
		{"header", inv.httpHeader([]byte("Content-Type"), []byte("text/plain"))},
		{"vary 1", inv.httpHeader([]byte("Vary"), []byte("a"))},
		{"vary 2", inv.httpHeader([]byte("vary"), []byte("b"))},
		{"bad name", inv.httpHeader([]byte("bad name"), []byte("x"))},
		{"empty name", inv.httpHeader(nil, []byte("x"))},
		{"crlf", inv.httpHeader([]byte("x"), []byte("a\r\nb: c"))},
		{"bad utf8", inv.httpHeader([]byte("x"), []byte{0xff})},
		{"cookie", inv.httpCookie([]byte("session=abc; Path=/; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"))},
		{"cookie expires", inv.httpCookie([]byte("old=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=0; SameSite=None"))},
		{"bad cookie", inv.httpCookie([]byte("=nope"))},
		{"body bad type", inv.httpBody(TypeInt, []byte("12345678"))},
		{"body", inv.httpBody(TypeString, []byte("hello"))},
	}
	want := []int32{0, ErrBadValue, 0, 0, 0, ErrBadValue, ErrBadValue, ErrBadValue, ErrBadUTF8, 0, 0, ErrBadValue, ErrBadType, 0}
	for i, s := range steps {
		if s.code != want[i] {
			t.Errorf("%s: code %d, want %d", s.name, s.code, want[i])
		}
	}
	inv.finish(0, nil)
	outs, ret, _, err := rpcResult(inv)
	if err != nil || ret != nil || len(outs) != 1 || outs[0].Name != "res" {
		t.Fatalf("result: %v %v %v", outs, ret, err)
	}
	r := outs[0].GetData().GetHttp()
	if r.StatusCode != "201" || r.Headers["content-type"] != "text/plain" || r.Headers["vary"] != "a, b" || len(r.Headers) != 2 {
		t.Errorf("response: status %q headers %v", r.StatusCode, r.Headers)
	}
	if r.Body.GetString_() != "hello" {
		t.Errorf("body %v", r.Body)
	}
	if len(r.Cookies) != 2 {
		t.Fatalf("cookies %v", r.Cookies)
	}
	c := r.Cookies[0]
	if c.Name != "session" || c.Value != "abc" || c.Path.GetValue() != "/" || c.Domain.GetValue() != "example.com" ||
		c.MaxAge.GetValue() != 3600 || !c.HttpOnly.GetValue() || !c.Secure.GetValue() || c.SameSite != rpc.RpcHttpCookie_Strict {
		t.Errorf("cookie 0: %v", c)
	}
	c = r.Cookies[1]
	if c.Expires.GetValue().AsTime().Year() != 2015 || c.MaxAge == nil || c.MaxAge.GetValue() != 0 || c.SameSite != rpc.RpcHttpCookie_ExplicitNone || c.Secure != nil {
		t.Errorf("cookie 1: %v", c)
	}
	// The response proto must marshal (valid UTF-8 everywhere).
	if _, err := proto.Marshal(outs[0]); err != nil {
		t.Error(err)
	}
}

func TestCodecHTTPResponseDefaultsAndReturn(t *testing.T) {
	// A response gets status 200 and a present, empty body; as $return it is
	// the return value.
	inv := newInv(httpRequest(), []invocation.Binding{{Name: "req", Type: "httpTrigger", Direction: "in"}, {Name: "$return", Type: "http", Direction: "out"}})
	if code := inv.httpHeader([]byte("x-a"), []byte("1")); code != 0 {
		t.Fatal(code)
	}
	inv.finish(0, nil)
	outs, ret, _, _ := rpcResult(inv)
	r := ret.GetHttp()
	if len(outs) != 0 || r == nil || r.StatusCode != "200" || r.Body == nil || r.Body.GetData() == nil {
		t.Errorf("outs %v ret %v", outs, ret)
	}
	// set_output on the http binding replaces the response.
	inv = newInv(httpRequest(), httpBindings)
	inv.httpStatus(404)
	if code := inv.setOutput([]byte("res"), TypeJSON, []byte(`{"body":"x"}`)); code != 0 {
		t.Fatal(code)
	}
	inv.finish(0, nil)
	outs, _, _, _ = rpcResult(inv)
	if len(outs) != 1 || outs[0].GetData().GetJson() != `{"body":"x"}` {
		t.Errorf("replaced response: %v", outs)
	}
	// No http output binding.
	inv = newInv(httpRequest(), httpBindings[:1])
	if code := inv.httpStatus(200); code != ErrNoHTTP {
		t.Errorf("no http binding: %d", code)
	}
}

func TestCodecLogsErrorsAndLimits(t *testing.T) {
	inv := newInv(&rpc.InvocationRequest{}, httpBindings)
	if code := inv.log(int32(rpc.RpcLog_Warning), []byte("careful \xff")); code != 0 {
		t.Fatal(code)
	}
	if code := inv.log(9, []byte("x")); code != ErrBadValue {
		t.Errorf("bad level: %d", code)
	}
	long := strings.Repeat("é", MaxMessageBytes) // cut in the middle of a rune
	inv.log(int32(rpc.RpcLog_Information), []byte(long))
	inv.setError([]byte("it broke"))
	inv.finish(3, nil)
	outs, _, logs, err := rpcResult(inv)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Status != 3 || fe.Message != "it broke" || outs != nil {
		t.Errorf("failure: %v %v", err, outs)
	}
	if len(logs) != 2 || logs[0].Message != "careful \uFFFD" || logs[0].Level != rpc.RpcLog_Warning {
		t.Fatalf("logs %v", logs)
	}
	if m := logs[1].Message; !strings.HasSuffix(m, "…") || len(m) > MaxMessageBytes+len("…")+3 || !strings.HasPrefix(m, "éé") {
		t.Errorf("long message: %d bytes", len(m))
	}

	// The default failure message, and the log-count limit.
	inv = newInv(&rpc.InvocationRequest{}, nil)
	for i := 0; i < MaxLogEntries+5; i++ {
		inv.log(2, []byte("x"))
	}
	inv.finish(7, nil)
	_, _, logs, err = rpcResult(inv)
	if err == nil || err.Error() != "function returned status 7" {
		t.Errorf("default message: %v", err)
	}
	if len(logs) != MaxLogEntries+1 || !strings.HasPrefix(logs[len(logs)-1].Message, "5 log messages dropped") {
		t.Errorf("%d logs, last %q", len(logs), logs[len(logs)-1].Message)
	}

	// The output budget.
	inv = newInv(&rpc.InvocationRequest{}, httpBindings)
	big := make([]byte, MaxOutputBytes/2+1)
	if code := inv.setOutput([]byte("out"), TypeBytes, big); code != 0 {
		t.Fatal(code)
	}
	if code := inv.httpBody(TypeBytes, big); code != ErrLimit {
		t.Errorf("over budget: %d", code)
	}

	// Not run yet.
	if _, _, _, err := newInv(&rpc.InvocationRequest{}, nil).Result(); err == nil {
		t.Error("Result before the call gave no error")
	}
}

// TestTinyHeadersAreChargedByCost: a guest adding a header a million times
// (a few bytes each) is stopped by the output budget, charged by what each
// entry costs the worker, and joining the values stays linear.
func TestTinyHeadersAreChargedByCost(t *testing.T) {
	inv := newInv(httpRequest(), httpBindings)
	added := 0
	for range 1_000_000 {
		code := inv.httpHeader([]byte("x-a"), []byte("1"))
		if code == ErrLimit {
			break
		}
		if code != 0 {
			t.Fatalf("http_header: code %d", code)
		}
		added++
	}
	if want := MaxOutputBytes / (len("x-a") + 1 + headerCost); added > want {
		t.Fatalf("%d headers accepted, want at most %d (the budget charged by cost)", added, want)
	}
	for range 10 {
		if code := inv.httpCookie([]byte("a=b")); code != ErrLimit {
			t.Fatalf("cookie after the budget is spent: code %d", code)
		}
	}
	inv.finish(0, nil)
	outs, _, _, err := inv.Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[0].Value.Response.Headers["x-a"]; len(got) != 3*added-2 {
		t.Errorf("joined header of %d bytes, want %d", len(got), 3*added-2)
	}
}

// TestArrayOutputsAreChargedByCost: a JSON array given to an output becomes
// one message per element in the host, so each element is charged
// OutputElementCost besides its bytes; a small array fits, a small file of
// hundreds of thousands of tiny elements does not.
func TestArrayOutputsAreChargedByCost(t *testing.T) {
	array := func(n int) []byte { return []byte("[" + strings.Repeat("0,", n-1) + "0]") }
	inv := newInv(queueRequest(), queueBindings)
	if code := inv.setOutput([]byte("out"), TypeJSON, []byte(`[1,2,3]`)); code != 0 {
		t.Fatalf("a small array: code %d", code)
	}
	fits := MaxOutputBytes/(2+invocation.OutputElementCost) - 100
	if code := inv.setOutput([]byte("out"), TypeJSON, array(fits)); code != 0 {
		t.Fatalf("%d elements (%d bytes charged): code %d", fits, fits*(2+invocation.OutputElementCost), code)
	}
	// 300,000 elements are 600 KB of JSON, charged 77 MB: over 64 MiB.
	if code := inv.setOutput([]byte("$return"), TypeJSON, array(300_000)); code != ErrLimit {
		t.Fatalf("300,000 elements: code %d, want ErrLimit", code)
	}
	// A string that looks like an array is one message.
	inv = newInv(queueRequest(), queueBindings)
	if code := inv.setOutput([]byte("out"), TypeString, array(300_000)); code != 0 {
		t.Fatalf("a string: code %d", code)
	}
}
