//go:build wasip1

// Fetch makes the outbound HTTP requests its query asks for, with net/http
// over the SDK's transport, and answers with what happened as JSON, so tests
// can check the grant, the address rules and the limits from the guest's
// side. Query: url, method (GET), body, count (1: how many times), redirect
// (follow, the default, or none), read (all, the default, or none: leave the
// body unread).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/wasmworker/wasmworker/abi/sdk/go/outbound"
)

type request struct {
	Data struct {
		Req struct {
			Query map[string]string `json:"Query"`
		} `json:"req"`
	} `json:"Data"`
}

type result struct {
	Status int               `json:"status,omitempty"`
	Proto  string            `json:"proto,omitempty"`
	Header map[string]string `json:"header,omitempty"`
	Body   string            `json:"body,omitempty"`
	Length int               `json:"length"`
	Error  string            `json:"error,omitempty"`
	Denied bool              `json:"denied,omitempty"`
	Limit  bool              `json:"limit,omitempty"`
	Done   int               `json:"done"` // requests that got a response
}

func main() {
	in, _ := io.ReadAll(os.Stdin)
	var r request
	if err := json.Unmarshal(in, &r); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	q := r.Data.Req.Query
	count, _ := strconv.Atoi(q["count"])
	res := run(q, max(count, 1))
	body, _ := json.Marshal(res)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"Outputs": map[string]any{"res": map[string]any{
			"statusCode": 200,
			"headers":    map[string]string{"Content-Type": "application/json"},
			"body":       string(body),
		}},
	})
}

func run(q map[string]string, count int) (res result) {
	method := q["method"]
	if method == "" {
		method = http.MethodGet
	}
	client := &http.Client{}
	if q["redirect"] == "none" {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	for range count {
		var body io.Reader
		if b, ok := q["body"]; ok {
			body = strings.NewReader(b)
		}
		req, err := http.NewRequest(method, q["url"], body)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		req.Header.Set("X-Guest", "fetch")
		resp, err := client.Do(req)
		if err != nil {
			res.Error = err.Error()
			res.Denied = errors.Is(err, outbound.ErrDenied)
			res.Limit = errors.Is(err, outbound.ErrLimit)
			return res
		}
		res.Done++
		res.Status, res.Proto = resp.StatusCode, resp.Proto
		res.Header = map[string]string{}
		for k := range resp.Header {
			res.Header[k] = resp.Header.Get(k)
		}
		if q["read"] != "none" {
			b, err := io.ReadAll(resp.Body)
			res.Length = len(b)
			if len(b) <= 4096 {
				res.Body = string(b)
			}
			if err != nil {
				res.Error = err.Error()
				res.Limit = errors.Is(err, outbound.ErrLimit)
				resp.Body.Close()
				return res
			}
		}
		resp.Body.Close()
	}
	return res
}
