package wwtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwtest"
)

// checks lists what each host call answered, as "name=error".
var checks []string

func check(name string, err error) {
	checks = append(checks, fmt.Sprintf("%s=%v", name, err))
}

func init() {
	ww.Handle("Checks", func(ctx context.Context) error {
		checks = nil
		check("status", ww.SetStatus(1000))
		check("header", ww.AddHeader("bad name", "v"))
		check("header-crlf", ww.AddHeader("x-a", "a\r\nb"))
		check("cookie", ww.AddCookie("no equals sign"))
		check("body-int", ww.SetBody(ww.Int, make([]byte, 8)))
		check("output-undeclared", ww.SetOutputString("nope", "x"))
		check("output-json", ww.SetOutputRaw("out", ww.JSON, []byte("{")))
		check("output-utf8", ww.SetOutputRaw("out", ww.String, []byte{0xff}))
		check("output-int-size", ww.SetOutputRaw("out", ww.Int, []byte{1}))
		n := 0
		if v, err := ww.Input("list"); err == nil {
			n = v.Len
		}
		var items []string
		for i := range n {
			v, err := ww.Item("list", i)
			check("item", err)
			items = append(items, v.String())
		}
		_, err := ww.Item("list", n)
		check("item-past-end", err)
		_, err = ww.Metadata("Missing")
		check("metadata-missing", err)
		check("header-ok", ww.AddHeader("X-A", "1"))
		check("header-again", ww.AddHeader("x-a", "2"))
		check("cookie-ok", ww.AddCookie("id=1; Path=/"))
		return ww.SetOutputString("out", strings.Join(items, "+"))
	}, ww.Bind(ww.Binding{"type": "httpTrigger", "direction": "in", "name": "req"}),
		ww.Bind(ww.Binding{"type": "http", "direction": "out", "name": "res"}),
		ww.Bind(ww.Binding{"type": "queue", "direction": "out", "name": "out", "queueName": "q"}))

	ww.HandleQueue("NoHTTP", "q", func(ctx context.Context, msg *ww.QueueMessage) error {
		checks = nil
		check("status", ww.SetStatus(200))
		_, err := ww.Input("req")
		check("input", err)
		return errors.New("fails on purpose")
	})
}

// TestHostChecks: the in-memory host answers as the worker does (SPEC.md §5, §6).
func TestHostChecks(t *testing.T) {
	res, err := wwtest.Invoke("Checks", wwtest.Request(httptest.NewRequest("GET", "/api/checks", nil)),
		wwtest.Input("list", []string{"a", "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{
		"status=wasmworker: invalid argument", "header=wasmworker: invalid argument", "header-crlf=wasmworker: invalid argument",
		"cookie=wasmworker: invalid argument", "body-int=wasmworker: type not allowed here",
		"output-undeclared=wasmworker: not an output binding of this function", "output-json=wasmworker: invalid JSON",
		"output-utf8=wasmworker: text is not valid UTF-8", "output-int-size=wasmworker: invalid argument",
		"item=<nil>", "item=<nil>", "item-past-end=wasmworker: not found", "metadata-missing=wasmworker: not found",
		"header-ok=<nil>", "header-again=<nil>", "cookie-ok=<nil>",
	}
	if strings.Join(checks, "\n") != strings.Join(want, "\n") {
		t.Errorf("host answers:\n%s\nwant:\n%s", strings.Join(checks, "\n"), strings.Join(want, "\n"))
	}
	if v, _ := res.Output("out"); v.String() != "a+b" {
		t.Errorf("out = %q", v.String())
	}
	if res.HTTP == nil || res.HTTP.StatusCode != 200 || res.HTTP.Header.Get("X-A") != "1, 2" || len(res.HTTP.Cookies) != 1 {
		t.Errorf("response %+v", res.HTTP)
	}
}

// TestFailure: no HTTP for a queue function; a failure keeps the logs and
// drops outputs.
func TestFailure(t *testing.T) {
	res, err := wwtest.Invoke("NoHTTP", wwtest.Queue(ww.QueueMessage{Body: []byte("x")}))
	if err != nil {
		t.Fatal(err)
	}
	var fe *wwtest.FunctionError
	if !errors.As(res.Err, &fe) || fe.Message != "fails on purpose" || fe.Function != "NoHTTP" {
		t.Errorf("err %#v", res.Err)
	}
	if want := "status=wasmworker: no HTTP request or http output binding\ninput=wasmworker: not found"; strings.Join(checks, "\n") != want {
		t.Errorf("host answers %q", checks)
	}
	if res.HTTP != nil || res.Outputs != nil {
		t.Errorf("a failed invocation has outputs: %+v", res)
	}
}

// TestOptionErrors: mistakes of the test itself are Invoke's error.
func TestOptionErrors(t *testing.T) {
	if _, err := wwtest.Invoke("NoHTTP", wwtest.Input("msg", func() {})); err == nil || !strings.Contains(err.Error(), "input msg") {
		t.Errorf("unencodable input: %v", err)
	}
	if _, err := wwtest.Invoke("Missing"); err == nil || !strings.Contains(err.Error(), `no function "Missing" is registered (registered: `) ||
		!strings.Contains(err.Error(), "Checks") || !strings.Contains(err.Error(), "NoHTTP") {
		t.Errorf("unknown function: %v", err)
	}
}
