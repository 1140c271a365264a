// Package wasmworker is the Go SDK of the wasmworker guest ABI v1
// (abi/SPEC.md): Azure Functions written in Go, built as one WebAssembly
// module with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
//
// Functions are declared in code, in the package's init functions:
//
//	func init() {
//		wwhttp.HandleFunc("Hello", hello, ww.Route("hello"), ww.Methods("GET"))
//		ww.HandleQueue("Work", "work", work, ww.QueueOutput("out", "work-done"))
//	}
//
//	func main() {} // required by Go, never run in a -buildmode=c-shared module
//
// Registration belongs in init (or package variable initialisers): a
// c-shared module runs package initialisation in _initialize and never runs
// main. The module exports wasmworker_functions, which declares every
// registered function to the worker (SPEC.md §2.3), and one entry point,
// ww_dispatch, which runs the function the host names.
//
// Every handler gets a context.Context that carries the invocation
// (FromContext) and is cancelled when the invocation ends; SetOutput,
// Logger and the trigger types (QueueMessage, TimerInfo, Blob) do the
// conversions. HTTP functions are http.Handlers, registered with package
// wwhttp, which is a separate import because net/http doubles the size of a
// module (README.md). Package wwtest runs registered functions natively in
// go test; outside GOOS=wasip1 and without wwtest every host call fails with
// ErrNoInvocation.
//
// The package-level functions without a context (Input, Query, SetStatus,
// Run, …) are the low-level API for entry points exported by hand
// (//go:wasmexport) and named by function.json files. They are only
// meaningful while an entry point runs, and not safe for concurrent use (an
// instance serves one invocation at a time).
package wasmworker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

// Type is a value's type tag (SPEC.md §4.1).
type Type uint32

// Type tags.
const (
	None             Type = 0
	String           Type = 1
	JSON             Type = 2
	Bytes            Type = 3
	Stream           Type = 4
	HTTP             Type = 5
	Int              Type = 6
	Double           Type = 7
	CollectionBytes  Type = 8
	CollectionString Type = 9
	CollectionDouble Type = 10
	CollectionInt    Type = 11
)

// IsCollection reports whether t is one of the collection types.
func (t Type) IsCollection() bool { return t >= CollectionBytes && t <= CollectionInt }

// Sources of values (SPEC.md §4.2).
const (
	srcInput      = 0
	srcMetadata   = 1
	srcContext    = 2
	srcHTTP       = 3
	srcHTTPHeader = 4
	srcHTTPQuery  = 5
	srcHTTPParam  = 6
)

// Error is an error code returned by the host (SPEC.md §6).
type Error int32

// Error codes.
const (
	ErrNotFound     Error = -1
	ErrBadSource    Error = -2
	ErrMemory       Error = -3
	ErrBadType      Error = -4
	ErrBadUTF8      Error = -5
	ErrBadJSON      Error = -6
	ErrNotOutput    Error = -7
	ErrNoHTTP       Error = -8
	ErrLimit        Error = -9
	ErrNoInvocation Error = -10
	ErrBadValue     Error = -11
	ErrUnsupported  Error = -12
	ErrDenied       Error = -13
	ErrHTTPFailed   Error = -14
	ErrBadHandle    Error = -15
)

var errText = map[Error]string{
	ErrNotFound: "not found", ErrBadSource: "unknown source or name", ErrMemory: "buffer outside memory",
	ErrBadType: "type not allowed here", ErrBadUTF8: "text is not valid UTF-8", ErrBadJSON: "invalid JSON",
	ErrNotOutput: "not an output binding of this function", ErrNoHTTP: "no HTTP request or http output binding",
	ErrLimit: "per-invocation limit reached", ErrNoInvocation: "no invocation in progress",
	ErrBadValue: "invalid argument", ErrUnsupported: "not supported by ABI v1",
	ErrDenied: "denied by the function's grant", ErrHTTPFailed: "outbound HTTP request failed",
	ErrBadHandle: "not an open outbound response",
}

// Error returns the code's meaning, e.g. "wasmworker: not found".
func (e Error) Error() string {
	if s, ok := errText[e]; ok {
		return "wasmworker: " + s
	}
	return fmt.Sprintf("wasmworker: error %d", int32(e))
}

func check(code int32) error {
	if code < 0 {
		return Error(code)
	}
	return nil
}

// Value is a value read from the host: its type and its bytes (for a
// collection, Len is the element count and Data is nil).
type Value struct {
	Type Type
	Data []byte
	Len  int
}

