package rpcconv

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func ns(s string) *rpc.NullableString {
	return &rpc.NullableString{String_: &rpc.NullableString_Value{Value: s}}
}

// httpRequest is an HTTP trigger as a host with UseNullableValueDictionaryForHttp
// sends it (docs/host-contract.md §4.3).
func httpRequest() *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		InvocationId: "inv-1",
		FunctionId:   "fn-1",
		TraceContext: &rpc.RpcTraceContext{TraceParent: "00-a-b-01", TraceState: "s=1"},
		RetryContext: &rpc.RetryContext{RetryCount: 1, MaxRetryCount: 3, Exception: &rpc.RpcException{Message: "boom"}},
		InputData: []*rpc.ParameterBinding{
			{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
				Method:          "POST",
				Url:             "http://localhost/api/x?b=2&a=1",
				NullableHeaders: map[string]*rpc.NullableString{"x-b": ns("2"), "content-type": ns("text/plain"), "x-null": {}},
				NullableQuery:   map[string]*rpc.NullableString{"b": ns("2"), "a": ns("1")},
				Params:          map[string]string{"who": "ada"},
				Body:            &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte("hi")}},
				Identities: []*rpc.RpcClaimsIdentity{{AuthenticationType: ns("WebJobsAuthLevel"),
					Claims: []*rpc.RpcClaim{{Type: "t", Value: "v"}}}},
			}}}}},
			{Name: "shared", RpcData: &rpc.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpc.RpcSharedMemory{Name: "m"}}},
		},
		TriggerMetadata: map[string]*rpc.TypedData{
			"DequeueCount": {Data: &rpc.TypedData_Int{Int: 2}},
			"Items":        {Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", "b"}}}},
			"Null":         {},
		},
	}
}

func TestRequest(t *testing.T) {
	r := Request(httpRequest())
	if r.InvocationID != "inv-1" || r.FunctionID != "fn-1" || r.TraceParent != "00-a-b-01" || r.TraceState != "s=1" {
		t.Errorf("ids and trace: %+v", r)
	}
	if r.Retry == nil || r.Retry.Count != 1 || r.Retry.MaxCount != 3 || r.Retry.Exception.Message != "boom" {
		t.Errorf("retry: %+v", r.Retry)
	}
	h := r.HTTP()
	if h == nil || h.Method != "POST" || string(h.Body.Bytes) != "hi" || h.Body.Kind != invocation.KindBytes {
		t.Fatalf("http: %+v", h)
	}
	names := func(fs invocation.Fields) (out []string) {
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	if got := names(h.Headers); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"content-type", "x-b", "x-null"}) {
		t.Errorf("headers from the nullable map: %v", got)
	}
	if f, _ := h.Headers.Get("X-NULL"); !f.Null {
		t.Errorf("null header lost: %+v", f)
	}
	if f, ok := h.Params.Get("who"); !ok || f.Value != "ada" {
		t.Errorf("params from the plain map: %+v", h.Params)
	}
	if len(h.Identities) != 1 || *h.Identities[0].AuthenticationType != "WebJobsAuthLevel" || h.Identities[0].NameClaimType != nil {
		t.Errorf("identities: %+v", h.Identities)
	}
	if in, _ := r.Input("shared"); in == nil || in.Unreadable == "" || in.Value != nil {
		t.Errorf("shared-memory input: %+v", in)
	}
	if v, _ := r.Meta("DequeueCount"); v == nil || v.Kind != invocation.KindInt || v.Int != 2 {
		t.Errorf("int metadata: %+v", v)
	}
	if v, _ := r.Meta("Items"); v == nil || v.Len() != 2 {
		t.Errorf("collection metadata: %+v", v)
	}
	if v, _ := r.Meta("Null"); v == nil || v.Kind != invocation.KindNone {
		t.Errorf("null metadata: %+v", v)
	}
	if !slices.IsSortedFunc(r.Metadata, func(a, b invocation.Meta) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("metadata not sorted by name: %+v", r.Metadata)
	}
	if _, ok := r.Meta("Absent"); ok {
		t.Error("Meta found a name that is not there")
	}
}

