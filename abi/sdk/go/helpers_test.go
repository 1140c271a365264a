package wasmworker

import (
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

// recordHost records set_error and declare and refuses the rest.
type recordHost struct {
	noHost
	err      string
	declared []string
}

func (h *recordHost) SetError(msg string) int32 { h.err = msg; return 0 }
func (h *recordHost) Declare(b []byte) int32    { h.declared = append(h.declared, string(b)); return 0 }

// hostabiSwap installs h as the host for the rest of the test.
func hostabiSwap(t *testing.T, h hostabi.Host) {
	old := hostabi.Current
	hostabi.Current = h
	t.Cleanup(func() { hostabi.Current = old })
}

func mustDuration(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
