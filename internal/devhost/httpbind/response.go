package httpbind

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// The host turns an HTTP output into a response in three steps
// (docs/host-contract.md §3.4): GrpcMessageConversionExtensions.ToObject
// converts the TypedData (json is parsed with Newtonsoft, an RpcHttp becomes
// an ExpandoObject), HttpBinding.CreateResult reads status, headers and body
// from it, and RawScriptResult writes the response on ASP.NET Core and
// Kestrel. This file does the same; docs/local-host.md lists where it still
// differs.

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

// HeaderError is a response header that Kestrel refuses: the host's
// invocation has succeeded, and the caller gets an empty 500.
type HeaderError struct {
	Name string
	// Reason is Kestrel's (or .NET's) message.
	Reason string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("response header %q: %s (Kestrel refuses it, so the host answers 500 although the invocation succeeded)", e.Name, e.Reason)
}

// header is one response header; a nil value is a JSON null, which the host
// cannot write.
type header struct {
	name  string
	value *string
}

// response is what the host writes for an HTTP output.
type response struct {
	status      int
	headers     []header // in the order the host adds them, duplicates dropped
	contentType *header  // the content-type header, if any (any case)
	cookies     []*rpc.RpcHttpCookie
	isBytes     bool   // the body is a byte[] (ByteArrayOutputFormatter)
	bytes       []byte // when isBytes
	text        string // otherwise (StringOutputFormatter)
}

// ResponseStatus returns the status code of an HTTP output value: 200 when
// it sets none (or it is not a response with a body), else its status,
// which must be an integer from 200 to 599 (surrounding spaces and a leading
// "+" are allowed, as .NET's int.TryParse allows them); anything else is a
// *StatusError.
//
// The real host differs here: it reads the status with int.TryParse and
// writes 200 when it does not parse (docs/host-contract.md §3.4), and what
// happens to numbers that are not a final status (0, 1xx, 99999) is up to
// ASP.NET Core and Kestrel. A local host that answered 200 (or hung, for
// 101) would hide the mistake, so wasmfunc fails such a response with 500
// and says why.
func ResponseStatus(out *rpc.TypedData) (int, error) {
	r, err := convert(out)
	if err != nil {
		return 0, err
	}
	return r.status, nil
}

// CheckResponse reports why the host could not turn out, a function's HTTP
// output, into a response: a *StatusError, or a value it cannot convert
// (json that is not valid JSON, a collection), which fails the invocation.
// Headers Kestrel refuses are not checked here: the host finds them only
// when it writes the response (see WriteResponse).
func CheckResponse(out *rpc.TypedData) error {
	_, err := convert(out)
	return err
}

// WriteResponse writes the function's HTTP output (the value of its http
// output binding, or nil when it set none) as the response to r, as the host
// does (docs/local-host.md):
//
//   - a string body gets Content-Type "text/plain; charset=utf-8", or the
//     function's content type with "; charset=utf-8" (or the charset that
//     the request's Accept-Charset asks for, utf-8 or utf-16) added or put in
//     place of the one it names;
//   - a json body is parsed and written again by Newtonsoft: an object or
//     array as indented JSON text, a string as its text, a number or boolean
//     as .NET prints it ("True"), with the same content type as a string;
//   - a bytes body is written as it is, with the function's content type or
//     none;
//   - a header Kestrel refuses (a name that is not an HTTP token, a value
//     with a control or non-ASCII character) gives an empty 500, returned as
//     a *HeaderError; two headers whose names differ only in case keep the
//     first (in byte order here; the host keeps the first it reads).
//
// An output with an invalid status code (see ResponseStatus) is answered 500
// with the reason as text, and its *StatusError is returned.
func WriteResponse(w http.ResponseWriter, r *http.Request, out *rpc.TypedData) error {
	resp, err := convert(out)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			http.Error(w, "the function returned an "+err.Error(), http.StatusInternalServerError)
			return err
		}
		w.WriteHeader(http.StatusInternalServerError)
		return err
	}
	if err := resp.checkHeaders(); err != nil {
		// The host's ExceptionMiddleware: the response has not started, so
		// it sets 500 and writes nothing.
		w.WriteHeader(http.StatusInternalServerError)
		return err
	}
	hdr := w.Header()
	for _, h := range resp.headers {
		hdr[http.CanonicalHeaderKey(h.name)] = []string{*h.value}
	}
	for _, c := range resp.cookies {
		if hc := cookie(c); hc != nil {
			if s := hc.String(); s != "" {
				hdr.Add("Set-Cookie", s)
			}
		}
	}
	var ct *string
	if resp.contentType != nil {
		ct = resp.contentType.value
	}
	var body []byte
	if resp.isBytes {
		body = resp.bytes
		if ct != nil {
			hdr["Content-Type"] = []string{*ct}
		} else {
			hdr["Content-Type"] = nil // none, and no sniffing by net/http
		}
	} else {
		mediaType := "text/plain"
		if ct != nil {
			mediaType = *ct
		}
		enc := selectEncoding(r, ct)
		hdr["Content-Type"] = []string{withCharset(mediaType, enc)}
		body = encodeText(resp.text, enc)
	}
	w.WriteHeader(resp.status)
	_, err = w.Write(body)
	return err
}

