package outbound

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHead(t *testing.T) {
	cases := []struct {
		name   string
		head   string
		method string
		url    string
		header http.Header
	}{
		{
			name:   "request line only, no final newline",
			head:   "GET https://api.example.com/v1/items?x=1",
			method: "GET", url: "https://api.example.com/v1/items?x=1", header: http.Header{},
		},
		{
			name:   "CRLF, trimmed values, canonical names, order of values kept",
			head:   "POST https://api.example.com/\r\ncontent-type: application/json\r\nx-multi:  a \r\nX-Multi:\tb\r\nX-Empty:\r\n",
			method: "POST", url: "https://api.example.com/",
			header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "X-Empty": {""}},
		},
		{
			name:   "empty lines are ignored",
			head:   "GET http://127.0.0.1:7071/\n\nAccept: */*\n\n\n",
			method: "GET", url: "http://127.0.0.1:7071/", header: http.Header{"Accept": {"*/*"}},
		},
		{
			name: "host-set headers are dropped",
			head: "PUT https://api.example.com/\nHost: evil.example\nContent-Length: 99\nTransfer-Encoding: chunked\nConnection: close\n" +
				"Keep-Alive: 1\nProxy-Authorization: x\nProxy-Connection: y\nTE: trailers\nTrailer: X\nUpgrade: h2c\nAuthorization: Bearer t\n",
			method: "PUT", url: "https://api.example.com/", header: http.Header{"Authorization": {"Bearer t"}},
		},
		{
			name:   "UTF-8 value, colon in value",
			head:   "GET https://api.example.com/\nX-Note: café: ok\n",
			method: "GET", url: "https://api.example.com/", header: http.Header{"X-Note": {"café: ok"}},
		},
		{
			name:   "host lower-cased, trailing dot and empty port dropped",
			head:   "GET HTTPS://API.Example.COM.:/p",
			method: "GET", url: "https://api.example.com/p", header: http.Header{},
		},
		{
			name:   "internationalized name in punycode",
			head:   "GET https://bücher.example/",
			method: "GET", url: "https://xn--bcher-kva.example/", header: http.Header{},
		},
		{
			name:   "IPv6 literal and custom method token",
			head:   "PROPFIND http://[2001:db8::1]:8080/dav",
			method: "PROPFIND", url: "http://[2001:db8::1]:8080/dav", header: http.Header{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := parseHead([]byte(c.head))
			if err != nil {
				t.Fatalf("parseHead: %v", err)
			}
			if req.method != c.method || req.url.String() != c.url || !reflect.DeepEqual(req.header, c.header) {
				t.Errorf("parseHead = %s %s %v, want %s %s %v", req.method, req.url, req.header, c.method, c.url, c.header)
			}
		})
	}
}

func TestParseHeadErrors(t *testing.T) {
	cases := []struct {
		head string
		code Code
		want string
	}{
		{"GET https://api.example.com/\nX: \xff", CodeBadUTF8, "UTF-8"},
		{"", CodeBadValue, "METHOD URL"},
		{"\nGET https://api.example.com/", CodeBadValue, "METHOD URL"},
		{"GET", CodeBadValue, "METHOD URL"},
		{"GET  https://api.example.com/", CodeBadValue, "space"},
		{"GET https://api.example.com/ HTTP/1.1", CodeBadValue, "space"},
		{"G(T https://api.example.com/", CodeBadValue, "token"},
		{"CONNECT https://api.example.com:443", CodeBadValue, "CONNECT"},
		{"GET /relative", CodeBadValue, "absolute"},
		{"GET api.example.com/x", CodeBadValue, "absolute"},
		{"GET ftp://api.example.com/", CodeBadValue, "absolute"},
		{"GET https:opaque", CodeBadValue, "absolute"},
		{"GET https://api.example.com/#frag", CodeBadValue, "fragment"},
		{"GET https://user:secret@api.example.com/", CodeBadValue, "user info"},
		{"GET https://api.example.com:0/", CodeBadValue, "port"},
		{"GET https://api.example.com:70000/", CodeBadValue, "port"},
		{"GET https://api.exa$mple.com/", CodeBadValue, "not a valid name"},
		{"GET https://127.1/", CodeBadValue, "dotted IPv4"},
		{"GET https://0x7f.0.0.1/", CodeBadValue, "dotted IPv4"},
		{"GET https://api.0x1f/", CodeBadValue, "dotted IPv4"},
		{"GET http://[fe80::1%25eth0]/", CodeBadValue, "zone"},
		{"GET https://api.example.com/%zz", CodeBadValue, "does not parse"},
		{"GET https://api.example.com/\nNoColon", CodeBadValue, "line 2"},
		{"GET https://api.example.com/\nBad Name: x", CodeBadValue, "not an HTTP token"},
		{"GET https://api.example.com/\n: x", CodeBadValue, "not an HTTP token"},
		{"GET https://api.example.com/\nX: a\x00b", CodeBadValue, "control character"},
		{"GET https://api.example.com/\nX: a\rb", CodeBadValue, "control character"},
		{"GET https://api.example.com/\nX: a\x01b", CodeBadValue, "control character"},
		{"GET https://api.example.com/\n\nX: ok\nY: \x7f", CodeBadValue, "line 4"},
		{"GET https://api.example.com/" + strings.Repeat("a", MaxRequestHead), CodeLimit, "1 MiB"},
	}
	for _, c := range cases {
		_, err := parseHead([]byte(c.head))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("parseHead(%q) error = %v, want *Error", trunc(c.head), err)
			continue
		}
		if e.Code != c.code || !strings.Contains(e.Msg, c.want) {
			t.Errorf("parseHead(%q) = %v %q, want %v and a message with %q", trunc(c.head), e.Code, e.Msg, c.code, c.want)
		}
	}
}

