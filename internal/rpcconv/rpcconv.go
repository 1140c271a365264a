// Package rpcconv converts between the host's protocol messages and the
// invocation types guests see (internal/invocation). Its functions are pure:
// they allocate the converted values and share strings and byte slices with
// their input, never copy guest-visible data twice, and do no I/O.
package rpcconv

import (
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// Request converts an InvocationRequest. Inputs that arrived in shared
// memory are marked Unreadable (command mode and ABI guests read values
// from the message only; the worker does not declare shared memory).
func Request(req *rpc.InvocationRequest) *invocation.Request {
	ra := &requestAlloc{r: invocation.Request{
		InvocationID: req.GetInvocationId(),
		FunctionID:   req.GetFunctionId(),
		TraceParent:  req.GetTraceContext().GetTraceParent(),
		TraceState:   req.GetTraceContext().GetTraceState(),
	}}
	r := &ra.r
	in, md := req.GetInputData(), req.GetTriggerMetadata()
	// One allocation holds every value of the request (this runs for every
	// invocation): the request's own when they fit.
	slab := ra.vals[:]
	if n := len(in) + len(md); n > len(slab) {
		slab = make([]invocation.Value, n)
	}
	if len(in) == 1 {
		r.Inputs = ra.in[:]
	} else if len(in) > 1 {
		r.Inputs = make([]invocation.Input, len(in))
	}
	for i, pb := range in {
		r.Inputs[i].Name = pb.GetName()
		if pb.GetRpcSharedMemory() != nil {
			r.Inputs[i].Unreadable = "the value arrived in shared memory"
			continue
		}
		v := &slab[i]
		fill(v, pb.GetData())
		r.Inputs[i].Value = v
	}
	if len(md) > 0 {
		r.Metadata = ra.meta[:0]
		if len(md) > len(ra.meta) {
			r.Metadata = make([]invocation.Meta, 0, len(md))
		}
		i := len(in)
		for k, td := range md {
			v := &slab[i]
			i++
			fill(v, td)
			r.Metadata = append(r.Metadata, invocation.Meta{Name: k, Value: v})
		}
		invocation.SortMeta(r.Metadata)
	}
	if rc := req.GetRetryContext(); rc != nil {
		r.Retry = &invocation.Retry{Count: rc.GetRetryCount(), MaxCount: rc.GetMaxRetryCount()}
		if ex := rc.GetException(); ex != nil {
			r.Retry.Exception = &invocation.Exception{Message: ex.GetMessage(), Source: ex.GetSource(), StackTrace: ex.GetStackTrace()}
		}
	}
	return r
}

// requestAlloc is a Request and room for its input, values and metadata,
// allocated at once: most functions have one input, their trigger, and an
// HTTP request without query parameters has two metadata values, Query
// and Headers.
type requestAlloc struct {
	r    invocation.Request
	in   [1]invocation.Input
	vals [4]invocation.Value
	meta [3]invocation.Meta
}

// Value converts a TypedData the host sent. A nil or empty TypedData is a
// KindNone value.
func Value(td *rpc.TypedData) *invocation.Value {
	v := new(invocation.Value)
	fill(v, td)
	return v
}

// fill sets v to the value of td.
func fill(v *invocation.Value, td *rpc.TypedData) {
	switch d := td.GetData().(type) {
	case *rpc.TypedData_String_:
		v.Kind, v.String = invocation.KindString, d.String_
	case *rpc.TypedData_Json:
		v.Kind, v.String = invocation.KindJSON, d.Json
	case *rpc.TypedData_Bytes:
		v.Kind, v.Bytes = invocation.KindBytes, capped(d.Bytes)
	case *rpc.TypedData_Stream:
		v.Kind, v.Bytes = invocation.KindStream, capped(d.Stream)
	case *rpc.TypedData_Int:
		v.Kind, v.Int = invocation.KindInt, d.Int
	case *rpc.TypedData_Double:
		v.Kind, v.Double = invocation.KindDouble, d.Double
	case *rpc.TypedData_Http:
		v.Kind, v.Request = invocation.KindHTTP, HTTPRequest(d.Http)
	case *rpc.TypedData_CollectionBytes:
		bs := d.CollectionBytes.GetBytes()
		if len(bs) > 0 {
			in := bs
			bs = make([][]byte, len(in)) // capped copies of the slices: the message is not changed
			for i, b := range in {
				bs[i] = capped(b)
			}
		}
		v.Kind, v.List = invocation.KindCollectionBytes, &invocation.List{Bytes: bs}
	case *rpc.TypedData_CollectionString:
		v.Kind, v.List = invocation.KindCollectionString, &invocation.List{Strings: d.CollectionString.GetString_()}
	case *rpc.TypedData_CollectionDouble:
		v.Kind, v.List = invocation.KindCollectionDouble, &invocation.List{Doubles: d.CollectionDouble.GetDouble()}
	case *rpc.TypedData_CollectionSint64:
		v.Kind, v.List = invocation.KindCollectionInt, &invocation.List{Ints: d.CollectionSint64.GetSint64()}
	case *rpc.TypedData_ModelBindingData:
		v.Kind, v.List = invocation.KindModelBinding, &invocation.List{Models: []invocation.ModelBinding{model(d.ModelBindingData)}}
	case *rpc.TypedData_CollectionModelBindingData:
		ms := d.CollectionModelBindingData.GetModelBindingData()
		models := make([]invocation.ModelBinding, len(ms))
		for i, m := range ms {
			models[i] = model(m)
		}
		v.Kind, v.List = invocation.KindCollectionModelBinding, &invocation.List{Models: models}
	default:
		v.Kind = invocation.KindNone
	}
}

func model(m *rpc.ModelBindingData) invocation.ModelBinding {
	return invocation.ModelBinding{Version: m.GetVersion(), Source: m.GetSource(), ContentType: m.GetContentType(), Content: capped(m.GetContent())}
}

// capped returns b with no capacity beyond its length. A decoded message's
// byte fields share one array with the rest of the message
// (internal/protocol/wire), so an append to one that had room would write
// over the fields after it; capped, an append copies instead.
func capped(b []byte) []byte { return b[:len(b):len(b)] }

// HTTPRequest converts the RpcHttp of an HTTP trigger. Of the nullable and
// the plain maps, the nullable one is used when it has entries (the host
// fills one or the other, docs/host-contract.md §3.3).
func HTTPRequest(h *rpc.RpcHttp) *invocation.HTTPRequest {
	ha := &httpRequestAlloc{}
	r := &ha.r
	r.Method, r.URL = h.GetMethod(), h.GetUrl()
	// The headers, query and params share one array.
	nh, nq, np := fieldCount(h.GetNullableHeaders(), h.GetHeaders()), fieldCount(h.GetNullableQuery(), h.GetQuery()), fieldCount(h.GetNullableParams(), h.GetParams())
	if all := nh + nq + np; all > 0 {
		fs := make(invocation.Fields, all)
		r.Headers = fields(fs[:0:nh], h.GetNullableHeaders(), h.GetHeaders())
		r.Query = fields(fs[nh:nh:nh+nq], h.GetNullableQuery(), h.GetQuery())
		r.Params = fields(fs[nh+nq:nh+nq:all], h.GetNullableParams(), h.GetParams())
	}
	if h.Body != nil {
		r.Body = &ha.bodies[0]
		fill(r.Body, h.Body)
	}
	if h.RawBody != nil {
		r.RawBody = &ha.bodies[1]
		fill(r.RawBody, h.RawBody)
	}
	if ids := h.GetIdentities(); len(ids) > 0 {
		// The identities and their nullable strings: the request's own
		// room for one (the host sends one, its key-based identity), else
		// one allocation each.
		r.Identities = ha.ids[:]
		vals := ha.idVals[:]
		if len(ids) > len(ha.ids) {
			r.Identities = make([]invocation.Identity, len(ids))
			vals = make([]string, 3*len(ids))
		}
		for i, id := range ids {
			r.Identities[i] = invocation.Identity{
				AuthenticationType: nullable(id.GetAuthenticationType(), &vals[3*i]),
				NameClaimType:      nullable(id.GetNameClaimType(), &vals[3*i+1]),
				RoleClaimType:      nullable(id.GetRoleClaimType(), &vals[3*i+2]),
			}
			if cs := id.GetClaims(); len(cs) > 0 {
				claims := make([]invocation.Claim, len(cs))
				for j, c := range cs {
					claims[j] = invocation.Claim{Type: c.GetType(), Value: c.GetValue()}
				}
				r.Identities[i].Claims = claims
			}
		}
	}
	return r
}

// httpRequestAlloc is an HTTP request and room for its bodies and one
// identity, allocated at once.
type httpRequestAlloc struct {
	r      invocation.HTTPRequest
	bodies [2]invocation.Value
	ids    [1]invocation.Identity
	idVals [3]string
}

// nullable returns nil for a null s, else to, set to s's value.
func nullable(s *rpc.NullableString, to *string) *string {
	if s.GetString_() == nil {
		return nil
	}
	*to = s.GetValue()
	return to
}

// fieldCount is how many Fields fields makes of one of RpcHttp's map
// pairs.
func fieldCount(nm map[string]*rpc.NullableString, m map[string]string) int {
	if len(nm) > 0 {
		return len(nm)
	}
	return len(m)
}

// fields appends one of RpcHttp's map pairs to fs, which has room for
// fieldCount of them, as Fields (unsorted: sorting costs every invocation,
// and only get_key and the custom-handler JSON need an order, which they
// make themselves); nil when the maps are empty.
func fields(fs invocation.Fields, nm map[string]*rpc.NullableString, m map[string]string) invocation.Fields {
	if len(nm) > 0 {
		for k, v := range nm {
			fs = append(fs, invocation.Field{Name: k, Value: v.GetValue(), Null: v.GetString_() == nil})
		}
	} else if len(m) > 0 {
		for k, v := range m {
			fs = append(fs, invocation.Field{Name: k, Value: v})
		}
	} else {
		return nil
	}
	return fs
}

// TypedData converts a value a guest produced. Kinds a guest cannot produce
// as output (an HTTP request, model bindings) and KindNone become an empty
// TypedData.
func TypedData(v *invocation.Value) *rpc.TypedData {
	if v == nil {
		return &rpc.TypedData{}
	}
	switch v.Kind {
	case invocation.KindString:
		a := &stringAlloc{w: rpc.TypedData_String_{String_: Text(v.String)}}
		a.td.Data = &a.w
		return &a.td
	case invocation.KindJSON:
		a := &jsonAlloc{w: rpc.TypedData_Json{Json: Text(v.String)}}
		a.td.Data = &a.w
		return &a.td
	case invocation.KindBytes:
		return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: v.Bytes}}
	case invocation.KindStream:
		return &rpc.TypedData{Data: &rpc.TypedData_Stream{Stream: v.Bytes}}
	case invocation.KindInt:
		return &rpc.TypedData{Data: &rpc.TypedData_Int{Int: v.Int}}
	case invocation.KindDouble:
		return &rpc.TypedData{Data: &rpc.TypedData_Double{Double: v.Double}}
	case invocation.KindHTTP:
		if v.Response != nil {
			a := &httpAlloc{}
			fillHTTPResponse(&a.h, v.Response, &a.body)
			a.w.Http = &a.h
			a.td.Data = &a.w
			return &a.td
		}
	case invocation.KindCollectionBytes:
		return &rpc.TypedData{Data: &rpc.TypedData_CollectionBytes{CollectionBytes: &rpc.CollectionBytes{Bytes: v.BytesList()}}}
	case invocation.KindCollectionString:
		return &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: texts(v.Strings())}}}
	case invocation.KindCollectionDouble:
		return &rpc.TypedData{Data: &rpc.TypedData_CollectionDouble{CollectionDouble: &rpc.CollectionDouble{Double: v.Doubles()}}}
	case invocation.KindCollectionInt:
		return &rpc.TypedData{Data: &rpc.TypedData_CollectionSint64{CollectionSint64: &rpc.CollectionSInt64{Sint64: v.Ints()}}}
	}
	return &rpc.TypedData{}
}

