//go:build wasip1

// Command Submit is a storage test function: POST /api/submit with a JSON
// object puts that object on the "work" queue (queue output "job") and
// answers 202.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var in struct {
		Data struct {
			Req struct {
				Body string `json:"Body"`
			} `json:"req"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Submit: bad invocation payload:", err)
		os.Exit(1)
	}
	job := json.RawMessage(in.Data.Req.Body)
	if !json.Valid(job) {
		fmt.Fprintln(os.Stderr, "Submit: the body is not JSON")
		os.Exit(1)
	}
	out := map[string]any{"Outputs": map[string]any{
		"job": job,
		"res": map[string]any{"statusCode": 202, "body": "queued"},
	}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
