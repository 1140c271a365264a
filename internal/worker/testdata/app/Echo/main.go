//go:build wasip1

// Echo answers an HTTP request with what it received, so tests can check
// the whole payload path: it echoes the request body and reports the route
// parameter, a query value, a header and the method in response headers.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

type request struct {
	Data struct {
		Req struct {
			Method  string              `json:"Method"`
			Query   map[string]string   `json:"Query"`
			Headers map[string][]string `json:"Headers"`
			Params  map[string]string   `json:"Params"`
			Body    string              `json:"Body"`
		} `json:"req"`
	} `json:"Data"`
}

func main() {
	in, _ := io.ReadAll(os.Stdin)
	var r request
	if err := json.Unmarshal(in, &r); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	req := r.Data.Req
	fmt.Fprintf(os.Stderr, "echo %s id=%s\n", req.Method, req.Params["id"])
	xTest := ""
	if v := req.Headers["x-test"]; len(v) > 0 {
		xTest = v[0]
	}
	out := map[string]any{
		"Outputs": map[string]any{
			"res": map[string]any{
				"statusCode": 200,
				"headers": map[string]string{
					"Content-Type": "application/octet-stream",
					"X-Method":     req.Method,
					"X-Id":         req.Params["id"],
					"X-Q":          req.Query["q"],
					"X-Test":       xTest,
				},
				"body": req.Body,
			},
		},
		"Logs": []string{"echoed " + fmt.Sprint(len(req.Body)) + " bytes"},
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
