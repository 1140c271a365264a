//go:build wasip1

// Command ProcessJob handles a message of the "jobs" queue and returns a
// result message that the $return binding puts on the "results" queue. A job
// with "fail": true exits non-zero, so the host retries it and finally moves
// it to the poison queue.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// request is the custom-handler payload. The host JSON-encodes every string
// it sends a second time: the message {"task":"x"} arrives in Data.msg as
// "\"{\\\"task\\\":\\\"x\\\"}\"", the message id as "\"<id>\"", and even
// numbers come as strings: DequeueCount 1 is "1".
type request struct {
	Data struct {
		Msg string `json:"msg"` // the trigger's binding name
	} `json:"Data"`
	Metadata struct {
		ID           string `json:"Id"`
		DequeueCount string `json:"DequeueCount"`
	} `json:"Metadata"`
}

type job struct {
	Task string `json:"task"`
	Fail bool   `json:"fail"`
}

// result is the message returned for the "results" queue.
type result struct {
	Task      string `json:"task"`
	Status    string `json:"status"`
	MessageID string `json:"messageId"`
	Attempt   int    `json:"attempt"`
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("bad invocation payload: %v", err)
	}
	text, err := decodeString(in.Data.Msg)
	if err != nil {
		fail("message is not a JSON-encoded string: %v", err)
	}
	var j job
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		fail("message %q is not a job object: %v", text, err)
	}
	id, _ := decodeString(in.Metadata.ID)
	attempt, _ := strconv.Atoi(in.Metadata.DequeueCount)
	if j.Fail {
		fail("job %q (message %s) failed on attempt %d", j.Task, id, attempt)
	}
	fmt.Fprintf(os.Stderr, "ProcessJob: did %q (message %s, attempt %d)\n", j.Task, id, attempt)
	// With a "$return" output binding, ReturnValue is what gets queued.
	out := map[string]any{"ReturnValue": result{Task: j.Task, Status: "done", MessageID: id, Attempt: attempt}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("write response: %v", err)
	}
}

// decodeString undoes the host's second encoding of a string value.
func decodeString(s string) (string, error) {
	var v string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// fail logs to stderr and exits non-zero, which fails the invocation.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ProcessJob: "+format+"\n", args...)
	os.Exit(1)
}
