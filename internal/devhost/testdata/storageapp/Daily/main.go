//go:build wasip1

// Command Daily is a timer-triggered storage test function (once a day, and
// at start-up): it logs the timer value it received on one line, so that
// tests can see the ScheduleStatus the host kept.
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
		fmt.Fprintln(os.Stderr, "Daily: bad invocation payload:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in.Data.Timer); err != nil {
		fmt.Fprintln(os.Stderr, "Daily: timer value is not JSON:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "Daily: timer %s\n", buf.String())
	fmt.Println("{}")
}
