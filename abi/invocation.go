package abi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/proto/rpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Log is one log entry a guest wrote during an invocation, to be sent as a
// user RpcLog carrying the invocation id.
type Log struct {
	Level   rpc.RpcLog_Level
	Message string
}

// Invocation is the state of one invocation as a guest sees it: the request
// it reads and the outputs, HTTP response, logs and error message it writes.
// Build it with NewInvocation, run it with Call (or Pool.Invoke), and read
// the results with Result. It is used by one goroutine at a time.
type Invocation struct {
	req        *rpc.InvocationRequest
	bindings   []BindingSpec
	httpOut    string // name of the function's http output binding, "" if none
	hasReturn  bool   // the function declares a $return binding
	httpReq    *rpc.RpcHttp
	httpLooked bool
	keys       map[Source][]string

	outputs  []*rpc.ParameterBinding
	ret      *rpc.TypedData
	resp     *rpc.RpcHttp // the HTTP response being built, nil before the first http_* call
	outBytes int

	logs        []Log
	logBytes    int
	logsDropped int

	errMsg string
	status int32
	err    error // the outcome, set by Call; errNotRun before
	done   bool
}

var errNotRun = errors.New("the invocation has not run")

// NewInvocation returns the state for running req on a function with the
// given bindings (from its function.json).
func NewInvocation(req *rpc.InvocationRequest, bindings []BindingSpec) *Invocation {
	inv := &Invocation{req: req, bindings: bindings, err: errNotRun}
	for _, b := range bindings {
		if !isOut(b.Direction) {
			continue
		}
		if b.Name == "$return" {
			inv.hasReturn = true
		}
		if inv.httpOut == "" && strings.EqualFold(b.Type, "http") {
			inv.httpOut = b.Name
		}
	}
	return inv
}

func isOut(dir string) bool {
	return strings.EqualFold(dir, "out") || strings.EqualFold(dir, "inout")
}

// Request returns the InvocationRequest the invocation was built from.
func (inv *Invocation) Request() *rpc.InvocationRequest { return inv.req }

// Result returns what the guest produced. outputs and ret are only set when
// the invocation succeeded; logs are always returned (send them before the
// InvocationResponse, also on failure). err is nil on success, a
// *FunctionError when the guest returned a non-zero status, or the error
// that stopped the guest (a trap, the deadline, a cancellation).
func (inv *Invocation) Result() (outputs []*rpc.ParameterBinding, ret *rpc.TypedData, logs []Log, err error) {
	logs = inv.logs
	if inv.logsDropped > 0 {
		logs = append(logs[:len(logs):len(logs)], Log{Level: rpc.RpcLog_Warning,
			Message: fmt.Sprintf("%d log messages dropped (limit: %d messages, %d bytes per invocation)", inv.logsDropped, MaxLogEntries, MaxLogBytes)})
	}
	if inv.err != nil {
		return nil, nil, logs, inv.err
	}
	return inv.outputs, inv.ret, logs, nil
}

// finish records the outcome of the entry point: err from the call, or the
// status it returned.
func (inv *Invocation) finish(status int32, err error) {
	inv.done = true
	switch {
	case err != nil:
		inv.err = err
	case status != 0:
		msg := inv.errMsg
		if msg == "" {
			msg = fmt.Sprintf("function returned status %d", status)
		}
		inv.err = &FunctionError{Status: status, Message: msg}
	default:
		inv.err = nil
	}
}

// FunctionError reports that a guest's entry point returned a non-zero
// status: a failure the guest handled. The instance stays usable.
type FunctionError struct {
	Status  int32
	Message string // from set_error, or "function returned status N"
}

func (e *FunctionError) Error() string { return e.Message }

// ---- reading (host → guest) ----

// value is one readable value in a form that copies into guest memory without
// allocating: text in s, bytes in b, or a number in n.
type value struct {
	typ   Type
	s     string
	b     []byte
	n     uint64 // INT / DOUBLE bits
	count int    // collection element count
	isStr bool
}

func (v value) length() int {
	switch v.typ {
	case TypeInt, TypeDouble:
		return 8
	case TypeCollectionBytes, TypeCollectionString, TypeCollectionDouble, TypeCollectionInt:
		return v.count
	case TypeHTTP, TypeNone:
		return 0
	}
	if v.isStr {
		return len(v.s)
	}
	return len(v.b)
}

