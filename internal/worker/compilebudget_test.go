package worker_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// TestCompileBudget sets the app setting WASMWORKER_COMPILE_TIMEOUT to 1 ms
// (by an environment reload, after a healthy function has loaded) and loads
// a Go module no compilation cache knows, which takes seconds to compile:
// its load fails naming the budget and the setting, while the healthy
// function answers invocations sent alongside and after it (the compile
// goes on in the background). A setting that is no duration fails a load
// naming it; a budget in seconds lets the module load.
func TestCompileBudget(t *testing.T) {
	app := t.TempDir()
	if err := os.CopyFS(app, os.DirFS(testApp)); err != nil {
		t.Fatal(err)
	}
	// Slow: Echo's module made unique by a custom section of random bytes.
	bin, err := os.ReadFile(filepath.Join(app, "Echo", "main.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	bin = wasmbin.AppendSection(bin, wasmbin.SectionCustom, append([]byte{5, 'n', 'o', 'n', 'c', 'e'}, nonce...))
	writeFile(t, filepath.Join(app, "Slow", "main.wasm"), string(bin))
	fj, err := os.ReadFile(filepath.Join(app, "Echo", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(app, "Slow", "function.json"), string(fj))

	h := startWorker(t, app)
	h.initWorker()
	ids := h.mustLoad("Echo")
	echo := func(id string) {
		t.Helper()
		resp, _ := h.invoke(httpRequest(ids["Echo"], "GET", "http://localhost/api/echo/"+id, map[string]string{"id": id}, nil, nil, nil), time.Minute)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			t.Errorf("healthy invocation %s: %v", id, resp.GetResult())
		}
	}
	setBudget := func(v string) {
		t.Helper()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		env["WASMWORKER_COMPILE_TIMEOUT"] = v
		h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionEnvironmentReloadRequest{
			FunctionEnvironmentReloadRequest: &rpc.FunctionEnvironmentReloadRequest{EnvironmentVariables: env, FunctionAppDirectory: app}}})
		m := h.await("FunctionEnvironmentReloadResponse", 10*time.Second, func(m *rpc.StreamingMessage) bool {
			return m.GetFunctionEnvironmentReloadResponse() != nil
		})
		if r := m.GetFunctionEnvironmentReloadResponse().GetResult(); r.GetStatus() != rpc.StatusResult_Success {
			t.Fatalf("reload: %v", r)
		}
	}

	setBudget("1ms")
	req := loadRequest(t, app, "Slow")
	h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: req}})
	echo("alongside")
	m := h.await("FunctionLoadResponse for Slow", time.Minute, func(m *rpc.StreamingMessage) bool {
		return m.GetFunctionLoadResponse().GetFunctionId() == req.FunctionId
	})
	res := m.GetFunctionLoadResponse().GetResult()
	want := "took longer than the compile budget of 1ms (app setting WASMWORKER_COMPILE_TIMEOUT)"
	if res.GetStatus() != rpc.StatusResult_Failure || !strings.Contains(res.GetException().GetMessage(), want) {
		t.Fatalf("Slow's load: %v; want a failure containing %q", res, want)
	}
	echo("after")
	resp, _ := h.invoke(queueRequest(req.FunctionId, "msg", "x", 1), time.Minute)
	if ex := resp.GetResult().GetException(); ex.GetType() != "FunctionLoadError" || !strings.Contains(ex.GetMessage(), want) {
		t.Errorf("invoking Slow: %v, want its load failure", resp.GetResult())
	}

	setBudget("soon")
	_, lr := h.load("Slow")
	if msg := lr.GetResult().GetException().GetMessage(); !strings.Contains(msg, `app setting WASMWORKER_COMPILE_TIMEOUT="soon" is not a duration`) {
		t.Errorf("load under a bad setting: %v", lr.GetResult())
	}

	setBudget("300")
	h.mustLoad("Slow")
	echo("last")
}
