package funcapp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseFunction checks that no function.json text makes ParseFunction
// panic, and that whatever it accepts satisfies the documented invariants.
func FuzzParseFunction(f *testing.F) {
	f.Add([]byte(httpFunctionJSON))
	f.Add([]byte(queueFunctionJSON))
	f.Add([]byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"retry":{"strategy":"fixedDelay","maxRetryCount":1,"delayInterval":"00:00:01"}}`))
	f.Add([]byte("\xef\xbb\xbf// c\n{\"bindings\":[/*x*/]}"))
	dir := filepath.Join(f.TempDir(), "Fn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"hello.wasm", "worker.wasm"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fn, err := ParseFunction(dir, data)
		if err != nil {
			if fn != nil {
				t.Fatalf("non-nil function with error %v", err)
			}
			return
		}
		if len(fn.Bindings) == 0 || fn.Trigger() == nil || !filepath.IsAbs(fn.ScriptFile) {
			t.Fatalf("accepted an invalid function: %+v", fn)
		}
		for _, b := range fn.Bindings {
			switch b.Direction {
			case "in", "out", "inout":
			default:
				t.Fatalf("direction %q accepted", b.Direction)
			}
			_ = b.Str("route")
			_ = b.Strs("methods")
			_ = b.Bool("runOnStartup")
		}
	})
}

// FuzzParseDeclaration checks that no declaration makes ParseDeclaration
// panic, that its errors are *DeclarationError, and that what it accepts
// satisfies the documented invariants.
func FuzzParseDeclaration(f *testing.F) {
	f.Add([]byte(helloDeclaration))
	f.Add([]byte(`{"name":"Work","bindings":[{"type":"queueTrigger","direction":"in","name":"msg"},{"type":"queue","direction":"out","name":"$return"}]}`))
	f.Add([]byte(`{"name":"x","scriptFile":"a","bindings":[]}`))
	f.Add([]byte(`{"name":"host","bindings":[{"type":"timerTrigger","direction":"in","name":"t"}],"retry":{"strategy":"exponentialBackoff","maxRetryCount":-1,"minimumInterval":"00:00:01","maximumInterval":"00:01:00"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fn, err := ParseDeclaration("/app", "app.wasm", data)
		if err != nil {
			var de *DeclarationError
			if fn != nil || !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "app.wasm: ") {
				t.Fatalf("error %T %q with function %v", err, err, fn)
			}
			return
		}
		if !ValidFunctionName(fn.Name) || len(fn.Bindings) == 0 || fn.Trigger() == nil || fn.ScriptFile != "/app/app.wasm" {
			t.Fatalf("accepted an invalid declaration: %+v", fn)
		}
		if _, ok := fn.Raw["scriptFile"]; ok {
			t.Fatalf("accepted scriptFile: %s", data)
		}
	})
}
