package customhandler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// A function with every kind of output: http, plain, binary, $return.
var allOutputsBindings = []invocation.Binding{
	bind("queueTrigger", "in", "msg"),
	bind("http", "out", "res"),
	bind("queue", "out", "out"),
	bind("blob", "out", "img", "binary"),
	bind("blob", "inout", "state"),
	bind("queue", "out", "$return"),
}

func httpResp(h *invocation.HTTPResponse) *invocation.Value {
	return &invocation.Value{Kind: invocation.KindHTTP, Response: h}
}

func resp(status string, headers map[string]string, body *invocation.Value) *invocation.Value {
	if headers == nil {
		headers = map[string]string{}
	}
	return httpResp(&invocation.HTTPResponse{StatusCode: status, Headers: headers, Body: body})
}

func out(name string, v *invocation.Value) invocation.Output {
	return invocation.Output{Name: name, Value: v}
}

func bp(b bool) *bool       { return &b }
func fp(f float64) *float64 { return &f }

// wantResult is what a test expects of a Result.
type wantResult struct {
	Outputs            []invocation.Output
	ReturnValue        *invocation.Value
	Logs               []string
	ReturnValueIgnored bool
}

func checkResult(t *testing.T, got *Result, want *wantResult) {
	t.Helper()
	if len(got.Outputs) != len(want.Outputs) {
		t.Fatalf("%d outputs, want %d: %v", len(got.Outputs), len(want.Outputs), got.Outputs)
	}
	for i := range want.Outputs {
		g, w := got.Outputs[i], want.Outputs[i]
		if g.Name != w.Name || fmtValue(g.Value) != fmtValue(w.Value) {
			t.Errorf("output %d\n got: %s %s\nwant: %s %s", i, g.Name, fmtValue(g.Value), w.Name, fmtValue(w.Value))
		}
	}
	if g, w := fmtValue(got.Return), fmtValue(want.ReturnValue); g != w {
		t.Errorf("return value\n got: %s\nwant: %s", g, w)
	}
	if strings.Join(got.Logs, "|") != strings.Join(want.Logs, "|") || len(got.Logs) != len(want.Logs) {
		t.Errorf("logs = %q; want %q", got.Logs, want.Logs)
	}
	if got.ReturnIgnored != want.ReturnValueIgnored {
		t.Errorf("ReturnIgnored = %v", got.ReturnIgnored)
	}
}

