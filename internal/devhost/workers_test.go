package devhost

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWorkerBuildTagsLeaveOutTracing checks that WorkerBuildTags still do
// what they are for: a gRPC upgrade that renamed or dropped the tag would
// bring gRPC's request tracing (and html/template) back into the worker
// without a word.
func TestWorkerBuildTagsLeaveOutTracing(t *testing.T) {
	deps := func(args ...string) []string {
		t.Helper()
		cmd := exec.Command("go", append(append([]string{"list", "-deps"}, args...), "./cmd/wasmworker")...)
		cmd.Dir = moduleDir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s ./cmd/wasmworker: %v", strings.Join(args, " "), err)
		}
		return strings.Fields(string(out))
	}
	tagged := deps("-tags", WorkerBuildTags)
	for _, pkg := range []string{"golang.org/x/net/trace", "html/template"} {
		if slices.Contains(tagged, pkg) {
			t.Errorf("built with -tags %s, the worker still depends on %s", WorkerBuildTags, pkg)
		}
	}
	if !slices.Contains(tagged, "google.golang.org/grpc") {
		t.Fatalf("go list printed no gRPC among the worker's dependencies: %v", tagged)
	}
	if !slices.Contains(deps(), "golang.org/x/net/trace") {
		t.Logf("without -tags %s the worker no longer depends on golang.org/x/net/trace; the tag may be dropped", WorkerBuildTags)
	}
}

// TestBuiltWorkerHasTheTags checks that BuildWorker (wasmfunc start,
// wasmload, the tests) builds the worker with WorkerBuildTags.
func TestBuiltWorkerHasTheTags(t *testing.T) {
	info, err := buildinfo.ReadFile(filepath.Join(workersDir, "wasm", "wasmworker"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" {
			if s.Value != WorkerBuildTags {
				t.Errorf("the worker was built with -tags %q, want %q", s.Value, WorkerBuildTags)
			}
			return
		}
	}
	t.Errorf("the worker was built without -tags (want %q); its build settings: %v", WorkerBuildTags, info.Settings)
}
