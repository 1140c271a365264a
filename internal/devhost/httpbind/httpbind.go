// Package httpbind converts an incoming HTTP request into the RpcHttp and
// trigger metadata the Azure Functions host sends to a language worker, and
// writes the worker's HTTP output back as the HTTP response, with the host's
// rules and quirks (docs/host-contract.md §3.3, §3.4, §4.3).
//
// Every string it builds from request bytes is made valid UTF-8
// (rpcconv.Text): one invalid byte in a protobuf string field makes the
// whole InvocationRequest fail to marshal. The real host never sends
// invalid UTF-8 (.NET strings are UTF-16, decoded from the request first);
// how it decodes an invalid sequence depends on where it appears (it may
// keep an undecodable %-escape as text), while wasmfunc always uses U+FFFD.
package httpbind

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/rpcconv"
)

// Worker capabilities that change how the host builds RpcHttp (docs/host-contract.md §2.4).
const (
	CapRawHTTPBodyBytes                  = "RawHttpBodyBytes"
	CapRPCHTTPBodyOnly                   = "RpcHttpBodyOnly"
	CapRPCHTTPTriggerMetadataRemoved     = "RpcHttpTriggerMetadataRemoved"
	CapIgnoreEmptyValuedRPCHTTPHeaders   = "IgnoreEmptyValuedRpcHttpHeaders"
	CapUseNullableValueDictionaryForHTTP = "UseNullableValueDictionaryForHttp"
)

// Capabilities are the worker's capabilities; like the host, any non-empty
// value (even "false") turns a feature on.
type Capabilities map[string]string

// Has reports whether capability name is on.
func (c Capabilities) Has(name string) bool { return c[name] != "" }

// Default claim types of an anonymous .NET ClaimsIdentity.
const (
	nameClaimType = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	roleClaimType = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
)

func ns(s string) *rpc.NullableString {
	return &rpc.NullableString{String_: &rpc.NullableString_Value{Value: s}}
}

// Request builds the RpcHttp of an HTTP trigger for r, whose body has
// already been read into body, with the route values params.
func Request(r *http.Request, body []byte, params map[string]string, caps Capabilities) *rpc.RpcHttp {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := &rpc.RpcHttp{
		Method: rpcconv.Text(r.Method),
		Url:    rpcconv.Text(scheme + "://" + r.Host + r.URL.RequestURI()),
		Identities: []*rpc.RpcClaimsIdentity{{
			NameClaimType: ns(nameClaimType),
			RoleClaimType: ns(roleClaimType),
		}},
	}
	headers := joinedHeaders(r)
	query := joinedQuery(r.URL)
	params = validParams(params)
	if caps.Has(CapUseNullableValueDictionaryForHTTP) {
		h.NullableHeaders = map[string]*rpc.NullableString{}
		for k, v := range headers {
			h.NullableHeaders[strings.ToLower(k)] = ns(v)
		}
		h.NullableQuery = map[string]*rpc.NullableString{}
		for k, v := range query {
			h.NullableQuery[k] = ns(v)
		}
		h.NullableParams = map[string]*rpc.NullableString{}
		for k, v := range params {
			h.NullableParams[k] = ns(v)
		}
	} else {
		h.Headers = map[string]string{}
		for k, v := range headers {
			if v == "" && caps.Has(CapIgnoreEmptyValuedRPCHTTPHeaders) {
				continue
			}
			h.Headers[strings.ToLower(k)] = v
		}
		h.Query = map[string]string{}
		for k, v := range query {
			if v != "" { // the host skips empty query values here
				h.Query[k] = v
			}
		}
		h.Params = map[string]string{}
		for k, v := range params {
			h.Params[k] = v
		}
	}
	// Only a request with Content-Length > 0 carries a body (docs/host-contract.md §3.3; chunked
	// requests arrive without one, host #4926).
	if r.ContentLength > 0 {
		setBody(h, r.Header.Get("Content-Type"), body, caps)
	}
	return h
}

func setBody(h *rpc.RpcHttp, contentType string, body []byte, caps Capabilities) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	binary := mt == "application/octet-stream" || strings.Contains(mt, "multipart")
	rawBytes := caps.Has(CapRawHTTPBodyBytes)
	if caps.Has(CapRPCHTTPBodyOnly) {
		if binary || rawBytes {
			h.Body = bytesData(body)
		} else {
			h.Body = stringData(decodeText(body))
		}
		return
	}
	text := decodeText(body)
	switch {
	case mt == "application/json":
		var buf bytes.Buffer
		if json.Valid([]byte(text)) && json.Compact(&buf, []byte(text)) == nil {
			h.Body = &rpc.TypedData{Data: &rpc.TypedData_Json{Json: buf.String()}}
		} else {
			h.Body = stringData(text)
		}
		h.RawBody = stringData(text)
	case binary:
		h.Body = bytesData(body)
		h.RawBody = stringData(text)
	default:
		h.Body = stringData(text)
		h.RawBody = stringData(text)
	}
	if rawBytes {
		h.RawBody = bytesData(body)
	}
}

