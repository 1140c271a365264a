package abi

import (
	"context"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one import of module "wasmworker".
type hostFunc struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	fn      api.GoModuleFunc
}

// hostFuncs is ABI v1's import list (SPEC.md §5). Check compares guest
// imports against it, and Instantiate exports exactly these.
var hostFuncs = []hostFunc{
	{"get", []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i64}, hostGet},
	{"get_item", []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i64}, hostGetItem},
	{"get_key", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}, hostGetKey},
	{"set_output", []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}, hostSetOutput},
	{"set_error", []api.ValueType{i32, i32}, []api.ValueType{i32}, hostSetError},
	{"http_status", []api.ValueType{i32}, []api.ValueType{i32}, hostHTTPStatus},
	{"http_header", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, hostHTTPHeader},
	{"http_cookie", []api.ValueType{i32, i32}, []api.ValueType{i32}, hostHTTPCookie},
	{"http_body", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, hostHTTPBody},
	{"log", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, hostLog},
	// §5.7, outbound HTTP (outbound.go); command modules may import these too.
	{"outbound_send", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, hostOutboundSend},
	{"outbound_status", []api.ValueType{i32}, []api.ValueType{i32}, hostOutboundStatus},
	{"outbound_headers", []api.ValueType{i32, i32, i32}, []api.ValueType{i64}, hostOutboundHeaders},
	{"outbound_read", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, hostOutboundRead},
	{"outbound_close", []api.ValueType{i32}, []api.ValueType{i32}, hostOutboundClose},
	{"outbound_error", []api.ValueType{i32, i32}, []api.ValueType{i64}, hostOutboundError},
	// §5.8, declaring functions (declare.go); ABI modules only.
	{importDeclare, []api.ValueType{i32, i32}, []api.ValueType{i32}, hostDeclare},
}

// Instantiate registers the "wasmworker" host module (ABI v1's imports) in
// rt. Do it once per runtime, before instantiating guests; WASI
// (wasi_snapshot_preview1) is instantiated separately.
func Instantiate(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(ImportModule)
	for _, h := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(h.fn, h.params, h.results).WithName(h.name).Export(h.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate the %q host module: %w", ImportModule, err)
	}
	return nil
}

type invocationKey struct{}

// WithInvocation returns a context carrying inv: the host functions a guest
// calls while running with this context read and write inv. Call does this
// itself.
func WithInvocation(ctx context.Context, inv *Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

// current returns the invocation in progress, or nil.
func current(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	if inv == nil || inv.done {
		return nil
	}
	return inv
}

// view returns guest memory [ptr, ptr+n) without copying. n == 0 never
// fails.
func view(mem api.Memory, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if mem == nil {
		return nil, false
	}
	return mem.Read(ptr, n)
}

func code64(code int32) uint64 { return uint64(int64(code)) }

// deliver copies v into the guest buffer [ptr, ptr+size) and encodes the
// getter result (SPEC.md §5.1).
func deliver(mem api.Memory, v value, code int32, ptr, size uint32) uint64 {
	if code != 0 {
		return code64(code)
	}
	n := v.length()
	if n > math.MaxInt32 {
		return code64(ErrUnsupported)
	}
	if size > 0 && (mem == nil || uint64(ptr)+uint64(size) > uint64(mem.Size())) {
		return code64(ErrMemory)
	}
	k := uint32(min(n, int(size)))
	if k > 0 {
		switch v.typ {
		case TypeInt, TypeDouble:
			if k == 8 {
				mem.WriteUint64Le(ptr, v.n)
			} else {
				for i := uint32(0); i < k; i++ {
					mem.WriteByte(ptr+i, byte(v.n>>(8*i)))
				}
			}
		case TypeCollectionBytes, TypeCollectionString, TypeCollectionDouble, TypeCollectionInt, TypeHTTP, TypeNone:
			// count only
		default:
			if v.isStr {
				mem.WriteString(ptr, v.s[:k])
			} else {
				mem.Write(ptr, v.b[:k])
			}
		}
	}
	return uint64(v.typ)<<32 | uint64(uint32(n))
}

func hostGet(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		s[0] = code64(ErrNoInvocation)
		return
	}
	mem := mod.Memory()
	name, ok := view(mem, api.DecodeU32(s[1]), api.DecodeU32(s[2]))
	if !ok {
		s[0] = code64(ErrMemory)
		return
	}
	v, code := inv.get(Source(api.DecodeU32(s[0])), name)
	s[0] = deliver(mem, v, code, api.DecodeU32(s[3]), api.DecodeU32(s[4]))
}

