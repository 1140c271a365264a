package worker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// TestArrayOutputIsChargedByElement runs a command-mode guest whose queue
// output is an array of N zeros (2 bytes each), under the default stdout
// limit of 16 MiB: each element, a message in the host, also counts 256
// bytes, so 60,000 elements (120 KB of JSON, 15.5 MB charged) pass and
// 70,000 (140 KB, 18 MB charged) fail with an OutputLimit naming the limit
// and the array; 200,000 fail the same.
func TestArrayOutputIsChargedByElement(t *testing.T) {
	h := startWorker(t, testApp)
	h.initWorker()
	id := h.mustLoad("ManyMessages")["ManyMessages"]
	for _, c := range []struct {
		n  int
		ok bool
	}{{3, true}, {60_000, true}, {70_000, false}, {200_000, false}} {
		resp, _ := h.invoke(queueRequest(id, "msg", fmt.Sprint(c.n), 1), time.Minute)
		res := resp.GetResult()
		if c.ok {
			var out string
			for _, o := range resp.GetOutputData() {
				if o.GetName() == "out" {
					out = o.GetData().GetJson()
				}
			}
			if res.GetStatus() != rpc.StatusResult_Success || strings.Count(out, "0") != c.n {
				t.Errorf("%d elements: %v with an output of %d bytes, want success with %d elements", c.n, res, len(out), c.n)
			}
			continue
		}
		want := fmt.Sprintf("stdout limit of 16 MiB (16777216 bytes) exceeded: output out is an array of %d elements; the host makes a message of each, so each counts 256 bytes", c.n)
		if ex := res.GetException(); res.GetStatus() != rpc.StatusResult_Failure || ex.GetType() != "Wasm:OutputLimit" || !strings.Contains(ex.GetMessage(), want) {
			t.Errorf("%d elements: %v, want an OutputLimit failure containing %q", c.n, res, want)
		}
		if len(resp.GetOutputData()) != 0 {
			t.Errorf("%d elements: outputs sent with the failure: %d", c.n, len(resp.GetOutputData()))
		}
	}
}
