// Package invocation holds one invocation as a guest sees it: the request
// (inputs, trigger metadata, HTTP request, context) and the result (outputs,
// return value, HTTP response, logs), in plain Go types that know nothing of
// the host's protocol.
//
// The protocol side converts host messages to these types and back
// (internal/rpcconv); the engine and both guest contracts (ABI host
// functions, custom-handler JSON) read and write only these types.
package invocation

import (
	"slices"
	"strings"
	"time"
)

// Kind is the kind of a Value. The numbers from KindNone to
// KindCollectionInt are the guest ABI's type tags (abi/SPEC.md §4.1).
type Kind uint32

// Value kinds.
const (
	KindNone             Kind = 0 // no value (null)
	KindString           Kind = 1
	KindJSON             Kind = 2
	KindBytes            Kind = 3
	KindStream           Kind = 4
	KindHTTP             Kind = 5 // an HTTP request (input) or response (output)
	KindInt              Kind = 6
	KindDouble           Kind = 7
	KindCollectionBytes  Kind = 8
	KindCollectionString Kind = 9
	KindCollectionDouble Kind = 10
	KindCollectionInt    Kind = 11

	// KindModelBinding and KindCollectionModelBinding are SDK-type bindings
	// (a reference to data, not the data). ABI guests cannot read them.
	KindModelBinding           Kind = 100
	KindCollectionModelBinding Kind = 101
)