func str(t Type, s string) value { return value{typ: t, s: s, isStr: true} }

// fromTyped converts a TypedData the host sent; code is 0 or an error code.
func fromTyped(td *rpc.TypedData) (value, int32) {
	switch d := td.GetData().(type) {
	case nil:
		return value{typ: TypeNone}, 0
	case *rpc.TypedData_String_:
		return str(TypeString, d.String_), 0
	case *rpc.TypedData_Json:
		return str(TypeJSON, d.Json), 0
	case *rpc.TypedData_Bytes:
		return value{typ: TypeBytes, b: d.Bytes}, 0
	case *rpc.TypedData_Stream:
		return value{typ: TypeStream, b: d.Stream}, 0
	case *rpc.TypedData_Http:
		return value{typ: TypeHTTP}, 0
	case *rpc.TypedData_Int:
		return value{typ: TypeInt, n: uint64(d.Int)}, 0
	case *rpc.TypedData_Double:
		return value{typ: TypeDouble, n: math.Float64bits(d.Double)}, 0
	case *rpc.TypedData_CollectionBytes:
		return value{typ: TypeCollectionBytes, count: len(d.CollectionBytes.GetBytes())}, 0
	case *rpc.TypedData_CollectionString:
		return value{typ: TypeCollectionString, count: len(d.CollectionString.GetString_())}, 0
	case *rpc.TypedData_CollectionDouble:
		return value{typ: TypeCollectionDouble, count: len(d.CollectionDouble.GetDouble())}, 0
	case *rpc.TypedData_CollectionSint64:
		return value{typ: TypeCollectionInt, count: len(d.CollectionSint64.GetSint64())}, 0
	}
	return value{}, ErrUnsupported
}

// item returns element i of a collection.
func item(td *rpc.TypedData, i int) (value, int32) {
	if i < 0 {
		return value{}, ErrNotFound
	}
	switch d := td.GetData().(type) {
	case *rpc.TypedData_CollectionBytes:
		if l := d.CollectionBytes.GetBytes(); i < len(l) {
			return value{typ: TypeBytes, b: l[i]}, 0
		}
	case *rpc.TypedData_CollectionString:
		if l := d.CollectionString.GetString_(); i < len(l) {
			return str(TypeString, l[i]), 0
		}
	case *rpc.TypedData_CollectionDouble:
		if l := d.CollectionDouble.GetDouble(); i < len(l) {
			return value{typ: TypeDouble, n: math.Float64bits(l[i])}, 0
		}
	case *rpc.TypedData_CollectionSint64:
		if l := d.CollectionSint64.GetSint64(); i < len(l) {
			return value{typ: TypeInt, n: uint64(l[i])}, 0
		}
	default:
		return value{}, ErrBadType
	}
	return value{}, ErrNotFound
}

// typed finds the TypedData of an INPUT or METADATA name.
func (inv *Invocation) typed(src Source, name []byte) (*rpc.TypedData, int32) {
	switch src {
	case SourceInput:
		for _, pb := range inv.req.GetInputData() {
			if pb.GetName() == string(name) {
				if pb.GetRpcSharedMemory() != nil {
					return nil, ErrUnsupported
				}
				return pb.GetData(), 0
			}
		}
		return nil, ErrNotFound
	case SourceMetadata:
		if td, ok := inv.req.GetTriggerMetadata()[string(name)]; ok {
			return td, 0
		}
		return nil, ErrNotFound
	}
	return nil, ErrBadSource
}

// request returns the HTTP request: the first input whose value is http.
func (inv *Invocation) request() *rpc.RpcHttp {
	if !inv.httpLooked {
		inv.httpLooked = true
		for _, pb := range inv.req.GetInputData() {
			if h := pb.GetData().GetHttp(); h != nil {
				inv.httpReq = h
				break
			}
		}
	}
	return inv.httpReq
}