// convert builds the response the host makes of out.
func convert(out *rpc.TypedData) (*response, error) {
	if out == nil || out.Data == nil {
		// No HTTP output: FunctionInvocationMiddleware's empty 200.
		return &response{status: http.StatusOK, isBytes: true}, nil
	}
	if d, ok := out.Data.(*rpc.TypedData_Http); ok {
		return convertHTTP(d.Http)
	}
	// Any other value goes through HttpBinding.CreateResult as content.
	r := &response{status: http.StatusOK}
	switch d := out.Data.(type) {
	case *rpc.TypedData_String_:
		return stringContent(d.String_)
	case *rpc.TypedData_Json:
		n, err := parseJSON(d.Json)
		if err != nil {
			return nil, fmt.Errorf("the json value is not valid JSON: %w", err)
		}
		if n.kind == 's' {
			return stringContent(n.str)
		}
		return jsonContent(n)
	case *rpc.TypedData_Bytes:
		r.isBytes, r.bytes = true, d.Bytes
	case *rpc.TypedData_Stream:
		r.isBytes, r.bytes = true, d.Stream
	case *rpc.TypedData_Int:
		r.text = strconv.FormatInt(d.Int, 10)
	case *rpc.TypedData_Double:
		r.text = doubleText(d.Double)
	default:
		return nil, fmt.Errorf("Unknown RpcDataType %T", out.Data)
	}
	return r, nil
}

// convertHTTP is an RpcHttp output: its status, headers, cookies and body.
func convertHTTP(h *rpc.RpcHttp) (*response, error) {
	if h == nil || h.Body == nil {
		// Host quirk (#3191): without a body the value is not taken for a
		// response; the object is written as JSON text with status 200.
		return &response{status: http.StatusOK, text: expandoJSON(h)}, nil
	}
	status, err := parseStatus(h.StatusCode)
	if err != nil {
		return nil, err
	}
	r := &response{status: status, cookies: h.Cookies}
	for _, k := range sortedKeys(h.Headers) {
		v := h.Headers[k]
		r.addHeader(k, &v)
	}
	switch d := h.Body.Data.(type) {
	case nil:
	case *rpc.TypedData_String_:
		r.text = d.String_
	case *rpc.TypedData_Bytes:
		r.isBytes, r.bytes = true, d.Bytes
	case *rpc.TypedData_Stream:
		r.isBytes, r.bytes = true, d.Stream
	case *rpc.TypedData_Json:
		n, err := parseJSON(d.Json)
		if err != nil {
			return nil, fmt.Errorf("http output: the json body is not valid JSON: %w", err)
		}
		r.text = n.text()
	case *rpc.TypedData_Int:
		r.text = strconv.FormatInt(d.Int, 10)
	case *rpc.TypedData_Double:
		r.text = doubleText(d.Double)
	case *rpc.TypedData_Http:
		r.text = expandoJSON(d.Http)
	default:
		return nil, fmt.Errorf("http output: Unknown RpcDataType %T for the body", h.Body.Data)
	}
	return r, nil
}

