//go:build wasip1

// Command go holds two Azure Functions in one ABI v1 module, written with
// the Go SDK (abi/sdk/go). HttpHello/function.json uses entry point "hello",
// ProcessJob/function.json uses "process_job". Build: ../build.sh go
// (examples-wasm/incode/go declares the same two functions in code instead.)
package main

import (
	"errors"
	"fmt"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
)

func main() {}

// hello greets the name given in the query, the route or the body.
//
//go:wasmexport hello
func hello() int32 {
	return ww.Run(func() error {
		name := ww.Query("name")
		if name == "" {
			name = ww.Param("name")
		}
		if name == "" {
			name = string(ww.Body())
		}
		if name == "" {
			name = "world"
		}
		ww.Log(ww.Information, "greeting "+name)
		if err := ww.AddHeader("content-type", "text/plain; charset=utf-8"); err != nil {
			return err
		}
		return ww.WriteString("Hello, " + name + "!")
	})
}

// processJob handles a queue message and writes a result message to the
// "result" output binding. An empty message fails, so the queue retries.
//
//go:wasmexport process_job
func processJob() int32 {
	return ww.Run(func() error {
		msg, err := ww.Input("msg")
		if err != nil || msg.Len == 0 {
			return errors.New("empty job message")
		}
		// DequeueCount arrives as JSON text ("1"); Id as a string.
		attempt, id := "?", "?"
		if v, err := ww.Metadata("DequeueCount"); err == nil {
			attempt = v.String()
		}
		if v, err := ww.Metadata("Id"); err == nil {
			id = v.String()
		}
		ww.Log(ww.Information, "processed job "+id)
		return ww.SetOutputString("result", fmt.Sprintf("done: %s (attempt %s)", msg, attempt))
	})
}