// decodeText decodes a body as UTF-8, dropping a byte-order mark and
// replacing invalid bytes with U+FFFD, as the host's UTF-8 decoding does.
func decodeText(b []byte) string {
	return rpcconv.Text(string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
}

// validParams returns the route values with valid UTF-8 names and values:
// a value comes from the %-decoded path, which may hold any byte.
func validParams(params map[string]string) map[string]string {
	ok := true
	for k, v := range params {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			ok = false
			break
		}
	}
	if ok {
		return params
	}
	out := make(map[string]string, len(params))
	for _, k := range sortedKeys(params) {
		out[rpcconv.Text(k)] = rpcconv.Text(params[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringData(s string) *rpc.TypedData {
	return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: s}}
}

func bytesData(b []byte) *rpc.TypedData {
	return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: append([]byte{}, b...)}}
}

// jsonData marshals v as json; encoding/json already replaces invalid UTF-8
// in strings and map keys with U+FFFD.
func jsonData(v any) *rpc.TypedData {
	b, _ := json.Marshal(v)
	return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: rpcconv.Text(string(b))}}
}

// joinedHeaders returns the request headers under their canonical names,
// repeated values joined with "," as Kestrel's StringValues.ToString does.
// Go keeps Host outside Header; it is put back. Header values may hold bytes
// that are not UTF-8 (obs-text): they are made valid UTF-8 (rpcconv.Text).
func joinedHeaders(r *http.Request) map[string]string {
	out := make(map[string]string, len(r.Header)+1)
	for _, k := range sortedKeys(r.Header) {
		vk := rpcconv.Text(k)
		v := rpcconv.Text(strings.Join(r.Header[k], ","))
		if prev, dup := out[vk]; dup { // two invalid names that became the same
			v = prev + "," + v
		}
		out[vk] = v
	}
	if r.Host != "" {
		out["Host"] = rpcconv.Text(r.Host)
	}
	if len(r.TransferEncoding) > 0 {
		out["Transfer-Encoding"] = rpcconv.Text(strings.Join(r.TransferEncoding, ","))
	}
	return out
}

// queryValues returns the query parameters, %-decoded, as valid UTF-8
// (rpcconv.Text): "%ff" decodes to a byte that is not. Parameters whose names
// become the same keep all their values, in the order of the raw names.
func queryValues(u *url.URL) map[string][]string {
	q := u.Query()
	out := make(map[string][]string, len(q))
	for _, k := range sortedKeys(q) {
		vk := rpcconv.Text(k)
		for _, v := range q[k] {
			out[vk] = append(out[vk], rpcconv.Text(v))
		}
	}
	return out
}

// joinedQuery returns the query parameters, repeated values joined with ",".
func joinedQuery(u *url.URL) map[string]string {
	out := map[string]string{}
	for k, vs := range queryValues(u) {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// TriggerMetadata returns the binding data the host sends with an HTTP
// trigger (docs/host-contract.md §4.3): "Query" (last value of each parameter) and "Headers" as
// JSON, each query parameter except "code", the top-level properties of a
// JSON object body, the route values (which win over the others), and, unless
// the worker has RpcHttpTriggerMetadataRemoved, the request itself under the
// trigger's name and "$request".
func TriggerMetadata(r *http.Request, body []byte, params map[string]string, req *rpc.RpcHttp, triggerName string, caps Capabilities) map[string]*rpc.TypedData {
	md := map[string]*rpc.TypedData{}
	if r.ContentLength > 0 && len(body) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), &obj) == nil {
			for k, v := range obj {
				if td := JSONBindingValue(v); td != nil {
					md[rpcconv.Text(k)] = td
				}
			}
		}
	}
	last := map[string]string{}
	for k, vs := range queryValues(r.URL) {
		last[k] = vs[len(vs)-1]
		if !strings.EqualFold(k, "code") {
			md[k] = stringData(last[k])
		}
	}
	for k, v := range validParams(params) {
		md[k] = stringData(v)
	}
	md["Query"] = jsonData(last)
	md["Headers"] = jsonData(joinedHeaders(r))
	if !caps.Has(CapRPCHTTPTriggerMetadataRemoved) && req != nil {
		md[triggerName] = &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}
		md["$request"] = &rpc.TypedData{Data: &rpc.TypedData_Http{Http: req}}
	}
	return md
}

// JSONBindingValue converts one top-level JSON property into binding data:
// strings stay strings, other scalars become their JSON text as a string,
// objects and arrays are sent as json, null is skipped. Invalid UTF-8 inside
// the JSON text becomes U+FFFD (rpcconv.Text).
func JSONBindingValue(v json.RawMessage) *rpc.TypedData {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			return nil
		}
		return stringData(rpcconv.Text(s))
	case '{', '[':
		var buf bytes.Buffer
		if json.Compact(&buf, t) != nil {
			return nil
		}
		return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: rpcconv.Text(buf.String())}}
	default:
		return stringData(rpcconv.Text(string(t)))
	}
}
