package outbound

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParseAllowlistErrors(t *testing.T) {
	bad := map[string]string{
		"api.example.com":                             "no scheme",
		"ftp://api.example.com":                       "not http or https",
		"https://":                                    "no host",
		"https://api.example.com/v1":                  "path",
		"https://api.example.com?x=1":                 "query",
		"https://api.example.com#x":                   "fragment",
		"https://user@api.example.com":                "user info",
		"https://api.example.com:0":                   "port",
		"https://api.example.com:65536":               "port",
		"https://api.example.com:-1":                  "port",
		"https://api.example.com:":                    "empty port",
		"https://api.*.com":                           "wildcard",
		"https://*api.example.com":                    "wildcard",
		"https://*.1.2.3.4":                           "wildcard applies to names",
		"https://::1":                                 "brackets",
		"https://[::1":                                `"[" without "]"`,
		"https://[1.2.3.4]":                           "not an IPv6 address",
		"https://[fe80::1%25eth0]":                    "not an IPv6 address",
		"https://[::1]x":                              "unexpected",
		"https://127.1":                               "neither a name nor a dotted IPv4",
		"https://0x7f.0.0.1":                          "neither a name nor a dotted IPv4",
		"https://a..b":                                "label is empty",
		"https://a b.com":                             "character",
		"https://" + strings.Repeat("a", 64) + ".com": "longer than 63",
	}
	for in, want := range bad {
		_, err := ParseAllowlist([]string{"https://ok.example", in})
		if err == nil {
			t.Errorf("ParseAllowlist(%q) = nil error, want one about %q", in, want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, want) || !strings.Contains(msg, "scheme://host[:port]") || !strings.Contains(msg, strings.TrimSpace(in)) {
			t.Errorf("ParseAllowlist(%q) error %q: want it to name the entry, say %q and give the form", in, msg, want)
		}
	}
}

func TestParseAllowlistEntries(t *testing.T) {
	a, err := ParseAllowlist([]string{" https://api.example.com ", "", "  ", "HTTP://*.Example.ORG:8443/", "http://[::1]:*", "https://bücher.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://api.example.com", "HTTP://*.Example.ORG:8443/", "http://[::1]:*", "https://bücher.example"}
	if got := a.Entries(); !slices.Equal(got, want) {
		t.Errorf("Entries() = %q, want %q", got, want)
	}
	if a.Empty() {
		t.Error("Empty() = true for four entries")
	}
	var zero Allowlist
	if !zero.Empty() || zero.Allows(mustURL(t, "https://api.example.com")) {
		t.Error("the zero Allowlist is not empty or allows something")
	}
	if b, err := ParseAllowlist(nil); err != nil || !b.Empty() {
		t.Errorf("ParseAllowlist(nil) = %v, %v; want empty", b, err)
	}
}

func TestAllows(t *testing.T) {
	a, err := ParseAllowlist([]string{
		"https://api.example.com",
		"https://*.example.org:8443",
		"http://127.0.0.1:7071",
		"http://[2001:db8::1]",
		"https://any-port.example:*",
		"https://xn--bcher-kva.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url  string
		want bool
	}{
		{"https://api.example.com/x?y=1", true},
		{"https://API.Example.COM/", true},
		{"https://api.example.com./", true},
		{"https://api.example.com:443/", true},
		{"https://api.example.com:8443/", false},
		{"http://api.example.com/", false},
		{"https://evil.example/", false},
		{"https://api.example.com.evil.example/", false},
		{"https://a.example.org:8443/", true},
		{"https://a.b.example.org:8443/", true},
		{"https://example.org:8443/", false},
		{"https://a.example.org/", false},
		{"https://aexample.org:8443/", false},
		{"http://127.0.0.1:7071/api/x", true},
		{"http://127.0.0.1:7072/", false},
		{"http://127.0.0.1/", false},
		{"https://127.0.0.1:7071/", false},
		{"http://[::ffff:127.0.0.1]:7071/", true},
		{"http://[2001:db8::1]/", true},
		{"http://[2001:db8::1]:80/", true},
		{"http://[2001:db8::2]/", false},
		{"https://any-port.example:1/", true},
		{"https://any-port.example:65535/", true},
		{"https://bücher.example/", true},
		{"https://BÜCHER.example/", true},
		{"ftp://api.example.com/", false},
		{"/relative", false},
		{"https://api.example.com:99999/", false},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", c.url, err)
		}
		if got := a.Allows(u); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.url, got, c.want)
		}
	}
	if a.Allows(nil) {
		t.Error("Allows(nil) = true")
	}

	star, err := ParseAllowlist([]string{"https://*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"https://anything.example/", true},
		{"https://10.0.0.1/", true}, // the address rules refuse it when dialled
		{"https://anything.example:8443/", false},
		{"http://anything.example/", false},
	} {
		if got := star.Allows(mustURL(t, c.url)); got != c.want {
			t.Errorf("https://* Allows(%s) = %v, want %v", c.url, got, c.want)
		}
	}
}

func TestAllowsAddr(t *testing.T) {
	a, err := ParseAllowlist([]string{"http://127.0.0.1:7071", "https://[::1]:*", "https://*", "https://10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		addr string
		port int
		want bool
	}{
		{"127.0.0.1", 7071, true},
		{"::ffff:127.0.0.1", 7071, true},
		{"127.0.0.1", 7072, false},
		{"127.0.0.2", 7071, false},
		{"::1", 1, true},
		{"10.0.0.5", 443, true},
		{"10.0.0.5", 80, false},
		{"10.0.0.6", 443, false},
	}
	for _, c := range cases {
		if got := a.allowsAddr(mustAddr(t, c.addr), c.port); got != c.want {
			t.Errorf("allowsAddr(%s, %d) = %v, want %v", c.addr, c.port, got, c.want)
		}
	}
}

func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{
		"https://api.example.com", "https://*.example.org:8443", "http://127.0.0.1:7071", "http://[::1]:*",
		"https://*", "HTTPS://X.Y/", "https://bücher.example", "ftp://x", "https://a:b:c", "https://[::1", "https://127.1",
		"", " ", "https://a..b", "https://*.*", "http://[::ffff:10.0.0.1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAllowlist([]string{s})
		if err != nil {
			if !strings.Contains(err.Error(), "scheme://host[:port]") {
				t.Fatalf("error %q does not give the form", err)
			}
			return
		}
		if strings.TrimSpace(s) == "" {
			if !a.Empty() {
				t.Fatalf("blank entry %q gave a non-empty list", s)
			}
			return
		}
		if len(a.entries) != 1 {
			t.Fatalf("%q gave %d entries", s, len(a.entries))
		}
		e := a.entries[0]
		if e.scheme != "http" && e.scheme != "https" {
			t.Fatalf("%q: scheme %q", s, e.scheme)
		}
		if e.port < 0 || e.port > 65535 {
			t.Fatalf("%q: port %d", s, e.port)
		}
		// An entry for a concrete host allows a URL built from it.
		var host string
		switch e.kind {
		case kindName:
			host = e.name
		case kindSuffix:
			host = "x." + e.name
		case kindAny:
			host = "any.example"
		case kindIP:
			host = e.ip.String()
			if e.ip.Is6() {
				host = "[" + host + "]"
			}
		}
		port := e.port
		if port == 0 {
			port = 1234
		}
		u := &url.URL{Scheme: e.scheme, Host: host + ":" + itoa(port), Path: "/"}
		if !a.Allows(u) {
			t.Fatalf("%q does not allow %s", s, u)
		}
		if a.Entries()[0] != strings.TrimSpace(s) {
			t.Fatalf("Entries() = %q for %q", a.Entries(), s)
		}
	})
}