// parseStatus reads an RpcHttp status_code: "" is 200; see ResponseStatus.
func parseStatus(code string) (int, error) {
	text := strings.TrimSpace(code)
	if text == "" {
		return http.StatusOK, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 200 || n > 599 {
		return 0, &StatusError{Value: code}
	}
	return n, nil
}

// addHeader adds a header as RawScriptResult does: content-type (any case)
// sets the content type, a name already added (in any case) is dropped.
func (r *response) addHeader(name string, value *string) {
	if strings.EqualFold(name, "content-type") {
		r.contentType = &header{name, value}
		return
	}
	for _, h := range r.headers {
		if strings.EqualFold(h.name, name) {
			return // the host logs a duplicate and keeps the first
		}
	}
	r.headers = append(r.headers, header{name, value})
}

// stringContent is a string given as the whole HTTP output: CreateResult
// tries it as JSON first.
func stringContent(s string) (*response, error) {
	if n, err := parseJSON(s); err == nil {
		return jsonContent(n)
	}
	return &response{status: http.StatusOK, text: s}, nil
}

// jsonContent is parsed JSON given as the whole HTTP output: an object with
// a "body" property (any case) is a response object; anything else is the
// body.
func jsonContent(n *jnode) (*response, error) {
	if n.kind == '{' && n.get("body") != nil {
		return responseObject(n)
	}
	return &response{status: http.StatusOK, text: n.text()}, nil
}

// Type names .NET's ToString() gives for the objects and arrays of an
// ExpandoObject read by Newtonsoft's ExpandoObjectConverter.
const (
	expandoText = "System.Dynamic.ExpandoObject"
	listText    = "System.Collections.Generic.List`1[System.Object]"
)

// expandoValueText is ToString() of a value of an ExpandoObject; nil for null.
func expandoValueText(n *jnode) *string {
	var s string
	switch n.kind {
	case 'n':
		return nil
	case '{':
		s = expandoText
	case '[':
		s = listText
	default:
		s = n.text()
	}
	return &s
}

// responseObject is HttpBinding.ParseResponseObject for a JSON object with
// a body: status from statusCode (else status), headers from headers, the
// body written as its ToString() (an object as compact JSON).
func responseObject(n *jnode) (*response, error) {
	r := &response{status: http.StatusOK}
	sc := n.get("statusCode")
	if sc == nil {
		sc = n.get("status")
	}
	if sc != nil {
		switch sc.kind {
		case 'n':
		case 'i', 's':
			status, err := parseStatus(sc.text())
			if err != nil {
				return nil, err
			}
			r.status = status
		default:
			var b bytes.Buffer
			sc.write(&b, false, 0)
			return nil, &StatusError{Value: b.String()}
		}
	}
	if hv := n.get("headers"); hv != nil && hv.kind == '{' {
		for i, k := range hv.keys {
			r.addHeader(k, expandoValueText(hv.elems[i]))
		}
	}
	body := n.get("body")
	switch body.kind {
	case '{':
		var b bytes.Buffer
		body.write(&b, false, 0)
		r.text = b.String()
	case '[':
		r.text = listText
	default:
		r.text = body.text()
	}
	return r, nil
}

// checkHeaders reports the first header Kestrel (or the host) refuses.
func (r *response) checkHeaders() error {
	all := r.headers
	if r.contentType != nil {
		all = append([]header{*r.contentType}, all...)
	}
	for _, h := range all {
		if h.value == nil {
			if strings.EqualFold(h.name, "content-type") {
				return &HeaderError{h.name, "content-type header cannot be null"}
			}
			return &HeaderError{h.name, "the value is null (Object reference not set to an instance of an object)"}
		}
		if h.name == "" {
			return &HeaderError{h.name, "Header name cannot be a null or empty string."}
		}
		for _, c := range h.name {
			if !isTokenRune(c) {
				return &HeaderError{h.name, invalidChar(c)}
			}
		}
		for _, c := range *h.value {
			if c != '\t' && (c < 0x20 || c > 0x7e) {
				return &HeaderError{h.name, invalidChar(c)}
			}
		}
	}
	return nil
}

// invalidChar is Kestrel's message for a character it refuses in a header,
// with the UTF-16 code unit .NET sees.
func invalidChar(c rune) string {
	if c > 0xffff {
		c, _ = utf16.EncodeRune(c)
	}
	return fmt.Sprintf("Invalid non-ASCII or control character in header: 0x%04X", c)
}

// isTokenRune reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTokenRune(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", c)
}

// Encodings of ASP.NET Core's StringOutputFormatter, by web name.
const (
	encUTF8  = "utf-8"
	encUTF16 = "utf-16"
)

// selectEncoding is TextOutputFormatter.SelectCharacterEncoding for the
// StringOutputFormatter (UTF-8, then UTF-16): the first charset of the
// request's Accept-Charset (by quality) that it supports ("*" is UTF-8),
// else the charset of the content type if supported, else UTF-8.
func selectEncoding(r *http.Request, contentType *string) string {
	if r != nil {
		for _, cs := range acceptCharsets(r.Header.Values("Accept-Charset")) {
			switch {
			case strings.EqualFold(cs, encUTF8), cs == "*":
				return encUTF8
			case strings.EqualFold(cs, encUTF16):
				return encUTF16
			}
		}
	}
	if contentType != nil {
		if _, v, ok := charsetParam(*contentType); ok {
			if strings.EqualFold(v, encUTF16) {
				return encUTF16
			}
		}
	}
	return encUTF8
}

