package wire

import (
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sent are messages of each kind the worker sends, with the field shapes
// it fills: an HTTP response with headers, cookies and a body, collections,
// a failure with its exception, logs, load and metadata answers.
func sent() []*rpc.StreamingMessage {
	str := func(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
	resp := func(r *rpc.InvocationResponse) *rpc.StreamingMessage {
		return &rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: r}}
	}
	httpOut := &rpc.RpcHttp{
		StatusCode: "200",
		Headers:    map[string]string{"Content-Type": "text/plain", "X-Empty": "", "X-Ünïcode": "värde"},
		Body:       str("Hello, world"),
		Cookies: []*rpc.RpcHttpCookie{{Name: "c", Value: "v",
			Path:    &rpc.NullableString{String_: &rpc.NullableString_Value{Value: "/"}},
			Expires: &rpc.NullableTimestamp{Timestamp: &rpc.NullableTimestamp_Value{Value: timestamppb.New(timestamppb.Now().AsTime())}},
			MaxAge:  &rpc.NullableDouble{Double: &rpc.NullableDouble_Value{Value: 60}}, SameSite: rpc.RpcHttpCookie_Strict}},
	}
	return []*rpc.StreamingMessage{
		resp(&rpc.InvocationResponse{
			InvocationId: "0b5c1f0e-7d43-4f0f-9a8e-2c7b1d1f5a11",
			OutputData: []*rpc.ParameterBinding{
				{Name: "res", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: httpOut}}}},
				{Name: "items", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionString{
					CollectionString: &rpc.CollectionString{String_: []string{"a", "", "ç"}}}}}},
				{Name: "blob", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte{0xff, 0xfe, 0}}}}},
				{Name: "n", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Int{Int: -7}}}},
				{Name: "empty", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{}}},
			},
			ReturnValue: &rpc.TypedData{Data: &rpc.TypedData_Json{Json: `{"ok":true}`}},
			Result:      &rpc.StatusResult{Status: rpc.StatusResult_Success},
		}),
		resp(&rpc.InvocationResponse{InvocationId: "i2", Result: &rpc.StatusResult{Status: rpc.StatusResult_Failure,
			Exception: &rpc.RpcException{Message: "the guest trapped", Source: "Hello", Type: "Trap", IsUserException: true}}}),
		// An empty message in a oneof: the generated size counts a byte
		// more than the generated encoder writes.
		resp(&rpc.InvocationResponse{InvocationId: "i3", ReturnValue: &rpc.TypedData{Data: &rpc.TypedData_Http{}}}),
		{Content: &rpc.StreamingMessage_RpcLog{RpcLog: &rpc.RpcLog{InvocationId: "i1", Level: rpc.RpcLog_Warning, Message: "a line", LogCategory: rpc.RpcLog_User}}},
		{RequestId: "init", Content: &rpc.StreamingMessage_WorkerInitResponse{WorkerInitResponse: &rpc.WorkerInitResponse{
			Capabilities:   map[string]string{"RpcHttpBodyOnly": "true", "TypedDataCollection": "true"},
			WorkerMetadata: &rpc.WorkerMetadata{RuntimeName: "wasm", RuntimeVersion: "1", WorkerVersion: "0.1"},
			Result:         &rpc.StatusResult{Status: rpc.StatusResult_Success}}}},
		{RequestId: "load", Content: &rpc.StreamingMessage_FunctionLoadResponse{FunctionLoadResponse: &rpc.FunctionLoadResponse{
			FunctionId: "f1", Result: &rpc.StatusResult{Status: rpc.StatusResult_Success}}}},
		{RequestId: "meta", Content: &rpc.StreamingMessage_FunctionMetadataResponse{FunctionMetadataResponse: &rpc.FunctionMetadataResponse{
			FunctionMetadataResults: []*rpc.RpcFunctionMetadata{{Name: "Hello", FunctionId: "f1", ScriptFile: "main.wasm",
				RawBindings: []string{`{"type":"httpTrigger","direction":"in","name":"req"}`},
				Bindings:    map[string]*rpc.BindingInfo{"req": {Type: "httpTrigger", Direction: rpc.BindingInfo_in}}}},
			Result: &rpc.StatusResult{Status: rpc.StatusResult_Success}}}},
	}
}