func hostGetItem(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		s[0] = code64(ErrNoInvocation)
		return
	}
	mem := mod.Memory()
	name, ok := view(mem, api.DecodeU32(s[1]), api.DecodeU32(s[2]))
	if !ok {
		s[0] = code64(ErrMemory)
		return
	}
	v, code := inv.getItem(Source(api.DecodeU32(s[0])), name, int(api.DecodeI32(s[3])))
	s[0] = deliver(mem, v, code, api.DecodeU32(s[4]), api.DecodeU32(s[5]))
}

func hostGetKey(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		s[0] = code64(ErrNoInvocation)
		return
	}
	v, code := inv.getKey(Source(api.DecodeU32(s[0])), int(api.DecodeI32(s[1])))
	s[0] = deliver(mod.Memory(), v, code, api.DecodeU32(s[2]), api.DecodeU32(s[3]))
}

func ret32(s []uint64, code int32) { s[0] = api.EncodeI32(code) }

func hostSetOutput(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	mem := mod.Memory()
	name, ok1 := view(mem, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	data, ok2 := view(mem, api.DecodeU32(s[3]), api.DecodeU32(s[4]))
	if !ok1 || !ok2 {
		ret32(s, ErrMemory)
		return
	}
	ret32(s, inv.setOutput(name, Type(api.DecodeU32(s[2])), data))
}

func hostSetError(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	d := currentDeclarations(ctx)
	if inv == nil && d == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	msg, ok := view(mod.Memory(), api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if !ok {
		ret32(s, ErrMemory)
		return
	}
	if inv == nil {
		ret32(s, d.setError(msg))
		return
	}
	ret32(s, inv.setError(msg))
}

func hostHTTPStatus(ctx context.Context, _ api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	ret32(s, inv.httpStatus(api.DecodeI32(s[0])))
}

func hostHTTPHeader(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	mem := mod.Memory()
	name, ok1 := view(mem, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	val, ok2 := view(mem, api.DecodeU32(s[2]), api.DecodeU32(s[3]))
	if !ok1 || !ok2 {
		ret32(s, ErrMemory)
		return
	}
	ret32(s, inv.httpHeader(name, val))
}

func hostHTTPCookie(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	line, ok := view(mod.Memory(), api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if !ok {
		ret32(s, ErrMemory)
		return
	}
	ret32(s, inv.httpCookie(line))
}

func hostHTTPBody(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	if inv == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	body, ok := view(mod.Memory(), api.DecodeU32(s[1]), api.DecodeU32(s[2]))
	if !ok {
		ret32(s, ErrMemory)
		return
	}
	ret32(s, inv.httpBody(Type(api.DecodeU32(s[0])), body))
}

func hostLog(ctx context.Context, mod api.Module, s []uint64) {
	inv := current(ctx)
	d := currentDeclarations(ctx)
	if inv == nil && d == nil {
		ret32(s, ErrNoInvocation)
		return
	}
	msg, ok := view(mod.Memory(), api.DecodeU32(s[1]), api.DecodeU32(s[2]))
	if !ok {
		ret32(s, ErrMemory)
		return
	}
	if inv == nil {
		ret32(s, d.log(api.DecodeI32(s[0]), msg))
		return
	}
	ret32(s, inv.log(api.DecodeI32(s[0]), msg))
}