// acceptCharsets parses Accept-Charset values into charsets, best first, as
// StringWithQualityHeaderValue.TryParseList and TextOutputFormatter.Sort do:
// when any has a quality, those with q=0 are left out and the rest sorted
// by quality, highest first (equal ones in reverse order); an invalid list
// counts as none.
func acceptCharsets(values []string) []string {
	type item struct {
		name string
		q    float64
		hasQ bool
	}
	var items []item
	anyQ := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if name == "" || (name != "*" && !isToken(name)) {
				return nil
			}
			it := item{name: name, q: 1}
			if params != "" {
				k, qv, ok := strings.Cut(strings.TrimSpace(params), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					return nil
				}
				q, err := strconv.ParseFloat(strings.TrimSpace(qv), 64)
				if err != nil || q < 0 || q > 1 {
					return nil
				}
				it.q, it.hasQ, anyQ = q, true, true
			}
			items = append(items, it)
		}
	}
	if anyQ {
		kept := items[:0]
		for _, it := range items {
			if !(it.hasQ && it.q == 0) {
				kept = append(kept, it)
			}
		}
		items = kept
		sort.SliceStable(items, func(i, j int) bool { return items[i].q < items[j].q })
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.name
	}
	return out
}

func isToken(s string) bool {
	for _, c := range s {
		if !isTokenRune(c) {
			return false
		}
	}
	return s != ""
}

// charsetParam finds the charset parameter of a media type: the offsets of
// its value in mt (without quotes) and the value.
func charsetParam(mt string) (span [2]int, value string, ok bool) {
	i := strings.IndexByte(mt, ';')
	for i >= 0 {
		start := i + 1
		end := strings.IndexByte(mt[start:], ';')
		seg := mt[start:]
		if end >= 0 {
			seg = mt[start : start+end]
		}
		if k, _, found := strings.Cut(seg, "="); found && strings.EqualFold(strings.TrimSpace(k), "charset") {
			vs := start + strings.IndexByte(seg, '=') + 1
			ve := start + len(seg)
			for vs < ve && (mt[vs] == ' ' || mt[vs] == '\t') {
				vs++
			}
			for ve > vs && (mt[ve-1] == ' ' || mt[ve-1] == '\t') {
				ve--
			}
			if ve-vs >= 2 && mt[vs] == '"' && mt[ve-1] == '"' {
				vs, ve = vs+1, ve-1
			}
			return [2]int{vs, ve}, mt[vs:ve], true
		}
		if end < 0 {
			break
		}
		i = start + end
	}
	return span, "", false
}

// withCharset is MediaType.ReplaceEncoding: mt with its charset parameter
// set to enc, added as "; charset=enc" when it has none.
func withCharset(mt, enc string) string {
	span, v, ok := charsetParam(mt)
	switch {
	case !ok:
		return mt + "; charset=" + enc
	case strings.EqualFold(v, enc):
		return mt
	default:
		return mt[:span[0]] + enc + mt[span[1]:]
	}
}

// encodeText encodes s as the response writer does: UTF-8, or UTF-16
// little-endian (Encoding.Unicode) without a byte-order mark.
func encodeText(s, enc string) []byte {
	if enc != encUTF16 {
		return []byte(s)
	}
	units := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
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

// expandoJSON is the JSON text (Formatting.None) of the object the host
// makes of an RpcHttp that is not taken for a response: method, query,
// statusCode, headers, enableContentNegotiation and cookies (each cookie
// only by name and value; the host also writes its options).
func expandoJSON(h *rpc.RpcHttp) string {
	if h == nil {
		h = &rpc.RpcHttp{}
	}
	obj := &jnode{kind: '{'}
	str := func(s string) *jnode { return &jnode{kind: 's', str: s} }
	strMap := func(m map[string]string) *jnode {
		o := &jnode{kind: '{'}
		for _, k := range sortedKeys(m) {
			o.set(k, str(m[k]))
		}
		return o
	}
	obj.set("method", str(h.Method))
	obj.set("query", strMap(h.Query))
	obj.set("statusCode", str(h.StatusCode))
	obj.set("headers", strMap(h.Headers))
	obj.set("enableContentNegotiation", &jnode{kind: 'b', b: h.EnableContentNegotiation})
	cookies := &jnode{kind: '['}
	for _, c := range h.Cookies {
		o := &jnode{kind: '{'}
		o.set("name", str(c.GetName()))
		o.set("value", str(c.GetValue()))
		cookies.elems = append(cookies.elems, o)
	}
	obj.set("cookies", cookies)
	var b bytes.Buffer
	obj.write(&b, false, 0)
	return b.String()
}
