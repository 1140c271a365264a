package netjson

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain <&> é 😀", `"plain <&> é 😀"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\b\f\x01\x1f\x7f", `"\n\r\t\b\f\u0001\u001f` + "\x7f" + `"`},
		{"\u0085\u2028\u2029", `"\u0085\u2028\u2029"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
	} {
		got := string(AppendString(nil, c.in))
		if got != c.want {
			t.Errorf("AppendString(%q) = %s, want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("AppendString(%q) = %s is not JSON: %v", c.in, got, err)
		}
	}
}

func TestFormatDouble(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {1e15, "1E+15"}, {1e-7, "1E-07"},
		{123456789012345, "123456789012345.0"}, {math.NaN(), "NaN"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := FormatDouble(c.in); got != c.want {
			t.Errorf("FormatDouble(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"\\\n\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("AppendString(%q) is not JSON: %v", s, err)
		}
	})
}
