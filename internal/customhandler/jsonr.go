package customhandler

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The decoder validates a guest's stdout once (json.Valid) and then walks the
// valid text by hand: finding the end of a value in valid JSON needs no
// grammar, and walking keeps the per-invocation cost to one validating scan
// and a few small slices, where decoding every level into
// map[string]json.RawMessage scanned each level again and allocated a map
// per object (issue #16: this was an eighth of a command-mode worker's CPU).
// Every helper below takes spans of text that json.Valid accepted.

// member is one key of an object and the span of its value.
type member struct {
	key string
	val []byte
}

// members returns the members of the valid object obj in text order,
// duplicates included.
func members(obj []byte) []member {
	ms := make([]member, 0, 4)
	i := skipSpace(obj, 1)
	for obj[i] != '}' {
		end := valueEnd(obj, i)
		key := unquote(obj[i:end])
		i = skipSpace(obj, end) // at ':'
		i = skipSpace(obj, i+1) // at the value
		end = valueEnd(obj, i)
		ms = append(ms, member{key: key, val: obj[i:end]})
		i = skipSpace(obj, end)
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return ms
}

// elements returns the spans of the elements of the valid array arr.
func elements(arr []byte) [][]byte {
	es := make([][]byte, 0, 4)
	i := skipSpace(arr, 1)
	for arr[i] != ']' {
		end := valueEnd(arr, i)
		es = append(es, arr[i:end])
		i = skipSpace(arr, end)
		if arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return es
}

// lookup finds key among ms as the host binds properties: the exact key
// first, then one equal to it without regard to case. Of several, the last
// wins, as when a JSON object with repeated keys is read into a map.
func lookup(ms []member, key string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].val, true
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.EqualFold(ms[i].key, key) {
			return ms[i].val, true
		}
	}
	return nil, false
}

// lookupExact finds key among ms by exact match (the last of several).
func lookupExact(ms []member, key string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].val, true
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just after the valid JSON value that starts at
// b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	default: // a number, true, false or null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// stringEnd returns the index just after the string literal starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// unquote returns the content of a valid string literal as encoding/json
// reads it (escapes resolved; invalid UTF-8 and lone surrogates become
// U+FFFD). Literals without escapes of valid UTF-8 are copied directly.
func unquote(lit []byte) string {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(lit, &s) // valid: cannot fail
	return s
}
