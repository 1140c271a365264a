package wire

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// messages are host messages of each kind the worker reads, with the
// field shapes the host fills: maps, oneofs, nested and repeated messages,
// bytes, a well-known type, enums.
func messages() []*rpc.StreamingMessage {
	str := func(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}} }
	httpReq := &rpc.RpcHttp{
		Method:  "POST",
		Url:     "http://localhost:7071/api/hello?name=x",
		Headers: map[string]string{"Host": "localhost:7071", "Content-Type": "application/json", "X-Empty": ""},
		Query:   map[string]string{"name": "x"},
		Params:  map[string]string{"id": "42"},
		Body:    &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte{0, 1, 2, 0xff}}},
		RawBody: &rpc.TypedData{Data: &rpc.TypedData_String_{String_: "{\"a\":1}"}},
		Cookies: []*rpc.RpcHttpCookie{{Name: "c", Value: "v"}},
	}
	return []*rpc.StreamingMessage{
		{RequestId: "init", Content: &rpc.StreamingMessage_WorkerInitRequest{WorkerInitRequest: &rpc.WorkerInitRequest{
			HostVersion: "4.1040.0", Capabilities: map[string]string{"RpcHttpBodyOnly": "true"},
			LogCategories: map[string]rpc.RpcLog_Level{"Host.Function": rpc.RpcLog_Debug}, FunctionAppDirectory: "/home/site/wwwroot",
		}}},
		{RequestId: "load", Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: &rpc.FunctionLoadRequest{
			FunctionId: "f1", Metadata: &rpc.RpcFunctionMetadata{Name: "Hello", Directory: "/app/Hello", ScriptFile: "hello.wasm",
				Bindings:   map[string]*rpc.BindingInfo{"req": {Type: "httpTrigger", Direction: rpc.BindingInfo_in, DataType: rpc.BindingInfo_binary}},
				Properties: map[string]string{"worker.functionId": "f1"}, RawBindings: []string{`{"type":"httpTrigger"}`}},
		}}},
		{RequestId: "inv", Content: &rpc.StreamingMessage_InvocationRequest{InvocationRequest: &rpc.InvocationRequest{
			InvocationId: "0b5c1f0e-7d43-4f0f-9a8e-2c7b1d1f5a11", FunctionId: "f1",
			InputData: []*rpc.ParameterBinding{
				{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: httpReq}}}},
				{Name: "blob", RpcData: &rpc.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpc.RpcSharedMemory{Name: "m", Count: 9, Type: rpc.RpcDataType_bytes}}},
				{Name: "list", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", "b"}}}}}},
			},
			TriggerMetadata: map[string]*rpc.TypedData{"sys": {Data: &rpc.TypedData_Json{Json: `{"MethodName":"Hello"}`}}, "Query": str(`{"name":"x"}`)},
			TraceContext:    &rpc.RpcTraceContext{TraceParent: "00-abc-def-01", Attributes: map[string]string{"k": "v"}},
			RetryContext:    &rpc.RetryContext{RetryCount: 1, MaxRetryCount: 3},
		}}},
		{RequestId: "cancel", Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{
			InvocationId: "0b5c1f0e", GracePeriod: durationpb.New(1500_000_000)}}},
		{RequestId: "meta", Content: &rpc.StreamingMessage_FunctionsMetadataRequest{FunctionsMetadataRequest: &rpc.FunctionsMetadataRequest{FunctionAppDirectory: "/app"}}},
		{RequestId: "reload", Content: &rpc.StreamingMessage_FunctionEnvironmentReloadRequest{FunctionEnvironmentReloadRequest: &rpc.FunctionEnvironmentReloadRequest{
			EnvironmentVariables: map[string]string{"A": "1"}, FunctionAppDirectory: "/app"}}},
		{RequestId: "terminate", Content: &rpc.StreamingMessage_WorkerTerminate{WorkerTerminate: &rpc.WorkerTerminate{GracePeriod: durationpb.New(5_000_000_000)}}},
	}
}

// split cuts data into pieces of at most n bytes, as gRPC hands a message
// read in several frames.
func split(data []byte, n int) mem.BufferSlice {
	var s mem.BufferSlice
	for len(data) > 0 {
		k := min(n, len(data))
		s = append(s, mem.SliceBuffer(bytes.Clone(data[:k])))
		data = data[k:]
	}
	return s
}

