package command

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/wasmworker/wasmworker/proto/rpc"
)

const sysJSON = `"sys":{"MethodName":"%s","UtcNow":"2024-10-25T10:00:00.1234567Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}`

func TestEncodeRequestHTTPExample(t *testing.T) {
	fn := loadFn(t, "HelloHttp", httpFnJSON)
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
	fn := loadFn(t, "Worker", queueFnJSON)
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
	fn := loadFn(t, "Tick", timerFnJSON)
	got, err := EncodeRequest(fn, timerRequest(), testNow, testGUID)
	if err != nil {
		t.Fatal(err)
	}
	info := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-10-25T09:55:00+00:00","Next":"2024-10-25T10:00:00+00:00","LastUpdated":"2024-10-25T09:55:00+00:00"},"IsPastDue":false}`
	want := `{"Data":{"tick":` + info + `},"Metadata":{"tick":` + info + `,` + strings.Replace(sysJSON, "%s", "Tick", 1) + `}}`
	if string(got) != want {
		t.Fatalf("payload differs\n got: %s\nwant: %s", got, want)
	}
}

// TestEncodeRequestCustomHandlerExample rebuilds the example of
// custom-handler.md §3 from the gRPC request the host would send without
// the modern capabilities (plain maps, json body plus rawBody, request copies
// in trigger metadata). Header names are kept as the host sent them.
func TestEncodeRequestCustomHandlerExample(t *testing.T) {
	fn := loadFn(t, "order", `{"scriptFile":"f.wasm","bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"order"},{"type":"http","direction":"out","name":"res"}]}`)
	httpReq := &rpc.RpcHttp{
		Method:  "POST",
		Url:     "http://localhost:7071/api/order?name=x&name=y",
		Headers: map[string]string{"Content-Type": "application/json", "Host": "localhost:7071", "Content-Length": "11"},
		Query:   map[string]string{"name": "x,y"},
		Identities: []*rpc.RpcClaimsIdentity{{
			NameClaimType: ns(nameClaimType),
			RoleClaimType: ns(roleClaimType),
		}},
		Body:    js(`{"id":1005}`),
		RawBody: str(`{"id":1005}`),
	}
	httpTD := &rpc.TypedData{Data: &rpc.TypedData_Http{Http: httpReq}}
	req := &rpc.InvocationRequest{
		InputData: []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: httpTD}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"req":      httpTD,
			"$request": httpTD,
			"id":       str("1005"),
			"name":     str("y"),
			"Query":    js(`{"name":"y"}`),
			"Headers":  js(`{"Content-Type":"application/json","Host":"localhost:7071","Content-Length":"11"}`),
		},
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

