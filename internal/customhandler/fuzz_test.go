package customhandler

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// FuzzDecodeResponse checks that no stdout makes DecodeResponse panic, and
// that what it accepts obeys the output rules.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":["x"]}`,
		`{"Outputs":{"out":"o","img":"aGk=","state":[1,{"a":null}]},"ReturnValue":{"id":7}}`,
		`{"Outputs":{"res":{"cookies":[{"name":"a","value":"b","expires":"2025-01-02T15:04:05Z","sameSite":"Lax","maxAge":1}]}}}`,
		`{"Outputs":{"res":"{\"body\":1}"}}`,
		"", "null", "{} trailing", "\xff",
	} {
		f.Add([]byte(s))
	}
	fn := newFn("F", allOutputsBindings...)
	f.Fuzz(func(t *testing.T, stdout []byte) {
		res, err := DecodeResponse(fn, stdout)
		// Walking by the tape and by scanning read the same.
		scanned, serr := decodeResponse(fn, stdout, false)
		if fmt.Sprint(err) != fmt.Sprint(serr) || (err == nil && fmtResult(res) != fmtResult(scanned)) {
			t.Fatalf("indexed and scanned decoding differ:\n%v %s\n%v %s", err, fmtResult(res), serr, fmtResult(scanned))
		}
		if err != nil {
			if res != nil {
				t.Fatalf("result with error %v", err)
			}
			return
		}
		for _, o := range res.Outputs {
			b, ok := binding(fn, o.Name)
			if !ok || !b.IsOutput() || o.Name == "$return" {
				t.Fatalf("output %q is not a declared output binding", o.Name)
			}
			checkOutputValue(t, o.Value)
		}
		if res.Return != nil {
			checkOutputValue(t, res.Return)
		}
	})
}

// fmtResult shows everything a Result holds.
func fmtResult(r *Result) string {
	var b strings.Builder
	for _, o := range r.Outputs {
		fmt.Fprintf(&b, "%s=%s ", o.Name, fmtValue(o.Value))
	}
	fmt.Fprintf(&b, "return=%s ignored=%v logs=%q", fmtValue(r.Return), r.ReturnIgnored, r.Logs)
	return b.String()
}

// checkOutputValue asserts the invariants of a value a guest returns.
func checkOutputValue(t *testing.T, v *invocation.Value) {
	t.Helper()
	if v == nil {
		t.Fatal("nil output value")
	}
	switch v.Kind {
	case invocation.KindString, invocation.KindBytes:
	case invocation.KindJSON:
		if !json.Valid([]byte(v.String)) {
			t.Fatalf("invalid JSON value %q", v.String)
		}
	case invocation.KindHTTP:
		r := v.Response
		if r == nil || v.Request != nil || r.StatusCode == "" || r.Headers == nil || r.Body == nil {
			t.Fatalf("bad http response %s", fmtValue(v))
		}
		switch r.Body.Kind {
		case invocation.KindString, invocation.KindBytes:
		case invocation.KindJSON:
			if !json.Valid([]byte(r.Body.String)) {
				t.Fatalf("invalid JSON body %q", r.Body.String)
			}
		default:
			t.Fatalf("forbidden http body kind %v", r.Body.Kind)
		}
		for _, c := range r.Cookies {
			if c.Name == "" {
				t.Fatalf("cookie without a name: %s", fmtValue(v))
			}
		}
	default:
		t.Fatalf("forbidden output kind %v", v.Kind)
	}
}

// encodeInput is one FuzzEncodeRequest input: the parts of an invocation
// the fuzzer varies. The request has an HTTP input "req", an input "v"
// built from Kind, a metadata key MetaKey holding the same value as "v",
// and optionally a retry state and an unreadable input "c".
type encodeInput struct {
	Kind          uint8   // the kind of "v" (see value)
	S             string  // text of "v": String, JSON, a collection's string, a model's Source
	B             []byte  // bytes of "v": Bytes, a collection's bytes, a model's Content
	N             int64   // Int, a collection's int, the retry count
	X             float64 // Double, a collection's double
	Method, URL   string
	HName, HValue string // one request header besides content-type
	QName, QValue string // one query parameter
	Null          bool   // the header and query values and the AuthenticationType are null
	ContentType   string
	BodyKind      uint8 // the kind of the request body (see body)
	Body          []byte
	AuthType      string
	Claim         string // the value of a claim of type nameClaimType
	MetaKey       string
	Retry         bool
	Unreadable    string
}

