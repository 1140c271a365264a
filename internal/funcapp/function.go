// Package funcapp reads a function app's host.json, local.settings.json and
// function.json files.
package funcapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/jsonc"
)

// Binding is one entry of a function.json "bindings" array.
type Binding struct {
	Name      string
	Type      string // as written, e.g. "httpTrigger"
	Direction string // "in", "out" or "inout" (lower-cased)
	DataType  string // "", "string", "binary" or "stream" (lower-cased)
	// Raw holds every key of the binding object as written (route, methods,
	// queueName, schedule, …).
	Raw map[string]json.RawMessage
}

// IsTrigger reports whether the binding is a trigger: its type ends with
// "trigger", case-insensitively.
func (b Binding) IsTrigger() bool {
	return strings.HasSuffix(strings.ToLower(b.Type), "trigger")
}

// IsOutput reports whether the binding's direction is "out" or "inout".
func (b Binding) IsOutput() bool {
	return b.Direction == "out" || b.Direction == "inout"
}

// raw returns the raw value of key, matching the exact key first and then
// case-insensitively (the host reads binding properties case-insensitively).
func (b Binding) raw(key string) (json.RawMessage, bool) {
	if v, ok := b.Raw[key]; ok {
		return v, true
	}
	for k, v := range b.Raw {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Str returns a string property (key matched case-insensitively), or "" if
// it is absent or not a JSON string.
func (b Binding) Str(key string) string {
	v, ok := b.raw(key)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// Strs returns a string-array property such as "methods" (key matched
// case-insensitively). Non-string elements are skipped; a property that is a
// single string gives a one-element slice; anything else gives nil.
func (b Binding) Strs(key string) []string {
	v, ok := b.raw(key)
	if !ok {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(v, &arr) != nil {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return []string{s}
		}
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		var s string
		if json.Unmarshal(e, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// Bool returns a boolean property such as "runOnStartup" (key matched
// case-insensitively). A JSON true, or a string "true" in any case, is true;
// everything else is false.
func (b Binding) Bool(key string) bool {
	v, ok := b.raw(key)
	if !ok {
		return false
	}
	return rawBool(v)
}

func rawBool(v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch t := x.(type) {
	case bool:
		return t
	case string:
		return strings.EqualFold(strings.TrimSpace(t), "true")
	}
	return false
}

// Retry is a function's retry policy from function.json "retry".
type Retry struct {
	Strategy        string        // "fixedDelay" or "exponentialBackoff"
	MaxRetryCount   int           // -1 means retry forever
	DelayInterval   time.Duration // fixedDelay
	MinimumInterval time.Duration // exponentialBackoff
	MaximumInterval time.Duration // exponentialBackoff
}

// Retry strategies as written in function.json.
const (
	StrategyFixedDelay         = "fixedDelay"
	StrategyExponentialBackoff = "exponentialBackoff"
)

// Function is one function of an app: a folder holding a function.json.
type Function struct {
	Name       string // folder name
	Dir        string // absolute folder
	ScriptFile string // absolute path, resolved as the host does
	EntryPoint string
	Disabled   bool
	Bindings   []Binding                  // in file order
	Retry      *Retry                     // nil if absent
	Raw        map[string]json.RawMessage // the whole function.json
}

// Trigger returns the function's trigger binding, or nil if it has none.
func (f *Function) Trigger() *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].IsTrigger() {
			return &f.Bindings[i]
		}
	}
	return nil
}

// Binding returns the binding called name, matching the exact name first and
// then case-insensitively, or nil.
func (f *Function) Binding(name string) *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].Name == name {
			return &f.Bindings[i]
		}
	}
	for i := range f.Bindings {
		if strings.EqualFold(f.Bindings[i].Name, name) {
			return &f.Bindings[i]
		}
	}
	return nil
}

// Outputs returns the bindings whose direction is "out" or "inout", in file order.
func (f *Function) Outputs() []Binding {
	var out []Binding
	for _, b := range f.Bindings {
		if b.IsOutput() {
			out = append(out, b)
		}
	}
	return out
}

