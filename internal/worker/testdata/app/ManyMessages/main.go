//go:build wasip1

// ManyMessages answers with a queue output array of as many zeros as its
// trigger message says: each element becomes a message in the host, so the
// array is charged by its elements, not only by its few bytes.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

func main() {
	var in struct {
		Data struct {
			Msg json.RawMessage `json:"msg"`
		}
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	text := string(in.Data.Msg) // a JSON string, whose text may be JSON-quoted again
	for s, err := strconv.Unquote(text); err == nil; s, err = strconv.Unquote(text) {
		text = s
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "the message must be a positive count:", text)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	w.WriteString(`{"Outputs":{"out":[0`)
	for range n - 1 {
		w.WriteString(",0")
	}
	w.WriteString(`]}}`)
	w.Flush()
}
