package abi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

func TestCheckGoGuest(t *testing.T) {
	rt := newRuntime(t, false)
	_, info := compile(t, rt, goGuest(t))
	if info.Version != 1 || !info.Initialize {
		t.Errorf("info %+v", info)
	}
	// The guest's own exports, plus what the Go SDK exports for functions
	// declared in code (its dispatcher, named ww_*).
	var own []string
	for _, e := range info.EntryPoints {
		if !strings.HasPrefix(e, "ww_") {
			own = append(own, e)
		}
	}
	if got := strings.Join(own, ","); got != "counter,crash,fail,hello,inspect,queue,spin" {
		t.Errorf("entry points %v", info.EntryPoints)
	}
	if e, err := info.Entry("hello"); err != nil || e != "hello" {
		t.Errorf("Entry(hello) = %q, %v", e, err)
	}
	_, err := info.Entry("")
	if err == nil || !strings.Contains(err.Error(), `default "run"`) || !strings.Contains(err.Error(), "counter, crash") {
		t.Errorf("Entry(\"\") error: %v", err)
	}
}

func TestCheckRejects(t *testing.T) {
	void := testFunc{}
	entry := testFunc{results: []api.ValueType{i32}}
	version := testExport{"wasmworker_abi_version_1", void}
	logSig := testFunc{params: []api.ValueType{i32, i32, i32}, results: []api.ValueType{i32}}
	cases := []struct {
		name    string
		wasm    []byte
		want    string
		notABI  bool
		entries string
	}{
		{"no version", encodeModule(nil, []testExport{{"run", entry}}, true), "declares no wasmworker ABI version", true, ""},
		{"version 2", encodeModule(nil, []testExport{{"wasmworker_abi_version_2", void}, {"run", entry}}, true),
			"speaks wasmworker ABI version 2; this worker supports version 1 only", false, ""},
		{"no memory", encodeModule(nil, []testExport{version, {"run", entry}}, false), `exports no memory named "memory"`, false, ""},
		{"unknown import", encodeModule([]testImport{{"wasmworker", "teleport", void}}, []testExport{version}, true),
			"imports wasmworker.teleport, which ABI v1 does not define", false, ""},
		{"wrong signature", encodeModule([]testImport{{"wasmworker", "log", testFunc{params: []api.ValueType{i32, i32}}}}, []testExport{version}, true),
			"imports wasmworker.log as (i32, i32) -> (), but ABI v1 defines it as (i32, i32, i32) -> (i32)", false, ""},
		{"built as a command", encodeModule(nil, []testExport{version, {"_start", void}, {"run", entry}}, true),
			"built as a WASI command (it exports _start and no _initialize)", false, ""},
		{"env import", encodeModule([]testImport{{"env", "abort", void}}, []testExport{version}, true),
			"imports env.abort; only wasi_snapshot_preview1 and wasmworker are provided", false, ""},
		{"ok", encodeModule([]testImport{{"wasmworker", "log", logSig}}, []testExport{
			version, {"wasmworker_abi_version_7", void}, {"run", entry}, {"b", entry}, {"_hidden", entry},
			{"notentry", testFunc{params: []api.ValueType{i32}, results: []api.ValueType{i32}}}}, true), "", false, "b,run"},
	}
	rt := newRuntime(t, false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cm, err := rt.CompileModule(context.Background(), c.wasm)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			info, err := Check(cm)
			if c.want == "" {
				if err != nil || strings.Join(info.EntryPoints, ",") != c.entries || info.Version != 1 {
					t.Fatalf("Check = %+v, %v", info, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check error = %v, want it to contain %q", err, c.want)
			}
			if errors.Is(err, ErrNotABI) != c.notABI {
				t.Errorf("errors.Is(err, ErrNotABI) = %v", !c.notABI)
			}
		})
	}
}

// queueRequest is a queue-trigger invocation (docs/host-contract.md §4.4).
func queueRequest() *rpc.InvocationRequest {
	return &rpc.InvocationRequest{
		InvocationId: "inv-q",
		InputData:    []*rpc.ParameterBinding{{Name: "msg", RpcData: &rpc.ParameterBinding_Data{Data: tdString(`{"id":7,"kind":"x"}`)}}},
		TriggerMetadata: map[string]*rpc.TypedData{
			"DequeueCount": tdJSON("1"),
			"Id":           tdString("m1"),
		},
	}
}

var queueBindings = []invocation.Binding{
	{Name: "msg", Type: "queueTrigger", Direction: "in"},
	{Name: "out", Type: "queue", Direction: "out"},
	{Name: "report", Type: "blob", Direction: "out"},
	{Name: "$return", Type: "queue", Direction: "out"},
}