func (in encodeInput) args() []any {
	return []any{in.Kind, in.S, in.B, in.N, in.X, in.Method, in.URL, in.HName, in.HValue, in.QName, in.QValue, in.Null,
		in.ContentType, in.BodyKind, in.Body, in.AuthType, in.Claim, in.MetaKey, in.Retry, in.Unreadable}
}

const (
	kindUnsupported = 14 // encodeInput.Kind of a Value EncodeRequest rejects
	kindNil         = 15 // encodeInput.Kind of a nil *Value
	bodyUnsupported = 7  // encodeInput.BodyKind of a body EncodeRequest rejects
)

// value builds "v" from Kind modulo 16: 0–11 the value kinds, 12 and 13 the
// model bindings, 14 an unknown kind, 15 nil.
func (in encodeInput) value() *invocation.Value {
	k := in.Kind % 16
	switch k {
	case 12:
		return &invocation.Value{Kind: invocation.KindModelBinding, List: &invocation.List{Models: []invocation.ModelBinding{{Version: "1.0", Source: in.S, Content: in.B}}}}
	case 13:
		return &invocation.Value{Kind: invocation.KindCollectionModelBinding, List: &invocation.List{Models: []invocation.ModelBinding{{Source: in.S}, {Content: in.B}}}}
	case kindUnsupported:
		return &invocation.Value{Kind: invocation.Kind(200), String: in.S}
	case kindNil:
		return nil
	}
	v := &invocation.Value{Kind: invocation.Kind(k)}
	switch v.Kind {
	case invocation.KindString, invocation.KindJSON:
		v.String = in.S
	case invocation.KindBytes, invocation.KindStream:
		v.Bytes = in.B
	case invocation.KindInt:
		v.Int = in.N
	case invocation.KindDouble:
		v.Double = in.X
	case invocation.KindCollectionBytes:
		v.List = &invocation.List{Bytes: [][]byte{in.B, []byte(in.S)}}
	case invocation.KindCollectionString:
		v.List = &invocation.List{Strings: []string{in.S, in.Method}}
	case invocation.KindCollectionDouble:
		v.List = &invocation.List{Doubles: []float64{in.X, float64(in.N)}}
	case invocation.KindCollectionInt:
		v.List = &invocation.List{Ints: []int64{in.N, -in.N}}
	}
	return v
}

// body builds the request body from BodyKind modulo 8: none, string, json,
// bytes, stream, int, double, or an HTTP value (rejected).
func (in encodeInput) body() *invocation.Value {
	switch in.BodyKind % 8 {
	case 1:
		return str(string(in.Body))
	case 2:
		return js(string(in.Body))
	case 3:
		return byt(in.Body)
	case 4:
		return &invocation.Value{Kind: invocation.KindStream, Bytes: in.Body}
	case 5:
		return &invocation.Value{Kind: invocation.KindInt, Int: in.N}
	case 6:
		return &invocation.Value{Kind: invocation.KindDouble, Double: in.X}
	case bodyUnsupported:
		return httpValue(nil)
	}
	return nil
}

func (in encodeInput) request() *invocation.Request {
	hdrs := invocation.Fields{{Name: "content-type", Value: in.ContentType}}
	if in.HName == "content-type" {
		hdrs = nil
	}
	hdrs = sortFields(append(hdrs, invocation.Field{Name: in.HName, Value: in.HValue, Null: in.Null}))
	id := invocation.Identity{
		AuthenticationType: ns(in.AuthType),
		NameClaimType:      ns(nameClaimType),
		Claims:             []invocation.Claim{{Type: roleClaimType, Value: "r"}, {Type: nameClaimType, Value: in.Claim}},
	}
	if in.Null {
		id.AuthenticationType = nil
	}
	req := &invocation.Request{
		Inputs: []invocation.Input{
			input("req", httpValue(&invocation.HTTPRequest{
				Method:     in.Method,
				URL:        in.URL,
				Headers:    hdrs,
				Query:      invocation.Fields{{Name: in.QName, Value: in.QValue, Null: in.Null}},
				Params:     fields("p", in.S),
				Body:       in.body(),
				Identities: []invocation.Identity{id},
			})),
			input("v", in.value()),
		},
		Metadata: invocation.MetaOf(map[string]*invocation.Value{in.MetaKey: in.value()}),
	}
	if in.Retry {
		req.Retry = &invocation.Retry{Count: int32(in.N), MaxCount: 5, Exception: &invocation.Exception{Message: in.S}}
	}
	if in.Unreadable != "" {
		req.Inputs = append(req.Inputs, invocation.Input{Name: "c", Unreadable: in.Unreadable})
	}
	return req
}

