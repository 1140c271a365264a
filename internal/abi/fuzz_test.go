package abi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
	"google.golang.org/protobuf/proto"
)

// The fuzz targets feed hostile guest data to everything that decodes it:
// FuzzHostCalls calls the ten host functions with arbitrary pointers,
// lengths, sources, types and levels over guest memory holding arbitrary
// bytes; FuzzCodecWrites drives the codec's writers (outputs, HTTP response
// parts, logs, the error message) with arbitrary bytes. Both check that
// nothing panics, that every result is a defined code, and that what the
// worker would send to the host still marshals (the contract's strings must
// be valid UTF-8). Seed corpora: testdata/fuzz/<name>.
//
//	go test ./abi/ -run '^$' -fuzz FuzzHostCalls -fuzztime 20s

// checkSendable asserts that the results of inv can be sent to the host:
// the InvocationResponse and the RpcLogs marshal, HTTP response headers are
// lower-case tokens without CR/LF, and messages respect MaxMessageBytes.
func checkSendable(t *testing.T, inv *Invocation) {
	t.Helper()
	if !inv.done {
		inv.finish(0, nil)
	}
	outs, ret, logs, err := rpcResult(inv)
	if err != nil {
		t.Fatalf("Result: %v", err)
	}
	resp := &rpc.InvocationResponse{InvocationId: inv.Request().InvocationID, OutputData: outs, ReturnValue: ret,
		Result: &rpc.StatusResult{Status: rpc.StatusResult_Success}}
	if _, err := proto.Marshal(resp); err != nil {
		t.Fatalf("the response does not marshal: %v", err)
	}
	for _, l := range logs {
		if !utf8.ValidString(l.Message) || len(l.Message) > MaxMessageBytes+len("…") && !strings.Contains(l.Message, "dropped") {
			t.Fatalf("log message of %d bytes, valid UTF-8 %v", len(l.Message), utf8.ValidString(l.Message))
		}
		if _, err := proto.Marshal(&rpc.RpcLog{Message: l.Message, Level: l.Level}); err != nil {
			t.Fatalf("a log does not marshal: %v", err)
		}
	}
	if !utf8.ValidString(inv.errMsg) || len(inv.errMsg) > MaxMessageBytes+len("…") {
		t.Fatalf("error message of %d bytes", len(inv.errMsg))
	}
	if inv.outBytes > MaxOutputBytes {
		t.Fatalf("%d output bytes, over the limit", inv.outBytes)
	}
	for _, o := range outs {
		for k, v := range o.GetData().GetHttp().GetHeaders() {
			if k != strings.ToLower(k) || invocation.CheckHeader(k, v) != nil {
				t.Fatalf("response header %q: %q", k, v)
			}
		}
	}
}

// validCode reports whether code is 0 or one of the error codes of abi/SPEC.md §6.
func validCode(code int32) bool { return code == 0 || code >= ErrUnsupported && code <= ErrNotFound }

// fuzzMemoryPages is the guest memory size of FuzzHostCalls.
const fuzzMemoryPages = 1

