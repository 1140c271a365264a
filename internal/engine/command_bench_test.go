package engine

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// BenchmarkCommandHTTP runs the C command-mode example (examples-wasm/
// command/c/Hello, committed with its source) on one goroutine with the
// request `wasmload` sends it: the whole command path of one invocation
// in the engine (the custom-handler request, a reset instance, the guest,
// the response), without the protocol: the engine's share of a command
// invocation's CPU, with warm caches (under load the same work takes about
// 1.5 times as long; issue #16, item 3).
func BenchmarkCommandHTTP(b *testing.B) {
	path := filepath.Join("..", "..", "examples-wasm", "command", "c", "Hello", "main.wasm")
	f, err := testEngine.LoadFunction(context.Background(), FunctionSpec{
		Function: invocation.Function{Name: "CHello", Bindings: []invocation.Binding{
			{Name: "req", Type: "httpTrigger", Direction: "in"},
			{Name: "res", Type: "http", Direction: "out"},
		}},
		Path: path,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close(context.Background())
	req := &invocation.Request{
		InvocationID: "0b8f5b4e-7d3c-4c59-9d7b-1f0a6f0c1d2e",
		Inputs: []invocation.Input{{Name: "req", Value: &invocation.Value{Kind: invocation.KindHTTP, Request: &invocation.HTTPRequest{
			Method: "GET", URL: "http://localhost:7071/api/CHello",
			Headers: invocation.Fields{{Name: "host", Value: "localhost:7071"}},
		}}}},
		Metadata: []invocation.Meta{
			{Name: "Headers", Value: &invocation.Value{Kind: invocation.KindJSON, String: `{"Host":"localhost:7071"}`}},
			{Name: "Query", Value: &invocation.Value{Kind: invocation.KindJSON, String: `{}`}},
		},
	}
	invoke := func() {
		res, err := f.Invoke(context.Background(), req, nil)
		if err != nil {
			b.Fatal(err)
		}
		if out := res.Outputs; len(out) != 1 || out[0].Value.Response == nil || out[0].Value.Response.StatusCode != "200" {
			b.Fatalf("unexpected result %+v", res)
		}
	}
	invoke()
	runtime.GC()
	b.ReportAllocs()
	for b.Loop() {
		invoke()
	}
}
