package customhandler

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The decoder validates a guest's stdout once (validJSON, which accepts what
// json.Valid accepts) and then walks the valid text by hand: finding the end
// of a value in valid JSON needs no grammar, and walking keeps the
// per-invocation cost to one validating scan and a few small slices, where
// decoding every level into map[string]json.RawMessage scanned each level
// again and allocated a map per object (issue #16: this was an eighth of a
// command-mode worker's CPU). Every helper below takes spans of text that
// validJSON accepted.

// member is one key of an object and the span of its value. The key is
// kept as its text between the quotes and only becomes a string where one
// is needed (a header name, an error), so that walking an object allocates
// nothing; a key with escapes or invalid UTF-8 is decoded once, into dec.
type member struct {
	lit     []byte // the key's text between the quotes
	dec     string // the decoded key, when escaped
	escaped bool   // lit has escapes or invalid UTF-8: the key is dec
	val     []byte
}

// key returns the member's key as encoding/json reads it.
func (m *member) key() string {
	if m.escaped {
		return m.dec
	}
	return string(m.lit)
}

// is reports whether the member's key is exactly key.
func (m *member) is(key string) bool {
	if m.escaped {
		return m.dec == key
	}
	return string(m.lit) == key
}

// isFold reports whether the member's key equals key without regard to
// case (strings.EqualFold).
func (m *member) isFold(key string) bool {
	if m.escaped {
		return strings.EqualFold(m.dec, key)
	}
	return equalFoldBytes(m.lit, key)
}

// compareKeys orders members by key as strings.Compare orders the keys.
func compareKeys(a, b member) int {
	if !a.escaped && !b.escaped {
		return bytes.Compare(a.lit, b.lit)
	}
	return strings.Compare(a.key(), b.key())
}

// equalFoldBytes is strings.EqualFold(string(b), s) without converting b
// when both are ASCII.
func equalFoldBytes(b []byte, s string) bool {
	if len(b) != len(s) {
		// Unicode folding can pair runes of different lengths in UTF-8
		// (K and the Kelvin sign); only ASCII pairs are settled by length.
		if isASCII(b) && isASCIIString(s) {
			return false
		}
		return strings.EqualFold(string(b), s)
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c >= utf8.RuneSelf || d >= utf8.RuneSelf {
			return strings.EqualFold(string(b), s)
		}
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			// A later non-ASCII rune cannot make up for an ASCII
			// mismatch: folding pairs runes one by one.
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// members appends the members of the valid object obj to dst in text
// order, duplicates included. Callers pass a small array's slice as dst so
// that an ordinary object costs no allocation.
func members(dst []member, obj []byte) []member {
	i := skipWS(obj, 1)
	for obj[i] != '}' {
		keyEnd := valueEnd(obj, i)
		key := obj[i:keyEnd]
		i = skipWS(obj, keyEnd) // at ':'
		i = skipWS(obj, i+1)    // at the value
		end := valueEnd(obj, i)
		dst = append(dst, newMember(key, obj[i:end]))
		i = skipWS(obj, end)
		if obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
	return dst
}

// newMember returns the member with the key literal key (quotes included)
// and the value val.
func newMember(key, val []byte) member {
	m := member{lit: key[1 : len(key)-1], val: val}
	if bytes.IndexByte(m.lit, '\\') >= 0 || !utf8.Valid(m.lit) {
		m.escaped = true
		m.dec = unquote(key)
	}
	return m
}

// elements appends the spans of the elements of the valid array arr to dst.
func elements(dst [][]byte, arr []byte) [][]byte {
	i := skipWS(arr, 1)
	for arr[i] != ']' {
		end := valueEnd(arr, i)
		dst = append(dst, arr[i:end])
		i = skipWS(arr, end)
		if arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
	}
	return dst
}

// lookup finds key among ms as the host binds properties: the exact key
// first, then one equal to it without regard to case. Of several, the last
// wins, as when a JSON object with repeated keys is read into a map.
func lookup(ms []member, key string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].is(key) {
			return ms[i].val, true
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].isFold(key) {
			return ms[i].val, true
		}
	}
	return nil, false
}

// lookupExact finds key among ms by exact match (the last of several).
func lookupExact(ms []member, key string) ([]byte, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].is(key) {
			return ms[i].val, true
		}
	}
	return nil, false
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

// stringEnd returns the index just after the valid string literal
// starting at b[i].
func stringEnd[T string | []byte](b T, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// decoder makes the strings a decoded response keeps. Those that are
// pieces of the guest's stdout as written (a string without escapes, a
// number, a key) are cut from one copy of it, made at the first such
// string: a response's status, header and body then cost one allocation,
// not one each. They keep that copy alive as long as any of them lives,
// which is no longer than the invocation's answer.
type decoder struct {
	stdout []byte // the text being decoded
	tape   tape   // where the members of stdout's objects are
	text   string // a copy of stdout, once a piece of it was needed
	// spareHTTP is room for one HTTP response, allocated with the
	// result; nil once taken.
	spareHTTP *httpAlloc
}

// str returns span as a string: a piece of d.text when span lies within
// d.stdout, else a copy.
func (d *decoder) str(span []byte) string {
	if len(span) == 0 {
		return ""
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(span))) - uintptr(unsafe.Pointer(unsafe.SliceData(d.stdout)))
	if off >= uintptr(len(d.stdout)) || uintptr(len(span)) > uintptr(len(d.stdout))-off {
		return string(span)
	}
	if d.text == "" {
		d.text = string(d.stdout)
	}
	return d.text[off : off+uintptr(len(span))]
}

// members is members(dst, obj), taken from d.tape when obj is an object of
// d.stdout that the tape holds.
func (d *decoder) members(dst []member, obj []byte) []member {
	off := uintptr(unsafe.Pointer(unsafe.SliceData(obj))) - uintptr(unsafe.Pointer(unsafe.SliceData(d.stdout)))
	if d.tape.full || len(obj) == 0 || off >= uintptr(len(d.stdout)) {
		return members(dst, obj)
	}
	o := int32(off)
	for _, e := range d.tape.ents[:d.tape.n] {
		if e.obj != o {
			continue
		}
		dst = append(dst, newMember(d.stdout[e.key:e.keyEnd], d.stdout[e.val:e.valEnd]))
	}
	return dst
}

// key returns m's key as encoding/json reads it (member.key), cut from
// d.text when it has no escapes.
func (d *decoder) key(m *member) string {
	if m.escaped {
		return m.dec
	}
	return d.str(m.lit)
}

// unquote returns the content of a valid string literal as encoding/json
// reads it (escapes resolved; invalid UTF-8 and lone surrogates become
// U+FFFD). Literals without escapes of valid UTF-8 are taken as they are.
func (d *decoder) unquote(lit []byte) string {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return d.str(inner)
	}
	return unquote(lit)
}

// unquote is decoder.unquote for a literal that is no part of a response,
// always a copy.
func unquote(lit []byte) string {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(lit, &s) // valid: cannot fail
	return s
}

// compactValid returns the compact form of a span of valid JSON text: the
// text without the whitespace between tokens, as json.Compact writes it.
func (d *decoder) compactValid(v []byte) string {
	for i := 0; i < len(v); {
		switch v[i] {
		case ' ', '\t', '\r', '\n':
			return string(appendStripped(make([]byte, 0, len(v)), v))
		case '"':
			i = stringEnd(v, i)
		default:
			i++
		}
	}
	return d.str(v) // nothing to strip
}
