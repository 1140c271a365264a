package funcapp

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// DeclarationKeys are the keys a function declaration may have
// (abi/SPEC.md §2.3): function.json's, less "scriptFile", plus "name".
var DeclarationKeys = []string{"name", "entryPoint", "bindings", "retry", "disabled", "wasmworker"}

// ValidFunctionName reports whether name is a valid function name under the
// host's rule: a letter, then up to 127 letters, digits, '_' or '-', and not
// "host" (in any case).
func ValidFunctionName(name string) bool {
	return validName(name, true) && !strings.EqualFold(name, "host")
}

// functionNameRule says what ValidFunctionName accepts, for messages.
const functionNameRule = "a function name starts with a letter and holds only letters, digits, '_' and '-' (at most 128), and is not \"host\""

// DeclarationError is why ParseDeclaration refused a declaration. Name is
// the declared function name when the declaration has one that is a JSON
// string (valid or not), else "". Its message names the module file and
// the function.
type DeclarationError struct {
	Name string
	Err  error
}

func (e *DeclarationError) Error() string { return e.Err.Error() }

func (e *DeclarationError) Unwrap() error { return e.Err }

// ParseDeclaration parses one function declaration that the module file
// module (absolute, or relative to appDir) made through the ABI's declare
// (abi/SPEC.md §2.3): a JSON object in function.json syntax plus "name".
// It validates it as ParseFunction validates function.json, and besides
// refuses unknown keys (a "scriptFile" among them: the module is the script
// file) and a name that is not a valid function name (ValidFunctionName).
// The Function it returns has Name from "name", Dir appDir, ScriptFile the
// module's absolute path and Raw the declaration's keys (so "wasmworker" is
// read as from function.json). Errors are *DeclarationError and name the
// module and the function, e.g.
// `app.wasm: function "Hello": no trigger binding: …`.
func ParseDeclaration(appDir, module string, data []byte) (*Function, error) {
	dir, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("function app folder %q: %w", appDir, err)
	}
	script := module
	if !filepath.IsAbs(script) {
		script = filepath.Join(dir, script)
	}
	script = filepath.Clean(script)
	label := filepath.Base(script)
	fail := func(name string, err error) error {
		return &DeclarationError{Name: name, Err: err}
	}

	raw, err := parseObject(data)
	if err != nil {
		return nil, fail("", fmt.Errorf("%s: a function declaration is not a JSON object: %w", label, err))
	}
	var name string
	nameRaw, hasName := raw["name"]
	nameOK := hasName && json.Unmarshal(nameRaw, &name) == nil
	if nameOK {
		label += fmt.Sprintf(": function %q", name)
	}
	if keys := unknownKeys(raw); len(keys) > 0 {
		return nil, fail(name, fmt.Errorf("%s: %s", label, describeUnknown(keys)))
	}
	switch {
	case !hasName || isNull(nameRaw):
		return nil, fail("", fmt.Errorf("%s: a function declaration has no \"name\"", label))
	case !nameOK:
		return nil, fail("", fmt.Errorf("%s: a function declaration's \"name\" must be a string, got %s", label, kindOf(nameRaw)))
	case !ValidFunctionName(name):
		return nil, fail(name, fmt.Errorf("%s: %q is not a valid function name: %s", label, name, functionNameRule))
	}
	fn := &Function{Name: name, Dir: dir, ScriptFile: script, Raw: raw}
	if err := parseSpec(fn, raw); err != nil {
		return nil, fail(name, fmt.Errorf("%s: %w", label, err))
	}
	return fn, nil
}

// unknownKeys returns, sorted, the keys of raw that are not DeclarationKeys
// (compared exactly: a key in another case is a typo too).
func unknownKeys(raw map[string]json.RawMessage) []string {
	var out []string
	for k := range raw {
		if !slices.Contains(DeclarationKeys, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// describeUnknown says which keys are unknown, with the known key each one
// most likely means.
func describeUnknown(keys []string) string {
	const most = 10 // a guest may send thousands: name the first few
	more := 0
	if len(keys) > most {
		more = len(keys) - most
		keys = keys[:most]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q", k)
		switch {
		case strings.EqualFold(k, "scriptFile"):
			parts[i] += " (not allowed in a declaration: the module is the script file)"
		default:
			for _, known := range DeclarationKeys {
				if strings.EqualFold(k, known) || editDistance(strings.ToLower(k), strings.ToLower(known)) <= 2 {
					parts[i] += fmt.Sprintf(" (did you mean %q?)", known)
					break
				}
			}
		}
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	word := "key"
	if len(keys) > 1 {
		word = "keys"
	}
	return fmt.Sprintf("unknown %s %s in the declaration; the keys are %s", word, strings.Join(parts, ", "), strings.Join(DeclarationKeys, ", "))
}
