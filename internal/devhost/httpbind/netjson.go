package httpbind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file reads JSON into the values Newtonsoft.Json (13.x, which the host
// uses) builds from it, and writes them back as Newtonsoft does, so that a
// JSON body comes out of wasmfunc as it comes out of the host: objects keep
// their key order (a repeated key keeps its last value, moved to the end, as
// JTokenWriter does), integers are long or BigInteger, other numbers double.

// jnode is one JSON value as Newtonsoft holds it.
type jnode struct {
	kind  byte // '{' object, '[' array, 's' string, 'i' integer, 'f' double, 'b' bool, 'n' null
	str   string
	num   float64 // kind 'f'
	b     bool
	keys  []string // kind '{'
	elems []*jnode // object values (parallel to keys) or array elements
}

// parseJSON parses exactly one JSON value (surrounding whitespace allowed).
func parseJSON(text string) (*jnode, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return n, nil
}

func readNode(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &jnode{kind: '{'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.set(key, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &jnode{kind: '['}
			for dec.More() {
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &jnode{kind: 's', str: t}, nil
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			return &jnode{kind: 'i', str: s}, nil
		}
		// .NET parses a double out of range as ±Infinity.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return &jnode{kind: 'f', num: f}, nil
	case bool:
		return &jnode{kind: 'b', b: t}, nil
	case nil:
		return &jnode{kind: 'n'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// set adds key to an object; a key already there is removed first, so the
// last value wins and takes the last place.
func (n *jnode) set(key string, v *jnode) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.elems = append(n.elems[:i], n.elems[i+1:]...)
			break
		}
	}
	n.keys = append(n.keys, key)
	n.elems = append(n.elems, v)
}

// get returns the value of key, matched without regard to case as the host
// looks up response-object properties, or nil.
func (n *jnode) get(key string) *jnode {
	for i, k := range n.keys {
		if strings.EqualFold(k, key) {
			return n.elems[i]
		}
	}
	return nil
}

// integerText is the integer as .NET writes its long or BigInteger.
func integerText(s string) string {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(v, 10)
	}
	var b big.Int
	if _, ok := b.SetString(s, 10); ok {
		return b.String()
	}
	return s
}

// doubleText is .NET's double.ToString() (shortest round-trip digits,
// E notation from 1E+15 and below 1E-05, "Infinity", "NaN").
func doubleText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-5 || a >= 1e15) {
		return strconv.FormatFloat(f, 'E', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// text is the value's ToString() as .NET gives it for what Newtonsoft
// parsed: a string as it is, numbers in invariant culture, "True"/"False",
// "" for null, and the JSON of an object or array indented (JToken.ToString()).
func (n *jnode) text() string {
	switch n.kind {
	case 's':
		return n.str
	case 'i':
		return integerText(n.str)
	case 'f':
		return doubleText(n.num)
	case 'b':
		if n.b {
			return "True"
		}
		return "False"
	case 'n':
		return ""
	}
	var b bytes.Buffer
	n.write(&b, true, 0)
	return b.String()
}

// write appends the value as Newtonsoft's JsonTextWriter does: compact, or
// indented by two spaces with "\n" line ends (Environment.NewLine on Linux,
// where the host usually runs).
func (n *jnode) write(b *bytes.Buffer, indent bool, depth int) {
	newline := func(d int) {
		if indent {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", d))
		}
	}
	switch n.kind {
	case '{', '[':
		open, close := byte('{'), byte('}')
		if n.kind == '[' {
			open, close = '[', ']'
		}
		b.WriteByte(open)
		for i, v := range n.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			if n.kind == '{' {
				writeNetString(b, n.keys[i])
				b.WriteByte(':')
				if indent {
					b.WriteByte(' ')
				}
			}
			v.write(b, indent, depth+1)
		}
		if len(n.elems) > 0 {
			newline(depth)
		}
		b.WriteByte(close)
	case 's':
		writeNetString(b, n.str)
	case 'i':
		b.WriteString(integerText(n.str))
	case 'f':
		switch {
		case math.IsNaN(n.num) || math.IsInf(n.num, 0):
			// FloatFormatHandling.String, the default.
			writeNetString(b, doubleText(n.num))
		default:
			t := doubleText(n.num)
			if !strings.ContainsAny(t, ".E") {
				t += ".0"
			}
			b.WriteString(t)
		}
	case 'b':
		b.WriteString(strconv.FormatBool(n.b))
	default:
		b.WriteString("null")
	}
}

const hexDigits = "0123456789abcdef"

// writeNetString writes s as a JSON string the way Newtonsoft escapes it by
// default: '"', '\\' and control characters (short forms for \b \t \n \f
// \r, \u00xx in lower-case hex for the others), and U+0085, U+2028 and
// U+2029; '<', '>', '&', DEL and other non-ASCII text are kept.
func writeNetString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"', r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20, r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hexDigits[(r>>shift)&0xf])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
