//go:build wasip1

// Fail explains itself on stderr and exits with code 3.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "about to fail")
	fmt.Fprintln(os.Stderr, "error: the job is invalid")
	os.Exit(3)
}
