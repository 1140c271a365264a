package abi

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// BenchmarkHTTP measures one HTTP invocation of the example apps' hello
// function (examples-wasm/abi/<lang>) through Pool.Invoke: building the
// Invocation, the guest reading the request and writing the response and a
// log, and Result. "reuse" runs on a warm instance (the default); "fresh"
// instantiates (and runs _initialize) for every invocation and closes the
// instance afterwards (PoolConfig.Isolate); both use a compiler runtime with
// WithCloseOnContextDone, as the worker needs for deadlines.
// "reuse-unguarded" is "reuse" without WithCloseOnContextDone, to show what
// that guard costs. "reuse-instrumented" and "isolate-instrumented" run
// the module as the engine does by default: instrumented for the deadline
// guard and for resets, without WithCloseOnContextDone; with Isolate,
// instances are reset and reused when the module allows it.
//
//	go test ./abi/ -run '^$' -bench BenchmarkHTTP -benchtime 2s -benchmem
func BenchmarkHTTP(b *testing.B) {
	for _, lang := range exampleLangs {
		b.Run(lang, func(b *testing.B) {
			wasm := exampleModule(b, lang)
			guarded, unguarded := newRuntime(b, true), newRuntime(b, false)
			req := helloRequest("GET", "Ada", "", "")
			bindings := []invocation.Binding{
				{Name: "req", Type: "httpTrigger", Direction: "in"},
				{Name: "res", Type: "http", Direction: "out"},
			}
			for _, mode := range []struct {
				name    string
				guard   bool
				isolate bool
			}{{"reuse", true, false}, {"fresh", true, true}, {"reuse-unguarded", false, false},
				{"reuse-instrumented", false, false}, {"isolate-instrumented", false, true}} {
				b.Run(mode.name, func(b *testing.B) {
					rt := unguarded
					if mode.guard {
						rt = guarded
					}
					var cm wazero.CompiledModule
					prefix := ""
					if strings.HasSuffix(mode.name, "-instrumented") {
						rt, cm = instrumented(b, wasm)
						prefix = testGuard
					} else {
						cm, _ = compile(b, rt, wasm)
					}
					p := NewPool(rt, cm, PoolConfig{MaxInstances: 1, Isolate: mode.isolate, ResetPrefix: prefix})
					defer p.Close(context.Background())
					ctx := context.Background()
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						inv := newInv(req, bindings)
						if err := p.Invoke(ctx, "hello", inv); err != nil {
							b.Fatal(err)
						}
						if outs, _, _, _ := rpcResult(inv); len(outs) != 1 {
							b.Fatalf("outputs %v", outs)
						}
					}
				})
			}
		})
	}
}
