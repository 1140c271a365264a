package customhandler

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The encoder writes JSON by hand so that object keys keep the order the
// custom-handler payload has (trigger first, "sys" last) and so that strings
// are escaped the way Newtonsoft writes them: only '"', '\\' and control
// characters are escaped; '<', '>' and '&' and non-ASCII text are kept.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
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
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript guests
		// that eval; escaping them costs nothing.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDoubleEncoded appends a JSON string whose content is the JSON
// encoding of s: the host's encoding of a string value.
func appendDoubleEncoded(b []byte, s string) []byte {
	inner := appendString(make([]byte, 0, len(s)+8), s)
	return appendString(b, string(inner))
}

// formatDouble renders f as Newtonsoft writes a double: shortest round-trip
// digits, ".0" added to integral values, and NaN/Infinity/-Infinity.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-5 || abs >= 1e15) {
		format = 'E'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	if format == 'E' {
		return s // .NET's round-trip format also writes 1E+20 and 1E-07
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// compactJSON returns the compact form of valid JSON text, or ok=false.
func compactJSON(text string) (string, bool) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return "", false
	}
	return buf.String(), true
}

// jsonKind returns the first significant byte of compact JSON text.
func jsonKind(text string) byte {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return text[i]
	}
	return 0
}
