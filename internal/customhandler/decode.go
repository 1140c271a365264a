package customhandler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// Result is what a guest's response payload means for the host. Its
// invocation.Result is what the invocation returns: Outputs has one entry
// per declared output binding that the guest set (never "$return"), in
// function.json order, with values of KindString, KindJSON, KindBytes, or
// KindHTTP with a Response; Return is set only when the function has a
// "$return" binding and the guest gave a non-null ReturnValue; and
// ReturnIgnored reports a non-null ReturnValue on a function without a
// "$return" binding, which was dropped (the caller may log that).
type Result struct {
	invocation.Result
	// Logs are the payload's "Logs", in order.
	Logs []string
}

// quoteLimit is how much of a bad payload an error quotes.
const quoteLimit = 200

// DecodeResponse parses the guest's stdout (a JSON object
// {"Outputs":…,"Logs":…,"ReturnValue":…}, keys case-insensitive) for fn.
// Surrounding whitespace is allowed; anything else around the object is an
// error. The mapping is documented in abi/COMMAND.md.
func DecodeResponse(fn invocation.Function, stdout []byte) (*Result, error) {
	return decodeResponse(fn, stdout, true)
}

// decodeResponse is DecodeResponse, walking the objects of stdout by the
// tape its validation records when indexed, else by scanning them (which
// FuzzDecodeResponse compares).
func decodeResponse(fn invocation.Function, stdout []byte, indexed bool) (*Result, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(stdout, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return nil, errors.New(`the function wrote nothing to stdout; a command-mode function must print one JSON object such as {"Outputs":{"res":{"statusCode":200,"body":"hi"}}} (write logs to stderr)`)
	}
	if body[0] != '{' {
		return nil, fmt.Errorf("the function's stdout is not a JSON object: it starts with %s; a command-mode function must print exactly one JSON object {\"Outputs\":…,\"Logs\":…,\"ReturnValue\":…} and write logs to stderr", quote(body))
	}
	d := &decoder{stdout: body}
	if !indexed {
		d.tape.full = true
	}
	if !validIndexed(body, &d.tape) {
		return nil, invalidStdout(body)
	}
	var topBuf, outBuf [8]member
	ra := &resultAlloc{}
	d.spareHTTP = &ra.http
	top := d.members(topBuf[:0], body)
	res := &ra.res
	if v, ok := lookup(top, "Logs"); ok && !isNull(v) {
		logs, err := d.decodeLogs(v)
		if err != nil {
			return nil, err
		}
		res.Logs = logs
	}
	var outputs []member
	if v, ok := lookup(top, "Outputs"); ok && !isNull(v) {
		if kind(v) != '{' {
			return nil, fmt.Errorf("\"Outputs\" must be an object keyed by output binding name, got %s", describe(v))
		}
		outputs = d.members(outBuf[:0], v)
	}
	for _, b := range fn.Bindings {
		if !b.IsOutput() || b.Name == "$return" {
			continue
		}
		v, ok := lookupExact(outputs, b.Name) // exact match, as the host
		if !ok {
			continue
		}
		val, err := d.convertOutput(b, v)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", b.Name, err)
		}
		if val == nil {
			continue
		}
		if res.Outputs == nil {
			res.Outputs = ra.out[:0:len(ra.out)]
		}
		res.Outputs = append(res.Outputs, invocation.Output{Name: b.Name, Value: val})
	}
	if v, ok := lookup(top, "ReturnValue"); ok && !isNull(v) {
		rb, ok := binding(fn, "$return")
		if !ok {
			res.ReturnIgnored = true
		} else {
			val, err := d.convertOutput(rb, v)
			if err != nil {
				return nil, fmt.Errorf("ReturnValue ($return): %w", err)
			}
			res.Return = val
		}
	}
	return res, nil
}

// resultAlloc is a Result and room for its first output and for that
// output's HTTP response (the commonest response is one HTTP output),
// allocated at once.
type resultAlloc struct {
	res  Result
	out  [1]invocation.Output
	http httpAlloc
}

