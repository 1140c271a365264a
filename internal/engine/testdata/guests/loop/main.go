//go:build wasip1

// Command loop never ends: it spins in a tight loop, or with the argument
// "sleep" it sleeps for an hour, or with "init" it spins in an init
// function, before main.
package main

import (
	"fmt"
	"os"
	"time"
)

var n uint64

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		for {
			n++
		}
	}
}

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
