// Command go is the in-code variant of examples-wasm/abi/go: the same two
// functions, declared in code with the Go SDK, so that the app is host.json,
// local.settings.json and one app.wasm, with no function folders. Build it
// (app.wasm is not committed; `wasmfunc start` builds it too):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o app.wasm .
//
// and test it natively with go test.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwhttp"
)

// Functions are registered in init: a -buildmode=c-shared module never runs
// main.
func init() {
	wwhttp.HandleFunc("HttpHello", hello,
		ww.Route("hello/{name?}"), ww.Methods("GET", "POST"), ww.AuthLevel("anonymous"))
	ww.HandleQueue("ProcessJob", "jobs", processJob,
		ww.QueueOutput("result", "results"))
}

func main() {}

// hello greets the name given in the query, the route or the body.
func hello(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = r.PathValue("name")
	}
	if name == "" {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name = string(b)
	}
	if name == "" {
		name = "world"
	}
	ww.Logger(r.Context()).Info("greeting " + name)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello, %s!", name)
}

// processJob handles a queue message and writes a result message to the
// "result" output binding. An empty message fails, so the queue retries.
func processJob(ctx context.Context, msg *ww.QueueMessage) error {
	if len(msg.Body) == 0 {
		return errors.New("empty job message")
	}
	ww.Logger(ctx).Info("processed job " + msg.ID)
	return ww.SetOutput(ctx, "result", fmt.Sprintf("done: %s (attempt %d)", msg, msg.DequeueCount))
}