// The messages of the commonest outputs, each allocated at once with the
// oneof wrapper that holds it (an HTTP response also with its RpcHttp):
// every invocation converts at least one.
type (
	stringAlloc struct {
		td rpc.TypedData
		w  rpc.TypedData_String_
	}
	jsonAlloc struct {
		td rpc.TypedData
		w  rpc.TypedData_Json
	}
	httpAlloc struct {
		td   rpc.TypedData
		w    rpc.TypedData_Http
		h    rpc.RpcHttp
		body stringAlloc // a string body, the commonest
	}
	bindingAlloc struct {
		pb rpc.ParameterBinding
		w  rpc.ParameterBinding_Data
	}
	oneOutput struct {
		pbs [1]*rpc.ParameterBinding
		b   [1]bindingAlloc
	}
)

// fillHTTPResponse sets h, a new RpcHttp, to the HTTP output r; a string
// body goes in body.
func fillHTTPResponse(h *rpc.RpcHttp, r *invocation.HTTPResponse, body *stringAlloc) {
	h.StatusCode, h.Headers = Text(r.StatusCode), r.Headers
	if h.Headers == nil {
		h.Headers = map[string]string{}
	}
	for k, v := range h.Headers {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			h.Headers = textMap(r.Headers)
			break
		}
	}
	switch {
	case r.Body != nil && r.Body.Kind == invocation.KindString:
		body.w.String_ = Text(r.Body.String)
		body.td.Data = &body.w
		h.Body = &body.td
	case r.Body != nil:
		h.Body = TypedData(r.Body)
	}
	if len(r.Cookies) > 0 {
		h.Cookies = make([]*rpc.RpcHttpCookie, len(r.Cookies))
		for i := range r.Cookies {
			h.Cookies[i] = cookie(&r.Cookies[i])
		}
	}
}

