// Package wwtest runs functions registered with the wasmworker Go SDK
// natively, in go test, against an in-memory host that behaves like the
// worker's (abi/SPEC.md): the function reads the inputs, trigger metadata
// and HTTP request the test gives, and the test inspects the outputs, logs,
// failure message and HTTP response.
//
//	func TestHello(t *testing.T) {
//		res, err := wwtest.Invoke("Hello", wwtest.Request(httptest.NewRequest("GET", "/api/hello?name=Go", nil)))
//		if err != nil {
//			t.Fatal(err)
//		}
//		if res.Err != nil || res.HTTP.String() != "Hello, Go!" { … }
//	}
//
// The functions are those registered by the init functions of the package
// under test (a main package's tests see its registrations). Invocations run
// one at a time (Invoke holds a lock), as in a wasm instance.
package wwtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

// mu serialises invocations: the SDK's host is process-wide state.
var mu sync.Mutex

// Option gives an invocation an input, metadata or context value.
type Option func(c *call) error

// call is one invocation being prepared.
type call struct {
	host *fakeHost
	decl declaration
	req  *http.Request
}

// declaration is the part of a declaration wwtest needs.
type declaration struct {
	Name     string           `json:"name"`
	Bindings []map[string]any `json:"bindings"`
}

// Log is one log entry of the invocation.
type Log struct {
	Level   ww.Level
	Message string
}

// Response is the HTTP response of an invocation.
type Response struct {
	StatusCode int
	Header     http.Header // canonical names; a header added twice holds "a, b"
	Cookies    []string    // Set-Cookie syntax, in order
	Body       []byte
}

// String returns the body as text.
func (r *Response) String() string {
	if r == nil {
		return ""
	}
	return string(r.Body)
}

// Result is what an invocation produced.
type Result struct {
	// Err is the invocation's failure, with the message the function gave
	// (a returned error, a recovered panic), or nil when it succeeded.
	Err error
	// Outputs are the output bindings the function set ("$return" for the
	// return value), and HTTP its HTTP response (nil when it wrote none).
	// Like the worker, a failed invocation has neither.
	Outputs map[string]ww.Value
	HTTP    *Response
	// Logs are the invocation's log entries, kept on failure too.
	Logs []Log
}

// Output returns the output binding name.
func (r *Result) Output(name string) (ww.Value, bool) {
	v, ok := r.Outputs[name]
	return v, ok
}

// DecodeOutput unmarshals the JSON output binding name into v.
func (r *Result) DecodeOutput(name string, v any) error {
	out, ok := r.Outputs[name]
	if !ok {
		return fmt.Errorf("wwtest: output %s was not set", name)
	}
	if err := json.Unmarshal(out.Data, v); err != nil {
		return fmt.Errorf("wwtest: decode output %s: %w", name, err)
	}
	return nil
}

// LogMessages returns the messages of the log entries.
func (r *Result) LogMessages() []string {
	out := make([]string, len(r.Logs))
	for i, l := range r.Logs {
		out[i] = l.Message
	}
	return out
}

// Input gives the input binding name (a trigger, or an input binding such as
// a blob) the value v: nil is a null value, a string is STRING, []byte
// BYTES, json.RawMessage JSON text, an integer INT, a float DOUBLE, a
// []string/[][]byte/[]int64/[]float64 a collection, a ww.Value itself; any
// other value is marshalled as JSON.
func Input(name string, v any) Option {
	return func(c *call) error {
		val, err := encodeValue(v, false)
		if err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		c.host.inputs[name] = val
		return nil
	}
}

// Metadata gives the trigger-metadata entry key the value v, encoded as
// Input does except that numbers and booleans become JSON text, as the host
// sends them (DequeueCount arrives as JSON "1").
func Metadata(key string, v any) Option {
	return func(c *call) error {
		val, err := encodeValue(v, true)
		if err != nil {
			return fmt.Errorf("metadata %s: %w", key, err)
		}
		c.host.metadata[key] = val
		return nil
	}
}