// FuzzEncodeRequest builds requests from fuzzed values, headers, query,
// body and content type, and checks that EncodeRequest never panics, fails
// exactly for unreadable inputs and unsupported kinds, and otherwise writes
// a JSON object whose parts a guest decodes back to what went in.
func FuzzEncodeRequest(f *testing.F) {
	for _, in := range encodeSeeds() {
		f.Add(in.Kind, in.S, in.B, in.N, in.X, in.Method, in.URL, in.HName, in.HValue, in.QName, in.QValue, in.Null,
			in.ContentType, in.BodyKind, in.Body, in.AuthType, in.Claim, in.MetaKey, in.Retry, in.Unreadable)
	}
	fn := newFn("F", httpBindings...)
	f.Fuzz(func(t *testing.T, kind uint8, s string, b []byte, n int64, x float64, method, url, hname, hvalue, qname, qvalue string, null bool,
		contentType string, bodyKind uint8, body []byte, authType, claim, metaKey string, retry bool, unreadable string) {
		in := encodeInput{kind, s, b, n, x, method, url, hname, hvalue, qname, qvalue, null,
			contentType, bodyKind, body, authType, claim, metaKey, retry, unreadable}
		req := in.request()
		out, err := EncodeRequest(fn, req, testNow, testGUID)
		wantErr := in.Unreadable != "" || in.Kind%16 == kindUnsupported || in.BodyKind%8 == bodyUnsupported
		if (err != nil) != wantErr {
			t.Fatalf("err = %v; want an error: %v", err, wantErr)
		}
		if err != nil {
			return
		}
		checkEncoded(t, in, req, fn, out)
	})
}

