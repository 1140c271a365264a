package wwtest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
)

// Sources of SPEC.md §4.2.
const (
	srcInput = iota
	srcMetadata
	srcContext
	srcHTTP
	srcHTTPHeader
	srcHTTPQuery
	srcHTTPParam
)

// value is what the fake host holds for one input or metadata entry.
type value struct {
	typ   ww.Type
	data  []byte
	items []value // collections
}

// httpRequest is the HTTP input as the host sees it (SPEC.md §4.2).
type httpRequest struct {
	method, url string
	body        []byte
	hasBody     bool
	headers     map[string]string // lower-case names, values joined with ","
	query       map[string]string
	params      map[string]string
}

// fakeHost implements the host imports in memory, with the checks of
// SPEC.md §5 that a function can trip over: output names, types, JSON,
// UTF-8, header and cookie syntax, status range, log level.
type fakeHost struct {
	inputs   map[string]value
	metadata map[string]value
	context  map[string]value
	http     *httpRequest

	outs      map[string]bool // output binding names ("$return" included)
	httpOut   string          // name of the http output binding, "" for none
	declaring bool

	outputs  map[string]ww.Value
	response *Response
	errMsg   string
	logs     []Log
	declared [][]byte
}

func answer(v value, buf []byte) int64 {
	if v.typ.IsCollection() {
		return int64(v.typ)<<32 | int64(len(v.items))
	}
	copy(buf, v.data)
	return int64(v.typ)<<32 | int64(len(v.data))
}

func str(s string) value { return value{typ: ww.String, data: []byte(s)} }