// ReturnBinding returns the "$return" output binding, or nil.
func (f *Function) ReturnBinding() *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].Name == "$return" {
			return &f.Bindings[i]
		}
	}
	return nil
}

// functionJSON is the file name of a function's metadata.
const functionJSON = "function.json"

// LoadFunction reads and validates dir/function.json; see ParseFunction.
func LoadFunction(dir string) (*Function, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("function folder %q: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(abs, functionJSON))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileLabel(abs), err)
	}
	return ParseFunction(abs, data)
}

// fileLabel names a function.json in errors as "<folder>/function.json".
func fileLabel(dir string) string {
	return filepath.Base(dir) + "/" + functionJSON
}

// ParseFunction parses the function.json text data of the function in folder
// dir and validates it as the host does: at least one binding, exactly one
// trigger, binding names matching ^[a-zA-Z][a-zA-Z0-9]{0,127}$ or "$return"
// (direction out only), names unique (case-insensitively), directions
// in/out/inout and dataType string/binary/stream when given. The script file
// is resolved as the host does: "scriptFile" relative to dir (it must exist),
// or else the only file besides function.json, or else a file named run.* (or
// index.js/index.mjs/index.cjs/__init__.py); no script file is an error.
// Errors name the file, e.g. `HttpHello/function.json: binding 2 has no "name"`
// (bindings are counted from 1).
func ParseFunction(dir string, data []byte) (*Function, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("function folder %q: %w", dir, err)
	}
	label := fileLabel(abs)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", label, fmt.Sprintf(format, args...))
	}
	raw, err := parseObject(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	fn := &Function{Name: filepath.Base(abs), Dir: abs, Raw: raw}
	if err := parseSpec(fn, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var scriptFile string
	if v, ok := jsonc.Lookup(raw, "scriptFile"); ok && !isNull(v) {
		if err := json.Unmarshal(v, &scriptFile); err != nil {
			return nil, fail("\"scriptFile\" must be a string, got %s", kindOf(v))
		}
	}
	sf, err := resolveScriptFile(abs, scriptFile)
	if err != nil {
		return nil, fail("%v", err)
	}
	fn.ScriptFile = sf
	return fn, nil
}

// parseSpec reads what function.json and a declaration (ParseDeclaration)
// share into fn: the bindings, validated as the host validates them, the
// entry point, "disabled" and "retry". Its errors do not name the file.
func parseSpec(fn *Function, raw map[string]json.RawMessage) error {
	rawBindings, ok := jsonc.Lookup(raw, "bindings")
	if !ok || isNull(rawBindings) {
		return fmt.Errorf("no \"bindings\": at least one binding must be declared")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(rawBindings, &list); err != nil {
		return fmt.Errorf("\"bindings\" must be an array of binding objects, got %s", kindOf(rawBindings))
	}
	if len(list) == 0 {
		return fmt.Errorf("\"bindings\" is empty: at least one binding must be declared")
	}
	seen := map[string]int{}
	triggers := 0
	for i, rb := range list {
		b, err := parseBinding(rb)
		if err != nil {
			return fmt.Errorf("binding %d %v", i+1, err)
		}
		key := strings.ToLower(b.Name)
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("bindings %d and %d are both named %q: binding names must be unique", prev, i+1, b.Name)
		}
		seen[key] = i + 1
		if b.IsTrigger() {
			triggers++
		}
		fn.Bindings = append(fn.Bindings, b)
	}
	switch triggers {
	case 0:
		if typo := misspelledTrigger(fn.Bindings); typo != "" {
			return fmt.Errorf("unknown trigger type %q; known: %s (a function needs exactly one binding whose type ends in \"Trigger\")",
				typo, strings.Join(KnownTriggerTypes, ", "))
		}
		return fmt.Errorf("no trigger binding: exactly one binding must have a type ending in \"Trigger\"")
	case 1:
	default:
		return fmt.Errorf("%d trigger bindings: exactly one binding may have a type ending in \"Trigger\"", triggers)
	}

	if v, ok := jsonc.Lookup(raw, "entryPoint"); ok && !isNull(v) {
		if err := json.Unmarshal(v, &fn.EntryPoint); err != nil {
			return fmt.Errorf("\"entryPoint\" must be a string, got %s", kindOf(v))
		}
	}
	if v, ok := jsonc.Lookup(raw, "disabled"); ok {
		fn.Disabled = rawBool(v)
	}
	if v, ok := jsonc.Lookup(raw, "retry"); ok && !isNull(v) {
		r, err := parseRetry(v)
		if err != nil {
			return fmt.Errorf("\"retry\": %v", err)
		}
		fn.Retry = r
	}
	return nil
}

func parseBinding(rb json.RawMessage) (Binding, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rb, &raw); err != nil || raw == nil {
		return Binding{}, fmt.Errorf("is %s, not a binding object", kindOf(rb))
	}
	b := Binding{Raw: raw}
	str := func(key string, required bool) (string, error) {
		v, ok := jsonc.Lookup(raw, key)
		if !ok || isNull(v) {
			if required {
				return "", fmt.Errorf("has no %q", key)
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%q must be a string, got %s", key, kindOf(v))
		}
		if required && s == "" {
			return "", fmt.Errorf("has an empty %q", key)
		}
		return s, nil
	}
	var err error
	if b.Name, err = str("name", true); err != nil {
		return b, err
	}
	if b.Type, err = str("type", true); err != nil {
		return b, fmt.Errorf("(%q) %w", b.Name, err)
	}
	dir, err := str("direction", true)
	if err != nil {
		return b, fmt.Errorf("(%q) %w", b.Name, err)
	}
	b.Direction = strings.ToLower(dir)
	switch b.Direction {
	case "in", "out", "inout":
	default:
		return b, fmt.Errorf("(%q) has direction %q; expected \"in\", \"out\" or \"inout\"", b.Name, dir)
	}
	dt, err := str("dataType", false)
	if err != nil {
		return b, fmt.Errorf("(%q) %w", b.Name, err)
	}
	b.DataType = strings.ToLower(dt)
	switch b.DataType {
	case "", "string", "binary", "stream":
	case "undefined":
		b.DataType = ""
	default:
		return b, fmt.Errorf("(%q) has dataType %q; expected \"string\", \"binary\" or \"stream\"", b.Name, dt)
	}
	if b.Name == "$return" {
		if b.Direction != "out" {
			return b, fmt.Errorf("(%q) must have direction \"out\", not %q", b.Name, dir)
		}
	} else if !validName(b.Name, false) {
		return b, fmt.Errorf("has invalid name %q: a binding name is a letter followed by up to 127 letters or digits, or \"$return\"", b.Name)
	}
	return b, nil
}

func parseRetry(v json.RawMessage) (*Retry, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("expected an object, got %s", kindOf(v))
	}
	r := &Retry{}
	var strategy string
	if s, ok := jsonc.Lookup(raw, "strategy"); ok {
		if err := json.Unmarshal(s, &strategy); err != nil {
			return nil, fmt.Errorf("\"strategy\" must be a string, got %s", kindOf(s))
		}
	}
	switch {
	case strings.EqualFold(strategy, StrategyFixedDelay):
		r.Strategy = StrategyFixedDelay
	case strings.EqualFold(strategy, StrategyExponentialBackoff):
		r.Strategy = StrategyExponentialBackoff
	default:
		return nil, fmt.Errorf("\"strategy\" is %q; expected %q or %q", strategy, StrategyFixedDelay, StrategyExponentialBackoff)
	}
	m, ok := jsonc.Lookup(raw, "maxRetryCount")
	if !ok {
		return nil, errors.New("\"maxRetryCount\" is required (-1 retries forever)")
	}
	if err := json.Unmarshal(m, &r.MaxRetryCount); err != nil || r.MaxRetryCount < -1 || r.MaxRetryCount > math.MaxInt32 {
		return nil, fmt.Errorf("\"maxRetryCount\" must be an integer from -1 to %d, got %s", math.MaxInt32, m)
	}
	interval := func(key string) (time.Duration, error) {
		v, ok := jsonc.Lookup(raw, key)
		if !ok || isNull(v) {
			return 0, fmt.Errorf("%q is required for strategy %q", key, r.Strategy)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, fmt.Errorf("%q must be a \"hh:mm:ss\" string, got %s", key, kindOf(v))
		}
		d, err := ParseTimeSpan(s)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", key, err)
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is negative (%q)", key, s)
		}
		return d, nil
	}
	var err error
	if r.Strategy == StrategyFixedDelay {
		if r.DelayInterval, err = interval("delayInterval"); err != nil {
			return nil, err
		}
		return r, nil
	}
	if r.MinimumInterval, err = interval("minimumInterval"); err != nil {
		return nil, err
	}
	if r.MaximumInterval, err = interval("maximumInterval"); err != nil {
		return nil, err
	}
	if r.MinimumInterval > r.MaximumInterval {
		return nil, fmt.Errorf("\"minimumInterval\" (%v) is greater than \"maximumInterval\" (%v)", r.MinimumInterval, r.MaximumInterval)
	}
	return r, nil
}

