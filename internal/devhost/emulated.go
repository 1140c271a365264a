package devhost

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasmworker/wasmworker/internal/funcapp"
)

// EmulatedBindingTypes are the binding types wasmfunc runs locally, as
// function.json spells them (they are matched without regard to case). This
// is the one list the start-up checks and the messages use; the README's
// table of emulated bindings follows it.
//
// A function with a binding of another type still loads: a trigger of
// another type runs only when called with POST /admin/functions/<name>, an
// input of another type is null, and the value of an output of another type
// is dropped. wasmfunc names each such binding when it loads the app.
var EmulatedBindingTypes = []string{"http", "httpTrigger", "queue", "queueTrigger", "timerTrigger", "blob", "blobTrigger"}

// emulated reports whether wasmfunc runs bindings of type typ.
func emulated(typ string) bool {
	return slices.ContainsFunc(EmulatedBindingTypes, func(t string) bool { return strings.EqualFold(t, typ) })
}

// unemulatedBindings returns one message per binding of fn whose type
// wasmfunc does not emulate, naming the function, the binding, its type,
// what wasmfunc does with it instead and the types it does emulate.
func unemulatedBindings(fn *funcapp.Function) []string {
	var out []string
	known := strings.Join(EmulatedBindingTypes, ", ")
	for _, b := range fn.Bindings {
		if emulated(b.Type) {
			continue
		}
		var what string
		switch {
		case b.IsTrigger():
			what = fmt.Sprintf("trigger type %q is not emulated by wasmfunc: the function runs only when called with POST /admin/functions/%s", b.Type, fn.Name)
		case b.IsOutput():
			what = fmt.Sprintf("output binding %s has type %q, which wasmfunc does not emulate: its value is dropped", b.Name, b.Type)
		default:
			what = fmt.Sprintf("input binding %s has type %q, which wasmfunc does not emulate: the function gets null for it", b.Name, b.Type)
		}
		out = append(out, fmt.Sprintf("%s: %s (wasmfunc emulates %s)", fn.Name, what, known))
	}
	return out
}