func cookie(c *invocation.Cookie) *rpc.RpcHttpCookie {
	rc := &rpc.RpcHttpCookie{Name: Text(c.Name), Value: Text(c.Value)}
	if c.Domain != nil {
		rc.Domain = &rpc.NullableString{String_: &rpc.NullableString_Value{Value: Text(*c.Domain)}}
	}
	if c.Path != nil {
		rc.Path = &rpc.NullableString{String_: &rpc.NullableString_Value{Value: Text(*c.Path)}}
	}
	if !c.Expires.IsZero() {
		rc.Expires = &rpc.NullableTimestamp{Timestamp: &rpc.NullableTimestamp_Value{Value: timestamppb.New(c.Expires)}}
	}
	if c.Secure != nil {
		rc.Secure = &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: *c.Secure}}
	}
	if c.HTTPOnly != nil {
		rc.HttpOnly = &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: *c.HTTPOnly}}
	}
	if c.MaxAge != nil {
		rc.MaxAge = &rpc.NullableDouble{Double: &rpc.NullableDouble_Value{Value: *c.MaxAge}}
	}
	switch c.SameSite {
	case invocation.SameSiteLax:
		rc.SameSite = rpc.RpcHttpCookie_Lax
	case invocation.SameSiteStrict:
		rc.SameSite = rpc.RpcHttpCookie_Strict
	case invocation.SameSiteNone:
		rc.SameSite = rpc.RpcHttpCookie_ExplicitNone
	}
	return rc
}

