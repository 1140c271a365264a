package devhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/devhost/storage"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func TestReadQueueOptions(t *testing.T) {
	host := func(queues string) *funcapp.HostConfig {
		raw := map[string]json.RawMessage{}
		if queues != "" {
			raw["extensions"] = json.RawMessage(`{"queues":` + queues + `}`)
		}
		return &funcapp.HostConfig{Raw: raw}
	}
	o, err := readQueueOptions(host(""))
	if err != nil {
		t.Fatal(err)
	}
	if o.BatchSize != 16 || o.MaxDequeueCount != 5 || o.VisibilityTimeout != 0 || o.MaxPollingInterval != 2*time.Second ||
		o.MessageEncoding != storage.EncodingBase64 || o.threshold() != 8*runtime.NumCPU() {
		t.Errorf("defaults = %+v (threshold %d)", o, o.threshold())
	}
	o, err = readQueueOptions(host(`{"batchSize":4,"newBatchThreshold":0,"maxDequeueCount":2,"visibilityTimeout":"00:00:03","maxPollingInterval":"00:00:10","messageEncoding":"None"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.BatchSize != 4 || o.threshold() != 0 || o.MaxDequeueCount != 2 || o.VisibilityTimeout != 3*time.Second ||
		o.MaxPollingInterval != 10*time.Second || o.MessageEncoding != storage.EncodingNone {
		t.Errorf("parsed = %+v", o)
	}
	for _, bad := range []string{`{"batchSize":33}`, `{"maxPollingInterval":"00:00:00.05"}`, `{"messageEncoding":"utf8"}`, `{"newBatchThreshold":-2}`, `{"visibilityTimeout":3}`} {
		if _, err := readQueueOptions(host(bad)); err == nil {
			t.Errorf("readQueueOptions(%s) succeeded", bad)
		}
	}
}

// TestBackoff: the polling delay grows from 100 ms towards the maximum,
// about doubling its increment each time, and restarts after a message.
func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	if d := b.next(false); d != 100*time.Millisecond {
		t.Errorf("first delay = %s", d)
	}
	prev := 100 * time.Millisecond
	for i := 0; i < 10; i++ {
		d := b.next(false)
		if d < prev || d > 2*time.Second {
			t.Fatalf("delay %d = %s after %s", i, d, prev)
		}
		prev = d
	}
	if prev != 2*time.Second {
		t.Errorf("the delay settles at %s, want the maximum", prev)
	}
	if d := b.next(true); d != 100*time.Millisecond {
		t.Errorf("delay after a message = %s", d)
	}
}

func TestBlobTriggerMetadata(t *testing.T) {
	f := &function{Function: &funcapp.Function{Name: "OnDoc"}, trigger: &funcapp.Binding{Name: "doc"}}
	info := storage.BlobInfo{Container: "docs", Name: "a/b.txt", URL: "http://x/docs/a/b.txt", ETag: "0x1",
		ContentLength: 2, ContentMD5: []byte{1, 2}, LastModified: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Metadata: map[string]string{"k": "v"}}
	trig, md := blobTrigger(f, []byte{0xff, 'x'}, info, map[string]string{"name": "a/b", "Uri": "from-path"})
	if trig.GetBytes() == nil {
		t.Errorf("without dataType the trigger is %T, want bytes", trig.GetData())
	}
	if md["BlobTrigger"].GetString_() != "docs/a/b.txt" || md["name"].GetString_() != "a/b" {
		t.Errorf("BlobTrigger %v, name %v", md["BlobTrigger"], md["name"])
	}
	if md["Uri"].GetString_() != "from-path" {
		t.Errorf("a path parameter must win over the built-in Uri: %v", md["Uri"])
	}
	if md["Metadata"].GetJson() != `{"k":"v"}` {
		t.Errorf("Metadata = %v", md["Metadata"])
	}
	var props map[string]any
	if err := json.Unmarshal([]byte(md["Properties"].GetJson()), &props); err != nil {
		t.Fatal(err)
	}
	if props["ContentLength"] != 2.0 || props["ETag"] != "0x1" || props["ContentHash"] != "AQI=" || props["LastModified"] != "2024-01-02T03:04:05+00:00" || props["ContentType"] != nil {
		t.Errorf("Properties = %v", props)
	}
	f.trigger.DataType = "string"
	if trig, _ := blobTrigger(f, []byte{0xff, 'x'}, info, nil); trig.GetString_() != "\uFFFDx" {
		t.Errorf("dataType string gives %v", trig)
	}
}

func TestBlobContent(t *testing.T) {
	for _, c := range []struct {
		in   *rpc.TypedData
		want string
	}{
		{&rpc.TypedData{Data: &rpc.TypedData_String_{String_: "s"}}, "s"},
		{&rpc.TypedData{Data: &rpc.TypedData_Bytes{Bytes: []byte{1}}}, "\x01"},
		{&rpc.TypedData{Data: &rpc.TypedData_Json{Json: `"quoted"`}}, "quoted"},
		{&rpc.TypedData{Data: &rpc.TypedData_Json{Json: `{"a":1}`}}, `{"a":1}`},
		{&rpc.TypedData{Data: &rpc.TypedData_Int{Int: 7}}, "7"},
	} {
		got, err := blobContent(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("blobContent(%v) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := blobContent(&rpc.TypedData{Data: &rpc.TypedData_Json{Json: `{`}}); err == nil {
		t.Error("invalid JSON became a blob")
	}
}

func TestCheckStorageBindings(t *testing.T) {
	lookup := envLookup([]string{"AzureWebJobsStorage=UseDevelopmentStorage=true", "Same=UseDevelopmentStorage=true", "Other=AccountName=x;AccountKey=y", "Folder=out"})
	dir := filepath.Join(t.TempDir(), "F")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.wasm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(bindings string) *funcapp.Function {
		fn, err := funcapp.ParseFunction(dir, []byte(`{"scriptFile":"main.wasm","bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"q"},`+bindings+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		return fn
	}
	for _, ok := range []string{
		`{"type":"blob","direction":"out","name":"o","path":"%Folder%/{queueTrigger}.txt"}`,
		`{"type":"blob","direction":"in","name":"i","path":"inputs/x","connection":"Same"}`,
	} {
		if err := checkStorageBindings(parse(ok), lookup); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		`{"type":"blob","direction":"out","name":"o","path":"nocontainer"}`,
		`{"type":"blob","direction":"out","name":"o","path":"out/{unclosed"}`,
		`{"type":"blob","direction":"out","name":"o","path":"%Missing%/x"}`,
		`{"type":"queue","direction":"out","name":"o","queueName":"q2","connection":"Other"}`,
	} {
		if err := checkStorageBindings(parse(bad), lookup); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}