func FuzzHostCalls(f *testing.F) {
	rt := newRuntime(f, false)
	cm, err := rt.CompileModule(context.Background(), encodeModule(nil, nil, true))
	if err != nil {
		f.Fatal(err)
	}
	mod, err := rt.InstantiateModule(context.Background(), cm, ModuleConfig())
	if err != nil {
		f.Fatal(err)
	}
	// op encodes one host call: the function's index in hostFuncs and six
	// argument words.
	op := func(fn byte, args ...uint32) []byte {
		b := []byte{fn}
		for i := 0; i < 6; i++ {
			var a uint32
			if i < len(args) {
				a = args[i]
			}
			b = binary.LittleEndian.AppendUint32(b, a)
		}
		return b
	}
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	// Memory: "method" at 0, "res" at 16, "text/plain" at 32, a cookie at 64.
	mem := make([]byte, 128)
	copy(mem, "method")
	copy(mem[16:], "res")
	copy(mem[32:], "text/plain")
	copy(mem[64:], "a=b; Path=/; HttpOnly")
	f.Add(cat(op(0, 3, 0, 6, 256, 64)), mem)                           // get(HTTP, "method") into 256
	f.Add(cat(op(0, 3, 0, 6, 65530, 64)), mem)                         // buffer past the end
	f.Add(cat(op(0, 0, 0xffffffff, 5, 0, 0)), mem)                     // name past the end
	f.Add(cat(op(1, 0, 16, 3, 0, 256, 16), op(2, 4, 1, 256, 64)), mem) // get_item, get_key
	f.Add(cat(op(3, 16, 3, 1, 32, 10), op(3, 16, 3, 6, 32, 8)), mem)   // set_output STRING, INT
	f.Add(cat(op(5, 404), op(6, 32, 4, 32, 10), op(7, 64, 21), op(8, 1, 32, 10)), mem)
	f.Add(cat(op(9, 2, 32, 10), op(9, 7, 0, 1), op(4, 0, 128)), mem) // logs, set_error
	f.Add(cat(op(8, 2, 0, 0xffff0000), op(6, 0xfffffff0, 32, 0, 0)), mem)
	f.Add(cat(op(16, 96, 2), op(16, 0, 6), op(16, 0xfffffff0, 32)), append(mem[:96:96], "{}"...)) // declare

	f.Fuzz(func(t *testing.T, ops, memory []byte) {
		m := mod.Memory()
		size := m.Size()
		if len(memory) > int(size) {
			memory = memory[:size]
		}
		m.Write(0, make([]byte, size))
		m.Write(0, memory)
		req := httpRequest()
		req.InputData = append(req.InputData, queueRequest().InputData...)
		req.InputData = append(req.InputData, &rpc.ParameterBinding{Name: "list", RpcData: &rpc.ParameterBinding_Data{Data: &rpc.TypedData{Data: &rpc.TypedData_CollectionSint64{CollectionSint64: &rpc.CollectionSInt64{Sint64: []int64{1, 2}}}}}})
		inv := newInv(req, append(httpBindings, invocation.Binding{Name: "$return", Direction: "out"}))
		decls := &Declarations{}
		ctx := WithDeclarations(WithInvocation(context.Background(), inv), decls)
		var stack [6]uint64
		for len(ops) >= 25 {
			h := hostFuncs[int(ops[0])%len(hostFuncs)]
			for i := range stack {
				stack[i] = uint64(binary.LittleEndian.Uint32(ops[1+4*i:]))
			}
			ops = ops[25:]
			h.fn(ctx, mod, stack[:])
			if h.results[0] == api.ValueTypeI64 {
				r := int64(stack[0])
				if r < 0 && !validCode(int32(r)) || r >= 0 && (r>>32 > int64(TypeCollectionInt) || r>>40 != 0) {
					t.Fatalf("%s returned %#x", h.name, r)
				}
			} else if code := api.DecodeI32(stack[0]); !validCode(code) {
				t.Fatalf("%s returned %d", h.name, code)
			}
		}
		checkSendable(t, inv)
		for _, d := range decls.List() {
			if !json.Valid(d) || d[0] != '{' || len(d) > MaxDeclarationBytes {
				t.Fatalf("declaration %q accepted", d)
			}
		}
	})
}

func FuzzCodecWrites(f *testing.F) {
	f.Add([]byte("\x00res\x00\x01hello"))
	f.Add([]byte("\x00out\x00\x02{\"a\":[1,2]}\x00$return\x00\x06\x01\x02\x03\x04\x05\x06\x07\x08"))
	f.Add([]byte("\x01\xc9\x00\x02Content-Type\x00text/plain\x00\x03id=1; Path=/; Max-Age=60; HttpOnly; SameSite=Strict\x00\x04\x01body"))
	f.Add([]byte("\x02X-A\x00one\x00\x02x-a\x00two\r\n\x00\x02bad name\x00v\x00\x03=\x00\x03a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT"))
	f.Add([]byte("\x05\x02\xff\xfeinvalid utf-8\x00\x06boom \xe2\x82\x00\x05\x09too high"))
	f.Add([]byte("\x00res\x00\x02{bad\x00\x04\x02[1,\"x\"]\x00\x00res\x00\x03raw\x00\x01\x90\x01"))
	f.Fuzz(func(t *testing.T, script []byte) {
		inv := newInv(httpRequest(), append(httpBindings, invocation.Binding{Name: "$return", Direction: "out"}))
		// next cuts the next NUL-terminated field off script.
		next := func() []byte {
			i := 0
			for i < len(script) && script[i] != 0 {
				i++
			}
			field := script[:i]
			script = script[min(i+1, len(script)):]
			return field
		}
		byteArg := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		for len(script) > 0 {
			var code int32
			switch byteArg() % 7 {
			case 0:
				name := next()
				typ := Type(byteArg())
				code = inv.setOutput(name, typ, next())
			case 1:
				code = inv.httpStatus(int32(byteArg())*5 + int32(byteArg()))
			case 2:
				code = inv.httpHeader(next(), next())
			case 3:
				code = inv.httpCookie(next())
			case 4:
				typ := Type(byteArg())
				code = inv.httpBody(typ, next())
			case 5:
				code = inv.log(int32(byteArg()), next())
			case 6:
				code = inv.setError(next())
			}
			if !validCode(code) {
				t.Fatalf("code %d", code)
			}
		}
		checkSendable(t, inv)
	})
}
