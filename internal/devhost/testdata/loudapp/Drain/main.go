//go:build wasip1

// Command Drain is a queue test function that loads: it takes every message
// of the queue "good" and logs it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var in struct {
		Data struct {
			Msg string `json:"msg"` // double-encoded
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Drain: bad invocation payload:", err)
		os.Exit(1)
	}
	var msg string
	_ = json.Unmarshal([]byte(in.Data.Msg), &msg)
	fmt.Fprintf(os.Stderr, "Drain: got %s\n", msg)
	fmt.Println("{}")
}
