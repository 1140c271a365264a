package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwtest"
)

// These tests run the app's functions natively (no wasm) with package wwtest;
// incode_go_test.go in examples-wasm runs the same functions as app.wasm
// through the worker.

func TestHttpHello(t *testing.T) {
	cases := []struct {
		name string
		opts []wwtest.Option
		want string
	}{
		{"query", []wwtest.Option{wwtest.Request(httptest.NewRequest("GET", "/api/hello?name=Query", nil))}, "Hello, Query!"},
		{"route", []wwtest.Option{wwtest.Request(httptest.NewRequest("GET", "/api/hello/Route", nil)), wwtest.RouteParam("name", "Route")}, "Hello, Route!"},
		{"body", []wwtest.Option{wwtest.Request(httptest.NewRequest("POST", "/api/hello", strings.NewReader("Body")))}, "Hello, Body!"},
		{"default", []wwtest.Option{wwtest.Request(httptest.NewRequest("GET", "/api/hello", nil))}, "Hello, world!"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := wwtest.Invoke("HttpHello", c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.HTTP.StatusCode != 200 || res.HTTP.String() != c.want ||
				res.HTTP.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%d %q %v, want 200 %q", res.HTTP.StatusCode, res.HTTP.String(), res.HTTP.Header, c.want)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(c.want, "Hello, "), "!")
			if got := strings.Join(res.LogMessages(), "|"); got != "greeting "+name {
				t.Errorf("logs %q", got)
			}
		})
	}
}

func TestProcessJob(t *testing.T) {
	res, err := wwtest.Invoke("ProcessJob", wwtest.Queue(ww.QueueMessage{ID: "job-1", DequeueCount: 2, Body: []byte("resize")}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if v, _ := res.Output("result"); v.Type != ww.String || v.String() != "done: resize (attempt 2)" {
		t.Errorf("result = %v %q", v.Type, v.String())
	}
	if got := strings.Join(res.LogMessages(), "|"); got != "processed job job-1" {
		t.Errorf("logs %q", got)
	}

	res, err = wwtest.Invoke("ProcessJob", wwtest.Queue(ww.QueueMessage{ID: "job-2"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "empty job message") || len(res.Outputs) != 0 {
		t.Errorf("empty message: %v, outputs %v", res.Err, res.Outputs)
	}
}

// TestDeclarations: what the worker indexes, function.json for function.json.
func TestDeclarations(t *testing.T) {
	decls, err := wwtest.Declarations()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"name":"HttpHello","entryPoint":"ww_dispatch","bindings":[{"authLevel":"anonymous","direction":"in","methods":["get","post"],"name":"req","route":"hello/{name?}","type":"httpTrigger"},{"direction":"out","name":"res","type":"http"}]}`,
		`{"name":"ProcessJob","entryPoint":"ww_dispatch","bindings":[{"connection":"AzureWebJobsStorage","direction":"in","name":"msg","queueName":"jobs","type":"queueTrigger"},{"connection":"AzureWebJobsStorage","direction":"out","name":"result","queueName":"results","type":"queue"}]}`,
	}
	if len(decls) != len(want) {
		t.Fatalf("declarations %s", decls)
	}
	for i := range want {
		if string(decls[i]) != want[i] {
			t.Errorf("declaration %d:\n got %s\nwant %s", i, decls[i], want[i])
		}
	}
}
