//go:build wasip1

// Spin never returns: it logs once and then loops without calling the host,
// so only the worker's deadline or a cancel can stop it.
package main

import (
	"fmt"
	"os"
)

var sink int

func main() {
	fmt.Fprintln(os.Stderr, "spinning")
	for i := 0; ; i++ {
		sink += i
	}
}