// Queue gives a queue-triggered function (ww.HandleQueue) the message m: its
// Body as the trigger (STRING) and its other fields as trigger metadata
// (DequeueCount 1 when zero; times when set).
func Queue(m ww.QueueMessage) Option {
	return func(c *call) error {
		c.host.inputs["msg"] = str(string(m.Body))
		if m.DequeueCount == 0 {
			m.DequeueCount = 1
		}
		meta := map[string]any{"Id": m.ID, "PopReceipt": m.PopReceipt, "DequeueCount": m.DequeueCount}
		for k, t := range map[string]interface{ IsZero() bool }{"InsertionTime": m.InsertionTime, "ExpirationTime": m.ExpirationTime, "NextVisibleTime": m.NextVisibleTime} {
			if !t.IsZero() {
				meta[k] = t
			}
		}
		for k, v := range meta {
			if err := Metadata(k, v)(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// Request gives an HTTP-triggered function the request r (for example from
// httptest.NewRequest): its method, URL (made absolute on
// http://localhost:7071 when it is not), headers, query and body. Route
// parameters are given with RouteParam.
func Request(r *http.Request) Option {
	return func(c *call) error {
		c.req = r
		return nil
	}
}

// RouteParam gives the HTTP request the route parameter name (what
// r.PathValue(name) returns).
func RouteParam(name, value string) Option {
	return func(c *call) error {
		c.http().params[name] = value
		return nil
	}
}

// InvocationID sets the invocation id (default "wwtest-invocation").
func InvocationID(id string) Option {
	return func(c *call) error {
		c.host.context["invocation_id"] = str(id)
		return nil
	}
}

// RetryContext sets the host's retry context (by default there is none).
func RetryContext(retryCount, maxRetryCount int) Option {
	return func(c *call) error {
		for k, n := range map[string]int{"retry_count": retryCount, "max_retry_count": maxRetryCount} {
			v, _ := encodeValue(n, false)
			c.host.context[k] = v
		}
		return nil
	}
}

// http returns the HTTP request the host holds, creating a GET of "/".
func (c *call) http() *httpRequest {
	if c.host.http == nil {
		c.host.http = &httpRequest{method: "GET", url: "http://localhost:7071/", headers: map[string]string{},
			query: map[string]string{}, params: map[string]string{}}
	}
	return c.host.http
}

// setRequest fills the host's HTTP request from r.
func (c *call) setRequest(r *http.Request) error {
	h := c.http()
	h.method = r.Method
	if h.method == "" {
		h.method = "GET"
	}
	u := *r.URL
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	if u.Host == "" {
		u.Host = "localhost:7071"
	}
	h.url = u.String()
	for name, vals := range r.Header {
		h.headers[strings.ToLower(name)] = strings.Join(vals, ",")
	}
	if r.Host != "" {
		h.headers["host"] = r.Host
	} else {
		h.headers["host"] = u.Host
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("request query: %w", err)
	}
	for name, vals := range q {
		h.query[name] = strings.Join(vals, ",")
	}
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("read the request body: %w", err)
		}
		h.body, h.hasBody = b, len(b) > 0
	}
	return nil
}

// Declarations returns what the module declares to the worker
// (wasmworker_functions, SPEC.md §2.3): one JSON object per registered
// function, in registration order. Registration mistakes (a name used twice,
// an empty name) are its error.
func Declarations() ([]json.RawMessage, error) {
	mu.Lock()
	defer mu.Unlock()
	return declarations()
}

func declarations() ([]json.RawMessage, error) {
	h := &fakeHost{declaring: true}
	hostabi.Current = h
	defer func() { hostabi.Current = nil }()
	if hostabi.Functions() != 0 {
		return nil, errors.New(h.errMsg)
	}
	out := make([]json.RawMessage, len(h.declared))
	for i, d := range h.declared {
		out[i] = d
	}
	return out, nil
}

// Invoke runs the registered function name once, as the worker would, with
// the inputs of opts. Its error is a problem of the test itself (no such
// function, a registration mistake, an option that cannot be encoded); the
// function's own failure is Result.Err.
func Invoke(name string, opts ...Option) (*Result, error) {
	mu.Lock()
	defer mu.Unlock()
	decls, err := declarations()
	if err != nil {
		return nil, fmt.Errorf("wwtest: %w", err)
	}
	h := &fakeHost{inputs: map[string]value{}, metadata: map[string]value{}, outputs: map[string]ww.Value{},
		outs: map[string]bool{}, context: map[string]value{"invocation_id": str("wwtest-invocation"),
			"function_id": str("wwtest-" + strings.ToLower(name)), "function_name": str(name),
			"trace_parent": str(""), "trace_state": str("")}}
	c := &call{host: h}
	var names []string
	for _, raw := range decls {
		var d declaration
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("wwtest: declaration %s: %w", raw, err)
		}
		names = append(names, d.Name)
		if strings.EqualFold(d.Name, name) {
			c.decl = d
		}
	}
	if c.decl.Name == "" {
		return nil, fmt.Errorf("wwtest: no function %q is registered (registered: %s)", name, strings.Join(names, ", "))
	}
	httpIn := ""
	for _, b := range c.decl.Bindings {
		typ, _ := b["type"].(string)
		dir, _ := b["direction"].(string)
		bname, _ := b["name"].(string)
		if dir == "out" || dir == "inout" {
			h.outs[bname] = true
			if typ == "http" && h.httpOut == "" {
				h.httpOut = bname
			}
		}
		if typ == "httpTrigger" && httpIn == "" {
			httpIn = bname
		}
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("wwtest: %s: %w", name, err)
		}
	}
	if c.req != nil {
		if err := c.setRequest(c.req); err != nil {
			return nil, fmt.Errorf("wwtest: %s: %w", name, err)
		}
	}
	if httpIn != "" {
		c.http()
		h.inputs[httpIn] = value{typ: ww.HTTP}
	}
	hostabi.Current = h
	status := hostabi.Dispatch()
	hostabi.Current = nil
	res := &Result{Logs: h.logs}
	if status != 0 {
		msg := h.errMsg
		if msg == "" {
			msg = fmt.Sprintf("function returned status %d", status)
		}
		res.Err = &FunctionError{Function: c.decl.Name, Message: msg}
		return res, nil
	}
	res.Outputs, res.HTTP = h.outputs, h.response
	return res, nil
}

// FunctionError is the failure of an invocation: the message the function
// gave the host.
type FunctionError struct {
	Function string
	Message  string
}

// Error returns "<function> failed: <message>".
func (e *FunctionError) Error() string { return e.Function + " failed: " + e.Message }