// invalidStdout explains why body, which starts with '{', is not exactly
// one JSON object: its syntax error, or what follows the object.
func invalidStdout(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return fmt.Errorf("the function's stdout is not valid JSON (%v): it starts with %s; a command-mode function must print exactly one JSON object", err, quote(body))
	}
	rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")
	return fmt.Errorf("the function's stdout has more after its JSON object, at byte %d: %s; print exactly one JSON object and write logs to stderr", len(body)-len(rest), quote(rest))
}

// binding returns the binding of fn called exactly name.
func binding(fn invocation.Function, name string) (invocation.Binding, bool) {
	for _, b := range fn.Bindings {
		if b.Name == name {
			return b, true
		}
	}
	return invocation.Binding{}, false
}

// convertOutput turns one output value into a Value for binding b; nil
// means "not set".
func (d *decoder) convertOutput(b invocation.Binding, v []byte) (*invocation.Value, error) {
	if strings.EqualFold(b.Type, "http") {
		return d.decodeHTTP(v, strings.EqualFold(b.DataType, "binary"))
	}
	switch kind(v) {
	case 'n':
		return nil, nil
	case '"':
		s := d.unquote(v)
		if strings.EqualFold(b.DataType, "binary") {
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("the binding has \"dataType\": \"binary\", so a string value must be base64; %s is not (%v)", quote([]byte(s)), err)
			}
			return invocation.BytesValue(raw), nil
		}
		return invocation.StringValue(s), nil
	case 'd', 't', 'f':
		// Numbers keep their text (integers stay integers).
		return invocation.JSONValue(d.str(v)), nil
	default:
		// Objects and arrays become compact JSON text (v is a span of
		// the valid stdout, so it compacts).
		return invocation.JSONValue(d.compactValid(v)), nil
	}
}

// httpAlloc is an HTTP output: its Value, the response and the response's
// body, allocated at once.
type httpAlloc struct {
	val  invocation.Value
	resp invocation.HTTPResponse
	body invocation.Value
}

// decodeHTTP builds the KindHTTP value of the HTTP response from
// {statusCode, headers, body, cookies} (keys case-insensitive), or from a
// string holding that object. With binary (the http binding has
// "dataType": "binary"), the body is a base64 string whose bytes are the
// response body.
func (d *decoder) decodeHTTP(v []byte, binary bool) (*invocation.Value, error) {
	wrongShape := func() error {
		return fmt.Errorf("expected an HTTP response object {statusCode, headers, body}, got %s", describe(v))
	}
	if kind(v) == '"' {
		inner := []byte(strings.TrimSpace(d.unquote(v)))
		if kind(inner) != '{' || !validJSON(inner) {
			return nil, wrongShape()
		}
		v = inner
	}
	if kind(v) != '{' {
		return nil, wrongShape()
	}
	var objBuf [8]member
	obj := d.members(objBuf[:0], v)
	ha := d.spareHTTP
	if ha != nil {
		d.spareHTTP = nil
	} else {
		ha = &httpAlloc{}
	}
	h := &ha.resp
	h.StatusCode = "200"
	h.Headers = map[string]string{}
	if sc, ok := lookup(obj, "statusCode"); ok && !isNull(sc) {
		switch kind(sc) {
		case '"':
			s := d.unquote(sc)
			// The host reads an empty status as 200, as a missing one.
			if s = strings.TrimSpace(s); s != "" {
				h.StatusCode = s
			}
		case 'd':
			h.StatusCode = d.str(sc)
		default:
			return nil, fmt.Errorf("\"statusCode\" must be a number or a string, got %s", describe(sc))
		}
	}
	if hv, ok := lookup(obj, "headers"); ok && !isNull(hv) {
		if kind(hv) != '{' {
			return nil, fmt.Errorf("\"headers\" must be an object of strings, got %s", describe(hv))
		}
		var hdrBuf [8]member
		for _, m := range lastOfEach(d.members(hdrBuf[:0], hv)) {
			s, err := d.scalarText(m.val)
			if err != nil {
				return nil, fmt.Errorf("header %q must be a string, number or boolean, got %s", m.key(), describe(m.val))
			}
			key := d.key(&m)
			if err := invocation.CheckHeader(key, s); err != nil {
				return nil, err
			}
			h.Headers[key] = s
		}
	}
	// The body is empty unless "body" says otherwise.
	h.Body = &ha.body
	ha.body.Kind = invocation.KindString
	if binary {
		ha.body.Kind = invocation.KindBytes
	}
	if bv, ok := lookup(obj, "body"); ok && !isNull(bv) && binary {
		// Our extension (the host's custom-handler path writes the text
		// as it is, host issue #8622): the bytes of a base64 body.
		if kind(bv) != '"' {
			return nil, fmt.Errorf("the http binding has \"dataType\": \"binary\", so \"body\" must be a base64 string, got %s", describe(bv))
		}
		s := d.unquote(bv)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("the http binding has \"dataType\": \"binary\", so \"body\" must be base64; %s is not (%v)", quote([]byte(s)), err)
		}
		ha.body = invocation.Value{Kind: invocation.KindBytes, Bytes: raw}
	} else if ok && !isNull(bv) {
		switch kind(bv) {
		case '"':
			ha.body = invocation.Value{Kind: invocation.KindString, String: d.unquote(bv)}
		case '{', '[':
			ha.body = invocation.Value{Kind: invocation.KindJSON, String: d.compactValid(bv)}
		default:
			ha.body = invocation.Value{Kind: invocation.KindString, String: d.str(bv)}
		}
	}
	if cv, ok := lookup(obj, "cookies"); ok && !isNull(cv) {
		if kind(cv) != '[' {
			return nil, fmt.Errorf("\"cookies\" must be an array of cookie objects, got %s", describe(cv))
		}
		var elemBuf [8][]byte
		for i, c := range elements(elemBuf[:0], cv) {
			ck, err := d.decodeCookie(c)
			if err != nil {
				return nil, fmt.Errorf("cookie %d: %w", i+1, err)
			}
			h.Cookies = append(h.Cookies, ck)
		}
	}
	ha.val = invocation.Value{Kind: invocation.KindHTTP, Response: h}
	return &ha.val, nil
}

