//go:build wasip1

// CmdABIImport is a command-mode module that imports an ABI v1 function
// other than the outbound HTTP ones, so loading it must fail saying that a
// command module may import only those.
package main

import "unsafe"

//go:wasmimport wasmworker log
func abiLog(level int32, msg unsafe.Pointer, n uint32) int32

func main() {
	msg := "hello"
	println(abiLog(2, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg))))
}
