package httpbind

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// httpOut is an RpcHttp output with headers and body.
func httpOut(headers map[string]string, body *rpc.TypedData) *rpc.TypedData {
	return &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{Headers: headers, Body: body}}}
}

func jsonData2(s string) *rpc.TypedData { return &rpc.TypedData{Data: &rpc.TypedData_Json{Json: s}} }

// TestJSONBodyAsNewtonsoft checks that a json body is written as the host's
// Newtonsoft.Json parses and writes it again (JToken.ToString(): indented,
// its own escaping and number formats), as text/plain unless the function
// sets a content type.
func TestJSONBodyAsNewtonsoft(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"nested", `{"b":[1,2.0,{"c":null}],"s":"<a&b>\u2028é\u0001\"\\/","e":{},"f":[],"t":true}`,
			"{\n  \"b\": [\n    1,\n    2.0,\n    {\n      \"c\": null\n    }\n  ],\n  \"s\": \"<a&b>\\u2028é\\u0001\\\"\\\\/\",\n  \"e\": {},\n  \"f\": [],\n  \"t\": true\n}"},
		{"numbers", `[1e20,12345678901234567890,-0,0.1,1E-7,1.5,100,1e2]`,
			"[\n  1E+20,\n  12345678901234567890,\n  0,\n  0.1,\n  1E-07,\n  1.5,\n  100,\n  100.0\n]"},
		{"repeated key: the last wins, last", `{"a":1,"b":2,"a":3}`, "{\n  \"b\": 2,\n  \"a\": 3\n}"},
		{"string", `"hi \"there\""`, `hi "there"`},
		{"double", `1.0`, "1"},
		{"big double", `1e20`, "1E+20"},
		{"bool", `true`, "True"},
		{"null", `null`, ""},
		{"empty object", `{}`, "{}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := respond(t, httpOut(nil, jsonData2(c.json)))
			if body != c.want {
				t.Errorf("body %q, want %q", body, c.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != textPlain {
				t.Errorf("Content-Type %q, want %q", ct, textPlain)
			}
		})
	}
}

// TestContentTypeAsTheHost checks the content type and encoding of text
// bodies (ASP.NET Core's StringOutputFormatter) and bytes bodies (the host's
// ByteArrayOutputFormatter).
func TestContentTypeAsTheHost(t *testing.T) {
	for _, c := range []struct {
		name        string
		ct          string // the function's content-type header, "" for none
		accept      string // the request's Accept-Charset
		body        *rpc.TypedData
		wantCT      string
		wantBody    string
		wantNoCTHdr bool
	}{
		{name: "json type gets a charset", ct: "application/json", body: jsonData2(`{"a":1}`), wantCT: "application/json; charset=utf-8", wantBody: "{\n  \"a\": 1\n}"},
		{name: "other charset replaced", ct: "text/html; charset=ISO-8859-1", body: stringData("<p>é</p>"), wantCT: "text/html; charset=utf-8", wantBody: "<p>é</p>"},
		{name: "quoted charset replaced", ct: `text/html; charset="latin1"; level=1`, body: stringData("x"), wantCT: `text/html; charset="utf-8"; level=1`, wantBody: "x"},
		{name: "utf-8 kept", ct: "text/csv;charset=UTF-8", body: stringData("a,b"), wantCT: "text/csv;charset=UTF-8", wantBody: "a,b"},
		{name: "utf-16 from the content type", ct: "text/plain; charset=utf-16", body: stringData("hé"), wantCT: "text/plain; charset=utf-16", wantBody: "h\x00\xe9\x00"},
		{name: "utf-16 from Accept-Charset", accept: "iso-8859-1, utf-16;q=0.5", body: stringData("hé"), wantCT: "text/plain; charset=utf-16", wantBody: "h\x00\xe9\x00"},
		{name: "Accept-Charset q=0 left out", accept: "utf-16;q=0, iso-8859-1", body: stringData("hi"), wantCT: textPlain, wantBody: "hi"},
		{name: "Accept-Charset star", ct: "text/plain; charset=utf-16", accept: "*", body: stringData("hi"), wantCT: textPlain, wantBody: "hi"},
		{name: "bytes without a type", body: bytesData([]byte{0, 0xff}), wantBody: "\x00\xff", wantNoCTHdr: true},
		{name: "bytes keep the type as given", ct: "application/json", body: bytesData([]byte(`{"a":1}`)), wantCT: "application/json", wantBody: `{"a":1}`},
		{name: "number", body: &rpc.TypedData{Data: &rpc.TypedData_Double{Double: 2}}, wantCT: textPlain, wantBody: "2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := map[string]string{}
			if c.ct != "" {
				headers["Content-Type"] = c.ct
			}
			h := http.Header{}
			if c.accept != "" {
				h.Set("Accept-Charset", c.accept)
			}
			resp, body, err := respondTo(t, httpOut(headers, c.body), h)
			if err != nil {
				t.Fatalf("WriteResponse: %v", err)
			}
			if body != c.wantBody {
				t.Errorf("body %q, want %q", body, c.wantBody)
			}
			if got, ok := resp.Header["Content-Type"]; c.wantNoCTHdr && ok {
				t.Errorf("Content-Type %q, want none", got)
			} else if !c.wantNoCTHdr && resp.Header.Get("Content-Type") != c.wantCT {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), c.wantCT)
			}
		})
	}
}

