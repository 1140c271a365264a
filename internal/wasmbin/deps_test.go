package wasmbin

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStdlibOnly keeps the package about the binary format alone: it
// imports the standard library only, wazero least of all.
func TestStdlibOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && !strings.HasSuffix(dep, "/internal/wasmbin") {
			t.Errorf("wasmbin depends on %s, outside the standard library", dep)
		}
	}
}