// decodeCookie reads {name, value, domain, path, expires, secure, httpOnly,
// sameSite, maxAge} (keys case-insensitive).
func (d *decoder) decodeCookie(v []byte) (invocation.Cookie, error) {
	var ck invocation.Cookie
	if kind(v) != '{' {
		return ck, fmt.Errorf("expected an object {name, value, …}, got %s", describe(v))
	}
	var objBuf [16]member
	obj := d.members(objBuf[:0], v)
	str := func(key string) (string, bool, error) {
		fv, ok := lookup(obj, key)
		if !ok || isNull(fv) {
			return "", false, nil
		}
		if kind(fv) != '"' {
			return "", false, fmt.Errorf("%q must be a string, got %s", key, describe(fv))
		}
		return d.unquote(fv), true, nil
	}
	boolean := func(key string) (*bool, error) {
		fv, ok := lookup(obj, key)
		if !ok || isNull(fv) {
			return nil, nil
		}
		k := kind(fv)
		if k != 't' && k != 'f' {
			return nil, fmt.Errorf("%q must be true or false, got %s", key, describe(fv))
		}
		x := k == 't'
		return &x, nil
	}
	name, ok, err := str("name")
	if err != nil {
		return ck, err
	}
	if !ok || name == "" {
		return ck, errors.New("\"name\" is required")
	}
	ck.Name = name
	if ck.Value, _, err = str("value"); err != nil {
		return ck, err
	}
	for _, key := range []string{"domain", "path"} {
		s, ok, err := str(key)
		if err != nil {
			return ck, err
		}
		if !ok {
			continue
		}
		if key == "domain" {
			ck.Domain = &s
		} else {
			ck.Path = &s
		}
	}
	if s, ok, err := str("expires"); err != nil {
		return ck, err
	} else if ok {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return ck, fmt.Errorf("\"expires\" must be an RFC 3339 time such as \"2025-01-02T15:04:05Z\", got %q", s)
		}
		ck.Expires = t
	}
	if ck.Secure, err = boolean("secure"); err != nil {
		return ck, err
	}
	if ck.HTTPOnly, err = boolean("httpOnly"); err != nil {
		return ck, err
	}
	if s, ok, err := str("sameSite"); err != nil {
		return ck, err
	} else if ok {
		switch strings.ToLower(s) {
		case "lax":
			ck.SameSite = invocation.SameSiteLax
		case "strict":
			ck.SameSite = invocation.SameSiteStrict
		case "none":
			ck.SameSite = invocation.SameSiteNone
		default:
			return ck, fmt.Errorf("\"sameSite\" must be \"Lax\", \"Strict\" or \"None\", got %q", s)
		}
	}
	if fv, ok := lookup(obj, "maxAge"); ok && !isNull(fv) {
		var x float64
		if kind(fv) != 'd' || json.Unmarshal(fv, &x) != nil { // out of range
			return ck, fmt.Errorf("\"maxAge\" must be a number of seconds, got %s", describe(fv))
		}
		ck.MaxAge = &x
	}
	return ck, nil
}

