//go:build wasip1

package outbound

import (
	"net/http"
	"unsafe"
)

// init makes net/http's default client send through the host.
func init() {
	host = wasmHost{}
	http.DefaultTransport = &Transport{}
}

// The outbound imports of SPEC.md §5.7. A Go string parameter is passed as
// the (pointer, length) pair the ABI expects.

//go:wasmimport wasmworker outbound_send
func abiSend(head string, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport wasmworker outbound_status
func abiStatus(handle int32) int32

//go:wasmimport wasmworker outbound_headers
func abiHeaders(handle int32, buf unsafe.Pointer, bufLen uint32) int64

//go:wasmimport wasmworker outbound_read
func abiRead(handle int32, buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wasmworker outbound_close
func abiClose(handle int32) int32

//go:wasmimport wasmworker outbound_error
func abiError(buf unsafe.Pointer, bufLen uint32) int64

// wasmHost calls the imports.
type wasmHost struct{}

func ptr(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

func (wasmHost) send(head string, body []byte) int32 {
	p, n := ptr(body)
	return abiSend(head, p, n)
}

func (wasmHost) status(handle int32) int32 { return abiStatus(handle) }

func (wasmHost) headers(handle int32, buf []byte) int64 {
	p, n := ptr(buf)
	return abiHeaders(handle, p, n)
}

func (wasmHost) read(handle int32, buf []byte) int32 {
	p, n := ptr(buf)
	return abiRead(handle, p, n)
}

func (wasmHost) close(handle int32) int32 { return abiClose(handle) }

func (wasmHost) lastError(buf []byte) int64 {
	p, n := ptr(buf)
	return abiError(p, n)
}
