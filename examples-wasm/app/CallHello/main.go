//go:build wasip1

// Command CallHello makes an outbound HTTP request: it GETs the URL in the
// app setting HELLO_URL (local.settings.json points it at HttpHello of this
// app) and answers with the status and body it got. The blank import of the
// SDK's outbound package makes net/http's client send through the worker,
// which allows only the destinations function.json lists in allowedHosts.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	_ "github.com/wasmworker/wasmworker/abi/sdk/go/outbound"
)

type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       any               `json:"body"` // an object is sent as JSON
}

type response struct {
	Outputs map[string]any `json:"Outputs"`
}

func main() {
	// The trigger's payload on stdin is not needed: the request is always
	// the same.
	res := call(os.Getenv("HELLO_URL"))
	if err := json.NewEncoder(os.Stdout).Encode(response{Outputs: map[string]any{"res": res}}); err != nil {
		fmt.Fprintln(os.Stderr, "CallHello: write response:", err)
		os.Exit(1)
	}
}

// call GETs url and describes the answer: 200 with {"url", "status",
// "body"} when a response came back (whatever its status), 502 with
// {"url", "error"} when the request failed or was refused.
func call(url string) httpResponse {
	if url == "" {
		return reply(500, map[string]any{"error": "the app setting HELLO_URL is not set (local.settings.json Values; function.json grants it with \"env\")"})
	}
	resp, err := http.Get(url)
	if err != nil {
		// A refusal names the URL and the allowedHosts entry that would allow it.
		fmt.Fprintln(os.Stderr, "CallHello:", err)
		return reply(502, map[string]any{"url": url, "error": err.Error()})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "CallHello: read the body:", err)
		return reply(502, map[string]any{"url": url, "status": resp.StatusCode, "error": err.Error()})
	}
	fmt.Fprintf(os.Stderr, "CallHello: GET %s -> %d (%d bytes)\n", url, resp.StatusCode, len(body))
	var got any = string(body)
	if json.Valid(body) {
		got = json.RawMessage(body) // HttpHello answers JSON: keep it as an object
	}
	return reply(200, map[string]any{"url": url, "status": resp.StatusCode, "body": got})
}

func reply(status int, body any) httpResponse {
	return httpResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}
