package httpbind

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// capture runs one real HTTP request through a server on 127.0.0.1 and
// returns what Request and TriggerMetadata made of it.
func capture(t *testing.T, caps Capabilities, req func(url string) *http.Request) (*rpc.RpcHttp, map[string]*rpc.TypedData) {
	t.Helper()
	var got *rpc.RpcHttp
	var md map[string]*rpc.TypedData
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		params := map[string]string{"who": "world"}
		got = Request(r, body, params, caps)
		md = TriggerMetadata(r, body, params, got, "req", caps)
	}))
	defer srv.Close()
	resp, err := http.DefaultClient.Do(req(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return got, md
}

var nodeCaps = Capabilities{
	CapRPCHTTPBodyOnly: "true", CapRawHTTPBodyBytes: "true",
	CapRPCHTTPTriggerMetadataRemoved: "true", CapUseNullableValueDictionaryForHTTP: "true",
}

func TestRequestNullableCaps(t *testing.T) {
	h, md := capture(t, nodeCaps, func(u string) *http.Request {
		r, _ := http.NewRequest("POST", u+"/api/hello/world?x=1&x=2&e=", strings.NewReader("{\"name\":\"a\"}\n"))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Empty", "")
		return r
	})
	if h.Method != "POST" || !strings.HasSuffix(h.Url, "/api/hello/world?x=1&x=2&e=") || !strings.HasPrefix(h.Url, "http://127.0.0.1:") {
		t.Errorf("method/url = %s %s", h.Method, h.Url)
	}
	if len(h.Headers) != 0 || len(h.Query) != 0 || len(h.Params) != 0 {
		t.Errorf("plain maps filled in nullable mode: %v %v %v", h.Headers, h.Query, h.Params)
	}
	if v := h.NullableHeaders["content-type"].GetValue(); v != "application/json" {
		t.Errorf("content-type = %q", v)
	}
	if _, ok := h.NullableHeaders["x-empty"]; !ok {
		t.Error("empty header dropped in nullable mode")
	}
	if v := h.NullableHeaders["host"].GetValue(); !strings.HasPrefix(v, "127.0.0.1:") {
		t.Errorf("host header = %q", v)
	}
	if v := h.NullableQuery["x"].GetValue(); v != "1,2" {
		t.Errorf("query x = %q, want 1,2", v)
	}
	if _, ok := h.NullableQuery["e"]; !ok {
		t.Error("empty query value dropped in nullable mode")
	}
	if v := h.NullableParams["who"].GetValue(); v != "world" {
		t.Errorf("param who = %q", v)
	}
	if b := h.GetBody().GetBytes(); string(b) != "{\"name\":\"a\"}\n" {
		t.Errorf("body = %v, want raw bytes", h.GetBody())
	}
	if h.RawBody != nil {
		t.Error("rawBody sent with RpcHttpBodyOnly")
	}
	if len(h.Identities) != 1 || h.Identities[0].GetNameClaimType().GetValue() != nameClaimType {
		t.Errorf("identities = %v", h.Identities)
	}
	// Trigger metadata (docs/host-contract.md §4.3).
	if md["req"] != nil || md["$request"] != nil {
		t.Error("request copies present despite RpcHttpTriggerMetadataRemoved")
	}
	if md["x"].GetString_() != "2" || md["who"].GetString_() != "world" || md["name"].GetString_() != "a" {
		t.Errorf("metadata x/who/name = %v / %v / %v", md["x"], md["who"], md["name"])
	}
	if q := md["Query"].GetJson(); q != `{"e":"","x":"2"}` {
		t.Errorf("Query = %s", q)
	}
	if hd := md["Headers"].GetJson(); !strings.Contains(hd, `"Content-Type":"application/json"`) {
		t.Errorf("Headers = %s", hd)
	}
}

func TestRequestPlainMaps(t *testing.T) {
	h, md := capture(t, Capabilities{CapIgnoreEmptyValuedRPCHTTPHeaders: "true"}, func(u string) *http.Request {
		r, _ := http.NewRequest("POST", u+"/api/x?a=1&e=&code=secret", strings.NewReader(`{ "n" : 1 }`))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		r.Header.Set("X-Empty", "")
		r.Header.Add("X-Multi", "a")
		r.Header.Add("X-Multi", "b")
		return r
	})
	if _, ok := h.Headers["x-empty"]; ok {
		t.Error("empty header kept despite IgnoreEmptyValuedRpcHttpHeaders")
	}
	if h.Headers["x-multi"] != "a,b" {
		t.Errorf("x-multi = %q", h.Headers["x-multi"])
	}
	if _, ok := h.Query["e"]; ok || h.Query["a"] != "1" {
		t.Errorf("query = %v (empty values must be skipped)", h.Query)
	}
	if h.Params["who"] != "world" {
		t.Errorf("params = %v", h.Params)
	}
	if j := h.GetBody().GetJson(); j != `{"n":1}` {
		t.Errorf("body = %v, want parsed json", h.GetBody())
	}
	if s := h.GetRawBody().GetString_(); s != `{ "n" : 1 }` {
		t.Errorf("rawBody = %v", h.GetRawBody())
	}
	if md["req"].GetHttp() == nil || md["$request"].GetHttp() == nil {
		t.Error("request copies missing from trigger metadata")
	}
	if _, ok := md["code"]; ok {
		t.Error("query parameter code copied to metadata")
	}
	if md["n"].GetString_() != "1" {
		t.Errorf("metadata n = %v", md["n"])
	}
}

func TestRequestBodies(t *testing.T) {
	cases := []struct {
		name  string
		caps  Capabilities
		ctype string
		body  string
		chunk bool
		check func(*rpc.RpcHttp) bool
	}{
		{"text", nil, "text/plain", "hi", false, func(h *rpc.RpcHttp) bool {
			return h.GetBody().GetString_() == "hi" && h.GetRawBody().GetString_() == "hi"
		}},
		{"octet", nil, "application/octet-stream", "\x00\x01", false, func(h *rpc.RpcHttp) bool {
			return bytes.Equal(h.GetBody().GetBytes(), []byte{0, 1}) && h.GetRawBody().GetString_() == "\x00\x01"
		}},
		{"rawbytes", Capabilities{CapRawHTTPBodyBytes: "x"}, "text/plain", "hi", false, func(h *rpc.RpcHttp) bool {
			return h.GetBody().GetString_() == "hi" && string(h.GetRawBody().GetBytes()) == "hi"
		}},
		{"bodyonly-text", Capabilities{CapRPCHTTPBodyOnly: "true"}, "text/plain", "\xef\xbb\xbfhi", false, func(h *rpc.RpcHttp) bool {
			return h.GetBody().GetString_() == "hi" && h.RawBody == nil
		}},
		{"bodyonly-multipart", Capabilities{CapRPCHTTPBodyOnly: "true"}, "multipart/form-data; boundary=x", "--x--", false, func(h *rpc.RpcHttp) bool {
			return string(h.GetBody().GetBytes()) == "--x--"
		}},
		{"bad-json", nil, "application/json", "{nope", false, func(h *rpc.RpcHttp) bool {
			return h.GetBody().GetString_() == "{nope"
		}},
		{"chunked", nil, "text/plain", "hi", true, func(h *rpc.RpcHttp) bool { return h.Body == nil && h.RawBody == nil }},
		{"empty", nil, "", "", false, func(h *rpc.RpcHttp) bool { return h.Body == nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := capture(t, c.caps, func(u string) *http.Request {
				var rd io.Reader = strings.NewReader(c.body)
				if c.chunk {
					rd = io.MultiReader(strings.NewReader(c.body)) // unknown length → chunked
				}
				r, _ := http.NewRequest("POST", u+"/", rd)
				if c.ctype != "" {
					r.Header.Set("Content-Type", c.ctype)
				}
				return r
			})
			if !c.check(h) {
				t.Errorf("body = %v, rawBody = %v", h.GetBody(), h.GetRawBody())
			}
		})
	}
}

// respond writes out through WriteResponse on a real server and returns the response.
func respond(t *testing.T, out *rpc.TypedData) (*http.Response, string) {
	t.Helper()
	resp, body, err := respondTo(t, out, nil)
	if err != nil {
		t.Errorf("WriteResponse: %v", err)
	}
	return resp, body
}

// respondTo is respond for a request with the headers reqHeader, returning
// WriteResponse's error.
func respondTo(t *testing.T, out *rpc.TypedData, reqHeader http.Header) (*http.Response, string, error) {
	t.Helper()
	var werr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		werr = WriteResponse(w, r, out)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = reqHeader
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), werr
}

