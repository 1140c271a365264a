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
	f.Add("héllo wörld \u0085 日本語 \u2029 😀 \xe2\x80 \xed\xa0\x80 \xe0\x80\x80 \xc2")
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) is not JSON: %v", s, err)
		}
		if want := appendStringByByte(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, byte by byte %s", s, got, want)
		}
		if before := appendStringBefore(nil, s); string(got) != string(before) {
			t.Fatalf("AppendString(%q) = %s, before the word skip %s", s, got, before)
		}
	})
}

// checkSame fails t unless AppendString writes s as both references do.
func checkSame(t *testing.T, s string) {
	t.Helper()
	got := AppendString(nil, s)
	if want := appendStringByByte(nil, s); string(got) != string(want) {
		t.Fatalf("AppendString(%q) = %s, byte by byte %s", s, got, want)
	}
	if before := appendStringBefore(nil, s); string(got) != string(before) {
		t.Fatalf("AppendString(%q) = %s, before the word skip %s", s, got, before)
	}
}

// TestAppendStringWords puts every byte value at every position of plain
// text 1 to 40 bytes long (so at every offset of the first five 8-byte
// words, and before, in and after the bytes past the last whole word):
// AppendString, which skips plain words whole, writes what the escaping
// byte by byte writes.
func TestAppendStringWords(t *testing.T) {
	plain := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN" // 40 bytes
	for n := 0; n <= len(plain); n++ {
		checkSame(t, plain[:n])
	}
	buf := []byte(plain)
	for c := 0; c < 256; c++ {
		for n := 1; n <= len(plain); n++ {
			for at := 0; at < n; at++ {
				copy(buf, plain)
				buf[at] = byte(c)
				checkSame(t, string(buf[:n]))
			}
		}
	}
	// '"' and '\\' on both sides of each word boundary, and two at once.
	for _, q := range []string{`"`, `\`, `""`, `\\`, `"\`, "\n\"", "\x00\x1f"} {
		for at := 0; at+len(q) <= len(plain); at++ {
			checkSame(t, plain[:at]+q+plain[at+len(q):])
		}
	}
}

// TestAppendStringRunes puts runes of every UTF-8 length, the three runes
// escaped beyond ASCII and bytes that are not UTF-8 (alone, cut short by
// the end of the text, or straddling word boundaries) at every position
// of plain text up to 40 bytes long.
func TestAppendStringRunes(t *testing.T) {
	plain := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
	runes := []string{
		"é", "\u0080", "\u0084", "\u0086", "\u07ff", "\u0085", // 2 bytes
		"€", "\u0800", "\u2027", "\u2028", "\u2029", "\u202a", "\ud7ff", "\ue000", "\ufffd", "\uffff", "日本語", // 3 bytes
		"😀", "\U00010000", "\U0010ffff", // 4 bytes
		"\xff", "\x80", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x20", "\xe2\x80", "\xe2\x80\x28", // not UTF-8
		"\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"é\"", "\u2028\\", "\xff\n", "é\xff€😀\u0085",
	}
	for _, r := range runes {
		for n := 0; n <= len(plain); n++ {
			for at := 0; at <= n; at++ {
				checkSame(t, plain[:at]+r+plain[at:n])
			}
		}
	}
	for _, s := range []string{"", "é", strings.Repeat("é", 9), strings.Repeat("日本語のテキスト ", 4), "abcdefg\u2028hijklmn", strings.Repeat("a", 40) + "\xff\xfe", "abcdefgh\u0085"} {
		checkSame(t, s)
	}
}

// TestAppendStringSequences writes every 2-byte sequence that starts with
// a byte at or above 0x80, and every 3-byte one with a third byte at
// either side of the continuation range or in U+2028 and U+2029, at the
// end of the text and followed by more.
func TestAppendStringSequences(t *testing.T) {
	for c := 0x80; c < 0x100; c++ {
		for d := 0; d < 0x100; d++ {
			checkSame(t, string([]byte{'a', byte(c), byte(d)}))
			for _, e := range []byte{0x00, '"', 'a', 0x7f, 0x80, 0x85, 0xa7, 0xa8, 0xa9, 0xaa, 0xbf, 0xc0, 0xc2, 0xe2, 0xff} {
				checkSame(t, string([]byte{'a', byte(c), byte(d), e}))
				checkSame(t, string([]byte{byte(c), byte(d), e, 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'}))
			}
		}
	}
}

// appendStringByByte is the escaping decided one byte or rune at a time,
// written independently of AppendString, as the reference.
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

// appendStringBefore is AppendString as it was before it skipped plain
// text a word at a time (6d392d1), one byte and four comparisons at a
// time: the second reference and the benchmarks' baseline.
func appendStringBefore(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u0085', r == '\u2028', r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// BenchmarkAppendString escapes what a custom-handler request holds: a
// URL, header values, a word, a body of plain text, JSON text written as
// a string (as the codec writes a JSON body) and text in another script;
// "/before" is the escaping before the word skip, for comparison.
func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"url", "https://localhost:7071/api/chello?name=world&x=1"},
		{"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120"},
		{"word", "GET"},
		{"body-1KiB", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23)[:1024]},
		{"json", `{"name":"world","items":[{"id":1,"label":"first item","tags":["a","b"]},{"id":2,"label":"second","price":12.5}],"ok":true}`},
		{"cjk", strings.Repeat("日本語のテキスト ", 8)},
	} {
		for _, f := range []struct {
			name string
			f    func([]byte, string) []byte
		}{{"", AppendString}, {"/before", appendStringBefore}} {
			buf := make([]byte, 0, 2048)
			b.Run(c.name+f.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(c.s)))
				for b.Loop() {
					buf = f.f(buf[:0], c.s)
				}
			})
		}
	}
}