// roundTrip encodes m with the codec and reads the bytes back with the
// protobuf runtime.
func roundTrip(t *testing.T, m *rpc.StreamingMessage) *rpc.StreamingMessage {
	t.Helper()
	data, err := (Codec{}).Marshal(m)
	if err != nil {
		t.Fatalf("encode %v: %v", m, err)
	}
	defer data.Free()
	var got rpc.StreamingMessage
	if err := proto.Unmarshal(data.Materialize(), &got); err != nil {
		t.Fatalf("the runtime cannot read what the codec wrote for %v: %v", m, err)
	}
	return &got
}

// TestEncodesAsTheRuntimeDoes: every message the worker sends, and every
// host message, encodes to bytes the protobuf runtime reads back as the
// same message.
func TestEncodesAsTheRuntimeDoes(t *testing.T) {
	for _, m := range append(sent(), messages()...) {
		if got := roundTrip(t, m); !proto.Equal(m, got) {
			t.Errorf("encoded\n%v\nread back\n%v", m, got)
		}
	}
}

// TestGeneratedEncoderUsed: the messages the worker sends, and every host
// message, are written by the generated encoder (the codec's reason to
// be), not by the runtime fallback, which would pass every other test; a
// message nested deeper than the check looks, or with a string that is not
// UTF-8, is left to the runtime.
func TestGeneratedEncoderUsed(t *testing.T) {
	for i, m := range append(sent(), messages()...) {
		if _, ok := marshalGenerated(m); !ok {
			t.Errorf("message %d went to the runtime: %v", i, m)
		}
	}
	var deep rpc.TypedData
	if err := proto.Unmarshal(nested(maxCheckDepth*2), &deep); err != nil {
		t.Fatal(err)
	}
	if _, ok := marshalGenerated(&deep); ok {
		t.Errorf("a message nested %d deep was written by the generated encoder", maxCheckDepth*2)
	}
	bad := sent()[0]
	bad.GetInvocationResponse().InvocationId = "caf\xe9"
	if _, ok := marshalGenerated(bad); ok {
		t.Error("a string that is not UTF-8 was written by the generated encoder")
	}
}

// TestLargeMessage: a message above gRPC's pooling threshold is written to
// a pooled buffer, and reads back whole.
func TestLargeMessage(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 64<<10/16)
	m := &rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationResponse{InvocationResponse: &rpc.InvocationResponse{
		InvocationId: "big", ReturnValue: &rpc.TypedData{Data: &rpc.TypedData_String_{String_: body}}}}}
	if mem.IsBelowBufferPoolingThreshold(proto.Size(m)) {
		t.Fatalf("a message of %d bytes is below the pooling threshold", proto.Size(m))
	}
	if got := roundTrip(t, m); !proto.Equal(m, got) {
		t.Fatal("a 64 KiB message did not read back whole")
	}
}

// TestDeepMessage: a message nested deeper than the UTF-8 check looks is
// encoded by the runtime, and reads back whole.
func TestDeepMessage(t *testing.T) {
	var m rpc.TypedData
	data := nested(maxCheckDepth * 2)
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	out, err := (Codec{}).Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var got rpc.TypedData
	if err := proto.Unmarshal(out.Materialize(), &got); err != nil || !proto.Equal(&m, &got) {
		t.Fatalf("a message nested %d deep did not read back whole (err %v)", maxCheckDepth*2, err)
	}
}

