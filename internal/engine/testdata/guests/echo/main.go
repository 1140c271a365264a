//go:build wasip1

// Command echo copies stdin to stdout and writes numbered lines to stderr.
// Arguments change what it does:
//
//	lines=N  write N stderr lines (default 3)
//	partial  end stderr with a line that has no "\n"
//	info     write {"args","env","random","unixNano"} as JSON to stdout instead of stdin
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo: read stdin:", err)
		os.Exit(1)
	}
	lines, partial, info := 3, false, false
	for _, a := range os.Args[1:] {
		switch {
		case strings.HasPrefix(a, "lines="):
			lines, _ = strconv.Atoi(strings.TrimPrefix(a, "lines="))
		case a == "partial":
			partial = true
		case a == "info":
			info = true
		}
	}
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(os.Stderr, "echo: line %d\n", i)
	}
	if partial {
		fmt.Fprint(os.Stderr, "echo: no newline")
	}
	if info {
		r := make([]byte, 16)
		_, _ = rand.Read(r)
		out, _ := json.Marshal(map[string]any{
			"args":     os.Args,
			"env":      os.Environ(),
			"random":   hex.EncodeToString(r),
			"unixNano": time.Now().UnixNano(),
		})
		in = out
	}
	os.Stdout.Write(in)
}
