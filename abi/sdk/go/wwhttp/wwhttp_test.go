package wwhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwhttp"
	"github.com/wasmworker/wasmworker/abi/sdk/go/wwtest"
)

var lastCtx context.Context

func init() {
	wwhttp.HandleFunc("Hello", hello, ww.Route("hello/{name?}"), ww.Methods("GET", "POST"), ww.AuthLevel("anonymous"),
		ww.QueueOutput("audit", "audit"))
	wwhttp.Handle("Mux", mux(), ww.Route("items/{*rest}"))
}

// hello greets the route parameter, the query or the body, and shows what
// it saw of the request.
func hello(w http.ResponseWriter, r *http.Request) {
	lastCtx = r.Context()
	name := r.PathValue("name")
	q := r.URL.Query()
	if name == "" && q.Has("name") {
		name = q.Get("name")
		if name == "" {
			http.Error(w, "name is empty", http.StatusBadRequest)
			return
		}
	}
	if name == "" {
		b, _ := io.ReadAll(r.Body)
		name = string(b)
	}
	if name == "" {
		name = "world"
	}
	inv, ok := ww.FromContext(r.Context())
	if !ok {
		http.Error(w, "no invocation in the request's context", 500)
		return
	}
	if err := ww.SetOutput(r.Context(), "audit", map[string]string{"name": name, "inv": inv.ID}); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("X-One", "a")
	w.Header().Set("X-One", "b")
	w.Header().Add("X-Two", "a")
	w.Header().Add("X-Two", "b")
	w.Header().Set("X-Seen", fmt.Sprintf("%s %s %s %s", r.Method, r.Host, r.URL.Path, r.Header.Get("X-Req")))
	http.SetCookie(w, &http.Cookie{Name: "greeted", Value: name, Path: "/", HttpOnly: true})
	w.WriteHeader(http.StatusCreated)
	w.Header().Set("X-Late", "ignored")
	fmt.Fprintf(w, "Hello, %s!", name)
}

// mux is an http.ServeMux behind one function, with JSON.
func mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
	})
	return m
}

func TestHello(t *testing.T) {
	cases := []struct {
		name   string
		req    *http.Request
		opts   []wwtest.Option
		status int
		body   string
	}{
		{"query", httptest.NewRequest("GET", "/api/hello?name=Go", nil), nil, 201, "Hello, Go!"},
		{"route", httptest.NewRequest("GET", "/api/hello/Ada", nil), []wwtest.Option{wwtest.RouteParam("name", "Ada")}, 201, "Hello, Ada!"},
		{"body", httptest.NewRequest("POST", "/api/hello", strings.NewReader("Bo")), nil, 201, "Hello, Bo!"},
		{"default", httptest.NewRequest("GET", "/api/hello", nil), nil, 201, "Hello, world!"},
		{"empty query", httptest.NewRequest("GET", "/api/hello?name=", nil), nil, 400, "name is empty\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Header.Set("X-Req", "r1")
			res, err := wwtest.Invoke("Hello", append(c.opts, wwtest.Request(c.req))...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.HTTP.StatusCode != c.status || res.HTTP.String() != c.body {
				t.Fatalf("%d %q, want %d %q", res.HTTP.StatusCode, res.HTTP.String(), c.status, c.body)
			}
			if c.status != 201 {
				if ct := res.HTTP.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("content type %q", ct)
				}
				return
			}
			h := res.HTTP.Header
			want := map[string]string{"X-One": "b", "X-Two": "a, b", "Content-Type": "text/plain; charset=utf-8",
				"X-Seen": c.req.Method + " example.com " + c.req.URL.Path + " r1", "X-Late": ""}
			for k, v := range want {
				if h.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
				}
			}
			name := strings.TrimSuffix(strings.TrimPrefix(c.body, "Hello, "), "!")
			if len(res.HTTP.Cookies) != 1 || res.HTTP.Cookies[0] != "greeted="+name+"; Path=/; HttpOnly" {
				t.Errorf("cookies %q", res.HTTP.Cookies)
			}
			var audit map[string]string
			if err := res.DecodeOutput("audit", &audit); err != nil || audit["name"] != name || audit["inv"] != "wwtest-invocation" {
				t.Errorf("audit %v %v", audit, err)
			}
			if lastCtx.Err() == nil {
				t.Error("r.Context() is not done after the invocation")
			}
		})
	}
}

func TestMux(t *testing.T) {
	res, err := wwtest.Invoke("Mux", wwtest.Request(httptest.NewRequest("GET", "/api/items/42", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.HTTP.StatusCode != 200 || res.HTTP.String() != "{\"id\":\"42\"}\n" ||
		res.HTTP.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%v %+v", res.Err, res.HTTP)
	}
	res, err = wwtest.Invoke("Mux", wwtest.Request(httptest.NewRequest("DELETE", "/api/items/42", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.HTTP.StatusCode != 405 {
		t.Errorf("%v %+v", res.Err, res.HTTP)
	}
}

func TestDeclaration(t *testing.T) {
	decls, err := wwtest.Declarations()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"Hello","entryPoint":"ww_dispatch","bindings":[{"authLevel":"anonymous","direction":"in","methods":["get","post"],"name":"req","route":"hello/{name?}","type":"httpTrigger"},{"direction":"out","name":"res","type":"http"},{"connection":"AzureWebJobsStorage","direction":"out","name":"audit","queueName":"audit","type":"queue"}]}`
	if len(decls) != 5 || string(decls[0]) != want {
		t.Errorf("declarations %s", decls)
	}
}

// TestHandlerStandalone: the same handler runs under net/http/httptest
// directly, the other way to test it natively.
func TestHandlerStandalone(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/hello", nil)
	r.SetPathValue("name", "Cy")
	hello(w, r)
	// No invocation in the context: SetOutput fails, and the handler says so.
	if w.Code != 500 || !strings.Contains(w.Body.String(), "no invocation") {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

func init() {
	wwhttp.HandleFunc("Status", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
			panic(fmt.Sprintf("Write after 204: %v", err))
		}
	})
	wwhttp.HandleFunc("Head", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "body of a GET")
	})
}

// TestNoBody: 204 refuses a body; HEAD sends the headers without it.
func TestNoBody(t *testing.T) {
	res, err := wwtest.Invoke("Status", wwtest.Request(httptest.NewRequest("GET", "/api/Status", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.HTTP.StatusCode != 204 || len(res.HTTP.Body) != 0 {
		t.Errorf("204: %v %+v", res.Err, res.HTTP)
	}
	res, err = wwtest.Invoke("Head", wwtest.Request(httptest.NewRequest("HEAD", "/api/Head", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.HTTP.StatusCode != 200 || len(res.HTTP.Body) != 0 || res.HTTP.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("HEAD: %v %+v", res.Err, res.HTTP)
	}
}

func init() {
	wwhttp.HandleFunc("Page", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html><body>hi</body></html>"))
	}, ww.Route("page"))
}

// TestHeadHasTheHeadersOfGet: as net/http's server, a HEAD response has no
// body but the headers a GET gets, the guessed content type included.
func TestHeadHasTheHeadersOfGet(t *testing.T) {
	for _, method := range []string{"GET", "HEAD"} {
		res, err := wwtest.Invoke("Page", wwtest.Request(httptest.NewRequest(method, "/api/page", nil)))
		if err != nil || res.Err != nil {
			t.Fatalf("%s: %v %v", method, err, res.Err)
		}
		if ct := res.HTTP.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: content type %q", method, ct)
		}
		if body := res.HTTP.String(); (method == "HEAD") != (body == "") {
			t.Errorf("%s: body %q", method, body)
		}
	}
}
