//go:build wasip1

// Command HttpHello greets the {name} of its route. GET answers 200; POST
// reads options from a JSON body and answers 201, or 400 if the body is bad.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// request is the custom-handler payload: Data holds one entry per input
// binding, keyed by the binding's name in function.json ("req" here).
type request struct {
	Data struct {
		Req httpRequest `json:"req"`
	} `json:"Data"`
}

// httpRequest is the HTTP trigger as the host sends it to a custom handler.
type httpRequest struct {
	Method  string              `json:"Method"`
	Query   map[string]string   `json:"Query"`   // repeated keys arrive joined with ","
	Headers map[string][]string `json:"Headers"` // every header is a list of values
	Params  map[string]string   `json:"Params"`  // route values: {name}
	Body    string              `json:"Body"`    // raw text (not parsed); absent when empty
}

// httpResponse is an http output binding: status, string headers, body.
type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       any               `json:"body"` // an object is sent as JSON
}

type response struct {
	Outputs map[string]any `json:"Outputs"`
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "HttpHello: bad invocation payload:", err)
		os.Exit(1)
	}
	res := greet(in.Data.Req)
	fmt.Fprintf(os.Stderr, "HttpHello: %s %s -> %d\n", in.Data.Req.Method, in.Data.Req.Params["name"], res.StatusCode)
	if err := json.NewEncoder(os.Stdout).Encode(response{Outputs: map[string]any{"res": res}}); err != nil {
		fmt.Fprintln(os.Stderr, "HttpHello: write response:", err)
		os.Exit(1)
	}
}

func greet(req httpRequest) httpResponse {
	greeting := req.Query["greeting"]
	if greeting == "" {
		greeting = "Hello"
	}
	opts := struct {
		Punctuation string `json:"punctuation"`
	}{Punctuation: "."}
	status := 200
	if strings.EqualFold(req.Method, "POST") {
		status = 201
		if req.Body != "" {
			if err := json.Unmarshal([]byte(req.Body), &opts); err != nil {
				return reply(400, map[string]string{"error": "body must be a JSON object like {\"punctuation\":\"!\"}: " + err.Error()})
			}
		}
	}
	msg := fmt.Sprintf("%s, %s%s", greeting, req.Params["name"], opts.Punctuation)
	return reply(status, map[string]string{"message": msg})
}

func reply(status int, body any) httpResponse {
	return httpResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Powered-By": "wasmworker"},
		Body:       body,
	}
}
