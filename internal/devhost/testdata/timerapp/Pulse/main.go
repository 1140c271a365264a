//go:build wasip1

// Command Pulse is a timer-triggered test function whose schedule keeps a
// schedule monitor (it does not fire in every minute). It logs the timer value
// it received, compacted to one line, so that tests can check the payload
// the host sends.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var in struct {
		Data struct {
			Timer json.RawMessage `json:"timer"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Pulse: bad invocation payload:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in.Data.Timer); err != nil {
		fmt.Fprintln(os.Stderr, "Pulse: timer value is not JSON:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "Pulse: timer %s\n", buf.String())
	fmt.Println("{}")
}
