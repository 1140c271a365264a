//go:build wasip1

// Command exit writes a line to stderr and exits with the code given as its
// first argument (default 3).
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	code := 3
	if len(os.Args) > 1 {
		code, _ = strconv.Atoi(os.Args[1])
	}
	fmt.Println("partial output")
	fmt.Fprintf(os.Stderr, "exit: leaving with code %d\n", code)
	os.Exit(code)
}
