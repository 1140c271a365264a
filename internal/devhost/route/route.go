// Package route matches request paths against ASP.NET-style route templates
// as the Azure Functions host does for HTTP triggers.
//
// A template is a "/"-separated list of segments. A segment is literal text
// (matched without regard to case), a parameter "{name}", an optional
// parameter "{name?}", a parameter with a default "{name=value}", a
// constrained parameter "{id:int}" (constraints may be chained,
// "{id:int:min(1)}"), a catch-all "{*rest}" or "{**rest}" (last segment
// only), or a mix of literals and parameters such as "{file}.{ext}".
package route

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Template is a parsed route template.
type Template struct {
	raw        string
	re         *regexp.Regexp
	params     []param
	precedence []int
}

type param struct {
	name        string
	optional    bool
	def         *string
	catchAll    bool
	constraints []constraint
}

type constraint struct {
	text string
	ok   func(string) bool
}

// Parse parses a route template (without leading or trailing "/").
func Parse(template string) (*Template, error) {
	raw := strings.Trim(template, "/")
	t := &Template{raw: raw}
	var re strings.Builder
	re.WriteString("(?i)^")
	names := map[string]bool{}
	if raw == "" {
		re.WriteString("/?$")
		return t.compile(re.String())
	}
	segs := strings.Split(raw, "/")
	for si, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("route %q: empty segment (two '/' in a row)", template)
		}
		parts, err := splitSegment(seg)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", template, err)
		}
		nparams := 0
		for _, p := range parts {
			if p.isParam {
				nparams++
			}
		}
		// A segment that is exactly one optional or catch-all parameter may be absent
		// together with its leading "/".
		if len(parts) == 1 && parts[0].isParam {
			p, err := parseParam(parts[0].text)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", template, err)
			}
			if names[strings.ToLower(p.name)] {
				return nil, fmt.Errorf("route %q: parameter %q appears twice", template, p.name)
			}
			names[strings.ToLower(p.name)] = true
			if p.catchAll && si != len(segs)-1 {
				return nil, fmt.Errorf("route %q: catch-all parameter {*%s} must be the last segment", template, p.name)
			}
			idx := len(t.params)
			t.params = append(t.params, p)
			switch {
			case p.catchAll:
				fmt.Fprintf(&re, "(?:/(?P<p%d>.*))?", idx)
				t.precedence = append(t.precedence, 5)
			case p.optional || p.def != nil:
				if si != len(segs)-1 {
					return nil, fmt.Errorf("route %q: optional parameter {%s?} must be the last segment", template, p.name)
				}
				fmt.Fprintf(&re, "(?:/(?P<p%d>[^/]+))?", idx)
				t.precedence = append(t.precedence, 4)
			default:
				fmt.Fprintf(&re, "/(?P<p%d>[^/]+)", idx)
				if len(p.constraints) > 0 {
					t.precedence = append(t.precedence, 3)
				} else {
					t.precedence = append(t.precedence, 4)
				}
			}
			continue
		}
		re.WriteString("/")
		if nparams == 0 {
			re.WriteString(regexp.QuoteMeta(seg))
			t.precedence = append(t.precedence, 1)
			continue
		}
		// Complex segment: literals and parameters side by side.
		t.precedence = append(t.precedence, 2)
		for i, part := range parts {
			if !part.isParam {
				re.WriteString(regexp.QuoteMeta(part.text))
				continue
			}
			p, err := parseParam(part.text)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", template, err)
			}
			if p.catchAll || p.optional && i != len(parts)-1 {
				return nil, fmt.Errorf("route %q: segment %q: a catch-all or optional parameter cannot be mixed with other text", template, seg)
			}
			if names[strings.ToLower(p.name)] {
				return nil, fmt.Errorf("route %q: parameter %q appears twice", template, p.name)
			}
			names[strings.ToLower(p.name)] = true
			idx := len(t.params)
			t.params = append(t.params, p)
			if p.optional {
				fmt.Fprintf(&re, "(?P<p%d>[^/]*)", idx)
			} else {
				fmt.Fprintf(&re, "(?P<p%d>[^/]+?)", idx)
			}
		}
	}
	re.WriteString("/?$")
	return t.compile(re.String())
}

func (t *Template) compile(expr string) (*Template, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", t.raw, err)
	}
	t.re = re
	return t, nil
}