// TestDecodeHTTPExample is the response of docs/host-contract.md §4.3.
func TestDecodeHTTPExample(t *testing.T) {
	fn := newFn("HelloHttp", httpBindings...)
	got, err := DecodeResponse(fn, []byte(`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":["said hello"],"ReturnValue":null}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{
		Outputs: []invocation.Output{out("res", resp("201", map[string]string{"content-type": "text/plain"}, str("hello world")))},
		Logs:    []string{"said hello"},
	})
}

// TestDecodeQueueExample is the response of docs/host-contract.md §4.4 ($return).
func TestDecodeQueueExample(t *testing.T) {
	fn := newFn("Worker", queueBindings...)
	got, err := DecodeResponse(fn, []byte(`{"returnValue":"done"}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{ReturnValue: str("done")})
}

// TestDecodeDocsExample is the response table example of docs/custom-handler.md §6.
func TestDecodeDocsExample(t *testing.T) {
	fn := newFn("F", bind("httpTrigger", "in", "req"), bind("http", "out", "res"), bind("queue", "out", "myQueueOutput"))
	got, err := DecodeResponse(fn, []byte(`{"Outputs":{"res":{"body":"Message enqueued"},"myQueueOutput":["queue message 1","queue message 2"]},"Logs":["Log message 1","Log message 2"],"ReturnValue":"{\"hello\":\"world\"}"}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{
		Outputs: []invocation.Output{
			out("res", resp("200", nil, str("Message enqueued"))),
			out("myQueueOutput", js(`["queue message 1","queue message 2"]`)),
		},
		Logs:               []string{"Log message 1", "Log message 2"},
		ReturnValueIgnored: true,
	})
}

func TestDecodeOutputs(t *testing.T) {
	exp := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	cases := []struct {
		name, stdout string
		want         *wantResult
	}{
		{"empty object", `{}`, &wantResult{}},
		{"whitespace and BOM", "\ufeff \n {\"Outputs\":null,\"Logs\":null} \r\n\t", &wantResult{}},
		{"string output", `{"Outputs":{"out":"test"}}`, &wantResult{Outputs: []invocation.Output{out("out", str("test"))}}},
		{"integer output", `{"Outputs":{"out":12345678901234567890}}`, &wantResult{Outputs: []invocation.Output{out("out", js("12345678901234567890"))}}},
		{"float output", `{"Outputs":{"out":1.50}}`, &wantResult{Outputs: []invocation.Output{out("out", js("1.50"))}}},
		{"bool output", `{"Outputs":{"out":false}}`, &wantResult{Outputs: []invocation.Output{out("out", js("false"))}}},
		{"object output", `{"Outputs":{"out":{ "a" : [1, 2] }}}`, &wantResult{Outputs: []invocation.Output{out("out", js(`{"a":[1,2]}`))}}},
		{"array output", `{"Outputs":{"out":["a", "b"]}}`, &wantResult{Outputs: []invocation.Output{out("out", js(`["a","b"]`))}}},
		{"null output skipped", `{"Outputs":{"out":null}}`, &wantResult{}},
		{"binary output", `{"Outputs":{"img":"aGk="}}`, &wantResult{Outputs: []invocation.Output{out("img", byt([]byte("hi")))}}},
		{"binary output object", `{"Outputs":{"img":{"a":1}}}`, &wantResult{Outputs: []invocation.Output{out("img", js(`{"a":1}`))}}},
		{"inout output", `{"Outputs":{"state":"s"}}`, &wantResult{Outputs: []invocation.Output{out("state", str("s"))}}},
		{"case-sensitive output keys", `{"Outputs":{"OUT":"x","Res":{}}}`, &wantResult{}},
		{"undeclared outputs ignored", `{"Outputs":{"nope":"x","$return":"y"}}`, &wantResult{}},
		{"file order", `{"Outputs":{"state":"s","out":"o","res":{}}}`, &wantResult{Outputs: []invocation.Output{
			out("res", resp("200", nil, str(""))), out("out", str("o")), out("state", str("s"))}}},
		{"case-insensitive top keys", `{"outputs":{"out":"o"},"LOGS":["l"],"returnvalue":7}`, &wantResult{
			Outputs: []invocation.Output{out("out", str("o"))}, Logs: []string{"l"}, ReturnValue: js("7")}},
		{"return string", `{"ReturnValue":"done"}`, &wantResult{ReturnValue: str("done")}},
		{"return object", `{"ReturnValue":{"id":7}}`, &wantResult{ReturnValue: js(`{"id":7}`)}},
		{"return null", `{"ReturnValue":null}`, &wantResult{}},
		{"logs coerced", `{"Logs":["a",1,2.5,true,null]}`, &wantResult{Logs: []string{"a", "1", "2.5", "true"}}},
		{"unknown keys ignored", `{"Extra":[1],"Outputs":{}}`, &wantResult{}},

		{"http full", `{"Outputs":{"res":{"statusCode":"404","headers":{"Content-Type":"application/json","X-N":5,"X-B":true,"X-S":""},"body":{"error":"nope"}}}}`,
			&wantResult{Outputs: []invocation.Output{out("res", resp("404", map[string]string{"Content-Type": "application/json", "X-N": "5", "X-B": "true", "X-S": ""}, js(`{"error":"nope"}`)))}}},
		{"http keys any case", `{"Outputs":{"res":{"StatusCode":202,"Headers":{"a":"b"},"BODY":"x"}}}`,
			&wantResult{Outputs: []invocation.Output{out("res", resp("202", map[string]string{"a": "b"}, str("x")))}}},
		{"http empty object", `{"Outputs":{"res":{}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("")))}}},
		{"http null fields", `{"Outputs":{"res":{"statusCode":null,"headers":null,"body":null,"cookies":null}}}`,
			&wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("")))}}},
		{"http array body", `{"Outputs":{"res":{"body":[1, 2]}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, js("[1,2]")))}}},
		{"http number body", `{"Outputs":{"res":{"body":42}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("42")))}}},
		{"http bool body", `{"Outputs":{"res":{"body":true}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("true")))}}},
		{"http as string", `{"Outputs":{"res":"{\"statusCode\":201,\"body\":\"made\"}"}}`,
			&wantResult{Outputs: []invocation.Output{out("res", resp("201", nil, str("made")))}}},
		{"http empty status", `{"Outputs":{"res":{"statusCode":" "}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("")))}}},
		{"http status ignored", `{"Outputs":{"res":{"status":500}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("")))}}},
		{"http cookies", `{"Outputs":{"res":{"cookies":[
			{"name":"a","value":"1"},
			{"Name":"b","Value":"2","Domain":"example.com","Path":"/","Expires":"2025-01-02T15:04:05Z","Secure":true,"HttpOnly":false,"SameSite":"Strict","MaxAge":3600},
			{"name":"c","value":"","sameSite":"none"},
			{"name":"d","value":"","sameSite":"Lax"}]}}}`,
			&wantResult{Outputs: []invocation.Output{out("res", httpResp(&invocation.HTTPResponse{StatusCode: "200", Headers: map[string]string{}, Body: str(""),
				Cookies: []invocation.Cookie{
					{Name: "a", Value: "1"},
					{Name: "b", Value: "2", Domain: ns("example.com"), Path: ns("/"),
						Expires:  exp,
						Secure:   bp(true),
						HTTPOnly: bp(false),
						SameSite: invocation.SameSiteStrict,
						MaxAge:   fp(3600)},
					{Name: "c", SameSite: invocation.SameSiteNone},
					{Name: "d", SameSite: invocation.SameSiteLax},
				}}))}}},
	}
	fn := newFn("F", allOutputsBindings...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeResponse(fn, []byte(tc.stdout))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, got, tc.want)
		})
	}
}

func TestDecodeHTTPReturn(t *testing.T) {
	fn := newFn("F", bind("httpTrigger", "in", "req"), bind("http", "out", "$return"))
	got, err := DecodeResponse(fn, []byte(`{"Outputs":{"$return":{"body":"no"}},"ReturnValue":{"statusCode":204,"body":"yes"}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{ReturnValue: resp("204", nil, str("yes"))})
	if _, err := DecodeResponse(fn, []byte(`{"ReturnValue":"plain text"}`)); err == nil ||
		!strings.Contains(err.Error(), `ReturnValue ($return): expected an HTTP response object {statusCode, headers, body}, got a string "\"plain text\""`) {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	long := `{"Outputs":` + strings.Repeat("x", 300)
	cases := []struct{ name, stdout, want string }{
		{"empty", "", "the function wrote nothing to stdout; a command-mode function must print one JSON object"},
		{"blank", " \n\t", "the function wrote nothing to stdout"},
		{"text", "hello\n", `stdout is not a JSON object: it starts with "hello"`},
		{"array", `[1]`, `stdout is not a JSON object: it starts with "[1]"`},
		{"null", `null`, `stdout is not a JSON object`},
		{"invalid utf-8 shown", "\xff\xfe{}", `it starts with "\xff\xfe{}"`},
		{"broken json", `{"Outputs":`, `stdout is not valid JSON`},
		{"long quote cut", long, `starts with "{\"Outputs\":` + strings.Repeat("x", 200-len(`{"Outputs":`)) + `"…`},
		{"two objects", `{} {}`, `more after its JSON object, at byte 3: "{}"`},
		{"trailing text", `{}done`, `more after its JSON object`},
		{"outputs not object", `{"Outputs":[1]}`, `"Outputs" must be an object keyed by output binding name, got an array "[1]"`},
		{"logs not array", `{"Logs":"x"}`, `"Logs" must be an array of strings, got a string`},
		{"logs object entry", `{"Logs":["a",{"b":1}]}`, `"Logs" entry 2 must be a string, got an object`},
		{"http string", `{"Outputs":{"res":"hello"}}`, `output res: expected an HTTP response object {statusCode, headers, body}, got a string "\"hello\""`},
		{"http number", `{"Outputs":{"res":5}}`, `output res: expected an HTTP response object`},
		{"http array", `{"Outputs":{"res":[]}}`, `output res: expected an HTTP response object`},
		{"http null", `{"Outputs":{"res":null}}`, `output res: expected an HTTP response object {statusCode, headers, body}, got null`},
		{"http string of array", `{"Outputs":{"res":"[1]"}}`, `output res: expected an HTTP response object`},
		{"status bool", `{"Outputs":{"res":{"statusCode":true}}}`, `output res: "statusCode" must be a number or a string, got a boolean`},
		{"headers array", `{"Outputs":{"res":{"headers":["a"]}}}`, `output res: "headers" must be an object of strings`},
		{"header null", `{"Outputs":{"res":{"headers":{"x-a":null}}}}`, `output res: header "x-a" must be a string, number or boolean, got null`},
		{"header object", `{"Outputs":{"res":{"headers":{"x-a":{"b":1}}}}}`, `header "x-a" must be a string, number or boolean, got an object`},
		{"header array", `{"Outputs":{"res":{"headers":{"Set-Cookie":["a","b"]}}}}`, `header "Set-Cookie" must be a string, number or boolean, got an array`},
		// Headers the host's web server (Kestrel) refuses fail the
		// invocation, naming the header, instead of a 500 after success.
		{"header with CR LF", `{"Outputs":{"res":{"headers":{"x-a":"1\r\nSet-Cookie: s=1"}}}}`, `output res: response header "x-a": control character 0x0d`},
		{"header with NUL", `{"Outputs":{"res":{"headers":{"x-a":"1\u0000"}}}}`, `response header "x-a": control character 0x00`},
		{"header not ASCII", `{"Outputs":{"res":{"headers":{"x-a":"Grüße"}}}}`, `response header "x-a": its value holds characters outside ASCII`},
		{"header name", `{"Outputs":{"res":{"headers":{"x a":"1"}}}}`, `response header name "x a"`},
		{"cookies object", `{"Outputs":{"res":{"cookies":{}}}}`, `"cookies" must be an array`},
		{"cookie no name", `{"Outputs":{"res":{"cookies":[{"value":"v"}]}}}`, `output res: cookie 1: "name" is required`},
		{"cookie bad expires", `{"Outputs":{"res":{"cookies":[{"name":"a","expires":"tomorrow"}]}}}`, `"expires" must be an RFC 3339 time`},
		{"cookie bad samesite", `{"Outputs":{"res":{"cookies":[{"name":"a","sameSite":"sometimes"}]}}}`, `"sameSite" must be "Lax", "Strict" or "None"`},
		{"cookie bad secure", `{"Outputs":{"res":{"cookies":[{"name":"a","secure":"yes"}]}}}`, `"secure" must be true or false`},
		{"cookie bad maxAge", `{"Outputs":{"res":{"cookies":[{"name":"a","maxAge":"1h"}]}}}`, `"maxAge" must be a number of seconds`},
		{"cookie bad value", `{"Outputs":{"res":{"cookies":[{"name":"a","value":1}]}}}`, `"value" must be a string, got a number`},
		{"binary not base64", `{"Outputs":{"img":"not base64!"}}`, `output img: the binding has "dataType": "binary", so a string value must be base64; "not base64!" is not`},
	}
	fn := newFn("F", allOutputsBindings...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeResponse(fn, []byte(tc.stdout))
			if err == nil {
				t.Fatalf("no error (result %+v); want %q", got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
	// A zero Function (the old nil metadata) is no error: it has no
	// outputs, so every output and the ReturnValue are dropped.
	if got, err := DecodeResponse(invocation.Function{}, []byte(`{"Outputs":{"res":1},"ReturnValue":1}`)); err != nil ||
		len(got.Outputs) != 0 || got.Return != nil || !got.ReturnIgnored {
		t.Errorf("zero function: %+v, %v", got, err)
	}
}

// TestDecodeTimerExample is the output example of abi/COMMAND.md §3.3.
func TestDecodeTimerExample(t *testing.T) {
	fn := newFn("Tick", timerBindings...)
	got, err := DecodeResponse(fn, []byte(`{"Outputs":{"out":{"at":"2024-10-25T10:00:00Z","n":3},"img":"iVBORw0KGgo="},"Logs":["tick"]}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{
		Outputs: []invocation.Output{
			out("out", js(`{"at":"2024-10-25T10:00:00Z","n":3}`)),
			out("img", byt([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})),
		},
		Logs: []string{"tick"},
	})
	got, err = DecodeResponse(newFn("Worker", queueBindings...), []byte(`{"ReturnValue":{"id":7,"ok":true},"Logs":["job 7 done"]}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{ReturnValue: js(`{"id":7,"ok":true}`), Logs: []string{"job 7 done"}})
}

// TestDecodeBindingCase: direction and dataType are matched without regard
// to case; binding names exactly.
func TestDecodeBindingCase(t *testing.T) {
	fn := newFn("F", bind("queueTrigger", "In", "msg"), bind("blob", "OUT", "img", "Binary"), bind("queue", "InOut", "q"))
	got, err := DecodeResponse(fn, []byte(`{"Outputs":{"img":"aGk=","q":"x","Q":"y","msg":"z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{Outputs: []invocation.Output{out("img", byt([]byte("hi"))), out("q", str("x"))}})
}

// TestDecodeBinaryHTTPBody checks the http output with "dataType":
// "binary": its body is a base64 string whose bytes become a bytes body
// (abi/COMMAND.md §2.2), which the host writes as they are.
func TestDecodeBinaryHTTPBody(t *testing.T) {
	fn := newFn("F", bind("httpTrigger", "in", "req"), bind("http", "out", "res", "binary"))
	for _, c := range []struct {
		name, stdout string
		want         *wantResult
	}{
		{"bytes", `{"Outputs":{"res":{"statusCode":200,"headers":{"content-type":"image/png"},"body":"AAH/gA=="}}}`,
			&wantResult{Outputs: []invocation.Output{out("res", resp("200", map[string]string{"content-type": "image/png"}, byt([]byte{0, 1, 0xff, 0x80})))}}},
		{"no body", `{"Outputs":{"res":{"statusCode":204}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("204", nil, byt(nil)))}}},
		{"null body", `{"Outputs":{"res":{"body":null}}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, byt(nil)))}}},
		{"response in a string", `{"Outputs":{"res":"{\"body\":\"aGk=\"}"}}`, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, byt([]byte("hi"))))}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeResponse(fn, []byte(c.stdout))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, got, c.want)
		})
	}
	for _, c := range []struct{ name, stdout, want string }{
		{"not base64", `{"Outputs":{"res":{"body":"hello!"}}}`, `output res: the http binding has "dataType": "binary", so "body" must be base64; "hello!" is not`},
		{"object body", `{"Outputs":{"res":{"body":{"a":1}}}}`, `output res: the http binding has "dataType": "binary", so "body" must be a base64 string, got an object`},
		{"number body", `{"Outputs":{"res":{"body":5}}}`, `so "body" must be a base64 string, got a number`},
	} {
		if _, err := DecodeResponse(fn, []byte(c.stdout)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Without dataType the body stays text, base64 or not.
	plain := newFn("F", bind("httpTrigger", "in", "req"), bind("http", "out", "res"))
	got, err := DecodeResponse(plain, []byte(`{"Outputs":{"res":{"body":"aGk="}}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, &wantResult{Outputs: []invocation.Output{out("res", resp("200", nil, str("aGk=")))}})
}

// TestManyHeadersDecodeQuickly: a response with many headers (and repeated
// names, the last of which wins) is decoded in time that grows with n log n,
// not n²: 200,000 headers would take minutes otherwise.
func TestManyHeadersDecodeQuickly(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Outputs":{"res":{"headers":{`)
	const n = 200_000
	for i := range n {
		fmt.Fprintf(&b, `"h%d":"v%d",`, i%(n/2), i)
	}
	b.WriteString(`"last":"x"}}}}`)
	res, err := DecodeResponse(newFn("F", httpBindings...), []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	h := res.Outputs[0].Value.Response.Headers
	if len(h) != n/2+1 || h["h0"] != fmt.Sprintf("v%d", n/2) {
		t.Fatalf("%d headers, h0 = %q; want %d and the later value", len(h), h["h0"], n/2+1)
	}
}

// TestDecodedOutlivesStdout overwrites the guest's stdout after decoding
// it, as the engine does when it reuses the buffer for the next run: the
// result must not change, since the strings it keeps are cut from a copy.
func TestDecodedOutlivesStdout(t *testing.T) {
	fn := newFn("F", append(httpBindings, invocation.Binding{Name: "$return", Type: "queue", Direction: "out"})...)
	stdout := []byte(`{"Outputs":{"res":{"statusCode":"201","headers":{"content-type":"text/plain","x-n":5},"body":"hello world"}},"Logs":["a",7],"ReturnValue":{"id":7}}`)
	got, err := DecodeResponse(fn, stdout)
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprint(fmtValue(got.Outputs[0].Value), fmtValue(got.Return), got.Logs)
	for i := range stdout {
		stdout[i] = 'x'
	}
	if after := fmt.Sprint(fmtValue(got.Outputs[0].Value), fmtValue(got.Return), got.Logs); after != before {
		t.Errorf("the result changed with stdout:\nbefore: %s\n after: %s", before, after)
	}
}

// TestDecodeAllocations counts the allocations of decoding a plain HTTP
// response: the result with its output and response, one copy of stdout
// for every string, and the header map.
func TestDecodeAllocations(t *testing.T) {
	fn := newFn("HelloHttp", httpBindings...)
	stdout := []byte(`{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"Hello, world"}},"Logs":[],"ReturnValue":null}`)
	got := testing.AllocsPerRun(100, func() {
		if _, err := DecodeResponse(fn, stdout); err != nil {
			t.Fatal(err)
		}
	})
	if got > 4 {
		t.Errorf("%v allocations per decode, want at most 4", got)
	}
}
