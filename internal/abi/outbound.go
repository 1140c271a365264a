package abi

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/outbound"
)

// Error codes of outbound HTTP (SPEC.md §6).
const (
	ErrDenied     int32 = -13
	ErrHTTPFailed int32 = -14
	ErrBadHandle  int32 = -15
)

// The outbound functions (SPEC.md §5.7, listed in hostFuncs) find the
// invocation's outbound.Session in the call's context (the engine puts it
// there) and need no Invocation, so command modules may import them too.
const outboundPrefix = "outbound_"

// CommandImport reports whether a command module may import name from
// ImportModule with the given signature (only the outbound HTTP functions of
// SPEC.md §5.7); when it may not, why says so.
func CommandImport(name string, params, results []api.ValueType) (why string, ok bool) {
	for _, h := range hostFuncs {
		if h.name != name || !strings.HasPrefix(name, outboundPrefix) {
			continue
		}
		if !slices.Equal(params, h.params) || !slices.Equal(results, h.results) {
			return "it imports " + ImportModule + "." + name + " as " + signature(params, results) +
				", but ABI v1 defines it as " + signature(h.params, h.results), false
		}
		return "", true
	}
	return "it imports " + ImportModule + "." + name + "; a command module may import only the outbound HTTP functions (outbound_*) from " + ImportModule +
		"; the rest of the ABI needs a module that declares ABI v1 (abi/SPEC.md §2.1)", false
}

// ImportsOutbound reports whether a module imports any outbound HTTP
// function, that is, whether its invocations need an outbound.Session.
func ImportsOutbound(imports []api.FunctionDefinition) bool {
	for _, d := range imports {
		mod, name, _ := d.Import()
		if mod != ImportModule {
			continue
		}
		if strings.HasPrefix(name, outboundPrefix) {
			return true
		}
	}
	return false
}

// outboundCode maps a Session error to its ABI code (SPEC.md §6).
func outboundCode(err error) int32 {
	var oe *outbound.Error
	if errors.As(err, &oe) {
		return oe.Code.ABI()
	}
	return ErrHTTPFailed
}

// session returns the invocation's outbound session, or nil outside an
// invocation (in _initialize, or when the engine gave none).
func session(ctx context.Context) *outbound.Session { return outbound.FromContext(ctx) }

func hostOutboundSend(ctx context.Context, mod api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		ret32(stack, ErrNoInvocation)
		return
	}
	mem := mod.Memory()
	head, ok1 := view(mem, uint32(stack[0]), uint32(stack[1]))
	body, ok2 := view(mem, uint32(stack[2]), uint32(stack[3]))
	if !ok1 || !ok2 {
		ret32(stack, ErrMemory)
		return
	}
	h, err := s.Send(head, body)
	if err != nil {
		ret32(stack, outboundCode(err))
		return
	}
	ret32(stack, h)
}

func hostOutboundStatus(ctx context.Context, _ api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		ret32(stack, ErrNoInvocation)
		return
	}
	code, err := s.Status(int32(uint32(stack[0])))
	if err != nil {
		ret32(stack, outboundCode(err))
		return
	}
	ret32(stack, int32(code))
}

func hostOutboundHeaders(ctx context.Context, mod api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		stack[0] = code64(ErrNoInvocation)
		return
	}
	block, err := s.Header(int32(uint32(stack[0])))
	if err != nil {
		stack[0] = code64(outboundCode(err))
		return
	}
	stack[0] = deliver(mod.Memory(), value{typ: TypeString, b: block}, 0, uint32(stack[1]), uint32(stack[2]))
}

func hostOutboundRead(ctx context.Context, mod api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		ret32(stack, ErrNoInvocation)
		return
	}
	buf, ok := view(mod.Memory(), uint32(stack[1]), uint32(stack[2]))
	if !ok {
		ret32(stack, ErrMemory)
		return
	}
	if len(buf) > 1<<30 { // the count must fit a positive i32
		buf = buf[:1<<30]
	}
	n, err := s.Read(int32(uint32(stack[0])), buf)
	if n > 0 || err == nil {
		ret32(stack, int32(n))
		return
	}
	ret32(stack, outboundCode(err))
}

func hostOutboundClose(ctx context.Context, _ api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		ret32(stack, ErrNoInvocation)
		return
	}
	if err := s.CloseResponse(int32(uint32(stack[0]))); err != nil {
		ret32(stack, outboundCode(err))
		return
	}
	stack[0] = 0
}

func hostOutboundError(ctx context.Context, mod api.Module, stack []uint64) {
	s := session(ctx)
	if s == nil {
		stack[0] = code64(ErrNoInvocation)
		return
	}
	msg, ok := s.LastError()
	if !ok {
		stack[0] = code64(ErrNotFound)
		return
	}
	stack[0] = deliver(mod.Memory(), value{typ: TypeString, s: msg, isStr: true}, 0, uint32(stack[0]), uint32(stack[1]))
}