// lookupFold finds name exactly, then case-insensitively.
func lookupFold(m map[string]string, name string) (string, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (h *fakeHost) find(source uint32, name string) (value, int64) {
	switch source {
	case srcInput, srcMetadata:
		m := h.inputs
		if source == srcMetadata {
			m = h.metadata
		}
		if v, ok := m[name]; ok {
			return v, 0
		}
		return value{}, int64(ww.ErrNotFound)
	case srcContext:
		if v, ok := h.context[name]; ok {
			return v, 0
		}
		switch name {
		case "retry_count", "max_retry_count":
			return value{}, int64(ww.ErrNotFound)
		}
		return value{}, int64(ww.ErrBadSource)
	}
	if source > srcHTTPParam {
		return value{}, int64(ww.ErrBadSource)
	}
	r := h.http
	if r == nil {
		return value{}, int64(ww.ErrNoHTTP)
	}
	var m map[string]string
	switch source {
	case srcHTTP:
		switch name {
		case "method":
			return str(r.method), 0
		case "url":
			return str(r.url), 0
		case "body":
			if !r.hasBody {
				return value{}, int64(ww.ErrNotFound)
			}
			return value{typ: ww.Bytes, data: r.body}, 0
		case "raw_body":
			return value{}, int64(ww.ErrNotFound)
		}
		return value{}, int64(ww.ErrBadSource)
	case srcHTTPHeader:
		if v, ok := r.headers[strings.ToLower(name)]; ok {
			return str(v), 0
		}
		return value{}, int64(ww.ErrNotFound)
	case srcHTTPQuery:
		m = r.query
	case srcHTTPParam:
		m = r.params
	}
	if v, ok := lookupFold(m, name); ok {
		return str(v), 0
	}
	return value{}, int64(ww.ErrNotFound)
}

func (h *fakeHost) Get(source uint32, name string, buf []byte) int64 {
	v, code := h.find(source, name)
	if code < 0 {
		return code
	}
	return answer(v, buf)
}

func (h *fakeHost) GetItem(source uint32, name string, index int32, buf []byte) int64 {
	v, code := h.find(source, name)
	switch {
	case code < 0:
		return code
	case !v.typ.IsCollection():
		return int64(ww.ErrBadType)
	case index < 0 || int(index) >= len(v.items):
		return int64(ww.ErrNotFound)
	}
	return answer(v.items[index], buf)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (h *fakeHost) GetKey(source uint32, index int32, buf []byte) int64 {
	var keys []string
	switch source {
	case srcInput:
		keys = sortedKeys(h.inputs)
	case srcMetadata:
		keys = sortedKeys(h.metadata)
	case srcHTTPHeader, srcHTTPQuery, srcHTTPParam:
		if h.http == nil {
			return int64(ww.ErrNoHTTP)
		}
		keys = sortedKeys(map[uint32]map[string]string{srcHTTPHeader: h.http.headers, srcHTTPQuery: h.http.query, srcHTTPParam: h.http.params}[source])
	default:
		return int64(ww.ErrBadSource)
	}
	if index < 0 || int(index) >= len(keys) {
		return int64(ww.ErrNotFound)
	}
	return answer(str(keys[index]), buf)
}

// checkValue applies SPEC.md §4.3's rules to an output value.
func checkValue(t ww.Type, data []byte, numbers bool) int32 {
	switch t {
	case ww.String, ww.JSON:
		if !utf8.Valid(data) {
			return int32(ww.ErrBadUTF8)
		}
		if t == ww.JSON && !json.Valid(data) {
			return int32(ww.ErrBadJSON)
		}
	case ww.Bytes:
	case ww.Int, ww.Double:
		if !numbers {
			return int32(ww.ErrBadType)
		}
		if len(data) != 8 {
			return int32(ww.ErrBadValue)
		}
	default:
		return int32(ww.ErrBadType)
	}
	return 0
}

func (h *fakeHost) SetOutput(name string, typ uint32, data []byte) int32 {
	if h.declaring {
		return int32(ww.ErrNoInvocation)
	}
	if !h.outs[name] {
		return int32(ww.ErrNotOutput)
	}
	t := ww.Type(typ)
	if code := checkValue(t, data, true); code < 0 {
		return code
	}
	if name == h.httpOut {
		h.response = nil
	}
	h.outputs[name] = ww.Value{Type: t, Data: bytes.Clone(data), Len: len(data)}
	return 0
}

func (h *fakeHost) SetError(msg string) int32 {
	h.errMsg = strings.ToValidUTF8(msg, "\uFFFD")
	return 0
}

// resp returns the HTTP response, creating it on the first call.
func (h *fakeHost) resp() (*Response, int32) {
	if h.declaring {
		return nil, int32(ww.ErrNoInvocation)
	}
	if h.httpOut == "" {
		return nil, int32(ww.ErrNoHTTP)
	}
	if h.response == nil {
		delete(h.outputs, h.httpOut)
		h.response = &Response{StatusCode: 200, Header: http.Header{}}
	}
	return h.response, 0
}

func (h *fakeHost) HTTPStatus(status int32) int32 {
	r, code := h.resp()
	if code < 0 {
		return code
	}
	if status < 100 || status > 999 {
		return int32(ww.ErrBadValue)
	}
	r.StatusCode = int(status)
	return 0
}

// isToken reports whether s is an HTTP token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (h *fakeHost) HTTPHeader(name, value string) int32 {
	r, code := h.resp()
	if code < 0 {
		return code
	}
	if !utf8.ValidString(name) || !utf8.ValidString(value) {
		return int32(ww.ErrBadUTF8)
	}
	if !isToken(name) || strings.ContainsAny(value, "\r\n") {
		return int32(ww.ErrBadValue)
	}
	key := http.CanonicalHeaderKey(name)
	if old := r.Header.Get(key); old != "" || len(r.Header[key]) > 0 {
		r.Header.Set(key, old+", "+value)
	} else {
		r.Header.Set(key, value)
	}
	return 0
}

func (h *fakeHost) HTTPCookie(cookie string) int32 {
	r, code := h.resp()
	if code < 0 {
		return code
	}
	if !utf8.ValidString(cookie) {
		return int32(ww.ErrBadUTF8)
	}
	if _, err := http.ParseSetCookie(cookie); err != nil {
		return int32(ww.ErrBadValue)
	}
	r.Cookies = append(r.Cookies, cookie)
	return 0
}

func (h *fakeHost) HTTPBody(typ uint32, data []byte) int32 {
	r, code := h.resp()
	if code < 0 {
		return code
	}
	if code := checkValue(ww.Type(typ), data, false); code < 0 {
		return code
	}
	r.Body = bytes.Clone(data)
	return 0
}

func (h *fakeHost) Log(level int32, msg string) int32 {
	if level < 0 || level > 5 {
		return int32(ww.ErrBadValue)
	}
	h.logs = append(h.logs, Log{Level: ww.Level(level), Message: strings.ToValidUTF8(msg, "\uFFFD")})
	return 0
}

func (h *fakeHost) Declare(decl []byte) int32 {
	if !h.declaring {
		return int32(ww.ErrUnsupported)
	}
	if !utf8.Valid(decl) {
		return int32(ww.ErrBadUTF8)
	}
	var obj map[string]any
	if json.Unmarshal(decl, &obj) != nil || obj == nil {
		return int32(ww.ErrBadJSON)
	}
	h.declared = append(h.declared, bytes.Clone(decl))
	return 0
}

// encodeValue turns a Go value into what the host would send: nil as NONE,
// string as STRING, []byte as BYTES, json.RawMessage as JSON, integers as
// INT, floats as DOUBLE, slices of those as collections, ww.Value as is, and
// anything else as JSON. With jsonNumbers, numbers and booleans are JSON
// text, as the host sends trigger metadata.
func encodeValue(v any, jsonNumbers bool) (value, error) {
	num := func(n int64) value {
		if jsonNumbers {
			return value{typ: ww.JSON, data: []byte(strconv.FormatInt(n, 10))}
		}
		return value{typ: ww.Int, data: binary.LittleEndian.AppendUint64(nil, uint64(n))}
	}
	switch x := v.(type) {
	case nil:
		return value{typ: ww.None}, nil
	case ww.Value:
		return value{typ: x.Type, data: x.Data}, nil
	case string:
		return str(x), nil
	case []byte:
		return value{typ: ww.Bytes, data: x}, nil
	case json.RawMessage:
		return value{typ: ww.JSON, data: x}, nil
	case int:
		return num(int64(x)), nil
	case int32:
		return num(int64(x)), nil
	case int64:
		return num(x), nil
	case float64:
		if jsonNumbers {
			break
		}
		return value{typ: ww.Double, data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))}, nil
	case []string:
		return collection(ww.CollectionString, x, jsonNumbers)
	case [][]byte:
		return collection(ww.CollectionBytes, x, jsonNumbers)
	case []int64:
		return collection(ww.CollectionInt, x, false)
	case []float64:
		return collection(ww.CollectionDouble, x, false)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return value{}, err
	}
	return value{typ: ww.JSON, data: b}, nil
}

func collection[T any](t ww.Type, xs []T, jsonNumbers bool) (value, error) {
	v := value{typ: t}
	for _, x := range xs {
		item, err := encodeValue(x, jsonNumbers)
		if err != nil {
			return value{}, err
		}
		v.items = append(v.items, item)
	}
	return v, nil
}