// resolveScriptFile finds the function's script file as the host does
// (HostFunctionMetadataProvider): an explicit scriptFile relative to dir, or
// the only file besides function.json, or a conventional primary file.
func resolveScriptFile(dir, scriptFile string) (string, error) {
	if scriptFile != "" {
		p := scriptFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(p))
		}
		p = filepath.Clean(p)
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("\"scriptFile\" %q does not exist (looked for %s)", scriptFile, p)
			}
			return "", fmt.Errorf("\"scriptFile\" %q: %w", scriptFile, err)
		}
		if st.IsDir() {
			return "", fmt.Errorf("\"scriptFile\" %q is a directory, not a file", scriptFile)
		}
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("cannot list the function folder to find the script file: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() || strings.EqualFold(e.Name(), functionJSON) {
			continue
		}
		files = append(files, e.Name())
	}
	if len(files) == 1 {
		return filepath.Join(dir, files[0]), nil
	}
	for _, name := range files {
		base := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
		switch {
		case base == "run", strings.EqualFold(name, "index.js"), strings.EqualFold(name, "index.mjs"),
			strings.EqualFold(name, "index.cjs"), strings.EqualFold(name, "__init__.py"):
			return filepath.Join(dir, name), nil
		}
	}
	if len(files) == 0 {
		return "", errors.New("no script file: the folder holds only function.json; add the .wasm and set \"scriptFile\"")
	}
	return "", fmt.Errorf("cannot tell which of the %d files is the script: set \"scriptFile\" to the function's .wasm", len(files))
}

