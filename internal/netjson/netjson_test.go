package netjson

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
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
	f.Add("0123456789abcdef\"0123456789\\abcdef\x7f\x80")
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) is not JSON: %v", s, err)
		}
		if want := appendStringByByte(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, byte by byte %s", s, got, want)
		}
	})
}

// TestAppendStringWords puts every byte value at every position of the
// first two 8-byte words of plain text: AppendString, which skips plain
// words whole, writes what the escaping byte by byte writes.
func TestAppendStringWords(t *testing.T) {
	plain := "abcdefghijklmnopqrstuvwx"
	for c := 0; c < 256; c++ {
		for at := 0; at < 17; at++ {
			for _, n := range []int{at + 1, len(plain)} {
				s := plain[:at] + string(rune(0)) + plain[at+1:n]
				s = s[:at] + string([]byte{byte(c)}) + s[at+1:]
				if got, want := AppendString(nil, s), appendStringByByte(nil, s); string(got) != string(want) {
					t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "é", strings.Repeat("é", 9), "abcdefg\u2028hijklmn", strings.Repeat("a", 40) + "\xff\xfe", "abcdefgh\u0085"} {
		if got, want := AppendString(nil, s), appendStringByByte(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

// appendStringByByte is AppendString without its word-at-a-time skip: the
// escaping decided one byte or rune at a time, as the reference.
func appendStringByByte(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c == '\b':
				b = append(b, `\b`...)
			case c == '\f':
				b = append(b, `\f`...)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u0085' || r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// BenchmarkAppendString escapes what a custom-handler request holds: a
// URL, a header value, a word and a body of plain text.
func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"url", "https://localhost:7071/api/chello?name=world&x=1"},
		{"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120"},
		{"word", "GET"},
		{"body-1KiB", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23)},
	} {
		buf := make([]byte, 0, 2048)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				buf = AppendString(buf[:0], c.s)
			}
		})
		b.Run(c.name+"/by-byte", func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				buf = appendStringByByte(buf[:0], c.s)
			}
		})
	}
}