// checkHello asserts the response of a guest's HTTP entry point (every SDK's
// hello test function answers the same).
func checkHello(t *testing.T, inv *Invocation, wantBody string) {
	t.Helper()
	outs, ret, logs, err := rpcResult(inv)
	if err != nil {
		t.Fatalf("invocation failed: %v (logs %v)", err, logs)
	}
	if ret != nil || len(outs) != 1 || outs[0].Name != "res" {
		t.Fatalf("outputs %v, return %v", outs, ret)
	}
	r := outs[0].GetData().GetHttp()
	if r.GetStatusCode() != "201" || r.GetHeaders()["content-type"] != "text/plain" || r.GetBody().GetString_() != wantBody {
		t.Errorf("response: status %q headers %v body %v", r.GetStatusCode(), r.GetHeaders(), r.GetBody())
	}
	if len(r.GetCookies()) != 1 || r.Cookies[0].Name != "seen" || !r.Cookies[0].HttpOnly.GetValue() || r.Cookies[0].SameSite != rpc.RpcHttpCookie_Lax {
		t.Errorf("cookies %v", r.GetCookies())
	}
	if len(logs) != 1 || logs[0].Level != rpc.RpcLog_Information || !strings.HasPrefix(logs[0].Message, "greeting ") {
		t.Errorf("logs %v", logs)
	}
}

func TestGoGuestHTTP(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{})
	defer p.Close(context.Background())
	inv := newInv(httpRequest(), httpBindings)
	if err := p.Invoke(context.Background(), "hello", inv); err != nil {
		t.Fatal(err)
	}
	checkHello(t, inv, "Hello, Azure (POST)")
}

func TestGoGuestQueue(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{})
	defer p.Close(context.Background())
	inv := newInv(queueRequest(), queueBindings)
	if err := p.Invoke(context.Background(), "queue", inv); err != nil {
		t.Fatal(err)
	}
	outs, ret, _, _ := rpcResult(inv)
	if len(outs) != 1 || outs[0].Name != "out" || outs[0].GetData().GetString_() != `{"ID":7,"KIND":"X"}` {
		t.Errorf("outputs %v", outs)
	}
	if ret.GetJson() != `{"dequeueCount":1}` {
		t.Errorf("return %v", ret)
	}
}

func TestGoGuestInspect(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{})
	defer p.Close(context.Background())
	req := queueRequest()
	req.InputData = append(req.InputData,
		&rpc.ParameterBinding{Name: "list", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionString{CollectionString: &rpc.CollectionString{String_: []string{"a", "b"}}}}}},
		&rpc.ParameterBinding{Name: "n", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_Int{Int: 42}}}},
		&rpc.ParameterBinding{Name: "big", RpcData: &rpc.ParameterBinding_Data{Data: tdString(strings.Repeat("y", 5000))}},
	)
	inv := newInv(req, queueBindings)
	if err := p.Invoke(context.Background(), "inspect", inv); err != nil {
		t.Fatal(err)
	}
	outs, _, _, _ := rpcResult(inv)
	got := map[string]string{}
	for _, o := range outs {
		got[o.Name] = o.GetData().GetString_()
	}
	if len(got["out"]) != 10000 {
		t.Errorf("out has %d bytes", len(got["out"]))
	}
	want := "id=inv-q inputs=[big list msg n] meta=[DequeueCount Id] headers=[]\n" +
		"big type=1 len=5000 value=" + strings.Repeat("y", 5000) + "\n" +
		"list type=9 len=2 [1]=a [1]=b\n" +
		`msg type=1 len=19 value={"id":7,"kind":"x"}` + "\n" +
		"n type=6 len=8 value=42\n"
	if got["report"] != want {
		t.Errorf("report:\n%s\nwant:\n%s", got["report"], want)
	}
}

