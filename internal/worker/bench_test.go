package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/fnhost"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// BenchmarkHTTPInvocation measures one HTTP invocation of the example
// HttpHello function (a Go command-mode guest: fresh instance, JSON on
// stdin/stdout) through the real path: fnhost.Worker sends the
// InvocationRequest over loopback gRPC to the worker process built from
// cmd/wasmworker, which runs the guest and answers.
//
//	go test -run '^$' -bench HTTPInvocation -benchtime 3s ./worker/
//
// "serial" is one invocation in flight (its ns/op is the latency); "c64"
// keeps 64 in flight (ns/op is the inverse of the throughput).
func BenchmarkHTTPInvocation(b *testing.B) {
	cfg, err := fnhost.FindWorker(workersDir, "wasm")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	w, err := fnhost.StartWorker(ctx, fnhost.WorkerOptions{StartOptions: fnhost.StartOptions{Config: cfg, AppDir: exampleApp}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Terminate(5 * time.Second)
	fn, err := funcapp.LoadFunction(filepath.Join(exampleApp, "HttpHello"))
	if err != nil {
		b.Fatal(err)
	}
	loaded, err := w.Load(ctx, []*funcapp.Function{fn})
	if err != nil {
		b.Fatal(err)
	}
	if loaded[0].Err != nil {
		b.Fatal(loaded[0].Err)
	}
	id := loaded[0].ID
	invoke := func() error {
		req := httpRequest(id, "GET", "http://localhost:7071/api/hello/Ada?greeting=Hi",
			map[string]string{"name": "Ada"}, map[string]string{"greeting": "Hi"}, nil, nil)
		req.InvocationId = fnhost.NewInvocationID()
		resp, err := w.Invoke(ctx, req, nil)
		if err != nil {
			return err
		}
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
			return fmt.Errorf("invocation failed: %v", resp.GetResult())
		}
		return nil
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := invoke(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c64", func(b *testing.B) {
		b.SetParallelism(32) // 2 cores × 32 = 64 callers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := invoke(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