// TestEncodeValues covers every TypedData case of a Data value.
func TestEncodeValues(t *testing.T) {
	cases := []struct {
		name string
		in   *rpc.TypedData
		want string // the JSON text of Data.v
	}{
		{"string", str("hello"), `"\"hello\""`},
		{"string with quotes", str(`{"a":1}`), `"\"{\\\"a\\\":1}\""`},
		{"string unicode and html", str("<é\u2028>\n"), `"\"<é\\u2028>\\n\""`},
		{"string control", str("\x01"), `"\"\\u0001\""`},
		{"empty string", str(""), `"\"\""`},
		{"bytes", byt([]byte{0, 1, 2, 0xff}), `"AAEC/w=="`},
		{"empty bytes", byt(nil), `""`},
		{"stream", &rpc.TypedData{Data: &rpc.TypedData_Stream{Stream: []byte("hi")}}, `"aGk="`},
		{"json object", js(`{ "a" : [1, 2.50] }`), `{"a":[1,2.50]}`},
		{"json string", js(`"2024-11-01T10:00:00+00:00"`), `"2024-11-01T10:00:00+00:00"`},
		{"json number", js(`1`), `"1"`},
		{"json float", js(` 2.5 `), `"2.5"`},
		{"json bool", js(`true`), `"true"`},
		{"json array", js(`[1, "a"]`), `"[1,\"a\"]"`},
		{"json null", js(`null`), `"null"`},
		{"json invalid", js(`{not json`), `"{not json"`},
		{"int", &rpc.TypedData{Data: &rpc.TypedData_Int{Int: -42}}, `"-42"`},
		{"double", &rpc.TypedData{Data: &rpc.TypedData_Double{Double: 1.5}}, `"1.5"`},
		{"double integral", &rpc.TypedData{Data: &rpc.TypedData_Double{Double: 3}}, `"3.0"`},
		{"double big", &rpc.TypedData{Data: &rpc.TypedData_Double{Double: 1e20}}, `"1E+20"`},
		{"double nan", &rpc.TypedData{Data: &rpc.TypedData_Double{Double: math.NaN()}}, `"NaN"`},
		{"no case (null)", &rpc.TypedData{}, `"null"`},
		{"nil", nil, `"null"`},
		{"collection_string", &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", `b"`}}}}, `"[\"a\",\"b\\\"\"]"`},
		{"collection_bytes", &rpc.TypedData{Data: &rpc.TypedData_CollectionBytes{CollectionBytes: &rpc.CollectionBytes{Bytes: [][]byte{{1}, {2, 3}}}}}, `"[\"AQ==\",\"AgM=\"]"`},
		{"collection_double", &rpc.TypedData{Data: &rpc.TypedData_CollectionDouble{CollectionDouble: &rpc.CollectionDouble{Double: []float64{1, 2.5}}}}, `"[1.0,2.5]"`},
		{"collection_sint64", &rpc.TypedData{Data: &rpc.TypedData_CollectionSint64{CollectionSint64: &rpc.CollectionSInt64{Sint64: []int64{-1, 7}}}}, `"[-1,7]"`},
		{"empty collection", &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{}}}, `"[]"`},
		{"model_binding_data", &rpc.TypedData{Data: &rpc.TypedData_ModelBindingData{ModelBindingData: &rpc.ModelBindingData{
			Version: "1.0", Source: "AzureStorageBlobs", ContentType: "application/json", Content: []byte(`{"c":"x"}`)}}},
			`{"Version":"1.0","Source":"AzureStorageBlobs","ContentType":"application/json","Content":"eyJjIjoieCJ9"}`},
		{"collection_model_binding_data", &rpc.TypedData{Data: &rpc.TypedData_CollectionModelBindingData{CollectionModelBindingData: &rpc.CollectionModelBindingData{
			ModelBindingData: []*rpc.ModelBindingData{{Version: "1.0"}}}}},
			`"[{\"Version\":\"1.0\",\"Source\":\"\",\"ContentType\":\"\",\"Content\":\"\"}]"`},
	}
	fn := loadFn(t, "F", `{"scriptFile":"f.wasm","bindings":[{"type":"xTrigger","direction":"in","name":"v"}]}`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &rpc.InvocationRequest{InputData: []*rpc.ParameterBinding{{Name: "v", RpcData: &rpc.ParameterBinding_Data{Data: tc.in}}}}
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

// TestEncodeHTTP covers the HTTP request object: map choice, bodies,
// identities.
func TestEncodeHTTP(t *testing.T) {
	authID := &rpc.RpcClaimsIdentity{
		AuthenticationType: ns("WebJobsAuthLevel"),
		NameClaimType:      ns(nameClaimType),
		RoleClaimType:      ns(roleClaimType),
		Claims: []*rpc.RpcClaim{
			{Type: "http://schemas.microsoft.com/2017/07/functions/claims/authlevel", Value: "Function"},
			{Type: nameClaimType, Value: "alice"},
		},
	}
	cases := []struct {
		name string
		h    *rpc.RpcHttp
		want string // the JSON of Data.req
	}{
		{"empty", &rpc.RpcHttp{}, `{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[]}`},
		{"plain maps", &rpc.RpcHttp{Method: "GET", Url: "u", Headers: map[string]string{"accept": "a, b"}, Query: map[string]string{"q": "1"}, Params: map[string]string{"p": "v"}},
			`{"Url":"u","Method":"GET","Query":{"q":"1"},"Headers":{"accept":["a, b"]},"Params":{"p":"v"},"Identities":[]}`},
		{"nullable maps win", &rpc.RpcHttp{
			Headers:         map[string]string{"old": "x"},
			NullableHeaders: map[string]*rpc.NullableString{"x-empty": ns(""), "x-none": {}},
			Query:           map[string]string{"old": "x"},
			NullableQuery:   map[string]*rpc.NullableString{"e": ns(""), "n": {}},
			NullableParams:  map[string]*rpc.NullableString{"opt": {}}},
			`{"Url":"","Method":"","Query":{"e":"","n":null},"Headers":{"x-empty":[""],"x-none":[""]},"Params":{"opt":null},"Identities":[]}`},
		{"identity with key", &rpc.RpcHttp{Identities: []*rpc.RpcClaimsIdentity{authID, {}}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[` +
				`{"AuthenticationType":"WebJobsAuthLevel","IsAuthenticated":true,"Claims":[{"Type":"http://schemas.microsoft.com/2017/07/functions/claims/authlevel","Value":"Function"},{"Type":"` + nameClaimType + `","Value":"alice"}],"Name":"alice","NameClaimType":"` + nameClaimType + `","RoleClaimType":"` + roleClaimType + `"},` +
				`{"AuthenticationType":null,"IsAuthenticated":false,"Claims":[],"Name":null,"NameClaimType":null,"RoleClaimType":null}]}`},
		{"text bytes body", &rpc.RpcHttp{NullableHeaders: map[string]*rpc.NullableString{"content-type": ns("text/plain; charset=utf-8")}, Body: byt([]byte("\ufeffhé"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"content-type":["text/plain; charset=utf-8"]},"Params":{},"Identities":[],"Body":"hé"}`},
		{"octet-stream body", &rpc.RpcHttp{Headers: map[string]string{"Content-Type": "Application/Octet-Stream"}, Body: byt([]byte("hi"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"Content-Type":["Application/Octet-Stream"]},"Params":{},"Identities":[],"Body":"aGk="}`},
		{"multipart body", &rpc.RpcHttp{Headers: map[string]string{"content-type": "multipart/form-data; boundary=x"}, Body: byt([]byte("--x--"))},
			`{"Url":"","Method":"","Query":{},"Headers":{"content-type":["multipart/form-data; boundary=x"]},"Params":{},"Identities":[],"Body":"LS14LS0="}`},
		{"invalid utf-8 body", &rpc.RpcHttp{Body: byt([]byte{0xff, 0xfe})},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"//4="}`},
		{"string body", &rpc.RpcHttp{Body: str("plain")},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"plain"}`},
		{"json body", &rpc.RpcHttp{Body: js(`{"a":1}`)},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"{\"a\":1}"}`},
		{"rawBody wins", &rpc.RpcHttp{Body: js(`{"a":1}`), RawBody: str("{ \"a\": 1 }\n")},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[],"Body":"{ \"a\": 1 }\n"}`},
		{"empty body case", &rpc.RpcHttp{Body: &rpc.TypedData{}},
			`{"Url":"","Method":"","Query":{},"Headers":{},"Params":{},"Identities":[]}`},
	}
	fn := loadFn(t, "F", httpFnJSON)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &rpc.InvocationRequest{InputData: []*rpc.ParameterBinding{{Name: "req",
				RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: tc.h}}}}}}
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
	fn := loadFn(t, "F", queueFnJSON)
	req := &rpc.InvocationRequest{
		InputData: []*rpc.ParameterBinding{
			{Name: "msg", RpcData: &rpc.ParameterBinding_Data{Data: str("m")}},
			{Name: "extra", RpcData: &rpc.ParameterBinding_Data{Data: byt([]byte{1})}},
		},
		TriggerMetadata: map[string]*rpc.TypedData{
			"BlobTrigger": str("skipped"),
			"mytrigger":   str("skipped"),
			"sys":         js(`{"MethodName":"theirs"}`),
			"gone":        {},
			"req":         {Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{}}},
			"Count":       {Data: &rpc.TypedData_Int{Int: 5}},
		},
		RetryContext: &rpc.RetryContext{RetryCount: 1, MaxRetryCount: 3, Exception: &rpc.RpcException{Message: "boom", Source: "guest"}},
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
}

func TestEncodeRequestErrors(t *testing.T) {
	fn := loadFn(t, "F", queueFnJSON)
	if _, err := EncodeRequest(nil, &rpc.InvocationRequest{}, testNow, testGUID); err == nil {
		t.Error("nil function accepted")
	}
	if _, err := EncodeRequest(fn, nil, testNow, testGUID); err == nil {
		t.Error("nil request accepted")
	}
	req := &rpc.InvocationRequest{InputData: []*rpc.ParameterBinding{{Name: "msg",
		RpcData: &rpc.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpc.RpcSharedMemory{Name: "m"}}}}}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), `input "msg" arrived in shared memory`) {
		t.Errorf("shared memory: err = %v", err)
	}
	req = &rpc.InvocationRequest{InputData: []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{
		Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{Body: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{}}}}}}}}}}
	if _, err := EncodeRequest(fn, req, testNow, testGUID); err == nil || !strings.Contains(err.Error(), "HTTP body of unsupported type") {
		t.Errorf("http body of http: err = %v", err)
	}
}
