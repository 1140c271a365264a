package customhandler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// Fixed sys values so payloads are deterministic.
var (
	testNow  = time.Date(2024, 10, 25, 10, 0, 0, 123456700, time.UTC)
	testGUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
)

// newFn returns the function name with the given bindings, as the worker
// builds it from function.json.
func newFn(name string, bindings ...invocation.Binding) invocation.Function {
	return invocation.Function{Name: name, Bindings: bindings}
}

// bind is one binding: type, direction, name and optional dataType.
func bind(typ, dir, name string, dataType ...string) invocation.Binding {
	b := invocation.Binding{Name: name, Type: typ, Direction: dir}
	if len(dataType) > 0 {
		b.DataType = dataType[0]
	}
	return b
}

// The functions of docs/host-contract.md §4.3 and §4.4, and a timer.
var (
	// httpTrigger "req" (route hello/{who}), http out "res".
	httpBindings = []invocation.Binding{bind("httpTrigger", "in", "req"), bind("http", "out", "res")}
	// queueTrigger "msg", queue out "$return".
	queueBindings = []invocation.Binding{bind("queueTrigger", "in", "msg"), bind("queue", "out", "$return")}
	// timerTrigger "tick", queue out "out", binary blob out "img".
	timerBindings = []invocation.Binding{bind("timerTrigger", "in", "tick"), bind("queue", "out", "out"), bind("blob", "out", "img", "binary")}
)

func str(s string) *invocation.Value { return invocation.StringValue(s) }
func js(s string) *invocation.Value  { return invocation.JSONValue(s) }
func byt(b []byte) *invocation.Value { return invocation.BytesValue(b) }
func ns(s string) *string            { return &s }

// fields builds sorted Fields from name, value pairs.
func fields(kv ...string) invocation.Fields {
	var fs invocation.Fields
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, invocation.Field{Name: kv[i], Value: kv[i+1]})
	}
	return sortFields(fs)
}

func sortFields(fs invocation.Fields) invocation.Fields {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	return fs
}

func httpValue(h *invocation.HTTPRequest) *invocation.Value {
	return &invocation.Value{Kind: invocation.KindHTTP, Request: h}
}

func input(name string, v *invocation.Value) invocation.Input {
	return invocation.Input{Name: name, Value: v}
}

const (
	nameClaimType = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	roleClaimType = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
)

// httpRequest43 is the request of docs/host-contract.md §4.3 (node's
// capability set: nullable maps, body as bytes, no request copies in metadata).
func httpRequest43() *invocation.Request {
	return &invocation.Request{
		InvocationID: "6f1c0000-0000-0000-0000-000000000001",
		FunctionID:   "load-id",
		Inputs: []invocation.Input{input("req", httpValue(&invocation.HTTPRequest{
			Method:  "POST",
			URL:     "http://localhost:7071/api/hello/world?x=1&x=2",
			Headers: fields("content-type", "application/json", "content-length", "13", "host", "localhost:7071"),
			Query:   fields("x", "1,2"),
			Params:  fields("who", "world"),
			Identities: []invocation.Identity{{
				NameClaimType: ns(nameClaimType),
				RoleClaimType: ns(roleClaimType),
			}},
			Body: byt([]byte("{\"name\":\"a\"}\n")),
		}))},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{
			"Query":   js(`{"x":"2"}`),
			"Headers": js(`{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"13"}`),
			"x":       str("2"),
			"who":     str("world"),
			"name":    str("a"),
		}),
		TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	}
}

// queueRequest44 is the request of docs/host-contract.md §4.4.
func queueRequest44() *invocation.Request {
	msg := `{"id":7,"kind":"x"}`
	return &invocation.Request{
		InvocationID: "inv-2",
		Inputs:       []invocation.Input{input("msg", str(msg))},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{
			"QueueTrigger":    str(msg),
			"DequeueCount":    js("1"),
			"ExpirationTime":  js(`"2024-11-01T10:00:00+00:00"`),
			"Id":              str("800ae4b3-7c8e-4b4a-9c1e-2d0f5e6a7b8c"),
			"InsertionTime":   js(`"2024-10-25T10:00:00+00:00"`),
			"NextVisibleTime": js(`"2024-10-25T10:10:00+00:00"`),
			"PopReceipt":      str("AgAAAAMAAAAAAAAA"),
			"id":              str("7"),
			"kind":            str("x"),
		}),
	}
}

// timerInfo is the TimerInfo the host sends (as json) for a timer trigger.
const timerInfo = `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-10-25T09:55:00+00:00","Next":"2024-10-25T10:00:00+00:00","LastUpdated":"2024-10-25T09:55:00+00:00"},"IsPastDue":false}`

// timerRequest is what the host sends for a timer trigger: TimerInfo as json.
func timerRequest() *invocation.Request {
	return &invocation.Request{
		InvocationID: "inv-3",
		Inputs:       []invocation.Input{input("tick", js(timerInfo))},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{
			"tick": js(timerInfo),
		}),
	}
}

// fmtValue renders every non-zero field of v in a fixed order, so two
// values are equal when their renderings are (nil and empty slices and
// maps alike).
func fmtValue(v *invocation.Value) string {
	if v == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(v.Kind.String())
	if v.String != "" {
		fmt.Fprintf(&b, " string=%q", v.String)
	}
	if len(v.Bytes) > 0 {
		fmt.Fprintf(&b, " bytes=%q", v.Bytes)
	}
	if v.Int != 0 {
		fmt.Fprintf(&b, " int=%d", v.Int)
	}
	if v.Double != 0 {
		fmt.Fprintf(&b, " double=%v", v.Double)
	}
	if v.Request != nil {
		fmt.Fprintf(&b, " request=%+v", *v.Request)
	}
	if r := v.Response; r != nil {
		fmt.Fprintf(&b, " response{status=%q headers=%v body=%s", r.StatusCode, r.Headers, fmtValue(r.Body))
		for _, c := range r.Cookies {
			fmt.Fprintf(&b, " cookie{%q=%q domain=%s path=%s", c.Name, c.Value, fmtPtr(c.Domain), fmtPtr(c.Path))
			if !c.Expires.IsZero() {
				fmt.Fprintf(&b, " expires=%s", c.Expires.UTC().Format(time.RFC3339Nano))
			}
			fmt.Fprintf(&b, " secure=%s httpOnly=%s maxAge=%s sameSite=%d}", fmtPtr(c.Secure), fmtPtr(c.HTTPOnly), fmtPtr(c.MaxAge), c.SameSite)
		}
		b.WriteString("}")
	}
	if len(v.BytesList()) > 0 {
		fmt.Fprintf(&b, " bytesList=%q", v.BytesList())
	}
	if len(v.Strings()) > 0 {
		fmt.Fprintf(&b, " strings=%q", v.Strings())
	}
	if len(v.Doubles()) > 0 {
		fmt.Fprintf(&b, " doubles=%v", v.Doubles())
	}
	if len(v.Ints()) > 0 {
		fmt.Fprintf(&b, " ints=%v", v.Ints())
	}
	if len(v.Models()) > 0 {
		fmt.Fprintf(&b, " models=%+v", v.Models())
	}
	return b.String()
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %v:\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is invalid JSON %v:\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON differs\n got: %s\nwant: %s", got, compact(want))
	}
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
