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

	"github.com/wasmworker/wasmworker/internal/netjson"
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

// doubleText is .NET's double.ToString(): Newtonsoft's digits without the
// ".0" it adds to integral values.
func doubleText(f float64) string {
	return strings.TrimSuffix(netjson.FormatDouble(f), ".0")
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
		t := netjson.FormatDouble(n.num)
		if math.IsNaN(n.num) || math.IsInf(n.num, 0) {
			writeNetString(b, t) // FloatFormatHandling.String, the default
		} else {
			b.WriteString(t)
		}
	case 'b':
		b.WriteString(strconv.FormatBool(n.b))
	default:
		b.WriteString("null")
	}
}

// writeNetString writes s as a JSON string the way Newtonsoft escapes it.
func writeNetString(b *bytes.Buffer, s string) {
	b.Write(netjson.AppendString(b.AvailableBuffer(), s))
}
