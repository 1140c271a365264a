package funcapp

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const helloDeclaration = `{"name":"Hello","entryPoint":"hello",
 "bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["get","post"],"route":"hello"},
             {"type":"http","direction":"out","name":"res"}],
 "retry":{"strategy":"fixedDelay","maxRetryCount":3,"delayInterval":"00:00:05"},
 "disabled":false,
 "wasmworker":{"env":["GREETING"]}}`

func TestParseDeclaration(t *testing.T) {
	app := t.TempDir()
	fn, err := ParseDeclaration(app, "app.wasm", []byte(helloDeclaration))
	if err != nil {
		t.Fatal(err)
	}
	if fn.Name != "Hello" || fn.Dir != app || fn.ScriptFile != filepath.Join(app, "app.wasm") || fn.EntryPoint != "hello" || fn.Disabled {
		t.Fatalf("function = %+v", fn)
	}
	if len(fn.Bindings) != 2 || fn.Trigger().Name != "req" || fn.Trigger().Str("route") != "hello" {
		t.Fatalf("bindings = %+v", fn.Bindings)
	}
	if fn.Retry == nil || fn.Retry.MaxRetryCount != 3 || fn.Retry.DelayInterval != 5*time.Second {
		t.Fatalf("retry = %+v", fn.Retry)
	}
	if string(fn.Raw["wasmworker"]) != `{"env":["GREETING"]}` {
		t.Fatalf("raw wasmworker = %s", fn.Raw["wasmworker"])
	}
	abs := filepath.Join(t.TempDir(), "other.wasm")
	if fn, err := ParseDeclaration(app, abs, []byte(helloDeclaration)); err != nil || fn.ScriptFile != abs {
		t.Fatalf("absolute module: %v, %+v", err, fn)
	}
}

func TestParseDeclarationErrors(t *testing.T) {
	const trig = `{"type":"queueTrigger","direction":"in","name":"msg","queueName":"q"}`
	for _, tc := range []struct {
		name, decl string
		fnName     string // DeclarationError.Name
		want       []string
	}{
		{"not json", `{"name":`, "", []string{"app.wasm: a function declaration is not a JSON object", "invalid JSON"}},
		{"array", `[1]`, "", []string{"app.wasm: a function declaration is not a JSON object"}},
		{"no name", `{"bindings":[` + trig + `]}`, "", []string{`app.wasm: a function declaration has no "name"`}},
		{"name not string", `{"name":7,"bindings":[` + trig + `]}`, "", []string{`"name" must be a string, got a number`}},
		{"bad name", `{"name":"1bad name","bindings":[` + trig + `]}`, "1bad name", []string{`app.wasm: function "1bad name": "1bad name" is not a valid function name`}},
		{"host", `{"name":"Host","bindings":[` + trig + `]}`, "Host", []string{`"Host" is not a valid function name`}},
		{"no trigger", `{"name":"Hello","bindings":[{"type":"http","direction":"out","name":"res"}]}`, "Hello", []string{`app.wasm: function "Hello": no trigger binding`}},
		{"no bindings", `{"name":"Hello"}`, "Hello", []string{`function "Hello": no "bindings"`}},
		{"dup binding", `{"name":"Hello","bindings":[` + trig + `,{"type":"queue","direction":"out","name":"MSG"}]}`, "Hello", []string{`bindings 1 and 2 are both named "MSG"`}},
		{"return input", `{"name":"Hello","bindings":[` + trig + `,{"type":"blob","direction":"in","name":"$return"}]}`, "Hello", []string{`binding 2 ("$return") must have direction "out"`}},
		{"unknown key", `{"name":"Hello","entrypoint":"x","bindings":[` + trig + `]}`, "Hello", []string{`function "Hello": unknown key "entrypoint" (did you mean "entryPoint"?)`}},
		{"scriptFile", `{"name":"Hello","scriptFile":"x.wasm","bindings":[` + trig + `]}`, "Hello", []string{`"scriptFile" (not allowed in a declaration: the module is the script file)`}},
		{"many unknown keys", `{"name":"Hello",` + manyKeys(25) + `"bindings":[` + trig + `]}`, "Hello", []string{`"x00"`, `"x09", and 15 more in the declaration`}},
		{"retry count too large", `{"name":"Hello","retry":{"strategy":"fixedDelay","maxRetryCount":4294967295,"delayInterval":"00:00:05"},"bindings":[` + trig + `]}`, "Hello", []string{`"maxRetryCount" must be an integer from -1 to 2147483647`}},
		{"bad retry", `{"name":"Hello","retry":{"strategy":"x"},"bindings":[` + trig + `]}`, "Hello", []string{`function "Hello": "retry": "strategy" is "x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn, err := ParseDeclaration("/app", "/app/app.wasm", []byte(tc.decl))
			if err == nil {
				t.Fatalf("accepted: %+v", fn)
			}
			var de *DeclarationError
			if !errors.As(err, &de) || de.Name != tc.fnName {
				t.Fatalf("error %T %v: want a *DeclarationError naming %q", err, err, tc.fnName)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidFunctionName(t *testing.T) {
	for name, want := range map[string]bool{"Hello": true, "a-b_c9": true, "host": false, "HOST": false, "9a": false, "": false,
		"a" + strings.Repeat("b", 127): true, "a" + strings.Repeat("b", 128): false, "é": false} {
		if got := ValidFunctionName(name); got != want {
			t.Errorf("ValidFunctionName(%q) = %v", name, got)
		}
	}
}

// manyKeys writes n unknown keys "x00": 0, "x01": 0, … for a declaration.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"x%02d":0,`, i)
	}
	return b.String()
}
