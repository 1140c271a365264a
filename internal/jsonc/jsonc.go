// Package jsonc reads JSON as the Functions host's Newtonsoft reader accepts
// it in configuration files: a UTF-8 byte-order mark, // and /* */ comments,
// and object keys matched without regard to case.
package jsonc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Strip returns data without a leading UTF-8 byte-order mark and with every
// // and /* */ comment outside strings replaced by spaces; newlines are kept
// so that error positions stay right. data itself is not modified. An
// unclosed /* comment is an error.
func Strip(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !bytes.Contains(data, []byte("/")) {
		return data, nil
	}
	out := bytes.Clone(data)
	inStr := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			end := bytes.Index(out[i+2:], []byte("*/"))
			if end < 0 {
				return nil, errors.New("a /* comment is never closed")
			}
			stop := i + 2 + end + 2
			for ; i < stop; i++ {
				if out[i] != '\n' {
					out[i] = ' '
				}
			}
			i--
		}
	}
	return out, nil
}

// Lookup finds key in a decoded object: the exact key first, then one that
// matches without regard to case (as Newtonsoft binds properties).
func Lookup(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
