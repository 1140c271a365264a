package abi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmworker/wasmworker/internal/invocation"

	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// exampleLangs are the example apps of examples-wasm/abi, one per SDK.
var exampleLangs = []string{"go", "c", "rust", "assemblyscript"}

// exampleModule returns the functions.wasm of an example app: the committed
// build for C, Rust and AssemblyScript, a fresh build for Go.
func exampleModule(t testing.TB, lang string) []byte {
	t.Helper()
	if lang != "go" {
		return exampleWasm(t, filepath.Join(lang, "functions.wasm"))
	}
	path, err := wasmbuild.Go("../../examples-wasm/abi/go", wasmbuild.Options{BuildMode: "c-shared"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleFunction deploys the function folder fn of an example app to a
// temporary app (its function.json next to the module, as a deployed app
// has them) and loads it the way the worker does.
func exampleFunction(t *testing.T, lang, fn string, wasm []byte) *funcapp.Function {
	t.Helper()
	app := t.TempDir()
	src := filepath.Join("..", "..", "examples-wasm", "abi", lang, fn, "function.json")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(app, fn), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, fn, "function.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "functions.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := funcapp.LoadFunction(filepath.Join(app, fn))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// bindingSpecs converts function.json bindings to what NewInvocation takes.
func bindingSpecs(f *funcapp.Function) []invocation.Binding {
	specs := make([]invocation.Binding, len(f.Bindings))
	for i, b := range f.Bindings {
		specs[i] = invocation.Binding{Name: b.Name, Type: b.Type, Direction: b.Direction, DataType: b.DataType}
	}
	return specs
}

// examplePool compiles and checks the module of f and returns a pool for it
// with the export f's entryPoint selects.
func examplePool(t *testing.T, f *funcapp.Function) (*Pool, string) {
	t.Helper()
	wasm, err := os.ReadFile(f.ScriptFile)
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, true)
	cm, info := compile(t, rt, wasm)
	entry, err := info.Entry(f.EntryPoint)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(rt, cm, PoolConfig{MaxInstances: 2})
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, entry
}

// helloRequest is GET /api/hello/{name} (or a POST with body) as the host
// sends it with the worker's capabilities (docs/host-contract.md §4.3).
func helloRequest(method, route, query, body string) *rpc.InvocationRequest {
	h := &rpc.RpcHttp{
		Method:          method,
		Url:             "http://localhost:7071/api/hello/" + route,
		NullableHeaders: map[string]*rpc.NullableString{"host": ns("localhost:7071"), "user-agent": ns("curl/8.5.0")},
		NullableQuery:   map[string]*rpc.NullableString{},
		NullableParams:  map[string]*rpc.NullableString{},
	}
	if route != "" {
		h.NullableParams["name"] = ns(route)
	}
	if query != "" {
		h.NullableQuery["name"] = ns(query)
		h.Url += "?name=" + query
	}
	if body != "" {
		h.Body = tdBytes(body)
		h.NullableHeaders["content-length"] = ns("3")
		h.NullableHeaders["content-type"] = ns("text/plain")
	}
	return &rpc.InvocationRequest{
		InvocationId: "7d2e0000-0000-4000-8000-000000000002",
		FunctionId:   "HttpHello-id",
		InputData:    []*rpc.ParameterBinding{{Name: "req", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Http{Http: h}}}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"Query":   tdJSON(`{}`),
			"Headers": tdJSON(`{"Host":"localhost:7071"}`),
		},
		TraceContext: &rpc.RpcTraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

// jobRequest is a queue-trigger invocation (docs/host-contract.md §4.4).
func jobRequest(msg string) *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		InvocationId: "7d2e0000-0000-4000-8000-000000000003",
		FunctionId:   "ProcessJob-id",
		InputData:    []*rpc.ParameterBinding{{Name: "msg", RpcData: &rpc.ParameterBinding_Data{Data: tdString(msg)}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"QueueTrigger":    tdString(msg),
			"DequeueCount":    tdJSON("1"),
			"ExpirationTime":  tdJSON(`"2026-12-01T10:00:00+00:00"`),
			"Id":              tdString("m1"),
			"InsertionTime":   tdJSON(`"2026-11-24T10:00:00+00:00"`),
			"NextVisibleTime": tdJSON(`"2026-11-24T10:10:00+00:00"`),
			"PopReceipt":      tdString("AgAAAAMAAAAAAAAA"),
		},
	}
}

// TestExamples runs both functions of every example app
// (examples-wasm/abi/<lang>) through the host side: function.json loaded
// with funcapp, the module checked, the entryPoint resolved, and realistic
// invocations run on a pool.
func TestExamples(t *testing.T) {
	for _, lang := range exampleLangs {
		t.Run(lang, func(t *testing.T) {
			wasm := exampleModule(t, lang)
			t.Run("HttpHello", func(t *testing.T) {
				f := exampleFunction(t, lang, "HttpHello", wasm)
				p, entry := examplePool(t, f)
				if entry != "hello" {
					t.Errorf("entry %q", entry)
				}
				for _, c := range []struct {
					method, route, query, body, want string
				}{
					{"GET", "Ada", "", "", "Hello, Ada!"},
					{"GET", "Ada", "Grace", "", "Hello, Grace!"},
					{"POST", "", "", "Bob", "Hello, Bob!"},
					{"GET", "", "", "", "Hello, world!"},
				} {
					inv := newInv(helloRequest(c.method, c.route, c.query, c.body), bindingSpecs(f))
					if err := p.Invoke(context.Background(), entry, inv); err != nil {
						t.Fatal(err)
					}
					outs, ret, logs, _ := rpcResult(inv)
					if ret != nil || len(outs) != 1 || outs[0].Name != "res" {
						t.Fatalf("outputs %v, return %v", outs, ret)
					}
					r := outs[0].GetData().GetHttp()
					if r.GetStatusCode() != "200" || r.GetHeaders()["content-type"] != "text/plain; charset=utf-8" ||
						r.GetBody().GetString_() != c.want {
						t.Errorf("%+v: response status %q headers %v body %v", c, r.GetStatusCode(), r.GetHeaders(), r.GetBody())
					}
					if len(logs) != 1 || logs[0].Level != rpc.RpcLog_Information || logs[0].Message != "greeting "+c.want[7:len(c.want)-1] {
						t.Errorf("%+v: logs %v", c, logs)
					}
				}
			})
			t.Run("ProcessJob", func(t *testing.T) {
				f := exampleFunction(t, lang, "ProcessJob", wasm)
				p, entry := examplePool(t, f)
				if entry != "process_job" {
					t.Errorf("entry %q", entry)
				}
				inv := newInv(jobRequest(`{"id":7,"kind":"x"}`), bindingSpecs(f))
				if err := p.Invoke(context.Background(), entry, inv); err != nil {
					t.Fatal(err)
				}
				outs, ret, logs, _ := rpcResult(inv)
				if ret != nil || len(outs) != 1 || outs[0].Name != "result" ||
					outs[0].GetData().GetString_() != `done: {"id":7,"kind":"x"} (attempt 1)` {
					t.Errorf("outputs %v, return %v", outs, ret)
				}
				if len(logs) != 1 || logs[0].Message != "processed job m1" {
					t.Errorf("logs %v", logs)
				}
				// An empty message is a handled failure: the queue retries it.
				inv = newInv(jobRequest(""), bindingSpecs(f))
				err := p.Invoke(context.Background(), entry, inv)
				var fe *FunctionError
				if !errors.As(err, &fe) || fe.Message != "empty job message" {
					t.Errorf("empty message: %v", err)
				}
			})
		})
	}
}