var kindNames = map[Kind]string{
	KindNone: "none", KindString: "string", KindJSON: "json", KindBytes: "bytes", KindStream: "stream",
	KindHTTP: "http", KindInt: "int", KindDouble: "double", KindCollectionBytes: "collection_bytes",
	KindCollectionString: "collection_string", KindCollectionDouble: "collection_double",
	KindCollectionInt: "collection_int", KindModelBinding: "model_binding",
	KindCollectionModelBinding: "collection_model_binding",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + itoa(uint64(k)) + ")"
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Value is one binding value. Kind says which field holds it.
type Value struct {
	Kind Kind

	String string  // KindString, KindJSON (the JSON text)
	Bytes  []byte  // KindBytes, KindStream
	Int    int64   // KindInt
	Double float64 // KindDouble

	Request  *HTTPRequest  // KindHTTP in a request
	Response *HTTPResponse // KindHTTP in a result

	// List holds the elements of the collection kinds and of model
	// bindings; nil for the other kinds. It is behind a pointer so that a
	// Value, made for every binding of every invocation, stays small (96
	// bytes instead of 208).
	List *List
}

// List is the elements of a collection or model-binding Value: the field
// its Kind names is set.
type List struct {
	Bytes   [][]byte       // KindCollectionBytes
	Strings []string       // KindCollectionString
	Doubles []float64      // KindCollectionDouble
	Ints    []int64        // KindCollectionInt
	Models  []ModelBinding // KindModelBinding (one element), KindCollectionModelBinding
}

// BytesList returns the elements of a KindCollectionBytes value.
func (v *Value) BytesList() [][]byte {
	if v.List == nil {
		return nil
	}
	return v.List.Bytes
}

// Strings returns the elements of a KindCollectionString value.
func (v *Value) Strings() []string {
	if v.List == nil {
		return nil
	}
	return v.List.Strings
}

// Doubles returns the elements of a KindCollectionDouble value.
func (v *Value) Doubles() []float64 {
	if v.List == nil {
		return nil
	}
	return v.List.Doubles
}

// Ints returns the elements of a KindCollectionInt value.
func (v *Value) Ints() []int64 {
	if v.List == nil {
		return nil
	}
	return v.List.Ints
}

// Models returns the model bindings of a KindModelBinding or
// KindCollectionModelBinding value.
func (v *Value) Models() []ModelBinding {
	if v.List == nil {
		return nil
	}
	return v.List.Models
}

// Len is the element count of a collection value, 0 for other kinds.
func (v *Value) Len() int {
	switch v.Kind {
	case KindCollectionBytes:
		return len(v.BytesList())
	case KindCollectionString:
		return len(v.Strings())
	case KindCollectionDouble:
		return len(v.Doubles())
	case KindCollectionInt:
		return len(v.Ints())
	case KindCollectionModelBinding:
		return len(v.Models())
	}
	return 0
}

// StringValue returns a KindString value.
func StringValue(s string) *Value { return &Value{Kind: KindString, String: s} }

// JSONValue returns a KindJSON value holding the JSON text s.
func JSONValue(s string) *Value { return &Value{Kind: KindJSON, String: s} }

// BytesValue returns a KindBytes value.
func BytesValue(b []byte) *Value { return &Value{Kind: KindBytes, Bytes: b} }

// ModelBinding is a reference to data an SDK-type binding reads itself.
type ModelBinding struct {
	Version, Source, ContentType string
	Content                      []byte
}

// Field is one name and value of HTTP headers, query or route parameters.
// Null is set for a value the host sent as null.
type Field struct {
	Name, Value string
	Null        bool
}

// Fields is a list of HTTP fields, each name once, in no particular order
// (the host sends maps); users that need an order sort a copy.
type Fields []Field

// Get returns the value of name: an exact match first, then one that
// matches without regard to case.
func (fs Fields) Get(name string) (Field, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// HTTPRequest is an HTTP trigger's request.
type HTTPRequest struct {
	Method, URL string
	Headers     Fields // names lower-case, as the host sends them
	Query       Fields
	Params      Fields // route parameters
	Body        *Value // nil when the request has none
	RawBody     *Value // the body as the client sent it, when the host sends it
	Identities  []Identity
}

// Identity is one identity of the request's principal.
type Identity struct {
	AuthenticationType *string // nil: null
	NameClaimType      *string
	RoleClaimType      *string
	Claims             []Claim
}

// Claim is one claim of an Identity.
type Claim struct{ Type, Value string }

// HTTPResponse is an HTTP output.
type HTTPResponse struct {
	StatusCode string            // decimal, e.g. "200"
	Headers    map[string]string // one value per name; repeated names joined with ", "
	Cookies    []Cookie
	Body       *Value // KindString, KindJSON or KindBytes
}

// SameSite is a cookie's SameSite attribute.
type SameSite int

// SameSite values; SameSiteUnset writes no attribute.
const (
	SameSiteUnset SameSite = iota
	SameSiteLax
	SameSiteStrict
	SameSiteNone
)

// Cookie is one Set-Cookie of an HTTP response. Zero or nil fields are not
// sent.
type Cookie struct {
	Name, Value  string
	Domain, Path *string
	Expires      time.Time
	Secure       *bool
	HTTPOnly     *bool
	MaxAge       *float64 // seconds
	SameSite     SameSite
}

// Binding is one binding of a function, as function.json declares it.
type Binding struct {
	Name      string // e.g. "req", "res", "$return"
	Type      string // e.g. "httpTrigger", "http", "queue"
	Direction string // "in", "out" or "inout" (any case)
	DataType  string // "", "string", "binary" or "stream"
}

// IsOutput reports whether the binding is written by the function.
func (b Binding) IsOutput() bool {
	return strings.EqualFold(b.Direction, "out") || strings.EqualFold(b.Direction, "inout")
}

// Function is what a guest contract needs to know of the function it runs.
type Function struct {
	Name     string
	Bindings []Binding
}

// Input is one input binding's value. Unreadable is set when the host sent
// the value in a form guests cannot read (shared memory); Value is nil then.
type Input struct {
	Name       string
	Value      *Value
	Unreadable string
}

// Retry is the retry state of an invocation under a retry policy.
type Retry struct {
	Count, MaxCount int32
	Exception       *Exception // the previous attempt's failure, if any
}

// Exception is a failure the host reports.
type Exception struct{ Message, Source, StackTrace string }

// Request is one invocation as the host asked for it.
type Request struct {
	InvocationID string
	FunctionID   string
	Inputs       []Input
	Metadata     []Meta // trigger metadata, sorted by name (SortMeta)
	TraceParent  string
	TraceState   string
	Retry        *Retry // nil without a retry policy
}

// Input returns the input named name.
func (r *Request) Input(name string) (*Input, bool) {
	for i := range r.Inputs {
		if r.Inputs[i].Name == name {
			return &r.Inputs[i], true
		}
	}
	return nil, false
}

// Meta is one trigger metadata value and its name.
type Meta struct {
	Name  string
	Value *Value
}

// Meta returns the trigger metadata value named name. r.Metadata must be
// sorted.
func (r *Request) Meta(name string) (*Value, bool) {
	i, ok := slices.BinarySearchFunc(r.Metadata, name, func(m Meta, name string) int { return strings.Compare(m.Name, name) })
	if !ok {
		return nil, false
	}
	return r.Metadata[i].Value, true
}

// SortMeta sorts md by name, as Request.Metadata is kept. A slice rather
// than a map: a request's few metadata values are filled once, read by
// name rarely and written out in name order on every invocation.
func SortMeta(md []Meta) {
	slices.SortFunc(md, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
}

// MetaOf returns m's entries as sorted trigger metadata.
func MetaOf(m map[string]*Value) []Meta {
	if m == nil {
		return nil
	}
	md := make([]Meta, 0, len(m))
	for k, v := range m {
		md = append(md, Meta{Name: k, Value: v})
	}
	SortMeta(md)
	return md
}

// HTTP returns the request's HTTP request: the first input holding one.
func (r *Request) HTTP() *HTTPRequest {
	for _, in := range r.Inputs {
		if in.Value != nil && in.Value.Request != nil {
			return in.Value.Request
		}
	}
	return nil
}

// Output is one output binding's value.
type Output struct {
	Name  string
	Value *Value
}

// Level is a log level; the numbers are those of the host's log levels
// (Trace 0 … Critical 5, None 6).
type Level int32

// Log levels.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInformation
	LevelWarning
	LevelError
	LevelCritical
)

// Log is one log entry a guest wrote.
type Log struct {
	Level   Level
	Message string
}

// Result is what a guest produced for one invocation that succeeded.
type Result struct {
	Outputs []Output
	Return  *Value // the $return binding's value, nil if none
	// ReturnIgnored is set when the guest returned a value but the
	// function declares no $return binding to take it.
	ReturnIgnored bool
}
