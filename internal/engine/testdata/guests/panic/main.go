//go:build wasip1

// Command panic panics after writing a little output.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "panic: about to panic")
	var m map[string]int
	if len(os.Args) > 1 && os.Args[1] == "nil-map" {
		m["x"] = 1
	}
	panic("boom from the guest")
}
