//go:build wasip1

package wasmworker

import "unsafe"

// The ten imports of ABI v1 (abi/SPEC.md §5). A Go string parameter is passed
// as the (pointer, length) pair the ABI expects.

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

// The version marker: the host never calls it (SPEC.md §2.1).
//
//go:wasmexport wasmworker_abi_version_1
func abiVersion1() {}