// String returns the value as text (the bytes of a string, JSON text, or
// bytes; a number formatted in decimal).
func (v Value) String() string {
	switch v.Type {
	case Int:
		n, _ := v.Int()
		return fmt.Sprint(n)
	case Double:
		f, _ := v.Float()
		return fmt.Sprint(f)
	}
	return string(v.Data)
}

// Int returns an Int value; ok is false for another type.
func (v Value) Int() (n int64, ok bool) {
	if v.Type != Int || len(v.Data) != 8 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(v.Data)), true
}

// Float returns a Double value; ok is false for another type.
func (v Value) Float() (f float64, ok bool) {
	if v.Type != Double || len(v.Data) != 8 {
		return 0, false
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(v.Data)), true
}

// Decode unmarshals a JSON, String or Bytes value holding JSON text into dst.
func (v Value) Decode(dst any) error { return json.Unmarshal(v.Data, dst) }

// noHost answers every call with NO_INVOCATION: it stands in for the host
// outside GOOS=wasip1 when no test host (package wwtest) is installed.
type noHost struct{}

func (noHost) Get(uint32, string, []byte) int64            { return hostabi.NoInvocation }
func (noHost) GetItem(uint32, string, int32, []byte) int64 { return hostabi.NoInvocation }
func (noHost) GetKey(uint32, int32, []byte) int64          { return hostabi.NoInvocation }
func (noHost) SetOutput(string, uint32, []byte) int32      { return hostabi.NoInvocation }
func (noHost) SetError(string) int32                       { return hostabi.NoInvocation }
func (noHost) HTTPStatus(int32) int32                      { return hostabi.NoInvocation }
func (noHost) HTTPHeader(string, string) int32             { return hostabi.NoInvocation }
func (noHost) HTTPCookie(string) int32                     { return hostabi.NoInvocation }
func (noHost) HTTPBody(uint32, []byte) int32               { return hostabi.NoInvocation }
func (noHost) Log(int32, string) int32                     { return hostabi.NoInvocation }
func (noHost) Declare([]byte) int32                        { return hostabi.NoInvocation }

// host returns the host to call.
func host() hostabi.Host {
	if h := hostabi.Current; h != nil {
		return h
	}
	return noHost{}
}

// scratch is the reusable buffer getters copy into (SPEC.md §5.1).
var scratch = make([]byte, 4096)

// fetch runs a getter into scratch, or into an exact-size buffer when the
// value is larger, and returns a copy the caller owns.
func fetch(get func(buf []byte) int64) (Value, error) {
	r := get(scratch)
	if r < 0 {
		return Value{}, Error(int32(r))
	}
	t, n := Type(r>>32), int(uint32(r))
	switch {
	case t.IsCollection():
		return Value{Type: t, Len: n}, nil
	case n <= len(scratch):
		return Value{Type: t, Data: append([]byte(nil), scratch[:n]...), Len: n}, nil
	}
	buf := make([]byte, n)
	if r = get(buf); r < 0 {
		return Value{}, Error(int32(r))
	}
	return Value{Type: t, Data: buf, Len: n}, nil
}

func getValue(source uint32, name string) (Value, error) {
	return fetch(func(buf []byte) int64 { return host().Get(source, name, buf) })
}

func getString(source uint32, name string) string {
	v, err := getValue(source, name)
	if err != nil {
		return ""
	}
	return string(v.Data)
}

// Input returns the input binding name (the trigger included). A binding the
// host did not send gives ErrNotFound; a null one gives a Value of type None.
func Input(name string) (Value, error) { return getValue(srcInput, name) }

// Item returns element i of the collection input binding name.
func Item(name string, i int) (Value, error) {
	return fetch(func(buf []byte) int64 { return host().GetItem(srcInput, name, int32(i), buf) })
}

// Metadata returns the trigger-metadata entry key (e.g. "DequeueCount").
func Metadata(key string) (Value, error) { return getValue(srcMetadata, key) }

func keys(source uint32) []string {
	var out []string
	for i := int32(0); ; i++ {
		v, err := fetch(func(buf []byte) int64 { return host().GetKey(source, i, buf) })
		if err != nil {
			return out
		}
		out = append(out, string(v.Data))
	}
}

// InputNames returns the names of the input bindings the host sent, sorted.
func InputNames() []string { return keys(srcInput) }

// MetadataKeys returns the trigger-metadata keys, sorted.
func MetadataKeys() []string { return keys(srcMetadata) }

// InvocationID returns the id of the invocation in progress.
func InvocationID() string { return getString(srcContext, "invocation_id") }

