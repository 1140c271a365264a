// Package netjson writes JSON text the way Newtonsoft.Json, the Functions
// host's serializer, writes it, so that what the worker and the local host
// produce reads as what the host would produce.
package netjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string escaped as Newtonsoft escapes by
// default (StringEscapeHandling.Default): '"', '\\' and control characters
// (short forms for \b \t \n \f \r, \u00xx in lower-case hex for the others),
// and U+0085, U+2028 and U+2029; '<', '>', '&', DEL and other non-ASCII text
// are kept. Bytes that are not UTF-8 (the host's UTF-16 strings hold none)
// are written as \ufffd.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is kept as it is and not appended yet
	for i := 0; i < len(s); {
		// Text is mostly plain ASCII: skip it eight bytes at a time, then
		// byte by byte up to the byte that stopped the word test.
		for i+8 <= len(s) {
			w := s[i : i+8] // one bounds check; the eight loads are one
			if !plainWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				break
			}
			i += 8
		}
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
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
		// Non-ASCII: rune by rune up to the next ASCII byte (text in another
		// script would fail the word test at every rune).
		for i < len(s) && s[i] >= utf8.RuneSelf {
			if n := plainRune(s, i); n > 0 {
				i += n
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
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainASCII[c] is true for the bytes AppendString writes as they are,
// whatever follows them: ASCII other than control characters, '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// The masks of plainWord's tests: 0x01 and 0x80 in each byte.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// plainWord reports whether the 8 bytes of x (little-endian) are all
// plainASCII bytes: none is a control character, '"', '\\' or a byte at or
// above 0x80. It tests the 8 at once, looking only at each byte's high bit:
//   - x itself has it in a byte at or above 0x80;
//   - x - lowBits*0x20 subtracts 0x20 from every byte, and a byte below
//     0x20 wraps around to 0xe0 or more, high bit set. A byte that wraps
//     borrows 1 from the byte above it, which can wrongly flag that one
//     too, but only when a lower byte is flagged already; a byte at or
//     above 0x80 may keep its high bit, flagged by x already;
//   - a byte equal to q ('"' or '\\') is a zero byte of y = x ^ lowBits*q,
//     and y - lowBits turns a zero byte into 0xff (with the same borrow
//     as above); &^y drops the bytes whose high bit y had already (the
//     bytes of x at or above 0x80, flagged by x anyway).
//
// So the result is false for any word holding a byte to escape or to
// decode, and true only for a word of 8 plain bytes.
func plainWord(x uint64) bool {
	q, bs := x^(lowBits*'"'), x^(lowBits*'\\')
	special := x | // non-ASCII
		(x - lowBits*0x20) | // below 0x20
		(q-lowBits)&^q | // '"'
		(bs-lowBits)&^bs // '\\'
	return special&highBits == 0
}

// plainRune returns the length of the UTF-8 sequence at s[i] (a byte at or
// above 0x80) when it is a 2- or 3-byte rune that AppendString keeps as it
// is, and 0 when it does not tell (utf8.DecodeRuneInString decides then).
// A lead byte 0xc2-0xdf and one continuation byte (10xxxxxx) is always a
// valid rune, U+0080-U+07FF, and of those only U+0085 (c2 85) is escaped;
// a lead byte 0xe1-0xef but 0xed and two continuation bytes is always a
// valid rune (0xe0 can start an overlong form, 0xed a surrogate), and of
// those only U+2028 and U+2029 (e2 80 a8, e2 80 a9) are escaped.
func plainRune(s string, i int) int {
	c := s[i]
	switch {
	case c >= 0xc2 && c < 0xe0 && i+1 < len(s):
		if d := s[i+1]; d&0xc0 == 0x80 && (c != 0xc2 || d != 0x85) {
			return 2
		}
	case c > 0xe0 && c < 0xf0 && c != 0xed && i+2 < len(s):
		if d, e := s[i+1], s[i+2]; d&0xc0 == 0x80 && e&0xc0 == 0x80 && (c != 0xe2 || d != 0x80 || e&^1 != 0xa8) {
			return 3
		}
	}
	return 0
}

// FormatDouble renders f as Newtonsoft writes a double: shortest round-trip
// digits, E notation from 1E+15 and below 1E-05, ".0" added to integral
// values, and NaN, Infinity, -Infinity (which Newtonsoft writes as strings
// by default: quote them when they stand for a JSON value).
func FormatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-5 || abs >= 1e15) {
		return strconv.FormatFloat(f, 'E', -1, 64) // .NET's round-trip format also writes 1E+20 and 1E-07
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
