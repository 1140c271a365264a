package funcapp

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidNameMatchesTheHostsRules: validName accepts exactly what the
// host's regular expressions for binding and function names accept.
func TestValidNameMatchesTheHostsRules(t *testing.T) {
	binding := regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{0,127}$`)
	function := regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_\-]{0,127}$`)
	names := []string{"", "a", "Z", "1a", "_a", "-a", "a1", "a_b", "a-b", "a b", "a.b", "héllo", "a\n", "\na",
		"$return", "A" + strings.Repeat("b", 127), "A" + strings.Repeat("b", 128), "a" + strings.Repeat("-", 127), "a@", "a[", "a`", "a{"}
	for c := 0; c < 256; c++ {
		names = append(names, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := validName(n, false), binding.MatchString(n); got != want {
			t.Errorf("binding name %q: validName %v, the host's rule %v", n, got, want)
		}
		if got, want := validName(n, true), function.MatchString(n); got != want {
			t.Errorf("function name %q: validName %v, the host's rule %v", n, got, want)
		}
	}
}