// Method returns the HTTP request's method ("" without an HTTP trigger).
func Method() string { return getString(srcHTTP, "method") }

// URL returns the HTTP request's full URL.
func URL() string { return getString(srcHTTP, "url") }

// Header returns the request header name (case-insensitive), or "".
func Header(name string) string { return getString(srcHTTPHeader, name) }

// Query returns the query parameter name, or "" (absent and empty alike;
// LookupQuery tells them apart).
func Query(name string) string { return getString(srcHTTPQuery, name) }

// LookupQuery returns the query parameter name and whether the request has
// it ("?name=" gives "", true).
func LookupQuery(name string) (string, bool) {
	v, err := getValue(srcHTTPQuery, name)
	if err != nil {
		return "", false
	}
	return string(v.Data), true
}

// Param returns the route parameter name, or "".
func Param(name string) string { return getString(srcHTTPParam, name) }

// HeaderNames returns the request's header names, sorted.
func HeaderNames() []string { return keys(srcHTTPHeader) }

// QueryNames returns the request's query parameter names, sorted.
func QueryNames() []string { return keys(srcHTTPQuery) }

// ParamNames returns the names of the request's route parameters, sorted.
func ParamNames() []string { return keys(srcHTTPParam) }

// Body returns the HTTP request body (nil when there is none).
func Body() []byte {
	v, err := getValue(srcHTTP, "body")
	if err != nil {
		return nil
	}
	return v.Data
}

// SetOutputRaw sets output binding name ("$return" for the return value) to
// data of type t (String, JSON, Bytes, Int or Double). SetOutput (with a
// context) picks the type from a Go value.
func SetOutputRaw(name string, t Type, data []byte) error {
	return check(host().SetOutput(name, uint32(t), data))
}

// SetOutputString sets output binding name to a string.
func SetOutputString(name, s string) error {
	return check(host().SetOutput(name, uint32(String), []byte(s)))
}

// SetOutputJSON sets output binding name to v marshalled as JSON.
func SetOutputJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal output %s: %w", name, err)
	}
	return SetOutputRaw(name, JSON, b)
}

// SetOutputInt sets output binding name to an integer.
func SetOutputInt(name string, n int64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	return SetOutputRaw(name, Int, b[:])
}

// SetStatus sets the HTTP response status (the response starts as 200).
func SetStatus(code int) error { return check(host().HTTPStatus(int32(code))) }

// AddHeader adds a response header; adding a name twice joins the values
// with ", " (the host keeps one value per name).
func AddHeader(name, value string) error { return check(host().HTTPHeader(name, value)) }

// SetHeader adds a response header, exactly like AddHeader.
//
// Deprecated: it appends like http.Header.Add despite its name; use
// AddHeader, or write the response with package wwhttp, whose
// http.ResponseWriter has Set and Add.
func SetHeader(name, value string) error { return AddHeader(name, value) }

// AddCookie adds a response cookie given in Set-Cookie syntax, e.g.
// "id=1; Path=/; HttpOnly".
func AddCookie(setCookie string) error { return check(host().HTTPCookie(setCookie)) }

// SetBody sets the response body; t is String, Bytes or JSON.
func SetBody(t Type, body []byte) error { return check(host().HTTPBody(uint32(t), body)) }

// WriteString sets the response body to text.
func WriteString(s string) error { return check(host().HTTPBody(uint32(String), []byte(s))) }

// Level is a log level (RpcLog.Level).
type Level int32

// Log levels.
const (
	Trace       Level = 0
	Debug       Level = 1
	Information Level = 2
	Warning     Level = 3
	LevelError  Level = 4
	Critical    Level = 5
)

// Log writes a log entry of the invocation.
func Log(level Level, msg string) { host().Log(int32(level), msg) }

// Logf formats and writes a log entry of the invocation.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }

// Run runs handler as the body of an entry point you export yourself
// (//go:wasmexport) and returns the entry point's status: 0 on success; 1
// after handler returned an error or panicked, whose text becomes the
// invocation's failure message. Functions registered with Handle and its
// relatives need no entry point of their own.
func Run(handler func() error) (status int32) {
	defer func() {
		if p := recover(); p != nil {
			host().SetError(fmt.Sprintf("panic: %v", p))
			status = 1
		}
	}()
	if err := handler(); err != nil {
		host().SetError(err.Error())
		return 1
	}
	return 0
}

// ErrorIs reports whether err is the host error code e (a convenience for
// errors.Is).
func ErrorIs(err error, e Error) bool { return errors.Is(err, e) }
