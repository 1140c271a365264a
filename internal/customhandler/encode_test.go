package customhandler

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

const sysJSON = `"sys":{"MethodName":"%s","UtcNow":"2024-10-25T10:00:00.1234567Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}`

func TestEncodeRequestHTTPExample(t *testing.T) {
	fn := newFn("HelloHttp", httpBindings...)
	got, err := EncodeRequest(fn, httpRequest43(), testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	// Exact bytes: key order (trigger first, sorted maps, sys last) is part of the contract.
	want := `{"Data":{"req":{"Url":"http://localhost:7071/api/hello/world?x=1&x=2","Method":"POST",` +
		`"Query":{"x":"1,2"},` +
		`"Headers":{"content-length":["13"],"content-type":["application/json"],"host":["localhost:7071"]},` +
		`"Params":{"who":"world"},` +
		`"Identities":[{"AuthenticationType":null,"IsAuthenticated":false,"Claims":[],"Name":null,` +
		`"NameClaimType":"` + nameClaimType + `","RoleClaimType":"` + roleClaimType + `"}],` +
		`"Body":"{\"name\":\"a\"}\n"}},` +
		`"Metadata":{"Headers":{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"13"},` +
		`"Query":{"x":"2"},"name":"\"a\"","who":"\"world\"","x":"\"2\"",` +
		strings.Replace(sysJSON, "%s", "HelloHttp", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
}

func TestEncodeRequestQueueExample(t *testing.T) {
	fn := newFn("Worker", queueBindings...)
	got, err := EncodeRequest(fn, queueRequest44(), testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Data":{"msg":"\"{\\\"id\\\":7,\\\"kind\\\":\\\"x\\\"}\""},` +
		`"Metadata":{"DequeueCount":"1","ExpirationTime":"2024-11-01T10:00:00+00:00",` +
		`"Id":"\"800ae4b3-7c8e-4b4a-9c1e-2d0f5e6a7b8c\"","InsertionTime":"2024-10-25T10:00:00+00:00",` +
		`"NextVisibleTime":"2024-10-25T10:10:00+00:00","PopReceipt":"\"AgAAAAMAAAAAAAAA\"",` +
		`"id":"\"7\"","kind":"\"x\"",` + strings.Replace(sysJSON, "%s", "Worker", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
	// A guest decodes the message with one extra json.Unmarshal.
	var p struct{ Data map[string]string }
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := json.Unmarshal([]byte(p.Data["msg"]), &msg); err != nil || msg != `{"id":7,"kind":"x"}` {
		t.Fatalf("double decode gave %q, %v", msg, err)
	}
}

func TestEncodeRequestTimer(t *testing.T) {
	fn := newFn("Tick", timerBindings...)
	got, err := EncodeRequest(fn, timerRequest(), testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	info := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-10-25T09:55:00+00:00","Next":"2024-10-25T10:00:00+00:00","LastUpdated":"2024-10-25T09:55:00+00:00"},"IsPastDue":false}`
	if info != timerInfo {
		t.Fatal("timerInfo changed")
	}
	want := `{"Data":{"tick":` + info + `},"Metadata":{"tick":` + info + `,` + strings.Replace(sysJSON, "%s", "Tick", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
}

// TestEncodeRequestCustomHandlerExample rebuilds the example of
// docs/custom-handler.md §3 from the request the host would send without
// the modern capabilities (plain maps, json body plus rawBody, request copies
// in trigger metadata). Header names are kept as the host sent them.
func TestEncodeRequestCustomHandlerExample(t *testing.T) {
	fn := newFn("order", bind("httpTrigger", "in", "req"), bind("http", "out", "res"))
	httpReq := &invocation.HTTPRequest{
		Method:  "POST",
		URL:     "http://localhost:7071/api/order?name=x&name=y",
		Headers: fields("Content-Type", "application/json", "Host", "localhost:7071", "Content-Length", "11"),
		Query:   fields("name", "x,y"),
		Identities: []invocation.Identity{{
			NameClaimType: ns(nameClaimType),
			RoleClaimType: ns(roleClaimType),
		}},
		Body:    js(`{"id":1005}`),
		RawBody: str(`{"id":1005}`),
	}
	httpV := httpValue(httpReq)
	req := &invocation.Request{
		Inputs: []invocation.Input{input("req", httpV)},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{
			"req":      httpV,
			"$request": httpV,
			"id":       str("1005"),
			"name":     str("y"),
			"Query":    js(`{"name":"y"}`),
			"Headers":  js(`{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"11"}`),
		}),
	}
	got, err := EncodeRequest(fn, req, testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Data":{"req":{
   "Url":"http://localhost:7071/api/order?name=x&name=y",
   "Method":"POST",
   "Query":{"name":"x,y"},
   "Headers":{"Content-Type":["application/json"],"Host":["localhost:7071"],"Content-Length":["11"]},
   "Params":{},
   "Identities":[{"AuthenticationType":null,"IsAuthenticated":false,
                  "Claims":[],"Name":null,
                  "NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                  "RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}],
   "Body":"{\"id\":1005}"}},
 "Metadata":{"id":"\"1005\"","name":"\"y\"",
   "Query":{"name":"y"},
   "Headers":{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"11"},
   "sys":{"MethodName":"order","UtcNow":"2024-10-25T10:00:00.1234567Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}}}`
	jsonEqual(t, got, []byte(want))
}

// TestEncodeValues covers every Kind of a Data value.
func TestEncodeValues(t *testing.T) {
	cases := []struct {
		name string
		in   *invocation.Value
		want string // the JSON text of Data.v
	}{
		{"string", str("hello"), `"\"hello\""`},
		{"string with quotes", str(`{"a":1}`), `"\"{\\\"a\\\":1}\""`},
		{"string unicode and html", str("<é\u2028>\n"), `"\"<é\\u2028>\\n\""`},
		{"string control", str("\x01"), `"\"\\u0001\""`},
		{"empty string", str(""), `"\"\""`},
		{"bytes", byt([]byte{0, 1, 2, 0xff}), `"AAEC/w=="`},
		{"empty bytes", byt(nil), `""`},
		{"stream", &invocation.Value{Kind: invocation.KindStream, Bytes: []byte("hi")}, `"aGk="`},
		{"json object", js(`{ "a" : [1, 2.50] }`), `{"a":[1,2.50]}`},
		{"json string", js(`"2024-11-01T10:00:00+00:00"`), `"2024-11-01T10:00:00+00:00"`},
		{"json date with fraction", js(`"2024-11-01T10:00:00.1234567Z"`), `"2024-11-01T10:00:00.1234567Z"`},
		// Guid and Uri values reach the host's custom-handler payload through
		// JsonConvert.SerializeObject: double-encoded, like strings.
		{"json guid", js(`"0f8fad5b-d9cb-469f-a165-70867728950e"`), `"\"0f8fad5b-d9cb-469f-a165-70867728950e\""`},
		{"json uri", js(`"https://acct.blob.core.windows.net/c/b.txt"`), `"\"https://acct.blob.core.windows.net/c/b.txt\""`},
		{"json timespan", js(`"00:05:00"`), `"\"00:05:00\""`},
		{"json number", js(`1`), `"1"`},
		{"json float", js(` 2.5 `), `"2.5"`},
		{"json bool", js(`true`), `"true"`},
		{"json array", js(`[1, "a"]`), `"[1,\"a\"]"`},
		{"json null", js(`null`), `"null"`},
		{"json invalid", js(`{not json`), `"{not json"`},
		{"int", &invocation.Value{Kind: invocation.KindInt, Int: -42}, `"-42"`},
		{"double", &invocation.Value{Kind: invocation.KindDouble, Double: 1.5}, `"1.5"`},
		{"double integral", &invocation.Value{Kind: invocation.KindDouble, Double: 3}, `"3.0"`},
		{"double big", &invocation.Value{Kind: invocation.KindDouble, Double: 1e20}, `"1E+20"`},
		{"double nan", &invocation.Value{Kind: invocation.KindDouble, Double: math.NaN()}, `"NaN"`},
		{"no case (null)", &invocation.Value{}, `"null"`},
		{"nil", nil, `"null"`},
		{"collection_string", &invocation.Value{Kind: invocation.KindCollectionString, List: &invocation.List{Strings: []string{"a", `b"`}}}, `"[\"a\",\"b\\\"\"]"`},
		{"collection_bytes", &invocation.Value{Kind: invocation.KindCollectionBytes, List: &invocation.List{Bytes: [][]byte{{1}, {2, 3}}}}, `"[\"AQ==\",\"AgM=\"]"`},
		{"collection_double", &invocation.Value{Kind: invocation.KindCollectionDouble, List: &invocation.List{Doubles: []float64{1, 2.5}}}, `"[1.0,2.5]"`},
		{"collection_sint64", &invocation.Value{Kind: invocation.KindCollectionInt, List: &invocation.List{Ints: []int64{-1, 7}}}, `"[-1,7]"`},
		{"empty collection", &invocation.Value{Kind: invocation.KindCollectionString}, `"[]"`},
		{"model_binding_data", &invocation.Value{Kind: invocation.KindModelBinding, List: &invocation.List{Models: []invocation.ModelBinding{{
			Version: "1.0", Source: "AzureStorageBlobs", ContentType: "application/json", Content: []byte(`{"c":"x"}`)}}}},
			`{"Version":"1.0","Source":"AzureStorageBlobs","ContentType":"application/json","Content":"eyJjIjoieCJ9"}`},
		{"collection_model_binding_data", &invocation.Value{Kind: invocation.KindCollectionModelBinding, List: &invocation.List{Models: []invocation.ModelBinding{{Version: "1.0"}}}},
			`"[{\"Version\":\"1.0\",\"Source\":\"\",\"ContentType\":\"\",\"Content\":\"\"}]"`},
		{"model_binding_data without model", &invocation.Value{Kind: invocation.KindModelBinding},
			`{"Version":"","Source":"","ContentType":"","Content":""}`},
		{"http without request", &invocation.Value{Kind: invocation.KindHTTP},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[]}`},
	}
	fn := newFn("F", bind("xTrigger", "in", "v"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &invocation.Request{Inputs: []invocation.Input{input("v", tc.in)}}
			got, err := EncodeRequest(fn, req, testNow, testGUID)
			if err != nil {
				t.Fatal(err)
			}
			prefix := `{"Data":{"v":`
			suffix := `},"Metadata":{` + strings.Replace(sysJSON, "%s", "F", 1) + `}}`
			if !strings.HasPrefix(string(got), prefix) || !strings.HasSuffix(string(got), suffix) {
				t.Fatalf("unexpected frame: %s", got)
			}
			if v := string(got[len(prefix) : len(got)-len(suffix)]); v != tc.want {
				t.Fatalf("Data.v = %s; want %s", v, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
		})
	}
}

// TestEncodeHTTP covers the HTTP request object: fields, bodies,
// identities.
func TestEncodeHTTP(t *testing.T) {
	authID := invocation.Identity{
		AuthenticationType: ns("WebJobsAuthLevel"),
		NameClaimType:      ns(nameClaimType),
		RoleClaimType:      ns(roleClaimType),
		Claims: []invocation.Claim{
			{Type: "http://schemas.microsoft.com/2017/07/functions/claims/authlevel", Value: "Function"},
			{Type: nameClaimType, Value: "alice"},
		},
	}
	cases := []struct {
		name string
		h    *invocation.HTTPRequest
		want string // the JSON of Data.req
	}{
		{"empty", &invocation.HTTPRequest{}, `{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[]}`},
		{"plain maps", &invocation.HTTPRequest{Method: "GET", URL: "u", Headers: fields("accept", "a, b"), Query: fields("q", "1"), Params: fields("p", "v")},
			`{"Url":"u","Method":"GET","Query":{"q":"1"},"Headers":{"accept":["a, b"]},"Params":{"p":"v"},"Identities":[]}`},
		{"null values", &invocation.HTTPRequest{
			Headers: invocation.Fields{{Name: "x-empty"}, {Name: "x-none", Null: true}},
			Query:   invocation.Fields{{Name: "e"}, {Name: "n", Null: true}},
			Params:  invocation.Fields{{Name: "opt", Null: true}}},
			`{"Url":"","Method":"","Query":{"e":"","n":null},"Headers":{"x-empty":[""],"x-none":[""]},"Params":{"opt":null},"Identities":[]}`},
		{"unsorted fields sorted", &invocation.HTTPRequest{
			Headers: invocation.Fields{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}},
			Query:   invocation.Fields{{Name: "z", Value: "1"}, {Name: "Z", Value: "2"}}},
			`{"Url":"","Method":"","Query":{"Z":"2","z":"1"},"Headers":{"a":["1"],"b":["2"]},"Params":{},"Identities":[]}`},
		{"identity with key", &invocation.HTTPRequest{Identities: []invocation.Identity{authID, {}}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[` +
				`{"AuthenticationType":"WebJobsAuthLevel","IsAuthenticated":true,"Claims":[{"Type":"http://schemas.microsoft.com/2017/07/functions/claims/authlevel","Value":"Function"},{"Type":"` + nameClaimType + `","Value":"alice"}],"Name":"alice","NameClaimType":"` + nameClaimType + `","RoleClaimType":"` + roleClaimType + `"},` +
				`{"AuthenticationType":null,"IsAuthenticated":false,"Claims":[],"Name":null,"NameClaimType":null,"RoleClaimType":null}]}`},
		{"text bytes body", &invocation.HTTPRequest{Headers: fields("content-type", "text/plain; charset=utf-8"), Body: byt([]byte("\ufeffhé"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"content-type":["text/plain; charset=utf-8"]},"Params":{},"Identities":[],"Body":"hé"}`},
		{"octet-stream body", &invocation.HTTPRequest{Headers: fields("Content-Type", "Application/Octet-Stream"), Body: byt([]byte("hi"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"Content-Type":["Application/Octet-Stream"]},"Params":{},"Identities":[],"Body":"aGk="}`},
		{"multipart body", &invocation.HTTPRequest{Headers: fields("content-type", "multipart/form-data; boundary=x"), Body: byt([]byte("--x--"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"content-type":["multipart/form-data; boundary=x"]},"Params":{},"Identities":[],"Body":"LS14LS0="}`},
		{"null content-type body", &invocation.HTTPRequest{Headers: invocation.Fields{{Name: "content-type", Value: "application/octet-stream", Null: true}}, Body: byt([]byte("hi"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"content-type":[""]},"Params":{},"Identities":[],"Body":"hi"}`},
		{"invalid utf-8 body", &invocation.HTTPRequest{Body: byt([]byte{0xff, 0xfe})},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"//4="}`},
		{"stream body", &invocation.HTTPRequest{Body: &invocation.Value{Kind: invocation.KindStream, Bytes: []byte("s")}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"s"}`},
		{"string body", &invocation.HTTPRequest{Body: str("plain")},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"plain"}`},
		{"json body", &invocation.HTTPRequest{Body: js(`{"a":1}`)},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"{\"a\":1}"}`},
		{"int and double bodies", &invocation.HTTPRequest{Body: &invocation.Value{Kind: invocation.KindInt, Int: 7}, RawBody: &invocation.Value{Kind: invocation.KindDouble, Double: 2}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"2.0"}`},
		{"rawBody wins", &invocation.HTTPRequest{Body: js(`{"a":1}`), RawBody: str("{ \"a\": 1 }\n")},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"{ \"a\": 1 }\n"}`},
		{"null rawBody ignored", &invocation.HTTPRequest{Body: str("b"), RawBody: &invocation.Value{}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"b"}`},
		{"empty body case", &invocation.HTTPRequest{Body: &invocation.Value{}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[]}`},
	}
	fn := newFn("F", httpBindings...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &invocation.Request{Inputs: []invocation.Input{input("req", httpValue(tc.h))}}
			got, err := EncodeRequest(fn, req, testNow, testGUID)
			if err != nil {
				t.Fatal(err)
			}
			var p struct{ Data map[string]json.RawMessage }
			if err := json.Unmarshal(got, &p); err != nil {
				t.Fatal(err)
			}
			if string(p.Data["req"]) != tc.want {
				t.Fatalf("Data.req\n got: %s\nwant: %s", p.Data["req"], tc.want)
			}
		})
	}
}

func TestEncodeMetadataRules(t *testing.T) {
	fn := newFn("F", queueBindings...)
	req := &invocation.Request{
		Inputs: []invocation.Input{
			input("msg", str("m")),
			input("extra", byt([]byte{1})),
		},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{
			"BlobTrigger":  str("skipped"),
			"mytrigger":    str("skipped"),
			"sys":          js(`{"MethodName":"theirs"}`),
			"gone":         {},
			"nil":          nil,
			"req":          httpValue(&invocation.HTTPRequest{}),
			"Count":        {Kind: invocation.KindInt, Int: 5},
			"retryContext": js(`{"RetryCount":9}`),
		}),
		Retry: &invocation.Retry{Count: 1, MaxCount: 3, Exception: &invocation.Exception{Message: "boom", Source: "guest"}},
	}
	got, err := EncodeRequest(fn, req, testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Data":{"msg":"\"m\"","extra":"AQ=="},"Metadata":{"Count":"5",` +
		`"RetryContext":{"RetryCount":1,"MaxRetryCount":3,"Exception":{"Message":"boom","Source":"guest","StackTrace":""}},` +
		strings.Replace(sysJSON, "%s", "F", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
	// Without Retry, a RetryContext key of the metadata is kept; a Retry
	// without Exception has a null one.
	req.Retry = nil
	req.Metadata = invocation.MetaOf(map[string]*invocation.Value{"retryContext": js(`{"RetryCount":9}`)})
	if got, err = EncodeRequest(fn, req, testNow, testGUID); err != nil {
		t.Fatal(err)
	}
	want = `{"Data":{"msg":"\"m\"","extra":"AQ=="},"Metadata":{"retryContext":{"RetryCount":9},` + strings.Replace(sysJSON, "%s", "F", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
	req.Metadata = nil
	req.Retry = &invocation.Retry{Count: 2, MaxCount: 2}
	if got, err = EncodeRequest(fn, req, testNow, testGUID); err != nil {
		t.Fatal(err)
	}
	want = `{"Data":{"msg":"\"m\"","extra":"AQ=="},"Metadata":{"RetryContext":{"RetryCount":2,"MaxRetryCount":2,"Exception":null},` + strings.Replace(sysJSON, "%s", "F", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	fn := newFn("F", queueBindings...)
	// A zero Function (the old nil metadata) is no error: sys.MethodName is
	// empty.
	if got, err := EncodeRequest(invocation.Function{}, &invocation.Request{}, testNow, testGUID); err != nil ||
		string(got) != `{"Data":{},"Metadata":{`+strings.Replace(sysJSON, "%s", "", 1)+`}}` {
		t.Errorf("zero function: %s, %v", got, err)
	}
	if _, err := EncodeRequest(fn, nil, testNow, testGUID); err == nil {
		t.Error("nil request accepted")
	}
	req := &invocation.Request{Inputs: []invocation.Input{{Name: "msg", Unreadable: "shared memory region m"}}}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), `input "msg" arrived in shared memory`) ||
		!strings.Contains(err.Error(), "shared memory region m") {
		t.Errorf("shared memory: err = %v", err)
	}
	req = &invocation.Request{Inputs: []invocation.Input{input("req", httpValue(&invocation.HTTPRequest{Body: httpValue(&invocation.HTTPRequest{})}))}}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), "HTTP body of unsupported type") {
		t.Errorf("http body of http: err = %v", err)
	}
	req = &invocation.Request{Inputs: []invocation.Input{input("v", &invocation.Value{Kind: 42})}}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), `input "v": unsupported value kind kind(42)`) {
		t.Errorf("unknown kind: err = %v", err)
	}
	req = &invocation.Request{Metadata: invocation.MetaOf(map[string]*invocation.Value{"m": {Kind: 42}})}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), `trigger metadata "m": unsupported value kind`) {
		t.Errorf("unknown metadata kind: err = %v", err)
	}
}

// TestFieldsSortedInPlace: unsorted fields (the host sends maps, so they
// come in no order) are written sorted by name, and the sorting of a
// request's usual few headers allocates nothing; the caller's list keeps
// its order.
func TestFieldsSortedInPlace(t *testing.T) {
	fs := invocation.Fields{{Name: "x-b", Value: "2"}, {Name: "accept", Value: "*/*"}, {Name: "host", Value: "h"}, {Name: "x-a", Null: true}}
	got := string(appendFields(nil, fs, false))
	if want := `{"accept":"*/*","host":"h","x-a":null,"x-b":"2"}`; got != want {
		t.Fatalf("wrote %s, want %s", got, want)
	}
	if fs[0].Name != "x-b" {
		t.Fatal("the caller's fields were reordered")
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { appendFields(buf[:0], fs, true) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
