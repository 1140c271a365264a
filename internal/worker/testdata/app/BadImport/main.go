//go:build wasip1

// BadImport imports a function from a module the worker does not provide,
// so loading it must fail with a message naming the import.
package main

//go:wasmimport env launch_missiles
func launchMissiles() int32

func main() {
	println(launchMissiles())
}
