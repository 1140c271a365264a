//go:build wasip1

// Command Hello is an HTTP function in command mode (abi/COMMAND.md), as a
// plain WASI command. It reads the custom-handler request JSON on stdin,
// takes the route parameter Data.req.Params.name ("world" when absent, null
// or empty) and prints the response JSON on stdout:
//
//	{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},
//	 "body":"Hello, <name>"}},"Logs":[],"ReturnValue":null}
//
// Build: go run ./cmd/wasmbuild examples-wasm/command/go (from the module root).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

type request struct {
	Data struct {
		Req struct {
			Params map[string]string `json:"Params"`
		} `json:"req"`
	} `json:"Data"`
}

// The structs fix the key order of the response, so every language of this
// example writes the same bytes.
type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

type response struct {
	Outputs struct {
		Res httpResponse `json:"res"`
	} `json:"Outputs"`
	Logs        []string `json:"Logs"`
	ReturnValue any      `json:"ReturnValue"`
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Hello: reading stdin:", err)
		os.Exit(1)
	}
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		fmt.Fprintln(os.Stderr, "Hello: bad invocation payload:", err)
		os.Exit(1)
	}
	name := req.Data.Req.Params["name"]
	if name == "" {
		name = "world"
	}

	var resp response
	resp.Outputs.Res = httpResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "text/plain"},
		Body:       "Hello, " + name,
	}
	resp.Logs = []string{}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep <, > and & as they are, like the other languages
	if err := enc.Encode(resp); err != nil {
		fmt.Fprintln(os.Stderr, "Hello: encoding the response:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintln(os.Stderr, "Hello: writing stdout:", err)
		os.Exit(1)
	}
}