// TestInvalidUTF8Refused: a string that is not UTF-8 anywhere in a message
// to send, in a nested message, a map key or value or a repeated string,
// makes the codec refuse the message with the runtime's error, as the
// sender's backstop expects (TestInvalidUTF8 covers the top level).
func TestInvalidUTF8Refused(t *testing.T) {
	const bad = "caf\xe9"
	cases := map[string]func(m *rpc.StreamingMessage){
		"invocation id": func(m *rpc.StreamingMessage) { m.GetInvocationResponse().InvocationId = bad },
		"header name": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().OutputData[0].GetData().GetHttp().Headers[bad] = "v"
		},
		"header value": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().OutputData[0].GetData().GetHttp().Headers["X-Bad"] = bad
		},
		"body": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().OutputData[0].GetData().GetHttp().Body = &rpc.TypedData{Data: &rpc.TypedData_String_{String_: bad}}
		},
		"cookie path": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().OutputData[0].GetData().GetHttp().Cookies[0].Path.String_ = &rpc.NullableString_Value{Value: bad}
		},
		"collection element": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().OutputData[1].GetData().GetCollectionString().String_[2] = bad
		},
		"return value": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().ReturnValue = &rpc.TypedData{Data: &rpc.TypedData_Json{Json: bad}}
		},
		"exception": func(m *rpc.StreamingMessage) {
			m.GetInvocationResponse().Result = &rpc.StatusResult{Exception: &rpc.RpcException{Message: bad}}
		},
	}
	for name, spoil := range cases {
		m := sent()[0]
		spoil(m)
		if _, err := (Codec{}).Marshal(m); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s not UTF-8: err = %v, want a refusal naming UTF-8", name, err)
		}
	}
	// Bytes are not strings: any bytes are sent as they are.
	m := sent()[0]
	m.GetInvocationResponse().OutputData[2].GetData().Data = &rpc.TypedData_Bytes{Bytes: []byte(bad)}
	if got := roundTrip(t, m); !proto.Equal(m, got) {
		t.Fatal("a bytes field that is not UTF-8 did not read back")
	}
}

// FuzzMarshal: any message, strings that are not UTF-8 included, is
// encoded by the codec exactly when the runtime encodes it, and what the
// codec writes reads back as the message.
func FuzzMarshal(f *testing.F) {
	for _, m := range append(sent(), messages()...) {
		data, _ := proto.Marshal(m)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxGenerated {
			return
		}
		var m rpc.StreamingMessage
		if m.UnmarshalVTUnsafe(data) != nil { // reads strings that are not UTF-8
			return
		}
		want, runtimeErr := runtimeCodec.Marshal(&m)
		out, err := (Codec{}).Marshal(&m)
		if (err == nil) != (runtimeErr == nil) {
			t.Fatalf("%x: codec error %v, runtime error %v", data, err, runtimeErr)
		}
		if err != nil {
			return
		}
		// Unknown fields are written back as they came; when they are
		// malformed, the runtime's own encoding does not read back either.
		if proto.Unmarshal(want.Materialize(), new(rpc.StreamingMessage)) != nil {
			return
		}
		var got rpc.StreamingMessage
		if err := proto.Unmarshal(out.Materialize(), &got); err != nil {
			t.Fatalf("%x: the runtime cannot read what the codec wrote: %v", data, err)
		}
		canonicalUnknown(m.ProtoReflect())
		canonicalUnknown(got.ProtoReflect())
		if !proto.Equal(&m, &got) {
			t.Fatalf("%x: encoded\n%v\nread back\n%v", data, &m, &got)
		}
	})
}

// BenchmarkMarshal/BenchmarkMarshalRuntime: an HTTP InvocationResponse
// through the codec and through gRPC's own.
func BenchmarkMarshal(b *testing.B) {
	m := sent()[0]
	b.ReportAllocs()
	for b.Loop() {
		data, err := (Codec{}).Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		data.Free()
	}
}

func BenchmarkMarshalRuntime(b *testing.B) {
	m := sent()[0]
	b.ReportAllocs()
	for b.Loop() {
		data, err := runtimeCodec.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		data.Free()
	}
}

// TestTypedNilOneof: a oneof set to a typed nil wrapper, which the
// generated encoder cannot write (it panics), is encoded by the runtime.
func TestTypedNilOneof(t *testing.T) {
	m := &rpc.StreamingMessage{RequestId: "r", Content: (*rpc.StreamingMessage_RpcLog)(nil)}
	want, err := runtimeCodec.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (Codec{}).Marshal(m)
	if err != nil {
		t.Fatalf("the codec refused what the runtime encodes: %v", err)
	}
	if string(got.Materialize()) != string(want.Materialize()) {
		t.Fatalf("codec wrote %x, the runtime %x", got.Materialize(), want.Materialize())
	}
}