// TestDecodedOutlivesFrames: a decoded message shares no bytes with the
// frames it was read from (gRPC reuses them once Unmarshal returns), so
// overwriting them changes nothing in it.
func TestDecodedOutlivesFrames(t *testing.T) {
	for i, msg := range messages() {
		data, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		frames := split(data, 7)
		if i%2 == 0 {
			frames = split(data, len(data)) // one frame
		}
		var got rpc.StreamingMessage
		if err := (Codec{}).Unmarshal(frames, &got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		for _, f := range frames {
			b := f.ReadOnlyData()
			for j := range b {
				b[j] = 'x'
			}
		}
		if !proto.Equal(&got, msg) {
			t.Errorf("message %d changed when its frames were overwritten", i)
		}
	}
}

// TestDecodesAsTheRuntimeDoes: every message, whole or in pieces, decodes
// to what the protobuf runtime decodes.
func TestDecodesAsTheRuntimeDoes(t *testing.T) {
	for _, m := range messages() {
		data, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []int{len(data), 7, 1} {
			var got rpc.StreamingMessage
			if err := (Codec{}).Unmarshal(split(data, piece), &got); err != nil {
				t.Fatalf("%s in pieces of %d: %v", m.GetRequestId(), piece, err)
			}
			if !proto.Equal(m, &got) {
				t.Errorf("%s in pieces of %d: decoded\n%v\nwant\n%v", m.GetRequestId(), piece, &got, m)
			}
		}
	}
}

// TestUnknownFieldsKept: a field this worker's .proto lacks (a newer host)
// is kept, as the runtime keeps it.
func TestUnknownFieldsKept(t *testing.T) {
	data, _ := proto.Marshal(messages()[2])
	data = append(data, 0xf8, 0x3e, 0x01) // field 999, varint 1
	var want, got rpc.StreamingMessage
	if err := proto.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := (Codec{}).Unmarshal(split(data, len(data)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.ProtoReflect().GetUnknown()) != 3 || !proto.Equal(&want, &got) {
		t.Fatalf("unknown fields: got %x, want %x", got.ProtoReflect().GetUnknown(), want.ProtoReflect().GetUnknown())
	}
}

// TestInvalidUTF8: a request string that is not UTF-8 is read (the runtime
// refuses the whole message, which would end the stream), while a message
// to send with one is refused, so that the sender can replace it.
func TestInvalidUTF8(t *testing.T) {
	bad := "caf\xe9"
	// Encode by hand what a peer could send: StreamingMessage.request_id (1).
	data := append([]byte{0x0a, byte(len(bad))}, bad...)
	var runtime rpc.StreamingMessage
	if err := proto.Unmarshal(data, &runtime); err == nil {
		t.Fatal("the protobuf runtime read invalid UTF-8; this test's premise is gone")
	}
	var got rpc.StreamingMessage
	if err := (Codec{}).Unmarshal(split(data, len(data)), &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.GetRequestId() != bad {
		t.Fatalf("request id %q, want %q", got.GetRequestId(), bad)
	}
	_, err := (Codec{}).Marshal(&got)
	if err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("encoding invalid UTF-8: err = %v, want a refusal naming UTF-8", err)
	}
}

// TestTruncatedMessageFails: a message cut short is an error, not a
// partial message.
func TestTruncatedMessageFails(t *testing.T) {
	data, _ := proto.Marshal(messages()[2])
	for _, n := range []int{1, len(data) / 2, len(data) - 1} {
		var got rpc.StreamingMessage
		if err := (Codec{}).Unmarshal(split(data[:n], n), &got); err == nil {
			t.Errorf("%d of %d bytes decoded without error", n, len(data))
		}
	}
}

// FuzzUnmarshal: any bytes decode without a panic; and a message as a
// protobuf writer encodes it (the host's is one) decodes to what the
// protobuf runtime reads. On malformed input (a map entry with unknown
// fields, a field with another wire type) the generated decoder may read
// otherwise than the runtime, or fail where the runtime succeeds and then
// leave the runtime the last word; no host sends such input.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range messages() {
		data, _ := proto.Marshal(m)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var any rpc.StreamingMessage
		_ = (Codec{}).Unmarshal(split(data, max(len(data), 1)), &any)

		var want rpc.StreamingMessage
		if proto.Unmarshal(data, &want) != nil {
			return
		}
		wire, err := proto.Marshal(&want)
		if err != nil {
			t.Fatalf("re-encode %v: %v", &want, err)
		}
		var got rpc.StreamingMessage
		if err := (Codec{}).Unmarshal(split(wire, max(len(wire), 1)), &got); err != nil {
			t.Fatalf("the runtime reads %x, the codec fails: %v", wire, err)
		}
		canonicalUnknown(want.ProtoReflect())
		canonicalUnknown(got.ProtoReflect())
		if !proto.Equal(&want, &got) {
			t.Fatalf("%x: codec read\n%v\nruntime read\n%v", wire, &got, &want)
		}
	})
}