// get returns the value name of src.
func (inv *Invocation) get(src Source, name []byte) (value, int32) {
	switch src {
	case SourceInput, SourceMetadata:
		td, code := inv.typed(src, name)
		if code != 0 {
			return value{}, code
		}
		return fromTyped(td)
	case SourceContext:
		return inv.context(name)
	case SourceHTTP, SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
		h := inv.request()
		if h == nil {
			return value{}, ErrNoHTTP
		}
		return httpPart(h, src, name)
	}
	return value{}, ErrBadSource
}

func (inv *Invocation) context(name []byte) (value, int32) {
	switch string(name) {
	case "invocation_id":
		return str(TypeString, inv.req.GetInvocationId()), 0
	case "function_id":
		return str(TypeString, inv.req.GetFunctionId()), 0
	case "trace_parent":
		return str(TypeString, inv.req.GetTraceContext().GetTraceParent()), 0
	case "trace_state":
		return str(TypeString, inv.req.GetTraceContext().GetTraceState()), 0
	case "retry_count", "max_retry_count":
		rc := inv.req.GetRetryContext()
		if rc == nil {
			return value{}, ErrNotFound
		}
		n := rc.GetRetryCount()
		if string(name) == "max_retry_count" {
			n = rc.GetMaxRetryCount()
		}
		return value{typ: TypeInt, n: uint64(int64(n))}, 0
	}
	return value{}, ErrBadSource
}

func httpPart(h *rpc.RpcHttp, src Source, name []byte) (value, int32) {
	switch src {
	case SourceHTTP:
		switch string(name) {
		case "method":
			return str(TypeString, h.GetMethod()), 0
		case "url":
			return str(TypeString, h.GetUrl()), 0
		case "body":
			if h.Body == nil {
				return value{}, ErrNotFound
			}
			return fromTyped(h.Body)
		case "raw_body":
			if h.RawBody == nil {
				return value{}, ErrNotFound
			}
			return fromTyped(h.RawBody)
		}
		return value{}, ErrBadSource
	case SourceHTTPHeader:
		return lookup(h.GetNullableHeaders(), h.GetHeaders(), name)
	case SourceHTTPQuery:
		return lookup(h.GetNullableQuery(), h.GetQuery(), name)
	case SourceHTTPParam:
		return lookup(h.GetNullableParams(), h.GetParams(), name)
	}
	return value{}, ErrBadSource
}

// lookup finds name in the nullable map when the host sent one, else in the
// plain map: exact match first, then case-insensitive.
func lookup(nm map[string]*rpc.NullableString, m map[string]string, name []byte) (value, int32) {
	if len(nm) > 0 {
		if v, ok := nm[string(name)]; ok {
			return str(TypeString, v.GetValue()), 0
		}
		for k, v := range nm {
			if strings.EqualFold(k, string(name)) {
				return str(TypeString, v.GetValue()), 0
			}
		}
		return value{}, ErrNotFound
	}
	if v, ok := m[string(name)]; ok {
		return str(TypeString, v), 0
	}
	for k, v := range m {
		if strings.EqualFold(k, string(name)) {
			return str(TypeString, v), 0
		}
	}
	return value{}, ErrNotFound
}

// getItem returns element index of the collection name of src.
func (inv *Invocation) getItem(src Source, name []byte, index int) (value, int32) {
	switch src {
	case SourceInput, SourceMetadata:
		td, code := inv.typed(src, name)
		if code != 0 {
			return value{}, code
		}
		return item(td, index)
	case SourceContext, SourceHTTP, SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
		if _, code := inv.get(src, name); code != 0 {
			return value{}, code
		}
		return value{}, ErrBadType // these sources hold no collections
	}
	return value{}, ErrBadSource
}

