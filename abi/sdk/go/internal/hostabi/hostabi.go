// Package hostabi is the seam between the Go SDK and the wasmworker host: the
// host imports of abi/SPEC.md §5 as a Go interface with slices for guest
// buffers. Under GOOS=wasip1 the SDK installs the real imports; package
// wwtest installs an in-memory host for native tests; elsewhere there is no
// host and every call answers NO_INVOCATION.
package hostabi

// Host is the wasmworker imports of ABI v1 (SPEC.md §5.2–§5.6, §5.8). Results
// follow SPEC.md §5.1: getters return (type<<32)|length or a negative code.
type Host interface {
	Get(source uint32, name string, buf []byte) int64
	GetItem(source uint32, name string, index int32, buf []byte) int64
	GetKey(source uint32, index int32, buf []byte) int64
	SetOutput(name string, typ uint32, data []byte) int32
	SetError(msg string) int32
	HTTPStatus(status int32) int32
	HTTPHeader(name, value string) int32
	HTTPCookie(cookie string) int32
	HTTPBody(typ uint32, data []byte) int32
	Log(level int32, msg string) int32
	Declare(decl []byte) int32
}

// NoInvocation is the error code NO_INVOCATION (SPEC.md §6).
const NoInvocation = -10

// Current is the host the SDK calls; nil means none (every call fails with
// NO_INVOCATION).
var Current Host

// Dispatch runs the registered function the host names in CONTEXT
// "function_name" and returns the entry point's status; Functions declares
// every registered function (the body of the export wasmworker_functions).
// Package wasmworker sets both at init.
var (
	Dispatch  func() int32
	Functions func() int32
)
