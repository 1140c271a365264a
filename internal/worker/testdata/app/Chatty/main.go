//go:build wasip1

// Chatty writes 100 log lines of 100 bytes to stderr and then succeeds, to
// check the per-invocation log limit.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	for i := range 100 {
		fmt.Fprintf(os.Stderr, "%03d %s\n", i, strings.Repeat("z", 95))
	}
	fmt.Println(`{"ReturnValue":"done"}`)
}
