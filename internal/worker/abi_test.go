package worker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/wasmbuild"
)

// TestABIExamples runs the ABI v1 example of every SDK (examples-wasm/abi)
// through the worker over gRPC: an HTTP function and a queue function with an
// output binding, served by one module, on warm instances.
func TestABIExamples(t *testing.T) {
	for _, lang := range abiLanguages {
		t.Run(lang, func(t *testing.T) {
			h := startWorker(t, filepath.Join(abiApps, lang))
			h.initWorker()
			ids := h.mustLoad("HttpHello", "ProcessJob")

			for _, c := range []struct{ route, want string }{{"Ada", "Hello, Ada!"}, {"", "Hello, world!"}} {
				params := map[string]string{}
				if c.route != "" {
					params["name"] = c.route
				}
				resp, logs := h.invoke(httpRequest(ids["HttpHello"], "GET", "http://localhost:7071/api/hello/"+c.route, params, nil, nil, nil), 30*time.Second)
				if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
					t.Fatalf("HttpHello %q: %v", c.route, resp.GetResult())
				}
				res := outputHTTP(resp, "res")
				if res.GetStatusCode() != "200" || string(bodyBytes(res)) != c.want {
					t.Errorf("HttpHello %q: status %q body %q, want 200 %q", c.route, res.GetStatusCode(), bodyBytes(res), c.want)
				}
				if !hasLog(logs, "greeting") {
					t.Errorf("HttpHello %q: the guest's log should arrive before the response: %v", c.route, logs)
				}
			}

			resp, _ := h.invoke(queueRequest(ids["ProcessJob"], "msg", `{"id":7}`, 2), 30*time.Second)
			var out string
			for _, o := range resp.GetOutputData() {
				if o.GetName() == "result" {
					out = o.GetData().GetString_()
				}
			}
			if resp.GetResult().GetStatus() != rpc.StatusResult_Success || out != `done: {"id":7} (attempt 2)` {
				t.Errorf("ProcessJob: %v, output %q", resp.GetResult(), out)
			}
			resp, _ = h.invoke(queueRequest(ids["ProcessJob"], "msg", "", 1), 30*time.Second)
			if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !contains(resp.GetResult().GetException().GetMessage(), "empty job message") {
				t.Errorf("ProcessJob with an empty message: %v", resp.GetResult())
			}

			// Many in flight at once on the pool of warm instances.
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 100 {
				req := httpRequest(ids["HttpHello"], "GET", "http://localhost:7071/api/hello/n", map[string]string{"name": fmt.Sprint(i)}, nil, nil, nil)
				h.sendInvocation(req)
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, _ := h.awaitResponse(req.InvocationId, 60*time.Second)
					if got, want := string(bodyBytes(outputHTTP(resp, "res"))), fmt.Sprintf("Hello, %d!", i); got != want {
						errs <- fmt.Errorf("invocation %d: body %q, want %q (%v)", i, got, want, resp.GetResult())
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// outputHTTP returns the HTTP output binding name of resp (nil if absent).
func outputHTTP(resp *rpc.InvocationResponse, name string) *rpc.RpcHttp {
	for _, o := range resp.GetOutputData() {
		if o.GetName() == name {
			return o.GetData().GetHttp()
		}
	}
	return nil
}

// bodyBytes returns an HTTP body's content whatever its TypedData case.
func bodyBytes(h *rpc.RpcHttp) []byte {
	b := h.GetBody()
	switch {
	case b.GetBytes() != nil:
		return b.GetBytes()
	case b.GetString_() != "":
		return []byte(b.GetString_())
	case b.GetJson() != "":
		return []byte(b.GetJson())
	}
	return nil
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestABIModuleBuiltAsCommand loads the Go ABI example built without
// -buildmode=c-shared: the load fails, by name, saying how to rebuild it,
// instead of every invocation trapping in the Go runtime.
func TestABIModuleBuiltAsCommand(t *testing.T) {
	app := t.TempDir()
	if err := os.CopyFS(app, os.DirFS(filepath.Join(abiApps, "go"))); err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmbuild.Go(filepath.Join("..", "..", "examples-wasm", "abi", "go"), wasmbuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "functions.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWorker(t, app)
	h.initWorker()
	_, resp := h.load("HttpHello")
	msg := resp.GetResult().GetException().GetMessage()
	if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "HttpHello") || !strings.Contains(msg, "-buildmode=c-shared") {
		t.Errorf("load: %v; want a failure naming the function and how to rebuild", resp.GetResult())
	}
}