func TestWriteResponse(t *testing.T) {
	out := &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{
		StatusCode: "201",
		Headers:    map[string]string{"content-type": "text/plain", "X-Powered-By": "wasmworker", "x-powered-by": "dup"},
		Cookies: []*rpc.RpcHttpCookie{
			{Name: "a", Value: "1", Path: ns("/"), HttpOnly: &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: true}}, SameSite: rpc.RpcHttpCookie_Lax},
			{Name: "b", Value: "2", Expires: &rpc.NullableTimestamp{Timestamp: &rpc.NullableTimestamp_Value{Value: timestamppb.New(mustTime(t))}},
				SameSite: rpc.RpcHttpCookie_ExplicitNone, Secure: &rpc.NullableBool{Bool: &rpc.NullableBool_Value{Value: true}}},
		},
		Body: stringData("hello world"),
	}}}
	resp, body := respond(t, out)
	if resp.StatusCode != 201 || body != "hello world" {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("content-type = %q, want the function's with the charset the host adds", ct)
	}
	if v := resp.Header.Values("X-Powered-By"); len(v) != 1 {
		t.Errorf("X-Powered-By = %v, want exactly one", v)
	}
	cookies := resp.Header.Values("Set-Cookie")
	if len(cookies) != 2 || !strings.Contains(cookies[0], "HttpOnly") || !strings.Contains(cookies[0], "SameSite=Lax") ||
		!strings.Contains(cookies[1], "SameSite=None") || !strings.Contains(cookies[1], "Expires=") || !strings.Contains(cookies[1], "Secure") {
		t.Errorf("Set-Cookie = %q", cookies)
	}
}

