//go:build wasip1

// Sleep waits for the number of milliseconds in its queue message and then
// returns "slept <n>ms", to hold invocations in flight.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var in struct {
		Data struct {
			Msg string `json:"msg"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	var text string // the message arrives double-encoded: "\"150\""
	if err := json.Unmarshal([]byte(in.Data.Msg), &text); err != nil {
		text = in.Data.Msg
	}
	ms, _ := strconv.Atoi(text)
	time.Sleep(time.Duration(ms) * time.Millisecond)
	json.NewEncoder(os.Stdout).Encode(map[string]any{"ReturnValue": fmt.Sprintf("slept %dms", ms)})
}
