package worker

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func TestFunctionID(t *testing.T) {
	a := FunctionID("/apps/one", "Hello")
	if a != FunctionID("/apps/one/", "hello") || a != FunctionID("/apps/one", "HELLO") {
		t.Fatalf("ids differ by case or a trailing slash")
	}
	if a == FunctionID("/apps/two", "Hello") || a == FunctionID("/apps/one", "Hello2") {
		t.Fatalf("ids collide")
	}
	if len(a) != 36 || a[14] != '5' {
		t.Fatalf("id %q", a)
	}
}

func TestRetryOptions(t *testing.T) {
	if retryOptions(nil) != nil {
		t.Fatal("no retry policy gave options")
	}
	o := retryOptions(&funcapp.Retry{Strategy: funcapp.StrategyExponentialBackoff, MaxRetryCount: -1,
		MinimumInterval: time.Second, MaximumInterval: time.Minute})
	if o.RetryStrategy != rpc.RpcRetryOptions_exponential_backoff || o.MaxRetryCount != -1 ||
		o.MinimumInterval.AsDuration() != time.Second || o.MaximumInterval.AsDuration() != time.Minute || o.DelayInterval != nil {
		t.Fatalf("exponential: %v", o)
	}
}

func TestRawBindings(t *testing.T) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(`{"Bindings":[ {"type": "queueTrigger", "name":"msg"}, 7, "x", null, {"b":[1, 2]} ]}`), &raw); err != nil {
		t.Fatal(err)
	}
	got := rawBindings(raw)
	want := []string{`{"type":"queueTrigger","name":"msg"}`, `{"b":[1,2]}`}
	if !slices.Equal(got, want) {
		t.Fatalf("raw bindings %q, want %q", got, want)
	}
	if rawBindings(map[string]json.RawMessage{"bindings": json.RawMessage(`{}`)}) != nil {
		t.Fatal("bindings that are not an array gave raw bindings")
	}
}
