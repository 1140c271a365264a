package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// token is a piece of a binding template: literal text or an expression
// between braces.
type token struct {
	text string
	expr bool
}

// parseTemplate splits a binding template as the WebJobs SDK's
// BindingTemplateParser does: "{expr}" is an expression, "{{" and "}}" are
// literal braces, and any other brace is an error.
func parseTemplate(s string) ([]token, error) {
	var out []token
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%q: a '{' has no matching '}' (write \"{{\" for a literal brace)", s)
			}
			expr := strings.TrimSpace(s[i+1 : i+1+end])
			if expr == "" || strings.ContainsAny(expr, "{") {
				return nil, fmt.Errorf("%q: %q is not a binding expression", s, s[i:i+2+end])
			}
			if lit.Len() > 0 {
				out = append(out, token{text: lit.String()})
				lit.Reset()
			}
			out = append(out, token{text: expr, expr: true})
			i += end + 1
		case c == '}':
			return nil, fmt.Errorf("%q: a '}' has no matching '{' (write \"}}\" for a literal brace)", s)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		out = append(out, token{text: lit.String()})
	}
	return out, nil
}

// splitPath splits "container/name" at the first slash.
func splitPath(p string) (container, name string) {
	container, name, _ = strings.Cut(strings.TrimPrefix(strings.TrimSpace(p), "/"), "/")
	return container, name
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// TriggerPath is the path of a blob trigger, "<container>/<name pattern>",
// where the pattern's {parameters} capture parts of a blob's name (they
// become binding data, as {name} in "samples/{name}"). A path without a
// name pattern matches every blob of the container.
type TriggerPath struct {
	Text      string
	Container string
	// Prefix is the literal start of the name pattern, which every match has.
	Prefix string
	re     *regexp.Regexp
	params []string
}

// ParseTriggerPath parses a blob trigger's path (app settings already
// resolved). The container must be a literal, valid container name.
func ParseTriggerPath(p string) (*TriggerPath, error) {
	container, name := splitPath(p)
	if strings.ContainsAny(container, "{}") {
		return nil, fmt.Errorf("blob trigger path %q: the container name cannot hold a binding expression", p)
	}
	if err := ValidateContainer(container); err != nil {
		return nil, fmt.Errorf("blob trigger path %q: %w", p, err)
	}
	tp := &TriggerPath{Text: p, Container: container}
	toks, err := parseTemplate(name)
	if err != nil {
		return nil, fmt.Errorf("blob trigger path: %w", err)
	}
	var re strings.Builder
	re.WriteString("^")
	seen := map[string]bool{}
	for i, t := range toks {
		if !t.expr {
			re.WriteString(regexp.QuoteMeta(t.text))
			if i == 0 {
				tp.Prefix = t.text
			}
			continue
		}
		if !identifier.MatchString(t.text) {
			return nil, fmt.Errorf("blob trigger path %q: {%s} must be a parameter name (letters, digits, underscores)", p, t.text)
		}
		if seen[strings.ToLower(t.text)] {
			return nil, fmt.Errorf("blob trigger path %q: parameter {%s} appears twice", p, t.text)
		}
		seen[strings.ToLower(t.text)] = true
		tp.params = append(tp.params, t.text)
		re.WriteString("(.*)")
	}
	if len(toks) == 0 {
		re.WriteString(".*")
	}
	re.WriteString("$")
	tp.re = regexp.MustCompile(re.String())
	return tp, nil
}

// Match reports whether blob name matches the pattern and returns the
// values of its parameters.
func (t *TriggerPath) Match(name string) (map[string]string, bool) {
	m := t.re.FindStringSubmatch(name)
	if m == nil {
		return nil, false
	}
	out := make(map[string]string, len(t.params))
	for i, p := range t.params {
		out[p] = m[i+1]
	}
	return out, true
}

// BindingData is the binding data of one invocation, as the host resolves
// {expressions} in binding paths against it: trigger metadata by name
// (matched without regard to case), each value a string, a number, a
// json.RawMessage or a map[string]any; "sys" holds MethodName, UtcNow and
// RandGuid.
type BindingData map[string]any

// lookup finds key without regard to case.
func (d BindingData) lookup(key string) (any, bool) {
	if v, ok := d[key]; ok {
		return v, true
	}
	for k, v := range d {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// ValidateTemplate checks the syntax of a blob input or output path
// ("<container>/<name>", each possibly with {expressions}).
func ValidateTemplate(p string) error {
	container, name := splitPath(p)
	if container == "" || name == "" {
		return fmt.Errorf("blob path %q must be \"<container>/<blob name>\"", p)
	}
	if _, err := parseTemplate(p); err != nil {
		return fmt.Errorf("blob path: %w", err)
	}
	if !strings.ContainsAny(container, "{}") {
		if err := ValidateContainer(container); err != nil {
			return fmt.Errorf("blob path %q: %w", p, err)
		}
	}
	return nil
}

// ResolveBlobPath resolves the {expressions} of a blob input or output path
// against data and splits it into a container and a blob name.
func ResolveBlobPath(p string, data BindingData) (container, name string, err error) {
	full, err := Resolve(p, data)
	if err != nil {
		return "", "", err
	}
	container, name = splitPath(full)
	if err := ValidateContainer(container); err != nil {
		return "", "", fmt.Errorf("blob path %q resolved to %q: %w", p, full, err)
	}
	if err := ValidateBlobName(name); err != nil {
		return "", "", fmt.Errorf("blob path %q resolved to %q: %w", p, full, err)
	}
	return container, name, nil
}

// Resolve replaces the {expressions} of template s: the built-ins
// {rand-guid} and {DateTime} (UTC, "yyyy-MM-ddTHH-mm-ssZ"), then names of
// the binding data, with dots reaching into JSON objects ({sys.RandGuid},
// {order.id}). An expression without a value is an error, as in the host
// ("No value for named parameter").
func Resolve(s string, data BindingData) (string, error) {
	toks, err := parseTemplate(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range toks {
		if !t.expr {
			b.WriteString(t.text)
			continue
		}
		v, err := evaluate(t.text, data)
		if err != nil {
			return "", fmt.Errorf("%q: %w", s, err)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func evaluate(expr string, data BindingData) (string, error) {
	switch strings.ToLower(expr) {
	case "rand-guid":
		return uuid.NewString(), nil
	case "datetime":
		return time.Now().UTC().Format("2006-01-02T15-04-05Z"), nil
	}
	if strings.Contains(expr, ":") {
		return "", fmt.Errorf("binding expression {%s}: formats are not supported by wasmfunc", expr)
	}
	parts := strings.Split(expr, ".")
	v, ok := data.lookup(parts[0])
	for _, p := range parts[1:] {
		if !ok {
			break
		}
		v, ok = member(v, p)
	}
	if !ok || v == nil {
		return "", fmt.Errorf("no value for named parameter '%s'", expr)
	}
	return text(v)
}

// member returns field name of an object value (map or JSON object).
func member(v any, name string) (any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return BindingData(o).lookup(name)
	case json.RawMessage:
		var obj map[string]json.RawMessage
		if json.Unmarshal(o, &obj) != nil {
			return nil, false
		}
		m := make(BindingData, len(obj))
		for k, f := range obj {
			m[k] = f
		}
		return m.lookup(name)
	}
	return nil, false
}

// text renders a binding value in a path: strings as they are, JSON
// strings unquoted, other JSON as compact text.
func text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.RawMessage:
		var s string
		if json.Unmarshal(x, &s) == nil {
			return s, nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, x); err != nil {
			return "", fmt.Errorf("binding value is not valid JSON: %w", err)
		}
		return buf.String(), nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}
