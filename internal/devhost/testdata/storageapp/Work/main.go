//go:build wasip1

// Command Work is a storage test function: for a message {"id","text"} of
// the "work" queue it writes the text in upper case to blob docs/{id}.txt
// (blob output "doc", whose path uses the message's "id"). A message whose
// text is "fail" fails, so that it ends on the poison queue.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	var in struct {
		Data struct {
			Msg string `json:"msg"` // the message text, JSON-encoded once more
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Work: bad invocation payload:", err)
		os.Exit(1)
	}
	var text string
	if err := json.Unmarshal([]byte(in.Data.Msg), &text); err != nil {
		fmt.Fprintln(os.Stderr, "Work: the message is not a JSON string:", err)
		os.Exit(1)
	}
	var job struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(text), &job); err != nil {
		fmt.Fprintf(os.Stderr, "Work: message %q is not a job: %v\n", text, err)
		os.Exit(1)
	}
	if job.Text == "fail" {
		fmt.Fprintf(os.Stderr, "Work: job %s fails on purpose\n", job.ID)
		os.Exit(1)
	}
	out := map[string]any{"Outputs": map[string]any{"doc": strings.ToUpper(job.Text)}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