// getKey returns the index-th name of src in ascending byte order.
func (inv *Invocation) getKey(src Source, index int) (value, int32) {
	keys, ok := inv.keys[src]
	if !ok {
		switch src {
		case SourceInput:
			for _, pb := range inv.req.GetInputData() {
				keys = append(keys, pb.GetName())
			}
		case SourceMetadata:
			for k := range inv.req.GetTriggerMetadata() {
				keys = append(keys, k)
			}
		case SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
			h := inv.request()
			if h == nil {
				return value{}, ErrNoHTTP
			}
			nm, m := h.GetNullableHeaders(), h.GetHeaders()
			if src == SourceHTTPQuery {
				nm, m = h.GetNullableQuery(), h.GetQuery()
			} else if src == SourceHTTPParam {
				nm, m = h.GetNullableParams(), h.GetParams()
			}
			if len(nm) > 0 {
				for k := range nm {
					keys = append(keys, k)
				}
			} else {
				for k := range m {
					keys = append(keys, k)
				}
			}
		default:
			return value{}, ErrBadSource
		}
		slices.Sort(keys)
		if inv.keys == nil {
			inv.keys = map[Source][]string{}
		}
		inv.keys[src] = keys
	}
	if index < 0 || index >= len(keys) {
		return value{}, ErrNotFound
	}
	return str(TypeString, keys[index]), 0
}

// ---- writing (guest → host) ----

// toTyped converts bytes a guest wrote as a value of type t. The bytes are
// copied.
func toTyped(t Type, b []byte) (*rpc.TypedData, int32) {
	switch t {
	case TypeString:
		if !utf8.Valid(b) {
			return nil, ErrBadUTF8
		}
		return &rpc.TypedData{Data: &rpc.TypedData_String_{String_: string(b)}}, 0
	case TypeJSON:
		if !utf8.Valid(b) {
			return nil, ErrBadUTF8
		}
		if !json.Valid(b) {
			return nil, ErrBadJSON
		}
		return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: string(b)}}, 0
	case TypeBytes:
		return &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: append([]byte{}, b...)}}, 0
	case TypeInt:
		if len(b) != 8 {
			return nil, ErrBadValue
		}
		return &rpc.TypedData{Data: &rpc.TypedData_Int{Int: int64(binary.LittleEndian.Uint64(b))}}, 0
	case TypeDouble:
		if len(b) != 8 {
			return nil, ErrBadValue
		}
		return &rpc.TypedData{Data: &rpc.TypedData_Double{Double: math.Float64frombits(binary.LittleEndian.Uint64(b))}}, 0
	}
	return nil, ErrBadType
}

func (inv *Invocation) charge(n int) int32 {
	if inv.outBytes+n > MaxOutputBytes {
		return ErrLimit
	}
	inv.outBytes += n
	return 0
}

// isOutput reports whether name is an output binding of the function.
func (inv *Invocation) isOutput(name []byte) bool {
	for _, b := range inv.bindings {
		if b.Name == string(name) && isOut(b.Direction) {
			return true
		}
	}
	return false
}

// setOutput sets output binding name (or the return value for $return).
func (inv *Invocation) setOutput(name []byte, t Type, b []byte) int32 {
	if !inv.isOutput(name) {
		return ErrNotOutput
	}
	td, code := toTyped(t, b)
	if code != 0 {
		return code
	}
	if code := inv.charge(len(b) + len(name)); code != 0 {
		return code
	}
	if string(name) == inv.httpOut {
		inv.resp = nil // a new http_* call starts a new response
	}
	inv.put(string(name), td)
	return 0
}

// put stores an output value, replacing an earlier one of the same name.
func (inv *Invocation) put(name string, td *rpc.TypedData) {
	if name == "$return" {
		inv.ret = td
		return
	}
	for _, pb := range inv.outputs {
		if pb.Name == name {
			pb.RpcData = &rpc.ParameterBinding_Data{Data: td}
			return
		}
	}
	inv.outputs = append(inv.outputs, &rpc.ParameterBinding{Name: name, RpcData: &rpc.ParameterBinding_Data{Data: td}})
}

// response returns the HTTP response being built, creating it (status 200,
// empty body) on first use.
func (inv *Invocation) response() (*rpc.RpcHttp, int32) {
	if inv.httpOut == "" {
		return nil, ErrNoHTTP
	}
	if inv.resp == nil {
		inv.resp = &rpc.RpcHttp{
			StatusCode: "200",
			Headers:    map[string]string{},
			Body:       &rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte{}}},
		}
		inv.put(inv.httpOut, &rpc.TypedData{Data: &rpc.TypedData_Http{Http: inv.resp}})
	}
	return inv.resp, 0
}