// TestHeadersKestrelRefuses checks that a header Kestrel refuses gives an
// empty 500 and a *HeaderError naming it, with none of the function's
// headers, instead of a repaired header.
func TestHeadersKestrelRefuses(t *testing.T) {
	for _, c := range []struct{ name, header, value, reason string }{
		{"LF in a value", "X-Note", "a\nb", "0x000A"},
		{"CR in a value", "X-Note", "a\rb", "0x000D"},
		{"non-ASCII value", "X-Name", "Zoë", "0x00EB"},
		{"emoji value", "X-Name", "a😀", "0xD83D"},
		{"DEL in a value", "X-A", "a\x7f", "0x007F"},
		{"space in a name", "X Bad", "v", "0x0020"},
		{"colon in a name", "X:Bad", "v", "0x003A"},
		{"empty name", "", "v", "Header name cannot be a null or empty string."},
		{"content type", "Content-Type", "text/plain\r\nX-Injected: 1", "0x000D"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := httpOut(map[string]string{c.header: c.value, "X-Fine": "ok"}, stringData("body"))
			if err := CheckResponse(out); err != nil {
				t.Fatalf("CheckResponse: %v (a bad header must not fail the invocation)", err)
			}
			resp, body, err := respondTo(t, out, nil)
			var he *HeaderError
			if !errors.As(err, &he) || he.Name != c.header || !strings.Contains(he.Reason, c.reason) {
				t.Errorf("WriteResponse returned %v, want a *HeaderError for %q mentioning %q", err, c.header, c.reason)
			}
			if resp.StatusCode != http.StatusInternalServerError || body != "" || resp.Header.Get("X-Fine") != "" {
				t.Errorf("got %d %q with headers %v, want an empty 500", resp.StatusCode, body, resp.Header)
			}
		})
	}
	// A tab is allowed, as are all printable ASCII characters.
	resp, body := respond(t, httpOut(map[string]string{"X-Ok": "a\tb ~!", "x-ok": "dup"}, stringData("fine")))
	if resp.StatusCode != 200 || body != "fine" || resp.Header.Get("X-Ok") != "a\tb ~!" {
		t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestWholeValueAsResponse checks values that are not an RpcHttp, which the
// host's HttpBinding.CreateResult reads: a string or json holding an object
// with a "body" is a response object.
func TestWholeValueAsResponse(t *testing.T) {
	for _, c := range []struct {
		name       string
		out        *rpc.TypedData
		status     int
		ct, body   string
		hdr, value string
	}{
		{name: "string response object", out: stringData(`{"statusCode":201,"headers":{"X-A":5,"X-B":true,"X-C":{"d":1}},"body":{"k":"v","n":[1]}}`),
			status: 201, ct: textPlain, body: `{"k":"v","n":[1]}`, hdr: "X-B", value: "True"},
		{name: "json response object", out: jsonData2(`{"Status":"202","Body":"queued","Headers":{"Content-Type":"text/csv"}}`),
			status: 202, ct: "text/csv; charset=utf-8", body: "queued"},
		{name: "object header value", out: jsonData2(`{"body":"x","headers":{"X-C":{"d":1}}}`), status: 200, ct: textPlain, body: "x", hdr: "X-C", value: "System.Dynamic.ExpandoObject"},
		{name: "array body", out: jsonData2(`{"body":[1,2]}`), status: 200, ct: textPlain, body: "System.Collections.Generic.List`1[System.Object]"},
		{name: "object without body", out: jsonData2(`{"statusCode":201,"k":"v"}`), status: 200, ct: textPlain, body: "{\n  \"statusCode\": 201,\n  \"k\": \"v\"\n}"},
		{name: "plain text", out: stringData("hello"), status: 200, ct: textPlain, body: "hello"},
		{name: "json string holding JSON", out: jsonData2(`"[1]"`), status: 200, ct: textPlain, body: "[\n  1\n]"},
		{name: "bytes", out: bytesData([]byte("\x00\x01")), status: 200, body: "\x00\x01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := respond(t, c.out)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.ct || body != c.body {
				t.Errorf("got %d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.ct, c.body)
			}
			if c.hdr != "" && resp.Header.Get(c.hdr) != c.value {
				t.Errorf("%s = %q, want %q", c.hdr, resp.Header.Get(c.hdr), c.value)
			}
		})
	}
	// A null header value fails the response as it does in the host.
	_, _, err := respondTo(t, jsonData2(`{"body":"x","headers":{"X-N":null}}`), nil)
	var he *HeaderError
	if !errors.As(err, &he) || he.Name != "X-N" {
		t.Errorf("a null header value: %v, want a *HeaderError", err)
	}
}

// TestCheckResponse checks which outputs fail the invocation itself.
func TestCheckResponse(t *testing.T) {
	for name, out := range map[string]*rpc.TypedData{
		"invalid json body": httpOut(nil, jsonData2(`{"a":`)),
		"invalid json":      jsonData2(`[1,`),
		"collection body":   httpOut(nil, &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a"}}}}),
	} {
		if err := CheckResponse(out); err == nil {
			t.Errorf("%s: CheckResponse accepted it", name)
		}
	}
	var se *StatusError
	if err := CheckResponse(jsonData2(`{"statusCode":"soon","body":""}`)); !errors.As(err, &se) || se.Value != "soon" {
		t.Errorf("a response object with status \"soon\": %v, want a *StatusError", err)
	}
}