// trunc shortens a head for a test message.
func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// formatHead writes a parsed request back in head form.
func formatHead(r request) []byte {
	return append([]byte(r.method+" "+r.url.String()+"\n"), formatHeader(r.header)...)
}

func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET https://api.example.com/v1?x=1",
		"POST http://127.0.0.1:7071/api/x\r\nContent-Type: application/json\r\nX-A: 1\r\nX-A: 2\r\n",
		"GET https://bücher.example/\nHost: x\nContent-Length: 5\n\n",
		"PUT http://[::1]:80/\nProxy-X: 1\nTE: t\n",
		"GET https://a/#f", "GET http://u:p@h/", "GET  http://h/", "get http://H.:/%41?%zz", "GET http://h\nX:\x00",
		"GET http://h/\nX: \xff", "GET http://1.2.3/", "GET http://h/\nA B: c", "OPTIONS https://*.example/",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		req, err := parseHead(head)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeBadValue && e.Code != CodeBadUTF8 && e.Code != CodeLimit || e.Msg == "" {
				t.Fatalf("parseHead(%q) error %#v is not a BAD_VALUE, BAD_UTF8 or LIMIT *Error with a message", head, err)
			}
			if e.Code == CodeBadUTF8 && utf8.Valid(head) {
				t.Fatalf("BAD_UTF8 for valid UTF-8 %q", head)
			}
			return
		}
		if !utf8.Valid(head) {
			t.Fatalf("accepted invalid UTF-8 %q", head)
		}
		if !isToken(req.method) || req.method == "CONNECT" {
			t.Fatalf("method %q", req.method)
		}
		u := req.url
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("accepted URL %q", u)
		}
		if _, ok := targetOf(u); !ok {
			t.Fatalf("accepted URL %q has no destination", u)
		}
		for name, values := range req.header {
			if !isToken(name) || name != http.CanonicalHeaderKey(name) || ignoredHeader(name) {
				t.Fatalf("header name %q", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") || strings.Trim(v, " \t") != v {
					t.Fatalf("header value %q", v)
				}
			}
		}
		// A head written back from what was parsed parses to the same.
		again, err := parseHead(formatHead(req))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", formatHead(req), err)
		}
		if again.method != req.method || again.url.String() != u.String() || !reflect.DeepEqual(again.header, req.header) {
			t.Fatalf("round trip of %q: %s %s %v, then %s %s %v", head, req.method, u, req.header, again.method, again.url, again.header)
		}
		var names []string
		for line := range strings.Lines(string(formatHeader(req.header))) {
			name, _, _ := strings.Cut(line, ":")
			names = append(names, name)
		}
		if !slices.IsSorted(names) {
			t.Fatalf("formatHeader is not sorted by name for %v", req.header)
		}
	})
}