func TestOutputs(t *testing.T) {
	domain, yes, age := "example.com", true, 60.0
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	outs := Outputs([]invocation.Output{
		{Name: "res", Value: &invocation.Value{Kind: invocation.KindHTTP, Response: &invocation.HTTPResponse{
			StatusCode: "201", Headers: map[string]string{"x": "1"}, Body: invocation.JSONValue(`{"a":1}`),
			Cookies: []invocation.Cookie{{Name: "c", Value: "v", Domain: &domain, Secure: &yes, MaxAge: &age, Expires: exp, SameSite: invocation.SameSiteStrict}},
		}}},
		{Name: "q", Value: invocation.StringValue("msg")},
		{Name: "n", Value: &invocation.Value{Kind: invocation.KindCollectionInt, List: &invocation.List{Ints: []int64{1, 2}}}},
	})
	if len(outs) != 3 {
		t.Fatalf("%d outputs", len(outs))
	}
	h := outs[0].GetData().GetHttp()
	if h.GetStatusCode() != "201" || h.GetHeaders()["x"] != "1" || h.GetBody().GetJson() != `{"a":1}` {
		t.Errorf("http: %v", h)
	}
	c := h.GetCookies()[0]
	if c.GetDomain().GetValue() != domain || !c.GetSecure().GetValue() || c.GetMaxAge().GetValue() != age ||
		!c.GetExpires().GetValue().AsTime().Equal(exp) || c.GetSameSite() != rpc.RpcHttpCookie_Strict || c.GetPath() != nil {
		t.Errorf("cookie: %v", c)
	}
	if outs[1].GetData().GetString_() != "msg" || len(outs[2].GetData().GetCollectionSint64().GetSint64()) != 2 {
		t.Errorf("values: %v %v", outs[1], outs[2])
	}
	if Return(nil) != nil {
		t.Error("no return value must stay nil")
	}
}

// FuzzRequest feeds arbitrary InvocationRequests (as the host could send
// them) through Request: it must not panic, and what it produces must
// describe the message faithfully.
func FuzzRequest(f *testing.F) {
	seed, _ := proto.Marshal(httpRequest())
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req rpc.InvocationRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		r := Request(&req)
		if len(r.Inputs) != len(req.GetInputData()) || len(r.Metadata) != len(req.GetTriggerMetadata()) {
			t.Fatalf("inputs %d/%d, metadata %d/%d", len(r.Inputs), len(req.GetInputData()), len(r.Metadata), len(req.GetTriggerMetadata()))
		}
		for i, in := range r.Inputs {
			if (in.Value == nil) == (in.Unreadable == "") {
				t.Fatalf("input %d: value %v, unreadable %q", i, in.Value, in.Unreadable)
			}
		}
		if h := r.HTTP(); h != nil {
			for _, fs := range []invocation.Fields{h.Headers, h.Query, h.Params} {
				seen := map[string]bool{}
				for _, f := range fs {
					if seen[f.Name] {
						t.Fatalf("field %q twice: %v", f.Name, fs)
					}
					seen[f.Name] = true
				}
			}
		}
	})
}

// FuzzOutputs checks that whatever a guest can produce converts to a
// response that marshals when its text is valid UTF-8.
func FuzzOutputs(f *testing.F) {
	f.Add("res", "201", "x-h", "v", "body", []byte("raw"), int64(7))
	f.Fuzz(func(t *testing.T, name, status, hk, hv, s string, b []byte, n int64) {
		outs := []invocation.Output{
			{Name: name, Value: &invocation.Value{Kind: invocation.KindHTTP, Response: &invocation.HTTPResponse{
				StatusCode: status, Headers: map[string]string{hk: hv}, Body: invocation.BytesValue(b)}}},
			{Name: name + "2", Value: invocation.StringValue(s)},
			{Name: name + "3", Value: &invocation.Value{Kind: invocation.KindInt, Int: n}},
		}
		resp := &rpc.InvocationResponse{OutputData: Outputs(outs), ReturnValue: Return(invocation.StringValue(s))}
		if len(resp.OutputData) != len(outs) {
			t.Fatalf("%d outputs, want %d", len(resp.OutputData), len(outs))
		}
		_, err := proto.Marshal(resp)
		valid := true
		for _, x := range []string{name, status, hk, hv, s} {
			valid = valid && strings.ToValidUTF8(x, "") == x
		}
		if valid && err != nil {
			t.Fatalf("valid outputs do not marshal: %v", err)
		}
	})
}

