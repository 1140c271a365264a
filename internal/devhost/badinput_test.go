//go:build unix

package devhost

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// withEdgeFunctions copies the example app for the test and adds the
// functions of testdata/edgeapp (Echo, Status) to it.
func withEdgeFunctions(t *testing.T) string {
	t.Helper()
	app := copyApp(t, exampleApp, false)
	for _, fn := range []string{"Echo", "Status"} {
		if err := os.CopyFS(filepath.Join(app, fn), os.DirFS(filepath.Join(edgeApp, fn))); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// send sends a request with extra headers (values as they are, any bytes)
// and returns the status and body.
func (h *cmdHost) send(method, path string, header map[string]string, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %q: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %q: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// workerExits returns the worker events that report a process exit.
func (h *cmdHost) workerExits() []Event {
	var out []Event
	for _, e := range h.events() {
		if e.Kind == "worker" && (strings.Contains(e.Message, "exited") || strings.Contains(e.Message, "restart")) {
			out = append(out, e)
		}
	}
	return out
}

// TestHostileRequests sends wasmfunc requests that the real host would
// never pass on as they are: bytes that are not UTF-8 where the protocol
// wants strings (issue #11 item 2), and functions that answer with a status
// code that is not one (item 6). Each gets a normal answer or a clear 500,
// and the worker is never restarted.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	h := startHost(t, withEdgeFunctions(t), hostConfig{args: []string{"--no-build", "--no-watch"}})
	st := h.waitStatus("a ready worker", func(st hostStatus) bool { return len(readyPIDs(st)) == 1 })
	pids := readyPIDs(st)

	t.Run("InvalidUTF8", func(t *testing.T) {
		const bad = "a\xffb"
		for _, c := range []struct {
			path   string
			header map[string]string
			want   map[string]any
		}{
			{"/api/hello/Ada?greeting=%ff", nil, map[string]any{"message": "\uFFFD, Ada."}},
			{"/api/hello/%ff", nil, map[string]any{"message": "Hello, \uFFFD."}},
			{"/api/hello/Ada", map[string]string{"X-Probe": bad}, map[string]any{"message": "Hello, Ada."}},
			{"/api/hello/%ff%fe?greeting=%fe&%fd=%fc", map[string]string{"X-Probe": bad, "X-Other": "\xff"}, map[string]any{"message": "\uFFFD, \uFFFD."}},
		} {
			code, body := h.send(http.MethodGet, c.path, c.header, "")
			if code != http.StatusOK {
				t.Fatalf("GET %q = %d %s", c.path, code, body)
			}
			wantJSON(t, "GET "+c.path, body, c.want)
		}

		// Echo shows every part as the function received it.
		code, body := h.send(http.MethodPost, "/api/echo/a%ffb?q=%ff&raw=\xfe", map[string]string{"X-Probe": bad, "Content-Type": "text/plain"}, bad)
		if code != http.StatusOK {
			t.Fatalf("POST /api/echo = %d %s", code, body)
		}
		var echo struct {
			Name  string            `json:"name"`
			Query map[string]string `json:"query"`
			Probe []string          `json:"probe"`
			Body  string            `json:"body"`
		}
		if err := json.Unmarshal([]byte(body), &echo); err != nil {
			t.Fatalf("Echo's answer %q: %v", body, err)
		}
		if echo.Name != "a\uFFFDb" || echo.Query["q"] != "\uFFFD" || echo.Query["raw"] != "\uFFFD" || !slices.Equal(echo.Probe, []string{"a\uFFFDb"}) {
			t.Errorf("Echo received %+v; want U+FFFD for each invalid byte", echo)
		}
		// The body stays bytes: not UTF-8, it reaches a command-mode guest as base64.
		if echo.Body != "Yf9i" {
			t.Errorf("Echo received the body %q, want the bytes a 0xff b in base64 (Yf9i)", echo.Body)
		}
	})

	t.Run("InvalidStatusCode", func(t *testing.T) {
		for _, c := range []string{"abc", "99999", "0", "-1", "100", "101", "199", "600", "200.5"} {
			code, body := h.send(http.MethodGet, "/api/status?code="+c, nil, "")
			want := `function "Status" returned an invalid HTTP status code "` + c + `"`
			if code != http.StatusInternalServerError || !strings.Contains(body, want) {
				t.Errorf("status %q: got %d %q, want 500 with %s", c, code, body, want)
			}
			h.waitEvent("the failed end of status "+c, func(e Event) bool {
				return e.Kind == "end" && e.Function == "Status" && e.Status == "Failed" && strings.Contains(e.Error, want)
			})
		}
		for c, want := range map[string]int{"": 200, "201": 201, "404": 404, "599": 599} {
			if code, body := h.send(http.MethodGet, "/api/status?code="+c, nil, ""); code != want || body != "x" {
				t.Errorf("status %q: got %d %q, want %d x", c, code, body, want)
			}
		}
	})

	if code, body := h.send(http.MethodGet, "/api/hello/Ada", nil, ""); code != http.StatusOK {
		t.Fatalf("GET /api/hello/Ada after the hostile requests = %d %s", code, body)
	}
	if got := readyPIDs(h.status()); !slices.Equal(got, pids) {
		t.Errorf("worker processes %v after the hostile requests, want %v still", got, pids)
	}
	if ex := h.workerExits(); len(ex) > 0 {
		t.Errorf("the worker exited or restarted: %+v", ex)
	}
}
