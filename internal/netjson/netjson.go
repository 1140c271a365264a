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
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plainWord(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8 // text is mostly plain ASCII: eight bytes at a time
		}
		if i == len(s) {
			break
		}
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

// The masks of plainWord's tests: 0x01 and 0x80 in each byte.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// plainWord reports whether the 8 bytes of x (little-endian) are ASCII
// that a JSON string keeps as it is (AppendString): none is a control
// character, '"', '\\' or a byte at or above 0x80. It tests all 8 at once:
// x - lowBits*n borrows into a byte's high bit when the byte is below n
// (and only then, unless a lower byte borrowed first, which means a byte
// below n exists anyway); masked with ^x it ignores bytes that had their
// high bit set already. A byte equal to q is a zero byte of x ^ lowBits*q.
func plainWord(x uint64) bool {
	q, bs := x^(lowBits*'"'), x^(lowBits*'\\')
	special := x | // non-ASCII
		(x - lowBits*0x20) | // below 0x20
		(q-lowBits)&^q | // '"'
		(bs-lowBits)&^bs // '\\'
	return special&highBits == 0
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