func isNull(v json.RawMessage) bool {
	return strings.TrimSpace(string(v)) == "null"
}

// kindOf names the JSON kind of v for error messages.
func kindOf(v json.RawMessage) string {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// KnownTriggerTypes are the trigger binding types of the Functions v4 host and
// of the extensions in its extension bundle, as function.json spells them.
// They serve to name a misspelled trigger type; a type that ends in
// "Trigger" is accepted whether or not it is listed.
var KnownTriggerTypes = []string{
	"activityTrigger", "blobTrigger", "cosmosDBTrigger", "entityTrigger", "eventGridTrigger",
	"eventHubTrigger", "httpTrigger", "kafkaTrigger", "orchestrationTrigger", "queueTrigger",
	"rabbitMQTrigger", "serviceBusTrigger", "signalRTrigger", "sqlTrigger", "timerTrigger",
	"warmupTrigger", "webPubSubTrigger",
}

// misspelledTrigger returns the type of the first input binding that looks
// like a trigger type with a typo ("queueTriger", "httptriger",
// "timer-trigger"): its type holds "trig", or is at most two edits away from
// a known trigger type, ignoring case. It returns "" when none does.
func misspelledTrigger(bindings []Binding) string {
	for _, b := range bindings {
		if b.Direction != "in" {
			continue
		}
		t := strings.ToLower(b.Type)
		if strings.Contains(t, "trig") {
			return b.Type
		}
		for _, k := range KnownTriggerTypes {
			if editDistance(t, strings.ToLower(k)) <= 2 {
				return b.Type
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
