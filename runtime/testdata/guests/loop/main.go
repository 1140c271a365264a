//go:build wasip1

// Command loop never ends: it spins in a tight loop, or with the argument
// "sleep" it sleeps for an hour.
package main

import (
	"fmt"
	"os"
	"time"
)

var n uint64

func main() {
	fmt.Fprintln(os.Stderr, "loop: started")
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(time.Hour)
		return
	}
	for {
		n++
	}
}