// checkEncoded checks a payload as a guest would read it.
func checkEncoded(t *testing.T, in encodeInput, req *invocation.Request, fn invocation.Function, out []byte) {
	t.Helper()
	var p struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("invalid JSON %v: %q", err, out)
	}
	if p.Data == nil || p.Metadata == nil {
		t.Fatalf("payload lacks Data or Metadata: %s", out)
	}
	var sys struct{ MethodName, UtcNow, RandGuid string }
	if err := json.Unmarshal(p.Metadata["sys"], &sys); err != nil || sys.MethodName != fn.Name || sys.RandGuid != testGUID || sys.UtcNow != "2024-10-25T10:00:00.1234567Z" {
		t.Fatalf("Metadata.sys = %s (%v)", p.Metadata["sys"], err)
	}

	// The HTTP request.
	var h struct {
		URL, Method string
		Query       map[string]*string
		Headers     map[string][]string
		Params      map[string]string
		Identities  []struct {
			AuthenticationType *string
			IsAuthenticated    bool
			Name               *string
		}
		Body *string
	}
	if err := json.Unmarshal(p.Data["req"], &h); err != nil {
		t.Fatalf("Data.req: %v: %s", err, p.Data["req"])
	}
	valid := utf8.ValidString
	if valid(in.Method) && h.Method != in.Method || valid(in.URL) && h.URL != in.URL {
		t.Fatalf("method, url = %q, %q", h.Method, h.URL)
	}
	if valid(in.HName) && in.HName != "content-type" {
		want := in.HValue
		if in.Null {
			want = ""
		}
		if got := h.Headers[in.HName]; valid(want) && (len(got) != 1 || got[0] != want) {
			t.Fatalf("header %q = %q; want [%q]", in.HName, got, want)
		}
	}
	if valid(in.QName) {
		got := h.Query[in.QName]
		switch {
		case in.Null && got != nil:
			t.Fatalf("query %q = %q; want null", in.QName, *got)
		case !in.Null && valid(in.QValue) && (got == nil || *got != in.QValue):
			t.Fatalf("query %q = %v; want %q", in.QName, got, in.QValue)
		}
	}
	if valid(in.S) && h.Params["p"] != in.S {
		t.Fatalf("param p = %q", h.Params["p"])
	}
	if len(h.Identities) != 1 {
		t.Fatalf("identities: %s", p.Data["req"])
	}
	id := h.Identities[0]
	if id.IsAuthenticated != (!in.Null && in.AuthType != "") || in.Null != (id.AuthenticationType == nil) ||
		id.Name == nil || valid(in.Claim) && *id.Name != in.Claim {
		t.Fatalf("identity: %s", p.Data["req"])
	}
	checkBody(t, in, req, h.Body)

	// The value "v", in Data and under MetaKey in Metadata.
	v := p.Data["v"]
	switch k := in.Kind % 16; {
	case k == 0 || k == kindNil:
		if string(v) != `"null"` {
			t.Fatalf("Data.v = %s; want \"null\"", v)
		}
	case k == uint8(invocation.KindString) && valid(in.S):
		var s1, s2 string
		if json.Unmarshal(v, &s1) != nil || json.Unmarshal([]byte(s1), &s2) != nil || s2 != in.S {
			t.Fatalf("Data.v = %s does not decode twice to %q", v, in.S)
		}
	case k == uint8(invocation.KindBytes) || k == uint8(invocation.KindStream):
		var s string
		if json.Unmarshal(v, &s) != nil || s != base64.StdEncoding.EncodeToString(in.B) {
			t.Fatalf("Data.v = %s; want the base64 of %q", v, in.B)
		}
	case k == uint8(invocation.KindInt):
		if string(v) != strconv.Quote(strconv.FormatInt(in.N, 10)) {
			t.Fatalf("Data.v = %s; want %d", v, in.N)
		}
	case k == uint8(invocation.KindJSON):
		if kind(v) != '{' && kind(v) != '"' {
			t.Fatalf("Data.v = %s is neither an object nor a string", v)
		}
	}
	if !valid(in.MetaKey) {
		return
	}
	lk := strings.ToLower(in.MetaKey)
	k := in.Kind % 16
	skipped := strings.HasSuffix(lk, "trigger") || lk == "sys" || k == 0 || k == kindNil ||
		k == uint8(invocation.KindHTTP) || lk == "retrycontext" && in.Retry
	m, ok := p.Metadata[in.MetaKey]
	switch {
	case skipped && ok && lk != "sys" && lk != "retrycontext":
		t.Fatalf("Metadata has %q: %s", in.MetaKey, m)
	case !skipped && (!ok || string(m) != string(v)):
		t.Fatalf("Metadata[%q] = %s; want %s as Data.v", in.MetaKey, m, v)
	}
	if in.Retry {
		var rc struct{ RetryCount, MaxRetryCount int32 }
		if err := json.Unmarshal(p.Metadata["RetryContext"], &rc); err != nil || rc.RetryCount != int32(in.N) || rc.MaxRetryCount != 5 {
			t.Fatalf("RetryContext = %s (%v)", p.Metadata["RetryContext"], err)
		}
	}
}

// checkBody checks Data.req.Body against the request body.
func checkBody(t *testing.T, in encodeInput, req *invocation.Request, got *string) {
	t.Helper()
	bk := in.BodyKind % 8
	if bk == 0 {
		if got != nil {
			t.Fatalf("Body = %q; want none", *got)
		}
		return
	}
	if got == nil {
		t.Fatal("no Body")
	}
	switch bk {
	case 1, 2:
		if utf8.Valid(in.Body) && *got != string(in.Body) {
			t.Fatalf("Body = %q; want %q", *got, in.Body)
		}
	case 3, 4:
		ct, _ := req.HTTP().Headers.Get("content-type")
		if binaryContentType(fieldValue(ct)) || !utf8.Valid(in.Body) {
			if *got != base64.StdEncoding.EncodeToString(in.Body) {
				t.Fatalf("Body = %q; want the base64 of %q", *got, in.Body)
			}
		} else if *got != strings.TrimPrefix(string(in.Body), "\ufeff") {
			t.Fatalf("Body = %q; want %q", *got, in.Body)
		}
	case 5:
		if *got != strconv.FormatInt(in.N, 10) {
			t.Fatalf("Body = %q; want %d", *got, in.N)
		}
	}
}
