//go:build wasip1

// Command Hello is an HTTP test function that loads: it answers "hello".
// Its function.json also declares a table output, which wasmfunc does not
// emulate, so that tests can see it named at start.
package main

import "fmt"

func main() {
	fmt.Println(`{"Outputs":{"res":{"statusCode":200,"body":"hello"}}}`)
}
