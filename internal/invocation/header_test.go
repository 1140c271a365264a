package invocation

import (
	"strings"
	"testing"
)

func TestCheckHeader(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"Content-Type", "text/plain; charset=utf-8", ""},
		{"x-tab", "a\tb", ""},
		{"x-empty", "", ""},
		{"", "v", "empty name"},
		{"bad name", "v", `"bad name"`},
		{"x:y", "v", `"x:y"`},
		{"x-crlf", "a\r\nSet-Cookie: x=1", "control character 0x0d"},
		{"x-nul", "a\x00", "control character 0x00"},
		{"x-del", "a\x7f", "control character 0x7f"},
		{"x-utf8", "Grüße", "outside ASCII"},
		{"Grüße", "v", "not allowed in a header name"},
	} {
		err := CheckHeader(c.name, c.value)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckHeader(%q, %q) = %v, want nil", c.name, c.value, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("CheckHeader(%q, %q) = %v, want an error containing %q", c.name, c.value, err, c.want)
		}
	}
}
