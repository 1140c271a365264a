package customhandler

import (
	"bytes"
	"encoding/json"

	"github.com/wasmworker/wasmworker/internal/netjson"
)

// The encoder writes JSON by hand so that object keys keep the order the
// custom-handler payload has (trigger first, "sys" last) and so that
// strings and doubles are written the way Newtonsoft writes them
// (internal/netjson).

// appendDoubleEncoded appends a JSON string whose content is the JSON
// encoding of s: the host's encoding of a string value.
func appendDoubleEncoded(b []byte, s string) []byte {
	inner := netjson.AppendString(make([]byte, 0, len(s)+8), s)
	return netjson.AppendString(b, string(inner))
}

// compactJSON returns the compact form of valid JSON text, or ok=false.
func compactJSON(text string) (string, bool) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return "", false
	}
	return buf.String(), true
}

// appendCompact appends the compact form of text to b, or reports that
// text is not valid JSON (b's first len(b) bytes are kept either way).
func appendCompact(b []byte, text string) ([]byte, bool) {
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, []byte(text)); err != nil {
		return b, false
	}
	return buf.Bytes(), true
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