// TestOutputAllocations: an HTTP output with a text body, the commonest
// output, is converted in two allocations (the binding list with its one
// binding, the HTTP response with its TypedData and its body), as the
// conversion runs for every invocation.
func TestOutputAllocations(t *testing.T) {
	outs := []invocation.Output{{Name: "res", Value: &invocation.Value{Kind: invocation.KindHTTP, Response: &invocation.HTTPResponse{
		StatusCode: "200", Headers: map[string]string{"Content-Type": "text/plain"},
		Body: invocation.StringValue("Hello, world")}}}}
	got := Outputs(outs)
	if h := got[0].GetData().GetHttp(); got[0].GetName() != "res" || h.GetStatusCode() != "200" ||
		h.GetHeaders()["Content-Type"] != "text/plain" || h.GetBody().GetString_() != "Hello, world" {
		t.Fatalf("converted to %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { Outputs(outs) }); n != 2 {
		t.Fatalf("%v allocations, want 2", n)
	}
}

// TestFieldListsApart: the headers, query and params of a request share
// one array, but appending to one list does not change the next.
func TestFieldListsApart(t *testing.T) {
	h := Request(httpRequest()).HTTP()
	query := slices.Clone(h.Query)
	params := slices.Clone(h.Params)
	h.Headers = append(h.Headers, invocation.Field{Name: "x-added", Value: "1"})
	h.Query = append(h.Query, invocation.Field{Name: "added", Value: "1"})
	if !slices.Equal(h.Query[:len(query)], query) || !slices.Equal(h.Params, params) {
		t.Errorf("appending to one list changed another: query %v, params %v", h.Query, h.Params)
	}
}

// TestRequestAllocations: an HTTP trigger with one input (headers, query
// and route parameters, a body, an identity, trigger metadata and a retry
// context) is converted in 7 allocations: the request with room for its
// one input, its values and its metadata list, a collection's list, the
// HTTP request with room for its bodies and its identity, one array for its
// headers, query and params, the identity's claims, the retry context and
// its exception.
func TestRequestAllocations(t *testing.T) {
	req := httpRequest()
	req.InputData = req.InputData[:1]
	r := Request(req)
	if len(r.Inputs) != 1 || r.Inputs[0].Name != "req" || r.Inputs[0].Value.Request.Method != "POST" ||
		*r.Inputs[0].Value.Request.Identities[0].AuthenticationType != "WebJobsAuthLevel" {
		t.Fatalf("converted to %+v", r)
	}
	if n := testing.AllocsPerRun(100, func() { Request(req) }); n != 7 {
		t.Fatalf("%v allocations, want 7", n)
	}
}

// BenchmarkRequest converts the HTTP trigger of httpRequest, as every
// invocation does.
func BenchmarkRequest(b *testing.B) {
	req := httpRequest()
	b.ReportAllocs()
	for b.Loop() {
		if Request(req).HTTP() == nil {
			b.Fatal("no HTTP request")
		}
	}
}

// TestBytesCapped: byte values taken from a decoded message have no room
// beyond their length (their array holds the rest of the message), so an
// append to one copies instead of writing over what follows.
func TestBytesCapped(t *testing.T) {
	backing := []byte("bodyFOLLOWING")
	td := &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: backing[:4]}}
	v := Value(td)
	grown := append(v.Bytes, "XX"...)
	if string(backing) != "bodyFOLLOWING" || string(grown) != "bodyXX" {
		t.Errorf("append wrote into the message: %q, %q", backing, grown)
	}
	coll := &rpc.TypedData{Data: &rpc.TypedData_CollectionBytes{CollectionBytes: &rpc.CollectionBytes{Bytes: [][]byte{backing[:4]}}}}
	if b := Value(coll).BytesList()[0]; cap(b) != len(b) {
		t.Errorf("a collection's element has capacity %d beyond its length %d", cap(b), len(b))
	}
}

// TestIdentities converts more identities than a request has room for.
func TestIdentities(t *testing.T) {
	h := &rpc.RpcHttp{Method: "GET", Identities: []*rpc.RpcClaimsIdentity{
		{AuthenticationType: ns("WebJobsAuthLevel"), Claims: []*rpc.RpcClaim{{Type: "a", Value: "1"}, {Type: "b", Value: "2"}}},
		{NameClaimType: ns("name"), RoleClaimType: ns("role")},
	}}
	got := HTTPRequest(h).Identities
	if len(got) != 2 || *got[0].AuthenticationType != "WebJobsAuthLevel" || got[0].NameClaimType != nil ||
		len(got[0].Claims) != 2 || got[0].Claims[1] != (invocation.Claim{Type: "b", Value: "2"}) ||
		got[1].AuthenticationType != nil || *got[1].NameClaimType != "name" || *got[1].RoleClaimType != "role" || got[1].Claims != nil {
		t.Errorf("identities: %+v", got)
	}
}
