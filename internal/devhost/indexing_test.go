package devhost

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// TestFromMetadata checks what the local host makes of a worker's
// FunctionMetadataResponse: the host's validation per function, failures by
// name, and the metadata kept for the loads.
func TestFromMetadata(t *testing.T) {
	app := t.TempDir()
	module := app + "/app.wasm"
	httpIn := `{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"hi"}`
	httpOut := `{"type":"http","direction":"out","name":"res"}`
	md := func(name, id string, bindings ...string) *rpc.RpcFunctionMetadata {
		return &rpc.RpcFunctionMetadata{Name: name, FunctionId: id, Directory: app, ScriptFile: module, EntryPoint: "run", RawBindings: bindings}
	}
	good := md("Hello", "id-1", httpIn, httpOut)
	good.RetryOptions = &rpc.RpcRetryOptions{RetryStrategy: rpc.RpcRetryOptions_fixed_delay, MaxRetryCount: 3, DelayInterval: durationpb.New(1500 * time.Millisecond)}
	disabled := md("Off", "id-2", httpIn, httpOut)
	disabled.Properties = map[string]string{"IsDisabled": "True"}
	failedStatus := md("Declared", "id-3", httpIn)
	failedStatus.Status = &rpc.StatusResult{Status: rpc.StatusResult_Failure, Exception: &rpc.RpcException{Message: `app.wasm: function "Declared": entry point "nope" is not exported`}}
	noScript := md("NoScript", "id-4", httpIn, httpOut)
	noScript.ScriptFile = ""
	resp := &rpc.FunctionMetadataResponse{
		Result: &rpc.StatusResult{Status: rpc.StatusResult_Failure, Exception: &rpc.RpcException{Message: "module other.wasm: trap"}},
		FunctionMetadataResults: []*rpc.RpcFunctionMetadata{
			good,
			disabled,
			failedStatus,
			noScript,
			md("BadName!", "id-5", httpIn, httpOut),
			md("ReturnIn", "id-6", httpIn, `{"type":"http","direction":"in","name":"$return"}`),
			md("TwoTriggers", "id-7", httpIn, `{"type":"queueTrigger","direction":"in","name":"msg","queueName":"q"}`),
			md("DupBinding", "id-8", httpIn, `{"type":"http","direction":"out","name":"REQ"}`),
			md("NoBindings", "id-9"),
			md("hello", "id-10", httpIn, httpOut),      // the name again, in another case
			md("SameID", "id-1", httpIn, httpOut),      // an id already given
			md("NotJSON", "id-11", httpIn, `{"type":`), // a raw binding that is not JSON
		},
	}
	ix := fromMetadata(resp)
	if ix.overall != "module other.wasm: trap" {
		t.Errorf("overall = %q", ix.overall)
	}
	if len(ix.fns) != 2 || ix.fns[0].Name != "Hello" || ix.fns[1].Name != "Off" {
		t.Fatalf("functions = %v, want Hello and Off", names(ix.fns))
	}
	h := ix.fns[0]
	if ix.ids[h].ID != "id-1" || ix.ids[ix.fns[1]].ID != "id-2" || ix.ids[ix.fns[1]].Properties["IsDisabled"] != "True" {
		t.Errorf("ids = %v", ix.ids)
	}
	if h.Dir != app || h.ScriptFile != module || h.EntryPoint != "run" || len(h.Bindings) != 2 || h.Disabled {
		t.Errorf("Hello = %+v", h)
	}
	if h.Retry == nil || h.Retry.Strategy != funcapp.StrategyFixedDelay || h.Retry.MaxRetryCount != 3 || h.Retry.DelayInterval != 1500*time.Millisecond {
		t.Errorf("Hello retry = %+v", h.Retry)
	}
	if !ix.fns[1].Disabled {
		t.Error("Off is not disabled")
	}
	want := map[string]string{
		"Declared":    `entry point "nope" is not exported`,
		"NoScript":    "Unable to determine the primary function script",
		"BadName!":    "not a valid function name",
		"ReturnIn":    "$return",
		"TwoTriggers": "2 trigger bindings",
		"DupBinding":  "binding names must be unique",
		"NoBindings":  "at least one binding",
		"SameID":      "id-1, already the id of Hello",
		"NotJSON":     "raw binding 2 is not JSON",
	}
	got := map[string]string{}
	for _, e := range ix.failed {
		if e.Name == "" {
			if !strings.Contains(e.Error(), "indexed function hello twice") {
				t.Errorf("unnamed failure %q", e)
			}
			continue
		}
		got[e.Name] = e.Error()
		if !strings.Contains(e.Error(), e.Name) {
			t.Errorf("%s: the message %q does not name the function", e.Name, e)
		}
	}
	for name, part := range want {
		if !strings.Contains(got[name], part) {
			t.Errorf("%s: failure %q, want it to say %q", name, got[name], part)
		}
	}
	if len(got) != len(want) {
		t.Errorf("failures %v, want %d", got, len(want))
	}
}

func names(fns []*funcapp.Function) []string {
	var out []string
	for _, f := range fns {
		out = append(out, f.Name)
	}
	return out
}

// TestTimeSpan checks that retry intervals cross back into function.json
// syntax exactly.
func TestTimeSpan(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 1500 * time.Millisecond, 26*time.Hour + 3*time.Second + 100, -5 * time.Second} {
		s := timeSpan(d)
		back, err := funcapp.ParseTimeSpan(s)
		if err != nil || back != d {
			t.Errorf("timeSpan(%v) = %q, parsed back %v, %v", d, s, back, err)
		}
	}
}

// TestModuleNames checks which modules a failed indexing result names (the
// worker's own lines about them are then shown as Debug).
func TestModuleNames(t *testing.T) {
	msg := `indexing the function app /x/app: app module trap.wasm failed to declare its functions: wasm module /x/app/trap.wasm: trap; declaration 2 of "b-2.wasm": not JSON`
	got := moduleNames(msg)
	if strings.Join(got, ",") != "trap.wasm,b-2.wasm" {
		t.Errorf("moduleNames = %q", got)
	}
	f := indexFailures{functions: []string{"Broken"}, modules: got}
	for line, want := range map[string]bool{
		`level=ERROR msg="app module failed" module=/x/app/trap.wasm`: true,
		`app.wasm: function "Broken": no trigger binding`:             true,
		`level=WARN msg="listed as failed" function=Broken err=x`:     true,
		`function "Hello" failed to load`:                             false,
		`function=BrokenToo`:                                          false,
	} {
		if f.about(line) != want {
			t.Errorf("about(%q) = %v, want %v", line, !want, want)
		}
	}
}