// Outputs converts a guest's output bindings.
func Outputs(outs []invocation.Output) []*rpc.ParameterBinding {
	if len(outs) == 0 {
		return nil
	}
	var pbs []*rpc.ParameterBinding
	var slab []bindingAlloc
	if len(outs) == 1 { // the commonest: one allocation for both
		a := new(oneOutput)
		pbs, slab = a.pbs[:], a.b[:]
	} else {
		pbs = make([]*rpc.ParameterBinding, len(outs))
		slab = make([]bindingAlloc, len(outs))
	}
	for i, o := range outs {
		a := &slab[i]
		a.w.Data = TypedData(o.Value)
		a.pb.Name, a.pb.RpcData = Text(o.Name), &a.w
		pbs[i] = &a.pb
	}
	return pbs
}

// Return converts a return value; nil stays nil (no return value).
func Return(v *invocation.Value) *rpc.TypedData {
	if v == nil {
		return nil
	}
	return TypedData(v)
}

// Level converts a guest log level.
func Level(l invocation.Level) rpc.RpcLog_Level { return rpc.RpcLog_Level(l) }

// Text returns s as valid UTF-8, each invalid byte sequence replaced by
// U+FFFD. Protobuf string fields must hold valid UTF-8: a message with
// anything else cannot be encoded, and in grpc-go a failed send ends the
// stream for every invocation. So every string the worker sends passes
// through here; text is repaired rather than refused, as the host's own
// UTF-8 decoding does (docs/host-contract.md §3.2).
func Text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// texts is Text for each element; the slice is copied only when needed.
func texts(ss []string) []string {
	for i, s := range ss {
		if !utf8.ValidString(s) {
			out := slices.Clone(ss)
			for j := i; j < len(out); j++ {
				out[j] = Text(out[j])
			}
			return out
		}
	}
	return ss
}

func textMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[Text(k)] = Text(v)
	}
	return out
}