func TestGoGuestFailureKeepsInstance(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{MaxInstances: 1})
	defer p.Close(context.Background())
	counter := func() int64 {
		t.Helper()
		inv := newInv(queueRequest(), queueBindings)
		if err := p.Invoke(context.Background(), "counter", inv); err != nil {
			t.Fatal(err)
		}
		_, ret, _, _ := rpcResult(inv)
		return ret.GetInt()
	}
	if n := counter(); n != 1 {
		t.Fatalf("first counter %d", n)
	}
	inv := newInv(queueRequest(), queueBindings)
	err := p.Invoke(context.Background(), "fail", inv)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != "bad input: no name" || fe.Status != 1 || !Reusable(err) {
		t.Fatalf("fail: %v", err)
	}
	outs, _, logs, _ := rpcResult(inv)
	if outs != nil {
		t.Errorf("outputs of a failed invocation: %v", outs)
	}
	var msgs []string
	for _, l := range logs {
		msgs = append(msgs, fmt.Sprintf("%v:%s", l.Level, l.Message))
	}
	if got := strings.Join(msgs, "|"); got != "Warning:about to fail|Information:a line on stdout|Information:partial stderr" {
		t.Errorf("logs %s", got)
	}
	if n := counter(); n != 2 {
		t.Errorf("counter after a handled failure = %d, want 2 (same instance)", n)
	}

	// A trap discards the instance: the next counter starts again at 1.
	inv = newInv(queueRequest(), queueBindings)
	err = p.Invoke(context.Background(), "crash", inv)
	var ce *CallError
	if !errors.As(err, &ce) || Reusable(err) || !strings.Contains(err.Error(), "entry point crash failed") {
		t.Fatalf("crash: %v", err)
	}
	if _, _, _, rerr := rpcResult(inv); rerr != err {
		t.Errorf("Result error %v, want the call's", rerr)
	}
	if n := counter(); n != 1 {
		t.Errorf("counter after a trap = %d, want 1 (fresh instance)", n)
	}
}

func TestPoolIsolate(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{Isolate: true})
	defer p.Close(context.Background())
	for i := 0; i < 3; i++ {
		inv := newInv(queueRequest(), queueBindings)
		if err := p.Invoke(context.Background(), "counter", inv); err != nil {
			t.Fatal(err)
		}
		if _, ret, _, _ := rpcResult(inv); ret.GetInt() != 1 {
			t.Errorf("isolated counter = %d, want 1", ret.GetInt())
		}
	}
}

func TestDeadlineStopsGuest(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{MaxInstances: 1})
	defer p.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	inv := newInv(queueRequest(), queueBindings)
	err := p.Invoke(ctx, "spin", inv)
	if !errors.Is(err, context.DeadlineExceeded) || Reusable(err) {
		t.Fatalf("spin: %v", err)
	}
	// The pool still works (with a new instance).
	inv = newInv(queueRequest(), queueBindings)
	if err := p.Invoke(context.Background(), "counter", inv); err != nil {
		t.Fatal(err)
	}
	if _, ret, _, _ := rpcResult(inv); ret.GetInt() != 1 {
		t.Errorf("counter after a timeout = %d", ret.GetInt())
	}
}

func TestImportsOutsideInvocation(t *testing.T) {
	rt := newRuntime(t, false)
	cm, _ := compile(t, rt, goGuest(t))
	ctx := context.Background()
	mod, err := rt.InstantiateModule(ctx, cm, ModuleConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	// Called without an Invocation in the context: the SDK's SetOutputInt
	// gets NO_INVOCATION, so the entry point fails with status 1.
	res, err := mod.ExportedFunction("counter").Call(ctx)
	if err != nil || api.DecodeI32(res[0]) != 1 {
		t.Errorf("counter without invocation = %v, %v", res, err)
	}
	// Call refuses an Invocation that already ran, and unknown entries.
	inv := newInv(queueRequest(), queueBindings)
	if err := Call(ctx, mod, "counter", inv); err != nil {
		t.Fatal(err)
	}
	if err := Call(ctx, mod, "counter", inv); err == nil || !strings.Contains(err.Error(), "already ran") {
		t.Errorf("second Call: %v", err)
	}
	if err := Call(ctx, mod, "nope", newInv(queueRequest(), nil)); err == nil || !strings.Contains(err.Error(), "no such function") {
		t.Errorf("unknown entry: %v", err)
	}
	if err := Call(ctx, mod, "wasmworker_abi_version_1", newInv(queueRequest(), nil)); err == nil || !strings.Contains(err.Error(), "() -> (i32)") {
		t.Errorf("wrong type: %v", err)
	}
}

func TestPoolConcurrent(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	p := NewPool(rt, cm, PoolConfig{MaxInstances: 4})
	defer p.Close(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := httpRequest()
			req.InputData[0].GetData().GetHttp().NullableQuery["name"] = ns(fmt.Sprint("n", i))
			inv := newInv(req, httpBindings)
			if err := p.Invoke(context.Background(), "hello", inv); err != nil {
				errs <- err
				return
			}
			outs, _, _, _ := rpcResult(inv)
			if got, want := outs[0].GetData().GetHttp().GetBody().GetString_(), fmt.Sprintf("Hello, n%d (POST)", i); got != want {
				errs <- fmt.Errorf("got %q, want %q", got, want)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
