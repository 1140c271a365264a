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
	variant("BadQuota", "Echo", `{"dirs": [{"path": ".", "mount": "/data", "writable": true, "maxWriteMB": -1}]}`)
	variant("Quiet", "Chatty", `{"maxLogKB": 2}`)
	variant("QuietArray", "LogsArray", `{"maxLogKB": 64}`)

	h := startWorker(t, app)
	h.initWorker()

	for _, c := range []struct{ fn, want string }{
		{"TinyMemory", "memory limit"},
		{"Typo", `unknown field "memry"`},
		{"BadDir", "does not exist"},
		{"BadQuota", "maxWriteMB -1 is negative"},
	} {
		_, resp := h.load(c.fn)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(resp.GetResult().GetException().GetMessage(), c.want) {
			t.Errorf("%s: load %v, want a failure mentioning %q", c.fn, resp.GetResult(), c.want)
		}
	}

	ids := h.mustLoad("Env", "ShortSpin", "Quiet", "Chatty", "QuietArray")
	resp, _ := h.invoke(queueRequest(ids["Env"], "msg", "x", 1), 30*time.Second)
	if got := resp.GetReturnValue().GetString_(); got != "GREETING=hello" {
		t.Errorf("Env sees %q, want only GREETING=hello (listed and set; secrets never): %v", got, resp)
	}
	resp, _ = h.invoke(queueRequest(ids["ShortSpin"], "msg", "x", 1), 30*time.Second)
	// A function.json timeout is a deadline like functionTimeout's, stated once.
	if ex := resp.GetResult().GetException(); resp.GetResult().GetStatus() != rpc.StatusResult_Failure || ex.GetType() != "Wasm:DeadlineExceeded" ||
		!strings.Contains(ex.GetMessage(), "200ms") || strings.Count(ex.GetMessage(), "Timeout limit of 200ms") > 1 {
		t.Errorf("ShortSpin: %v, want a DeadlineExceeded failure naming its 200ms timeout once", resp.GetResult())
	}
	// A "Logs" array shares the log budget with stderr, entries charged by
	// what they cost: 200,000 tiny entries do not pass 64 KiB.
	resp, logs := h.invoke(queueRequest(ids["QuietArray"], "msg", "x", 1), 30*time.Second)
	if ex := resp.GetResult().GetException(); ex.GetType() != "Wasm:LogLimit" || !strings.Contains(ex.GetMessage(), "log limit of 64 KiB") || len(logs) > 64<<10/65 {
		t.Errorf("QuietArray: %v with %d logs, want a LogLimit failure naming 64 KiB after at most %d logs", resp.GetResult(), len(logs), 64<<10/65)
	}
	resp, logs = h.invoke(queueRequest(ids["Quiet"], "msg", "x", 1), 30*time.Second)
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
