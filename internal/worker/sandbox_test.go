package worker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// TestSandboxSettings checks function.json's "wasmworker" settings end to
// end: listed app settings reach the guest and secrets do not, limits fail
// with messages naming themselves, and a typo fails the load.
func TestSandboxSettings(t *testing.T) {
	t.Setenv("GREETING", "hello")
	t.Setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountKey=secret")
	app := t.TempDir()
	if err := os.CopyFS(app, os.DirFS(testApp)); err != nil {
		t.Fatal(err)
	}
	variant := func(name, from, sandbox string) {
		t.Helper()
		dir := filepath.Join(app, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(app, from, "main.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		fj := `{"scriptFile":"main.wasm","bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"q"}],"wasmworker":` + sandbox + `}`
		if err := os.WriteFile(filepath.Join(dir, "main.wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(fj), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	variant("TinyMemory", "Echo", `{"memoryMB": 1}`)
	variant("Typo", "Echo", `{"memry": 64}`)
	variant("ShortSpin", "Spin", `{"timeout": "00:00:00.200"}`)
	variant("BadDir", "Echo", `{"dirs": [{"path": "no-such-dir", "mount": "/data"}]}`)
	variant("Quiet", "Chatty", `{"maxLogKB": 2}`)

	h := startWorker(t, app)
	h.initWorker()

	for _, c := range []struct{ fn, want string }{
		{"TinyMemory", "memory limit"},
		{"Typo", `unknown field "memry"`},
		{"BadDir", "does not exist"},
	} {
		_, resp := h.load(c.fn)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(resp.GetResult().GetException().GetMessage(), c.want) {
			t.Errorf("%s: load %v, want a failure mentioning %q", c.fn, resp.GetResult(), c.want)
		}
	}

	ids := h.mustLoad("Env", "ShortSpin", "Quiet", "Chatty")
	resp, _ := h.invoke(queueRequest(ids["Env"], "msg", "x", 1), 30*time.Second)
	if got := resp.GetReturnValue().GetString_(); got != "GREETING=hello" {
		t.Errorf("Env sees %q, want only GREETING=hello (listed and set; secrets never): %v", got, resp)
	}
	resp, _ = h.invoke(queueRequest(ids["ShortSpin"], "msg", "x", 1), 30*time.Second)
	if msg := resp.GetResult().GetException().GetMessage(); resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "200ms") {
		t.Errorf("ShortSpin: %v, want a failure naming its 200ms timeout", resp.GetResult())
	}
	resp, logs := h.invoke(queueRequest(ids["Quiet"], "msg", "x", 1), 30*time.Second)
	if msg := resp.GetResult().GetException().GetMessage(); resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "log limit of 2 KiB (2048 bytes of stderr)") {
		t.Errorf("Quiet: %v, want a failure naming its 2 KiB log limit", resp.GetResult())
	}
	if len(logs) == 0 || len(logs) > 21 {
		t.Errorf("Quiet forwarded %d log lines; want the ones that fit in 2 KiB", len(logs))
	}
	resp, logs = h.invoke(queueRequest(ids["Chatty"], "msg", "x", 1), 30*time.Second)
	lines := 0
	for _, l := range logs {
		if strings.HasSuffix(l.GetMessage(), strings.Repeat("z", 95)) {
			lines++
		}
	}
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success || lines != 100 {
		t.Errorf("Chatty under the default limit: %v with %d stderr lines, want success with 100", resp.GetResult(), lines)
	}
}
