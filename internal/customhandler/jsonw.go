package customhandler

import (
	"slices"

	"github.com/wasmworker/wasmworker/internal/netjson"
)

// The encoder writes JSON by hand so that object keys keep the order the
// custom-handler payload has (trigger first, "sys" last) and so that
// strings and doubles are written the way Newtonsoft writes them
// (internal/netjson).

// appendDoubleEncoded appends a JSON string whose content is the JSON
// encoding of s: the host's encoding of a string value.
func appendDoubleEncoded(b []byte, s string) []byte {
	b = append(b, '"')
	start := len(b)
	b = netjson.AppendString(b, s)
	// AppendString writes nothing it would escape again but quotes and
	// backslashes (its escapes are ASCII, what it keeps is kept again), so
	// encoding the inner literal once more only puts a backslash before
	// each of those: do that in place, from the end.
	n := 0
	for _, c := range b[start:] {
		if c == '"' || c == '\\' {
			n++
		}
	}
	end := len(b)
	b = slices.Grow(b, n)[:end+n]
	w := len(b)
	for r := end - 1; r >= start; r-- {
		c := b[r]
		w--
		b[w] = c
		if c == '"' || c == '\\' {
			w--
			b[w] = '\\'
		}
	}
	return append(b, '"')
}

// appendCompact appends the compact form of text to b, or reports that
// text is not valid JSON (b's first len(b) bytes are kept either way).
func appendCompact(b []byte, text string) ([]byte, bool) {
	if !validJSON(text) {
		return b, false
	}
	return appendStripped(b, text), true
}

// jsonKind returns the first significant byte of compact JSON text.
func jsonKind(text []byte) byte {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return text[i]
	}
	return 0
}
