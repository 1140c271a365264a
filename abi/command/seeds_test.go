package command

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wasmworker/wasmworker/proto/rpc"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// TestFuzzSeeds keeps the checked-in seed corpora in step with the examples:
// with -write-seeds it rewrites them; otherwise it checks they exist.
func TestFuzzSeeds(t *testing.T) {
	var reqs [][]byte
	for _, r := range []*rpc.InvocationRequest{httpRequest43(), queueRequest44(), timerRequest(), {
		InputData: []*rpc.ParameterBinding{
			{Name: "a", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionDouble{CollectionDouble: &rpc.CollectionDouble{Double: []float64{1, 2.5}}}}}},
			{Name: "b", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_ModelBindingData{ModelBindingData: &rpc.ModelBindingData{Version: "1", Content: []byte{1}}}}}},
			{Name: "c", RpcData: &rpc.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpc.RpcSharedMemory{Name: "m"}}},
		},
		RetryContext: &rpc.RetryContext{RetryCount: 1, Exception: &rpc.RpcException{Message: "x"}},
	}} {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, b)
	}
	stdouts := [][]byte{
		[]byte(`{"Outputs":{"res":{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"hello world"}},"Logs":["said hello"],"ReturnValue":null}`),
		[]byte(`{"returnValue":"done"}`),
		[]byte(`{"Outputs":{"out":12345678901234567890,"img":"aGk=","state":{"a":[true,null]}},"Logs":[1,"x",null]}`),
		[]byte(`{"Outputs":{"res":{"cookies":[{"name":"b","value":"2","domain":"d","path":"/","expires":"2025-01-02T15:04:05Z","secure":true,"httpOnly":false,"sameSite":"None","maxAge":3600}]}}}`),
		[]byte(`{"Outputs":{"res":"{\"statusCode\":\"404\",\"body\":[1]}"}}`),
		[]byte("\ufeff {} \n"),
		[]byte(`{"Outputs":{"res":{"headers":{"x":null}}}}`),
		[]byte("hello\xff"),
		[]byte(`{} {}`),
	}
	corpora := map[string][][]byte{"FuzzEncodeRequest": reqs, "FuzzDecodeResponse": stdouts}
	for name, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", name)
		for i, s := range seeds {
			path := filepath.Join(dir, fmt.Sprintf("seed%02d", i+1))
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if *writeSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestFuzzSeeds -write-seeds)", err)
			}
			if string(got) != content {
				t.Errorf("%s is stale (run go test -run TestFuzzSeeds -write-seeds)", path)
			}
		}
	}
}
