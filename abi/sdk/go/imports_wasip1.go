//go:build wasip1

package wasmworker

import (
	"unsafe"

	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

// The imports of ABI v1 (abi/SPEC.md §5). A Go string parameter is passed as
// the (pointer, length) pair the ABI expects.

//go:wasmimport wasmworker get
func abiGet(source uint32, name string, buf unsafe.Pointer, bufLen uint32) int64

//go:wasmimport wasmworker get_item
func abiGetItem(source uint32, name string, index int32, buf unsafe.Pointer, bufLen uint32) int64

//go:wasmimport wasmworker get_key
func abiGetKey(source uint32, index int32, buf unsafe.Pointer, bufLen uint32) int64

//go:wasmimport wasmworker set_output
func abiSetOutput(name string, typ uint32, data unsafe.Pointer, dataLen uint32) int32

//go:wasmimport wasmworker set_error
func abiSetError(msg string) int32

//go:wasmimport wasmworker http_status
func abiHTTPStatus(status int32) int32

//go:wasmimport wasmworker http_header
func abiHTTPHeader(name, value string) int32

//go:wasmimport wasmworker http_cookie
func abiHTTPCookie(cookie string) int32

//go:wasmimport wasmworker http_body
func abiHTTPBody(typ uint32, data unsafe.Pointer, dataLen uint32) int32

//go:wasmimport wasmworker log
func abiLog(level int32, msg string) int32

//go:wasmimport wasmworker declare
func abiDeclare(decl unsafe.Pointer, declLen uint32) int32

// The version marker: the host never calls it (SPEC.md §2.1).
//
//go:wasmexport wasmworker_abi_version_1
func abiVersion1() {}

// wwDispatch is the one entry point of every function registered with
// Handle, HandleQueue, wwhttp.Handle…: it runs the function the host names
// in CONTEXT "function_name" (SPEC.md §2.3, §4.2).
//
//go:wasmexport ww_dispatch
func wwDispatch() int32 { return dispatch() }

// wasmworkerFunctions declares the registered functions (SPEC.md §2.3). A
// module that registers none declares none, and the worker then indexes it
// like any other module (a module that uses only exported entry points
// and function.json folders is unaffected).
//
//go:wasmexport wasmworker_functions
func wasmworkerFunctions() int32 { return declareAll() }

func init() { hostabi.Current = wasmHost{} }

// wasmHost calls the imports.
type wasmHost struct{}

func ptr(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

func (wasmHost) Get(source uint32, name string, buf []byte) int64 {
	p, n := ptr(buf)
	return abiGet(source, name, p, n)
}

func (wasmHost) GetItem(source uint32, name string, index int32, buf []byte) int64 {
	p, n := ptr(buf)
	return abiGetItem(source, name, index, p, n)
}

func (wasmHost) GetKey(source uint32, index int32, buf []byte) int64 {
	p, n := ptr(buf)
	return abiGetKey(source, index, p, n)
}

func (wasmHost) SetOutput(name string, typ uint32, data []byte) int32 {
	p, n := ptr(data)
	return abiSetOutput(name, typ, p, n)
}

func (wasmHost) SetError(msg string) int32           { return abiSetError(msg) }
func (wasmHost) HTTPStatus(status int32) int32       { return abiHTTPStatus(status) }
func (wasmHost) HTTPHeader(name, value string) int32 { return abiHTTPHeader(name, value) }
func (wasmHost) HTTPCookie(cookie string) int32      { return abiHTTPCookie(cookie) }
func (wasmHost) Log(level int32, msg string) int32   { return abiLog(level, msg) }

func (wasmHost) HTTPBody(typ uint32, data []byte) int32 {
	p, n := ptr(data)
	return abiHTTPBody(typ, p, n)
}

func (wasmHost) Declare(decl []byte) int32 {
	p, n := ptr(decl)
	return abiDeclare(p, n)
}
