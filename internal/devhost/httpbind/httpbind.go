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
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
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

// StatusError is an HTTP output whose status code is not a final HTTP
// status: not an integer, or outside 200–599 (1xx codes are informational
// and cannot end a response; 101 would leave the client waiting for a
// protocol switch).
type StatusError struct {
	Value string // the status_code the function returned
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("invalid HTTP status code %q (a response status must be an integer from 200 to 599)", e.Value)
}

// ResponseStatus returns the status code of an HTTP output value: 200 when
// it is not an RpcHttp with a body (see WriteResponse) or its status_code is
// empty, else status_code, which must be an integer from 200 to 599
// (surrounding spaces and a leading "+" are allowed, as .NET's int.TryParse
// allows them); anything else is a *StatusError.
//
// The real host differs here: it reads status_code with int.TryParse and
// writes 200 when it does not parse (docs/host-contract.md §3.4), and what
// happens to numbers that are not a final status (0, 1xx, 99999) is up to
// ASP.NET Core and Kestrel. A local host that answered 200 (or hung, for
// 101) would hide the mistake, so wasmfunc fails such a response with 500
// and says why.
func ResponseStatus(out *rpc.TypedData) (int, error) {
	h := out.GetHttp()
	if h == nil || h.Body == nil {
		return http.StatusOK, nil
	}
	text := strings.TrimSpace(h.StatusCode)
	if text == "" {
		return http.StatusOK, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 200 || n > 599 {
		return 0, &StatusError{Value: h.StatusCode}
	}
	return n, nil
}

// WriteResponse writes the function's HTTP output (the value of its http
// output binding, or nil when it set none) as the response (docs/host-contract.md §3.4).
// An output with an invalid status code (see ResponseStatus) is answered 500
// with the reason as text, and its *StatusError is returned.
func WriteResponse(w http.ResponseWriter, out *rpc.TypedData) error {
	if _, err := ResponseStatus(out); err != nil {
		http.Error(w, "the function returned an "+err.Error(), http.StatusInternalServerError)
		return err
	}
	if out == nil || out.Data == nil {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	switch d := out.Data.(type) {
	case *rpc.TypedData_Http:
		if d.Http == nil || d.Http.Body == nil {
			// Host quirk (#3191): without a body the value is not recognised as a
			// response; it is written as a JSON object with status 200.
			return writeExpando(w, d.Http)
		}
		return writeHTTP(w, d.Http)
	case *rpc.TypedData_String_:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte(d.String_))
		return err
	case *rpc.TypedData_Json:
		return writeJSON(w, http.StatusOK, d.Json)
	case *rpc.TypedData_Bytes:
		w.Header().Set("Content-Type", "application/octet-stream")
		_, err := w.Write(d.Bytes)
		return err
	case *rpc.TypedData_Stream:
		w.Header().Set("Content-Type", "application/octet-stream")
		_, err := w.Write(d.Stream)
		return err
	case *rpc.TypedData_Int:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte(strconv.FormatInt(d.Int, 10)))
		return err
	case *rpc.TypedData_Double:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte(strconv.FormatFloat(d.Double, 'g', -1, 64)))
		return err
	default:
		return fmt.Errorf("http output: unsupported TypedData %T", out.Data)
	}
}

func writeJSON(w http.ResponseWriter, status int, text string) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return fmt.Errorf("http output: json body is not valid JSON: %w", err)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func writeHTTP(w http.ResponseWriter, h *rpc.RpcHttp) error {
	status, err := ResponseStatus(&rpc.TypedData{Data: &rpc.TypedData_Http{Http: h}})
	if err != nil {
		return err
	}
	hdr := w.Header()
	// Headers are added once; a second header with the same name (in another
	// case) is dropped, as the host logs and drops duplicates.
	keys := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hasType := false
	for _, k := range keys {
		if !validHeaderName(k) {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		if _, dup := hdr[ck]; dup {
			continue
		}
		v := strings.NewReplacer("\r", " ", "\n", " ").Replace(h.Headers[k])
		hdr[ck] = []string{v}
		if ck == "Content-Type" {
			hasType = true
		}
	}
	for _, c := range h.Cookies {
		if hc := cookie(c); hc != nil {
			if s := hc.String(); s != "" {
				hdr.Add("Set-Cookie", s)
			}
		}
	}
	var body []byte
	switch d := h.Body.Data.(type) {
	case nil:
	case *rpc.TypedData_String_:
		body = []byte(d.String_)
	case *rpc.TypedData_Bytes:
		body = d.Bytes
	case *rpc.TypedData_Stream:
		body = d.Stream
	case *rpc.TypedData_Json:
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(d.Json)); err != nil {
			return fmt.Errorf("http output: json body is not valid JSON: %w", err)
		}
		body = buf.Bytes()
		if !hasType {
			hdr.Set("Content-Type", "application/json; charset=utf-8")
			hasType = true
		}
	case *rpc.TypedData_Int:
		body = []byte(strconv.FormatInt(d.Int, 10))
	case *rpc.TypedData_Double:
		body = []byte(strconv.FormatFloat(d.Double, 'g', -1, 64))
	default:
		return fmt.Errorf("http output: unsupported body TypedData %T", h.Body.Data)
	}
	if !hasType {
		hdr["Content-Type"] = nil // the host sets no Content-Type; keep Go from sniffing one
	}
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func cookie(c *rpc.RpcHttpCookie) *http.Cookie {
	if c == nil || c.Name == "" {
		return nil
	}
	hc := &http.Cookie{Name: c.Name, Value: c.Value, Domain: c.GetDomain().GetValue(), Path: c.GetPath().GetValue()}
	if ts := c.GetExpires().GetValue(); ts != nil {
		hc.Expires = ts.AsTime()
	}
	hc.Secure = c.GetSecure().GetValue()
	hc.HttpOnly = c.GetHttpOnly().GetValue()
	switch c.SameSite {
	case rpc.RpcHttpCookie_Lax:
		hc.SameSite = http.SameSiteLaxMode
	case rpc.RpcHttpCookie_Strict:
		hc.SameSite = http.SameSiteStrictMode
	case rpc.RpcHttpCookie_ExplicitNone:
		hc.SameSite = http.SameSiteNoneMode
	}
	if c.MaxAge != nil {
		secs := int(c.GetMaxAge().GetValue())
		if secs <= 0 {
			hc.MaxAge = -1
		} else {
			hc.MaxAge = secs
		}
	}
	return hc
}

// writeExpando writes the object the host serialises when an http output has
// no body: its method, query, statusCode, headers, enableContentNegotiation
// and cookies, with status 200.
func writeExpando(w http.ResponseWriter, h *rpc.RpcHttp) error {
	type cookieJSON struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	obj := struct {
		Method                   string            `json:"method"`
		Query                    map[string]string `json:"query"`
		StatusCode               string            `json:"statusCode"`
		Headers                  map[string]string `json:"headers"`
		EnableContentNegotiation bool              `json:"enableContentNegotiation"`
		Cookies                  []cookieJSON      `json:"cookies"`
	}{Query: map[string]string{}, Headers: map[string]string{}, Cookies: []cookieJSON{}}
	if h != nil {
		obj.Method, obj.StatusCode, obj.EnableContentNegotiation = h.Method, h.StatusCode, h.EnableContentNegotiation
		for k, v := range h.Query {
			obj.Query[k] = v
		}
		for k, v := range h.Headers {
			obj.Headers[k] = v
		}
		for _, c := range h.Cookies {
			obj.Cookies = append(obj.Cookies, cookieJSON{c.GetName(), c.GetValue()})
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, string(b))
}
