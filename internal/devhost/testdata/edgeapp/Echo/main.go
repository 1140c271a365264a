//go:build wasip1

// Command Echo is an HTTP test function: it answers 200 with a JSON object
// holding the route value {name}, the query, the x-probe header and the body
// it received, so that tests can see what the host sent.
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
				Query   map[string]*string  `json:"Query"`
				Headers map[string][]string `json:"Headers"`
				Params  map[string]*string  `json:"Params"`
				Body    *string             `json:"Body"`
			} `json:"req"`
		} `json:"Data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "Echo: bad invocation payload:", err)
		os.Exit(1)
	}
	req := in.Data.Req
	body := map[string]any{"name": req.Params["name"], "query": req.Query, "probe": req.Headers["x-probe"], "body": req.Body}
	out := map[string]any{"Outputs": map[string]any{"res": map[string]any{
		"statusCode": 200,
		"headers":    map[string]string{"Content-Type": "application/json"},
		"body":       body,
	}}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "Echo: write response:", err)
		os.Exit(1)
	}
}
