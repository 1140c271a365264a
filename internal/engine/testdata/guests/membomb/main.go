//go:build wasip1

// Command membomb allocates 1 MiB blocks and keeps them until it runs out
// of memory.
package main

import (
	"fmt"
	"os"
)

var keep [][]byte

func main() {
	fmt.Fprintln(os.Stderr, "membomb: started")
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		b[len(b)-1] = byte(i)
		keep = append(keep, b)
	}
}