// canonicalUnknown rewrites the unknown fields of m and of every message
// in it with minimal tags: the runtime shortens a tag written in more bytes
// than needed, the generated decoder keeps it as it came, and both mean the
// same field. Unknown fields of well-known types (a Duration) are dropped:
// vtprotobuf's decoders for them skip such fields, which no peer sends.
func canonicalUnknown(m protoreflect.Message) {
	if m.Descriptor().FullName().Parent() == "google.protobuf" {
		m.SetUnknown(nil)
	}
	if u := m.GetUnknown(); len(u) > 0 {
		var out []byte
		for len(u) > 0 {
			num, typ, n := protowire.ConsumeTag(u)
			if n < 0 {
				return // left as it is: both sides keep what they cannot parse
			}
			v := protowire.ConsumeFieldValue(num, typ, u[n:])
			if v < 0 {
				return
			}
			out = protowire.AppendTag(out, num, typ)
			out = append(out, u[n:n+v]...)
			u = u[n+v:]
		}
		m.SetUnknown(out)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					canonicalUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len(); i++ {
					canonicalUnknown(v.List().Get(i).Message())
				}
			}
		case fd.Message() != nil:
			canonicalUnknown(v.Message())
		}
		return true
	})
}

func benchData(b *testing.B) []byte {
	data, err := proto.Marshal(messages()[2])
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkUnmarshal/BenchmarkUnmarshalRuntime: an HTTP InvocationRequest
// through the codec and through gRPC's own.
func BenchmarkUnmarshal(b *testing.B) {
	data := split(benchData(b), 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		var m rpc.StreamingMessage
		if err := (Codec{}).Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalRuntime(b *testing.B) {
	data := split(benchData(b), 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		var m rpc.StreamingMessage
		if err := runtimeCodec.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// nested returns a TypedData nested depth times through RpcHttp.body
// (TypedData.http holds an RpcHttp, whose body is a TypedData), encoded by
// hand: the sizes from the innermost out, then the bytes from the outside
// in.
func nested(depth int) []byte {
	httpField := (&rpc.TypedData{}).ProtoReflect().Descriptor().Fields().ByName("http").Number()
	bodyField := (&rpc.RpcHttp{}).ProtoReflect().Descriptor().Fields().ByName("body").Number()
	td := make([]int, depth+1)   // td[k]: the size of the TypedData k levels deep, td[0] = 0
	body := make([]int, depth+1) // body[k]: the size of the RpcHttp in it
	for k := 1; k <= depth; k++ {
		body[k] = protowire.SizeTag(bodyField) + protowire.SizeBytes(td[k-1])
		td[k] = protowire.SizeTag(httpField) + protowire.SizeBytes(body[k])
	}
	b := make([]byte, 0, td[depth])
	for k := depth; k >= 1; k-- {
		b = protowire.AppendTag(b, httpField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(body[k]))
		b = protowire.AppendTag(b, bodyField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(td[k-1]))
	}
	return b
}

// TestNestingIsBounded: a message nested deeper than the runtime allows
// is refused with an error (the generated decoder has no limit and grows
// its stack by about 1 KiB per level: a message of the largest size the
// worker accepts could nest deep enough to exhaust it);
// one nested less deeply, within MaxGenerated, is read.
func TestNestingIsBounded(t *testing.T) {
	deep := nested(20_000)
	if len(deep) <= MaxGenerated {
		t.Fatalf("a message of %d bytes does not exceed MaxGenerated", len(deep))
	}
	var got rpc.TypedData
	if err := (Codec{}).Unmarshal(split(deep, len(deep)), &got); err == nil {
		t.Fatal("a message nested 20,000 deep was read")
	}
	shallow := nested(1_000)
	if len(shallow) > MaxGenerated {
		t.Fatalf("a message of %d bytes exceeds MaxGenerated", len(shallow))
	}
	var ok rpc.TypedData
	if err := (Codec{}).Unmarshal(split(shallow, len(shallow)), &ok); err != nil {
		t.Fatal(err)
	}
	depth := 0
	for d := &ok; d.GetHttp() != nil; d = d.GetHttp().GetBody() {
		depth++
	}
	if depth != 1_000 {
		t.Fatalf("read %d levels, want 1000", depth)
	}
}