// textPlain is the content type the host gives a text body without one.
const textPlain = "text/plain; charset=utf-8"

func mustTime(t *testing.T) time.Time {
	t.Helper()
	return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
}

func TestWriteResponseVariants(t *testing.T) {
	cases := []struct {
		name   string
		out    *rpc.TypedData
		status int
		ctype  string
		body   string
	}{
		{"nil", nil, 200, "", ""},
		{"empty", &rpc.TypedData{}, 200, "", ""},
		{"no-content-type", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{Body: stringData("<html>")}}}, 200, textPlain, "<html>"},
		{"empty-status", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: " ", Body: &rpc.TypedData{}}}}, 200, textPlain, ""},
		{"spaced-status", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: " +599 ", Body: &rpc.TypedData{}}}}, 599, textPlain, ""},
		{"bad-status-without-body", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: "abc"}}}, 200, textPlain,
			`{"method":"","query":{},"statusCode":"abc","headers":{},"enableContentNegotiation":false,"cookies":[]}`},
		{"json-body", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: "400", Body: &rpc.TypedData{Data: &rpc.TypedData_Json{Json: `{ "a" : 1 }`}}}}}, 400, textPlain, "{\n  \"a\": 1\n}"},
		{"bytes-body", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{Headers: map[string]string{"Content-Type": "image/png"}, Body: bytesData([]byte{1, 2})}}}, 200, "image/png", "\x01\x02"},
		{"missing-body-quirk", &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: "404", Headers: map[string]string{"x": "y"}}}}, 200, textPlain,
			`{"method":"","query":{},"statusCode":"404","headers":{"x":"y"},"enableContentNegotiation":false,"cookies":[]}`},
		{"plain-string", stringData("hi"), 200, textPlain, "hi"},
		{"plain-json", &rpc.TypedData{Data: &rpc.TypedData_Json{Json: `[1, 2]`}}, 200, textPlain, "[\n  1,\n  2\n]"},
		{"int", &rpc.TypedData{Data: &rpc.TypedData_Int{Int: 7}}, 200, "text/plain; charset=utf-8", "7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := respond(t, c.out)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.ctype || body != c.body {
				t.Errorf("got %d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.ctype, c.body)
			}
		})
	}
}

func TestWriteResponseInvalidStatus(t *testing.T) {
	for _, code := range []string{"abc", "99999", "0", "-200", "100", "101", "199", "600", "999", "200.0", "2e2", "0x1F4"} {
		t.Run(code, func(t *testing.T) {
			out := &rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: code, Body: stringData("x")}}}
			if _, err := ResponseStatus(out); err == nil {
				t.Fatalf("ResponseStatus(%q) accepted it", code)
			}
			var werr error
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				werr = WriteResponse(w, r, out)
			}))
			defer srv.Close()
			c := &http.Client{Timeout: 10 * time.Second}
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var se *StatusError
			if !errors.As(werr, &se) || se.Value != code {
				t.Errorf("WriteResponse returned %v, want a *StatusError for %q", werr, code)
			}
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), `invalid HTTP status code "`+code+`"`) {
				t.Errorf("got %d %q, want 500 naming %q", resp.StatusCode, b, code)
			}
		})
	}
	for code, want := range map[string]int{"": 200, "200": 200, "201": 201, "0204": 204, "404": 404, "599": 599} {
		if got, err := ResponseStatus(&rpc.TypedData{Data: &rpc.TypedData_Http{Http: &rpc.RpcHttp{StatusCode: code, Body: &rpc.TypedData{}}}}); err != nil || got != want {
			t.Errorf("ResponseStatus(%q) = %d, %v; want %d", code, got, err, want)
		}
	}
}

