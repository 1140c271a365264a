package wwtest_test

import (
	"context"
	"net/http/httptest"
	"testing"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwtest"
)

// An HTTP function declared with ww.Handle and an httpTrigger binding uses
// the low-level calls (the hot-path alternative to wwhttp the README names).
func init() {
	ww.Handle("LowLevelHello", func(context.Context) error {
		return ww.WriteString("Hello, " + ww.Query("name") + "!")
	}, ww.Bind(ww.Binding{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}),
		ww.Bind(ww.Binding{"type": "http", "direction": "out", "name": "res"}))
}

func TestLowLevelHTTPFunction(t *testing.T) {
	res, err := wwtest.Invoke("LowLevelHello", wwtest.Request(httptest.NewRequest("GET", "http://localhost/api/LowLevelHello?name=Ada", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.HTTP.String() != "Hello, Ada!" {
		t.Fatalf("result: err=%v body=%q", res.Err, res.HTTP.String())
	}
}
