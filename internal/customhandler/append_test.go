package customhandler

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/netjson"
)

// TestAppendRequest checks that AppendRequest onto a prefix writes the
// prefix followed by EncodeRequest's payload, and nil on error.
func TestAppendRequest(t *testing.T) {
	type tc struct {
		fn  invocation.Function
		req *invocation.Request
	}
	cases := []tc{
		{newFn("HelloHttp", httpBindings...), httpRequest43()},
		{newFn("Q", queueBindings...), queueRequest44()},
		{newFn("T", timerBindings...), timerRequest()},
		{invocation.Function{}, &invocation.Request{}},
	}
	for _, in := range encodeSeeds() {
		cases = append(cases, tc{newFn("F", httpBindings...), in.request()})
	}
	for i, c := range cases {
		want, wantErr := EncodeRequest(c.fn, c.req, testNow, testGUID)
		for _, prefix := range []string{"", "prefix{", strings.Repeat("x", 2000)} {
			b := append(make([]byte, 0, len(prefix)+10), prefix...)
			got, err := AppendRequest(b, c.fn, c.req, testNow, testGUID)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("case %d: err = %v, EncodeRequest's %v", i, err, wantErr)
			}
			if err != nil {
				if got != nil {
					t.Fatalf("case %d: %q with error %v", i, got, err)
				}
				continue
			}
			if string(got) != prefix+string(want) {
				t.Fatalf("case %d, prefix %.10q:\n got: %s\nwant: %s%s", i, prefix, got, prefix, want)
			}
		}
	}
	if got, err := AppendRequest([]byte("p"), invocation.Function{}, nil, testNow, testGUID); err == nil || got != nil {
		t.Errorf("nil request: %q, %v", got, err)
	}
}

// TestAppendUTCNow compares appendUTCNow with Format(utcNowLayout).
func TestAppendUTCNow(t *testing.T) {
	times := []time.Time{
		{}, testNow, time.Unix(0, 0), time.Unix(0, 99), time.Unix(-1, 999999999),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(999, 2, 3, 4, 5, 6, 7, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 50, time.FixedZone("minus", -3600)),
		time.Date(9999, 12, 31, 23, 30, 0, 0, time.FixedZone("west", -7200)), // year 10000 in UTC
		time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("east", 7200)),        // year -1 in UTC
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		times = append(times, time.Unix(r.Int64N(800e9)-400e9, r.Int64N(1e9)))
		times = append(times, time.Unix(r.Int64N(1e10), r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(100000)-50000)))
	}
	for _, tm := range times {
		want := tm.UTC().Format(utcNowLayout)
		if got := string(appendUTCNow([]byte("p"), tm)); got != "p"+want {
			t.Fatalf("%v: got %s, want p%s", tm, got, want)
		}
	}
}

// TestEncodeHelpersMatchReference checks the allocation-free helpers against
// the straightforward code they replace.
func TestEncodeHelpersMatchReference(t *testing.T) {
	strs := []string{"", "a", "sys", "SYS", "Sys", "sys ", "RetryContext", "retrycontext", "retrycontexT", "QueueTrigger",
		"queuetrigger", "trigger", "TRIGGER", "xtrigger ", "trİgger", "TRİGGER", "\u212aey", "\u212a", "k", "K",
		"multipart/", "Multipart/form-data; boundary=x", " MULTIPART/x ", "multİpart/x", "application/octet-stream",
		"APPLICATION/OCTET-STREAM;", "\tapplication/octet-stream ; a=b", "application/octet-stream\u0085", "application/json",
		"application/octet-streamx", "text/plain; charset=\"", "\xff", "a\"b\\c\u2028\u0085\x01\x7f\xff\xed\xa0\x80\ufffd",
		"\u017f", "s", "S", "ſys", "retrycontext\u212a"}
	for _, s := range strs {
		// Metadata keys, as EncodeRequest lowered them.
		lk := strings.ToLower(s)
		tr, sy, rc := classifyMetadataKey(s)
		if tr != strings.HasSuffix(lk, "trigger") || sy != (lk == "sys") || rc != (lk == "retrycontext") {
			t.Errorf("classifyMetadataKey(%q) = %v %v %v", s, tr, sy, rc)
		}
		// Content types, as binaryContentType read them with mime.
		mt, _, err := mime.ParseMediaType(s)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(s, ";", 2)[0]))
		}
		if got, want := binaryContentType(s), mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/"); got != want {
			t.Errorf("binaryContentType(%q) = %v, want %v", s, got, want)
		}
		// Double encoding.
		want := netjson.AppendString([]byte("p"), string(netjson.AppendString(nil, s)))
		if got := appendDoubleEncoded([]byte("p"), s); !bytes.Equal(got, want) {
			t.Errorf("appendDoubleEncoded(%q) = %s, want %s", s, got, want)
		}
		// Key comparison.
		for _, k := range strs {
			if got, want := equalFoldBytes([]byte(s), k), strings.EqualFold(s, k); got != want {
				t.Errorf("equalFoldBytes(%q, %q) = %v, want %v", s, k, got, want)
			}
		}
	}
}

// TestCompactValid compares compactValid with json.Compact.
func TestCompactValid(t *testing.T) {
	for _, s := range []string{`{}`, `[]`, ` { "a" : [ 1 , 2 , " x \" y " ] , "b\\" : { } } `, "[\n\t\"\\\\\", \"\xff \", true ,null\r]", `{"a":"b"}`} {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := new(decoder).compactValid([]byte(strings.TrimSpace(s))); got != buf.String() {
			t.Errorf("compactValid(%q) = %q, want %q", s, got, buf.String())
		}
	}
}

// FuzzValidJSON checks validJSON against json.Valid, and appendStripped
// against json.Compact, on string and []byte input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]}`, ` [ ] `, `{}`, `01`, `-`, `1.`, `1e`, `"\x"`, "\"\x01\"",
		`{"a" 1}`, `[1,]`, `{"a":1,}`, `nul`, `truex`, "\"\xff\"", `"\uD83D"`, `[1 2]`, "", " ", `{"a":{"b":[{}]}} x`,
		strings.Repeat("[", maxNestingDepth) + strings.Repeat("]", maxNestingDepth),
		strings.Repeat("[", maxNestingDepth+1) + strings.Repeat("]", maxNestingDepth+1),
		strings.Repeat(`{"a":`, maxNestingDepth+1) + "1" + strings.Repeat("}", maxNestingDepth+1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := json.Valid(data)
		if got := validJSON(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", data, got, want)
		}
		if got := validJSON(string(data)); got != want {
			t.Fatalf("validJSON(string %q) = %v, json.Valid %v", data, got, want)
		}
		if !want {
			return
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			t.Fatal(err)
		}
		if got := appendStripped([]byte("p"), data); string(got) != "p"+buf.String() {
			t.Fatalf("appendStripped(%q) = %q, want p%q", data, got, buf.String())
		}
		if got := appendStripped(nil, string(data)); string(got) != buf.String() {
			t.Fatalf("appendStripped(string %q) = %q, want %q", data, got, buf.String())
		}
	})
}
