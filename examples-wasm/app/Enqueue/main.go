//go:build wasip1

// Command Enqueue puts the JSON body of a POST /api/jobs on the "jobs" queue
// (output binding "job") and answers 202 with the message it queued.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// request is the custom-handler payload; "req" is the HTTP trigger's name.
type request struct {
	Data struct {
		Req struct {
			Body string `json:"Body"` // the body as raw text; absent when empty
		} `json:"req"`
	} `json:"Data"`
}

// response carries one value per output binding, keyed by its exact name.
// Logs are a second way to log, next to lines on stderr.
type response struct {
	Outputs map[string]any `json:"Outputs"`
	Logs    []string       `json:"Logs,omitempty"`
}

type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       any               `json:"body"`
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Enqueue: bad invocation payload:", err)
		os.Exit(1)
	}
	out := enqueue(in.Data.Req.Body)
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "Enqueue: write response:", err)
		os.Exit(1)
	}
}

func enqueue(body string) response {
	var job map[string]any
	if err := json.Unmarshal([]byte(body), &job); err != nil || job == nil {
		return response{
			Outputs: map[string]any{"res": jsonReply(400, map[string]string{"error": "POST a JSON object, e.g. {\"task\":\"resize\"}"})},
			Logs:    []string{"rejected a body that is not a JSON object"},
		}
	}
	// A queue output takes a string, or an object that is sent as its JSON
	// text. Leaving "job" out of Outputs would queue nothing.
	msg := json.RawMessage(body)
	return response{
		Outputs: map[string]any{
			"job": msg,
			"res": jsonReply(202, map[string]any{"queued": msg}),
		},
		Logs: []string{fmt.Sprintf("queued a job with %d fields", len(job))},
	}
}

func jsonReply(status int, body any) httpResponse {
	return httpResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}
