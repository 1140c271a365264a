// Package abi implements the host side of the wasmworker guest ABI v1
// (abi/SPEC.md): it checks ABI modules at load, provides the "wasmworker"
// host module to wazero, lets guests read an invocation.Request and write
// an invocation's outputs, and runs invocations on warm or fresh instances.
// It knows nothing of the host's protocol: the worker converts protocol
// messages at its edge (internal/rpcconv).
//
// The pieces, in the order the engine uses them:
//
//   - Instantiate registers the "wasmworker" host module in a wazero.Runtime
//     (next to WASI).
//   - Check inspects a CompiledModule: which ABI version it speaks, which
//     entry points it exports, and whether its imports are ABI v1 imports.
//   - NewInvocation wraps one invocation.Request and the function's
//     bindings; Call runs one entry point with it on a live instance (or
//     Pool.Invoke picks the instance); Result gives the outputs, return
//     value, logs and failure.
//
// The codec (Invocation) is pure Go: host functions find the invocation in
// the context of the wazero call (WithInvocation) and only copy bytes between
// it and guest memory. Section numbers (§) in this package refer to
// abi/SPEC.md unless another file is named.
package abi

import "fmt"

// Version is the ABI version this package implements.
const Version = 1

// ImportModule is the name of the host module guests import from.
const ImportModule = "wasmworker"

// VersionExportPrefix starts the export name by which a guest declares the ABI
// version it speaks: VersionExportPrefix + "1" for ABI v1.
const VersionExportPrefix = "wasmworker_abi_version_"

// DefaultEntryPoint is the export used when function.json has no entryPoint.
const DefaultEntryPoint = "run"

// Type is a value's type tag (SPEC.md §4.1). The numbers are those of the
// gRPC contract's RpcDataType.
type Type uint32

// Type tags.
const (
	TypeNone             Type = 0
	TypeString           Type = 1
	TypeJSON             Type = 2
	TypeBytes            Type = 3
	TypeStream           Type = 4
	TypeHTTP             Type = 5
	TypeInt              Type = 6
	TypeDouble           Type = 7
	TypeCollectionBytes  Type = 8
	TypeCollectionString Type = 9
	TypeCollectionDouble Type = 10
	TypeCollectionInt    Type = 11
)

var typeNames = [...]string{"none", "string", "json", "bytes", "stream", "http", "int", "double",
	"collection_bytes", "collection_string", "collection_double", "collection_int"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Source says where a value a guest reads comes from (SPEC.md §4.2).
type Source uint32

// Sources.
const (
	SourceInput      Source = 0
	SourceMetadata   Source = 1
	SourceContext    Source = 2
	SourceHTTP       Source = 3
	SourceHTTPHeader Source = 4
	SourceHTTPQuery  Source = 5
	SourceHTTPParam  Source = 6
)

// Error codes returned by host functions to guests (SPEC.md §6).
const (
	ErrNotFound     int32 = -1
	ErrBadSource    int32 = -2
	ErrMemory       int32 = -3
	ErrBadType      int32 = -4
	ErrBadUTF8      int32 = -5
	ErrBadJSON      int32 = -6
	ErrNotOutput    int32 = -7
	ErrNoHTTP       int32 = -8
	ErrLimit        int32 = -9
	ErrNoInvocation int32 = -10
	ErrBadValue     int32 = -11
	ErrUnsupported  int32 = -12
)

// Per-invocation limits (SPEC.md §7).
const (
	MaxOutputBytes  = 64 << 20 // outputs, return value and HTTP response together
	MaxLogEntries   = 10_000
	MaxLogBytes     = 8 << 20
	MaxMessageBytes = 64 << 10 // one log message, or the error message
)
