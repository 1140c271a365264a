package abi

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/reset"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// TestIsolateResets runs every SDK's test guest, instrumented as the
// engine does (wasmbin.Options.Mark), on an isolating pool that resets
// instances: each invocation of "counter" must see a fresh instance's
// state (1), whether its instance is new or reset after an earlier one.
// The C, Rust and AssemblyScript guests' instances are reset and kept; the
// Go guest's are not, because its runtime seeds its random state in
// _initialize, which a reset would replay for every invocation.
func TestIsolateResets(t *testing.T) {
	for _, g := range sdkGuests {
		t.Run(g.lang, func(t *testing.T) {
			rt, cm := instrumented(t, g.build(t))
			ctx := context.Background()
			p := NewPool(rt, cm, PoolConfig{MaxInstances: 1, Isolate: true, ResetPrefix: testGuard})
			defer p.Close(ctx)
			for i := range 4 {
				inv := newInv(queueRequest(), queueBindings)
				if err := p.Invoke(ctx, "counter", inv); err != nil {
					t.Fatal(err)
				}
				if _, ret, _, _ := rpcResult(inv); ret.GetInt() != 1 {
					t.Fatalf("invocation %d: counter = %d, want 1 (an isolated invocation sees a fresh instance)", i, ret.GetInt())
				}
				if i == 1 { // a handled failure leaves an instance that is reset too
					if err := p.Invoke(ctx, "fail", newInv(queueRequest(), queueBindings)); !Reusable(err) {
						t.Fatalf("fail: %v", err)
					}
				}
			}
			want := 1
			if g.lang == "go" {
				want = 0 // its runtime draws randomness in _initialize: a reset would replay it
			}
			if p.Idle() != want {
				t.Errorf("%d instances kept after the invocations, want %d", p.Idle(), want)
			}
		})
	}
}

// testGuard names the guard module of instrumented test guests.
const testGuard = "test_guard"

// instrumented instruments wasm as the engine does (deadline guard, merged data and
// resets, fd_close tracked) and compiles it in a runtime without
// WithCloseOnContextDone that provides the guard's functions.
func instrumented(t testing.TB, wasm []byte) (wazero.Runtime, wazero.CompiledModule) {
	t.Helper()
	wasm, err := wasmbin.Instrument(wasm, wasmbin.Options{Interval: 1 << 14, Module: testGuard, Func: "yield", Mark: "mark", MergeData: true,
		Tracked: func(module, name string) bool { return module == "wasi_snapshot_preview1" && name == "fd_close" }})
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, false)
	ctx := context.Background()
	if _, err := rt.NewHostModuleBuilder(testGuard).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(context.Context, []uint64) {}), nil, nil).Export("yield").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, _ []uint64) { reset.Touch(ctx) }), nil, nil).Export("mark").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return rt, cm
}