type part struct {
	text    string
	isParam bool
}

// splitSegment splits "a{b}c{d}" into literal and parameter parts.
func splitSegment(seg string) ([]part, error) {
	var parts []part
	for len(seg) > 0 {
		open := strings.IndexByte(seg, '{')
		if open < 0 {
			if strings.IndexByte(seg, '}') >= 0 {
				return nil, fmt.Errorf("unmatched '}' in segment %q", seg)
			}
			parts = append(parts, part{text: seg})
			break
		}
		if open > 0 {
			if strings.IndexByte(seg[:open], '}') >= 0 {
				return nil, fmt.Errorf("unmatched '}' in segment %q", seg)
			}
			parts = append(parts, part{text: seg[:open]})
		}
		// Find the closing brace, skipping parentheses of constraint arguments.
		depth, end := 0, -1
		for i := open + 1; i < len(seg) && end < 0; i++ {
			switch seg[i] {
			case '(':
				depth++
			case ')':
				depth--
			case '}':
				if depth <= 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unmatched '{' in segment %q", seg)
		}
		if len(parts) > 0 && parts[len(parts)-1].isParam {
			return nil, fmt.Errorf("segment %q: two parameters must be separated by literal text", seg)
		}
		parts = append(parts, part{text: seg[open+1 : end], isParam: true})
		seg = seg[end+1:]
	}
	return parts, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseParam(s string) (param, error) {
	var p param
	if strings.HasPrefix(s, "**") {
		p.catchAll, s = true, s[2:]
	} else if strings.HasPrefix(s, "*") {
		p.catchAll, s = true, s[1:]
	}
	// Split off constraints at ':' outside parentheses.
	var pieces []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 {
				pieces = append(pieces, s[start:i])
				start = i + 1
			}
		}
	}
	pieces = append(pieces, s[start:])
	name := pieces[0]
	last := &pieces[len(pieces)-1]
	if i := strings.IndexByte(*last, '='); i >= 0 && !strings.Contains((*last)[:i], "(") {
		d := (*last)[i+1:]
		p.def = &d
		*last = (*last)[:i]
		name = pieces[0]
	}
	if strings.HasSuffix(*last, "?") {
		p.optional = true
		*last = strings.TrimSuffix(*last, "?")
		name = pieces[0]
	}
	if !nameRE.MatchString(name) {
		return p, fmt.Errorf("parameter name %q is not valid (letters, digits and '_')", name)
	}
	p.name = name
	for _, c := range pieces[1:] {
		k, err := parseConstraint(c)
		if err != nil {
			return p, fmt.Errorf("parameter %q: %w", name, err)
		}
		p.constraints = append(p.constraints, k)
	}
	return p, nil
}