// TestRequestInvalidUTF8 sends bytes that are not UTF-8 in every part of a
// request: each string of the RpcHttp and the trigger metadata must be
// valid UTF-8 (protobuf refuses to marshal anything else), with U+FFFD in
// place of the bad bytes; bytes bodies stay as they are.
func TestRequestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		name  string
		caps  Capabilities
		ctype string
		body  string
	}{
		{"node", nodeCaps, "text/plain", "a\xffb"},
		{"plain-text", Capabilities{}, "text/plain", "a\xffb"},
		{"plain-json", Capabilities{}, "application/json", "{\"k\xfe\":\"v\xff\",\"o\":{\"x\":\"\xff\"},\"a\":[\"\xfe\"]}"},
		{"bodyonly-json", Capabilities{CapRPCHTTPBodyOnly: "1"}, "application/json", "{\"o\":{\"x\":\"\xff\"}}"},
		{"octet", Capabilities{}, "application/octet-stream", "\xff\x00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h *rpc.RpcHttp
			var md map[string]*rpc.TypedData
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				params := map[string]string{"who": r.URL.Path[1:], "w\xfeo": "x"}
				h = Request(r, body, params, c.caps)
				md = TriggerMetadata(r, body, params, h, "req", c.caps)
			}))
			defer srv.Close()
			r, err := http.NewRequest("POST", srv.URL+"/a%ffb?q=%ff&%fe=1&%fd=2&raw=\xfe&code=%ff", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", c.ctype)
			r.Header.Set("X-Probe", "a\xffb")
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			req := &rpc.InvocationRequest{InvocationId: "1", TriggerMetadata: md,
				InputData: []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: h}}}}}}
			if _, err := proto.Marshal(req); err != nil {
				t.Fatalf("the request does not marshal: %v\n%v", err, req)
			}
			get := func(plain map[string]string, nullable map[string]*rpc.NullableString, k string) string {
				if nullable != nil {
					return nullable[k].GetValue()
				}
				return plain[k]
			}
			for what, got := range map[string]string{
				"param":  get(h.Params, h.NullableParams, "who"),
				"query":  get(h.Query, h.NullableQuery, "q"),
				"raw":    get(h.Query, h.NullableQuery, "raw"),
				"header": get(h.Headers, h.NullableHeaders, "x-probe"),
			} {
				if want := map[string]string{"param": "a\uFFFDb", "header": "a\uFFFDb"}[what]; want != "" && got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				} else if want == "" && got != "\uFFFD" {
					t.Errorf("%s = %q, want U+FFFD", what, got)
				}
			}
			// "%fe" and "%fd" both become U+FFFD: their values are kept together.
			if got := get(h.Query, h.NullableQuery, "\uFFFD"); got != "2,1" {
				t.Errorf("query U+FFFD = %q, want 2,1", got)
			}
			if got := md["who"].GetString_(); got != "a\uFFFDb" {
				t.Errorf("metadata who = %q", got)
			}
			if got := md["w\uFFFDo"].GetString_(); got != "x" {
				t.Errorf("metadata of the param named w\\xfeo = %v", md["w\uFFFDo"])
			}
			if !strings.Contains(h.Url, "?q=%ff&") || !utf8.ValidString(h.Url) {
				t.Errorf("url = %q", h.Url)
			}
			if c.ctype == "application/octet-stream" && !bytes.Equal(h.GetBody().GetBytes(), []byte("\xff\x00")) {
				t.Errorf("bytes body changed: %v", h.GetBody())
			}
			if c.name == "plain-text" && (h.GetBody().GetString_() != "a\uFFFDb" || h.GetRawBody().GetString_() != "a\uFFFDb") {
				t.Errorf("text body = %v, rawBody = %v", h.GetBody(), h.GetRawBody())
			}
			if c.name == "plain-json" {
				if got := md["k\uFFFD"].GetString_(); got != "v\uFFFD" {
					t.Errorf("metadata k = %v", md["k\uFFFD"])
				}
				if got := md["o"].GetJson(); got != "{\"x\":\"\uFFFD\"}" {
					t.Errorf("metadata o = %v", md["o"])
				}
			}
		})
	}
}