// decodeLogs reads "Logs": an array of strings; numbers and booleans are
// taken as their text and null entries are skipped.
func (d *decoder) decodeLogs(v []byte) ([]string, error) {
	if kind(v) != '[' {
		return nil, fmt.Errorf("\"Logs\" must be an array of strings, got %s", describe(v))
	}
	var elemBuf [8][]byte
	list := elements(elemBuf[:0], v)
	logs := make([]string, 0, len(list))
	for i, e := range list {
		if isNull(e) {
			continue
		}
		s, err := d.scalarText(e)
		if err != nil {
			return nil, fmt.Errorf("\"Logs\" entry %d must be a string, got %s", i+1, describe(e))
		}
		logs = append(logs, s)
	}
	return logs, nil
}

// scalarText returns a string's content or a number's or boolean's text.
func (d *decoder) scalarText(v []byte) (string, error) {
	switch kind(v) {
	case '"':
		return d.unquote(v), nil
	case 'd', 't', 'f':
		return d.str(v), nil
	default:
		return "", errors.New("not a scalar")
	}
}

// lastOfEach returns ms without members whose key comes again later (the
// last wins, as in a map), sorted by key. It sorts ms in place.
func lastOfEach(ms []member) []member {
	if len(ms) < 2 {
		return ms
	}
	out := ms
	slices.SortStableFunc(out, compareKeys)
	keep := out[:0]
	for i, m := range out {
		if i+1 < len(out) && compareKeys(out[i+1], m) == 0 {
			continue // a later one of the same key follows (the sort is stable)
		}
		keep = append(keep, m)
	}
	return keep
}

// kind classifies a JSON value by its first byte: '{', '[', '"', 't', 'f',
// 'n', or 'd' for a number (0 if empty).
func kind(v []byte) byte {
	if len(v) == 0 || v[0] >= utf8.RuneSelf || asciiSpace(v[0]) {
		// Only then can trimming change the first byte.
		v = bytes.TrimSpace(v)
	}
	if len(v) == 0 {
		return 0
	}
	switch c := v[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	default:
		return 'd'
	}
}

// asciiSpace reports whether c is an ASCII byte unicode.IsSpace accepts.
func asciiSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

func isNull(v []byte) bool { return kind(v) == 'n' }

// describe names a JSON value for an error: its kind and a quoted start.
func describe(v []byte) string {
	var k string
	switch kind(v) {
	case '{':
		k = "an object"
	case '[':
		k = "an array"
	case '"':
		k = "a string"
	case 't', 'f':
		k = "a boolean"
	case 'n':
		return "null"
	case 'd':
		k = "a number"
	default:
		return "nothing"
	}
	return k + " " + quote(bytes.TrimSpace(v))
}

// quote shows at most quoteLimit bytes of b with Go escaping, so invalid
// UTF-8 and control bytes are visible.
func quote(b []byte) string {
	if len(b) > quoteLimit {
		return fmt.Sprintf("%q…", b[:quoteLimit])
	}
	return fmt.Sprintf("%q", b)
}
