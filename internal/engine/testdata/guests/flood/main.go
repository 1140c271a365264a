//go:build wasip1

// Command flood floods an output stream.
//
//	flood stdout      writes 64 KiB blocks to stdout forever (write errors are ignored)
//	flood stderr [N]  writes a 20,000-byte line and then N numbered lines
//	                  (default 100,000) to stderr, then "done" to stdout
//	flood stderrline  writes to stderr forever without a newline
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "stderrline" {
		block := []byte(strings.Repeat("x", 4096))
		for {
			os.Stderr.Write(block)
		}
	}
	if len(os.Args) > 1 && os.Args[1] == "stderr" {
		n := 100000
		if len(os.Args) > 2 {
			n, _ = strconv.Atoi(os.Args[2])
		}
		w := bufio.NewWriter(os.Stderr)
		fmt.Fprintln(w, strings.Repeat("x", 20000))
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "flood: stderr line %06d\n", i)
		}
		w.Flush()
		fmt.Print("done")
		return
	}
	block := []byte(strings.Repeat("0123456789abcdef", 4096))
	for {
		os.Stdout.Write(block)
	}
}