func (inv *Invocation) httpStatus(status int32) int32 {
	if status < 100 || status > 999 {
		return ErrBadValue
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	r.StatusCode = strconv.Itoa(int(status))
	return 0
}

func (inv *Invocation) httpHeader(name, val []byte) int32 {
	if !validToken(name) {
		return ErrBadValue
	}
	if !utf8.Valid(val) {
		return ErrBadUTF8
	}
	for _, c := range val {
		if c == '\r' || c == '\n' || c == 0 {
			return ErrBadValue
		}
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	if code := inv.charge(len(name) + len(val)); code != 0 {
		return code
	}
	k := strings.ToLower(string(name))
	if old, ok := r.Headers[k]; ok {
		r.Headers[k] = old + ", " + string(val)
	} else {
		r.Headers[k] = string(val)
	}
	return 0
}

// validToken reports whether b is an HTTP token (RFC 9110 §5.6.2).
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func (inv *Invocation) httpCookie(line []byte) int32 {
	if !utf8.Valid(line) {
		return ErrBadUTF8
	}
	c, err := http.ParseSetCookie(string(line))
	if err != nil {
		return ErrBadValue
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	if code := inv.charge(len(line)); code != 0 {
		return code
	}
	r.Cookies = append(r.Cookies, cookie(c))
	return 0
}

// cookie converts a parsed Set-Cookie line to the contract's cookie.
func cookie(c *http.Cookie) *rpc.RpcHttpCookie {
	rc := &rpc.RpcHttpCookie{Name: c.Name, Value: c.Value}
	if c.Domain != "" {
		rc.Domain = &rpc.NullableString{String_: &rpc.NullableString_Value{Value: c.Domain}}
	}
	if c.Path != "" {
		rc.Path = &rpc.NullableString{String_: &rpc.NullableString_Value{Value: c.Path}}
	}
	if !c.Expires.IsZero() {
		rc.Expires = &rpc.NullableTimestamp{Timestamp: &rpc.NullableTimestamp_Value{Value: timestamppb.New(c.Expires)}}
	}
	if c.Secure {
		rc.Secure = &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: true}}
	}
	if c.HttpOnly {
		rc.HttpOnly = &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: true}}
	}
	switch {
	case c.MaxAge > 0:
		rc.MaxAge = &rpc.NullableDouble{Double: &rpc.NullableDouble_Value{Value: float64(c.MaxAge)}}
	case c.MaxAge < 0: // "Max-Age=0" or negative: delete now
		rc.MaxAge = &rpc.NullableDouble{Double: &rpc.NullableDouble_Value{Value: 0}}
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		rc.SameSite = rpc.RpcHttpCookie_Lax
	case http.SameSiteStrictMode:
		rc.SameSite = rpc.RpcHttpCookie_Strict
	case http.SameSiteNoneMode:
		rc.SameSite = rpc.RpcHttpCookie_ExplicitNone
	}
	return rc
}

func (inv *Invocation) httpBody(t Type, b []byte) int32 {
	if t != TypeString && t != TypeBytes && t != TypeJSON {
		return ErrBadType
	}
	td, code := toTyped(t, b)
	if code != 0 {
		return code
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	if code := inv.charge(len(b)); code != 0 {
		return code
	}
	r.Body = td
	return 0
}

func (inv *Invocation) log(level int32, msg []byte) int32 {
	if level < int32(rpc.RpcLog_Trace) || level > int32(rpc.RpcLog_Critical) {
		return ErrBadValue
	}
	if len(inv.logs) >= MaxLogEntries || inv.logBytes+min(len(msg), MaxMessageBytes) > MaxLogBytes {
		inv.logsDropped++
		return ErrLimit
	}
	s := message(msg)
	inv.logBytes += len(s)
	inv.logs = append(inv.logs, Log{Level: rpc.RpcLog_Level(level), Message: s})
	return 0
}

// message makes guest text safe to send: valid UTF-8, at most
// MaxMessageBytes (plus the "…" that marks a cut).
func message(b []byte) string {
	cut := false
	if len(b) > MaxMessageBytes {
		b, cut = b[:MaxMessageBytes], true
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if cut {
		s += "…"
	}
	return s
}

func (inv *Invocation) setError(msg []byte) int32 {
	inv.errMsg = message(msg)
	return 0
}
