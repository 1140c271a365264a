//go:build wasip1

// Panic crashes the Go runtime with a panic after logging a line, so the
// invocation must fail with the panic message and the worker must live on.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "about to panic")
	var m map[string]int
	m["boom"] = 1 // assignment to entry in nil map
}
