package abi

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

func TestDeclareCodes(t *testing.T) {
	d := &Declarations{}
	for _, tc := range []struct {
		in   string
		want int32
	}{
		{`{"name":"A"}`, 0},
		{" \n{\"name\":\"B\"}\t", 0},
		{`{}`, 0},
		{``, ErrBadJSON},
		{`   `, ErrBadJSON},
		{`[{"name":"A"}]`, ErrBadJSON},
		{`"x"`, ErrBadJSON},
		{`null`, ErrBadJSON},
		{`{"name":`, ErrBadJSON},
		{`{"a":1}{"b":2}`, ErrBadJSON},
		{"{\"a\":\"\xff\"}", ErrBadUTF8},
		{`{"a":"` + strings.Repeat("x", MaxDeclarationBytes) + `"}`, ErrLimit},
	} {
		if got := d.declare([]byte(tc.in)); got != tc.want {
			t.Errorf("declare(%.40q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := d.List(); len(got) != 3 || string(got[1]) != `{"name":"B"}` {
		t.Fatalf("list = %q", got)
	}
	exact := append(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), MaxDeclarationBytes-8)...), '"', '}')
	if len(exact) != MaxDeclarationBytes || d.declare(exact) != 0 {
		t.Fatalf("a declaration of exactly %d bytes was refused", len(exact))
	}
	for len(d.List()) < MaxDeclarations {
		if code := d.declare([]byte(`{}`)); code != 0 {
			t.Fatalf("declaration %d: %d", len(d.List())+1, code)
		}
	}
	if code := d.declare([]byte(`{}`)); code != ErrLimit {
		t.Fatalf("declaration %d: %d, want LIMIT", MaxDeclarations+1, code)
	}
	// Together at most MaxDeclarationsBytes: 64 declarations of 64 KiB fill
	// the 4 MiB, the next one is refused.
	var all Declarations
	for i := 0; all.bytes+len(exact) <= MaxDeclarationsBytes; i++ {
		if code := all.declare(exact); code != 0 {
			t.Fatalf("declaration %d of %d bytes: %d", i+1, len(exact), code)
		}
	}
	if code := all.declare([]byte(`{}`)); code != 0 && all.bytes+2 <= MaxDeclarationsBytes {
		t.Fatalf("a small one that fits: %d", code)
	}
	if code := all.declare(exact); code != ErrLimit {
		t.Fatalf("a declaration past %d bytes in all: %d, want LIMIT", MaxDeclarationsBytes, code)
	}
}

func TestContextFunctionName(t *testing.T) {
	inv := NewInvocation(&invocation.Request{FunctionID: "id"}, invocation.Function{Name: "Hello"})
	v, code := inv.get(SourceContext, []byte("function_name"))
	if code != 0 || v.typ != TypeString || v.s != "Hello" {
		t.Fatalf("function_name = %+v, %d", v, code)
	}
}

func TestDeclareImportChecks(t *testing.T) {
	sig := testFunc{params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}}
	version := testExport{"wasmworker_abi_version_1", testFunc{}}
	entry := testExport{"run", testFunc{results: []api.ValueType{i32}}}
	fns := testExport{FunctionsExport, testFunc{results: []api.ValueType{i32}}}
	rt := newRuntime(t, false)
	_, info := compile(t, rt, encodeModule([]testImport{{ImportModule, "declare", sig}}, []testExport{version, entry, fns}, true))
	if strings.Join(info.EntryPoints, ",") != "run" {
		t.Fatalf("entry points %v: %s is not one", info.EntryPoints, FunctionsExport)
	}
	if why, ok := CommandImport("declare", sig.params, sig.results); ok || !strings.Contains(why, "outbound") {
		t.Fatalf("CommandImport(declare) = %q, %v; a command must not import it", why, ok)
	}
}

// TestCallFunctions runs a module's declaration export on a real instance:
// declare outside it (an entry point) answers UNSUPPORTED.
func TestCallFunctions(t *testing.T) {
	rt := newRuntime(t, false)
	sig := testFunc{params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}}
	version := testExport{"wasmworker_abi_version_1", testFunc{}}
	fns := testExport{FunctionsExport, testFunc{results: []api.ValueType{i32}}}
	cm, _ := compile(t, rt, encodeModule([]testImport{{ImportModule, "declare", sig}}, []testExport{version, fns}, true))
	p := NewPool(rt, cm, PoolConfig{})
	defer p.Close(context.Background())
	d := &Declarations{}
	if err := p.Declare(context.Background(), d); err != nil || len(d.List()) != 0 {
		t.Fatalf("Declare = %v, %d declarations", err, len(d.List()))
	}
	// d is done: a late declare gets UNSUPPORTED.
	var s [2]uint64
	hostDeclare(WithDeclarations(context.Background(), d), nil, s[:])
	if api.DecodeI32(s[0]) != ErrUnsupported {
		t.Fatalf("declare after the call = %d", api.DecodeI32(s[0]))
	}
}