func parseConstraint(c string) (constraint, error) {
	name, arg := c, ""
	if i := strings.IndexByte(c, '('); i >= 0 {
		if !strings.HasSuffix(c, ")") {
			return constraint{}, fmt.Errorf("constraint %q: missing ')'", c)
		}
		name, arg = c[:i], c[i+1:len(c)-1]
	}
	ints := func(n int) ([]int64, error) {
		fs := strings.Split(arg, ",")
		if len(fs) != n {
			return nil, fmt.Errorf("constraint %q takes %d number(s)", c, n)
		}
		out := make([]int64, n)
		for i, f := range fs {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("constraint %q: %q is not a number", c, f)
			}
			out[i] = v
		}
		return out, nil
	}
	parseInt := func(s string) (int64, bool) {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	length := func(s string) int64 { return int64(len([]rune(s))) }
	k := constraint{text: c}
	switch strings.ToLower(name) {
	case "int":
		k.ok = func(s string) bool { _, err := strconv.ParseInt(s, 10, 32); return err == nil }
	case "long":
		k.ok = func(s string) bool { _, ok := parseInt(s); return ok }
	case "bool":
		k.ok = func(s string) bool { l := strings.ToLower(s); return l == "true" || l == "false" }
	case "alpha":
		k.ok = func(s string) bool {
			for _, r := range s {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
					return false
				}
			}
			return s != ""
		}
	case "guid":
		k.ok = isGUID
	case "datetime":
		k.ok = func(s string) bool {
			for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "01/02/2006"} {
				if _, err := time.Parse(l, s); err == nil {
					return true
				}
			}
			return false
		}
	case "decimal", "double", "float":
		k.ok = func(s string) bool {
			v, err := strconv.ParseFloat(s, 64)
			return err == nil && !math.IsInf(v, 0) && !math.IsNaN(v)
		}
	case "min", "max":
		n, err := ints(1)
		if err != nil {
			return k, err
		}
		isMin := strings.EqualFold(name, "min")
		k.ok = func(s string) bool {
			v, ok := parseInt(s)
			return ok && (isMin && v >= n[0] || !isMin && v <= n[0])
		}
	case "range":
		n, err := ints(2)
		if err != nil {
			return k, err
		}
		k.ok = func(s string) bool { v, ok := parseInt(s); return ok && v >= n[0] && v <= n[1] }
	case "length":
		n, err := ints(1)
		if err != nil {
			if n, err = ints(2); err != nil {
				return k, fmt.Errorf("constraint %q takes one or two numbers", c)
			}
			k.ok = func(s string) bool { l := length(s); return l >= n[0] && l <= n[1] }
			break
		}
		k.ok = func(s string) bool { return length(s) == n[0] }
	case "minlength", "maxlength":
		n, err := ints(1)
		if err != nil {
			return k, err
		}
		isMin := strings.EqualFold(name, "minlength")
		k.ok = func(s string) bool { l := length(s); return isMin && l >= n[0] || !isMin && l <= n[0] }
	case "regex":
		re, err := regexp.Compile("(?i)" + arg)
		if err != nil {
			return k, fmt.Errorf("constraint %q: %w", c, err)
		}
		k.ok = re.MatchString
	case "required":
		k.ok = func(s string) bool { return s != "" }
	default:
		return k, fmt.Errorf("unknown constraint %q (known: int, long, bool, alpha, guid, datetime, decimal, double, float, min, max, range, length, minlength, maxlength, regex, required)", name)
	}
	return k, nil
}

func isGUID(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	if len(s) == 32 {
		s = s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
	}
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
			continue
		}
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// String returns the template as parsed (without surrounding "/").
func (t *Template) String() string { return t.raw }

// Params returns the names of the template's parameters in order.
func (t *Template) Params() []string {
	out := make([]string, len(t.params))
	for i, p := range t.params {
		out[i] = p.name
	}
	return out
}

// Match matches a request path (decoded, with or without a leading "/")
// against the template. It returns the route values that have a value
// (defaults included; unset optional parameters are absent).
func (t *Template) Match(path string) (map[string]string, bool) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	m := t.re.FindStringSubmatch(path)
	if m == nil {
		return nil, false
	}
	values := make(map[string]string, len(t.params))
	for i, p := range t.params {
		v := m[i+1]
		if p.catchAll {
			v = strings.TrimSuffix(v, "/")
		}
		if v == "" {
			if p.def != nil {
				values[p.name] = *p.def
			}
			continue
		}
		for _, c := range p.constraints {
			if !c.ok(v) {
				return nil, false
			}
		}
		values[p.name] = v
	}
	return values, true
}

// Table holds templates and finds the best match for a path, by the
// precedence ASP.NET routing uses: per segment, literals before complex
// segments before constrained parameters before parameters before catch-alls.
type Table[V any] struct {
	entries []entry[V]
}

type entry[V any] struct {
	t *Template
	v V
}

// Add adds a template with its value.
func (tb *Table[V]) Add(t *Template, v V) {
	tb.entries = append(tb.entries, entry[V]{t, v})
	sort.SliceStable(tb.entries, func(i, j int) bool {
		return less(tb.entries[i].t.precedence, tb.entries[j].t.precedence)
	})
}

// Len returns the number of templates.
func (tb *Table[V]) Len() int { return len(tb.entries) }

// Lookup returns the value and route values of the first template (in
// precedence order) that matches path and whose value accept approves (nil
// accepts all), e.g. to check the HTTP method. A table may be read by many
// goroutines at once once it is built.
func (tb *Table[V]) Lookup(path string, accept func(V) bool) (V, map[string]string, bool) {
	for _, e := range tb.entries {
		if vals, ok := e.t.Match(path); ok && (accept == nil || accept(e.v)) {
			return e.v, vals, true
		}
	}
	var zero V
	return zero, nil, false
}

func less(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) > len(b)
}
