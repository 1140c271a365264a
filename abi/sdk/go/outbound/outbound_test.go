package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fakeHost plays the six imports of SPEC.md §5.7 in memory.
type fakeHost struct {
	heads   []string
	bodies  [][]byte
	sendErr int32  // returned by send instead of a handle when non-zero
	readErr int32  // returned by read once the body is half read, when non-zero
	message string // outbound_error's message
	resp    fakeResponse
	open    map[int32]*fakeResponse
	next    int32
	reads   int // outbound_read calls
	closes  int // outbound_close calls on open handles
}

type fakeResponse struct {
	status  int32
	headers string
	body    []byte
	pos     int
}

func (f *fakeHost) send(head string, body []byte) int32 {
	f.heads = append(f.heads, head)
	f.bodies = append(f.bodies, append([]byte(nil), body...))
	if f.sendErr != 0 {
		return f.sendErr
	}
	f.next++
	r := f.resp
	f.open[f.next] = &r
	return f.next
}

func (f *fakeHost) status(h int32) int32 {
	r, ok := f.open[h]
	if !ok {
		return codeBadHandle
	}
	return r.status
}

// getter answers with §5.1's convention for a STRING value.
func getter(s string, buf []byte) int64 {
	copy(buf, s)
	return 1<<32 | int64(len(s))
}

func (f *fakeHost) headers(h int32, buf []byte) int64 {
	r, ok := f.open[h]
	if !ok {
		return codeBadHandle
	}
	return getter(r.headers, buf)
}

func (f *fakeHost) read(h int32, buf []byte) int32 {
	f.reads++
	r, ok := f.open[h]
	if !ok {
		return codeBadHandle
	}
	if f.readErr != 0 && r.pos >= len(r.body)/2 {
		f.message = "reading the body failed"
		return f.readErr
	}
	n := copy(buf, r.body[r.pos:])
	r.pos += n
	return int32(n)
}

func (f *fakeHost) close(h int32) int32 {
	if _, ok := f.open[h]; !ok {
		return codeBadHandle
	}
	delete(f.open, h)
	f.closes++
	return 0
}

func (f *fakeHost) lastError(buf []byte) int64 {
	if f.message == "" {
		return codeNotFound
	}
	return getter(f.message, buf)
}

// useFake installs a fake host for one test (not parallel: host is global).
func useFake(t *testing.T, resp fakeResponse) *fakeHost {
	t.Helper()
	f := &fakeHost{resp: resp, open: map[int32]*fakeResponse{}}
	old := host
	host = f
	t.Cleanup(func() { host = old })
	return f
}

func client() *http.Client { return &http.Client{Transport: &Transport{}} }

func TestEncodeHead(t *testing.T) {
	req, err := http.NewRequest("PUT", "https://user:pw@api.example.com:8443/v1/items?q=a%20b#frag", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-B", "2")
	req.Header.Add("X-A", "1")
	req.Header.Add("X-A", "one more")
	for _, h := range []string{"Host", "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Te"} {
		req.Header.Set(h, "x")
	}
	head, err := encodeHead(req)
	if err != nil {
		t.Fatal(err)
	}
	want := "PUT https://api.example.com:8443/v1/items?q=a%20b\n" +
		"X-A: 1\nX-A: one more\nX-B: 2\nAuthorization: Basic dXNlcjpwdw==\n"
	if head != want {
		t.Errorf("head:\n%s\nwant:\n%s", head, want)
	}

	for _, c := range []struct {
		name  string
		build func() *http.Request
		want  string
	}{
		{"scheme", func() *http.Request { r, _ := http.NewRequest("GET", "ftp://example.com/", nil); return r }, `unsupported protocol scheme "ftp"`},
		{"relative", func() *http.Request { r, _ := http.NewRequest("GET", "/path", nil); return r }, `unsupported protocol scheme ""`},
		{"host", func() *http.Request { r, _ := http.NewRequest("GET", "http:///path", nil); return r }, "no host"},
		{"method", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://example.com/", nil)
			r.Method = "GE T"
			return r
		}, "invalid method"},
		{"value", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://example.com/", nil)
			r.Header["X-Evil"] = []string{"a\nInjected: yes"}
			return r
		}, `invalid value for header "X-Evil"`},
		{"name", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://example.com/", nil)
			r.Header["Bad Name"] = []string{"v"}
			return r
		}, `invalid header name "Bad Name"`},
	} {
		if _, err := encodeHead(c.build()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	h := parseHeader("Content-Length: 12\r\nContent-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\nX-Empty:\nnot a header\n")
	if h.Get("Content-Type") != "text/plain" || len(h.Values("Set-Cookie")) != 2 || h.Get("Content-Length") != "12" {
		t.Errorf("parsed %v", h)
	}
	if v, ok := h["X-Empty"]; !ok || v[0] != "" {
		t.Errorf("X-Empty = %q, %v; want an empty value", v, ok)
	}
	if contentLength(h) != 12 || contentLength(http.Header{}) != -1 || contentLength(http.Header{"Content-Length": {"x"}}) != -1 {
		t.Error("contentLength")
	}
}

func TestGetThroughHost(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160,000 bytes: five chunks
	f := useFake(t, fakeResponse{status: 200, headers: "Content-Length: 160000\nContent-Type: text/plain\n", body: body})
	resp, err := client().Get("http://example.com/big")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.ContentLength != 160000 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("response: %s, length %d, header %v", resp.Status, resp.ContentLength, resp.Header)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body: %d bytes, err %v; want the %d bytes sent", len(got), err, len(body))
	}
	// io.ReadAll reads with small buffers at first: the chunk buffer turns
	// them into reads of 32 KiB, plus the one that finds the end.
	if want := (len(body)+chunkSize-1)/chunkSize + 1; f.reads > want {
		t.Errorf("%d outbound_read calls for %d bytes, want at most %d", f.reads, len(body), want)
	}
	if f.closes != 1 || len(f.open) != 0 {
		t.Errorf("at the end of the body: %d closes, %d open; want the response released once", f.closes, len(f.open))
	}
	if err := resp.Body.Close(); err != nil || f.closes != 1 {
		t.Errorf("Close after the end: %v, %d closes", err, f.closes)
	}
	if f.heads[0] != "GET http://example.com/big\n" || len(f.bodies[0]) != 0 {
		t.Errorf("sent %q with %d body bytes", f.heads[0], len(f.bodies[0]))
	}
}

func TestPostBody(t *testing.T) {
	f := useFake(t, fakeResponse{status: 201, headers: "", body: []byte("made")})
	req, err := http.NewRequestWithContext(context.Background(), "POST", "https://example.com/items", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(got) != "made" || resp.ContentLength != -1 {
		t.Errorf("response %d %q length %d", resp.StatusCode, got, resp.ContentLength)
	}
	if f.heads[0] != "POST https://example.com/items\nContent-Type: application/json\n" || string(f.bodies[0]) != `{"a":1}` {
		t.Errorf("sent %q body %q", f.heads[0], f.bodies[0])
	}
}

func TestDenied(t *testing.T) {
	f := useFake(t, fakeResponse{})
	f.sendErr = codeDenied
	f.message = `http://10.0.0.1/ is not allowed: add "http://10.0.0.1" to allowedHosts`
	_, err := client().Get("http://10.0.0.1/")
	want := `Get "http://10.0.0.1/": ` + f.message
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	var e *Error
	if !errors.Is(err, ErrDenied) || errors.Is(err, ErrLimit) || !errors.As(err, &e) || e.Code != -13 {
		t.Errorf("err %v: Is(ErrDenied) %v, Is(ErrLimit) %v, Code %v", err, errors.Is(err, ErrDenied), errors.Is(err, ErrLimit), e)
	}
}

func TestGenericMessage(t *testing.T) {
	f := useFake(t, fakeResponse{})
	f.sendErr = codeFailed
	_, err := client().Get("http://example.com/")
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), ErrFailed.Msg) {
		t.Errorf("err = %v, want ErrFailed with its text when the host gives no message", err)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200})
	big := io.LimitReader(zeros{}, MaxRequestBody+1)
	req, _ := http.NewRequest("POST", "http://example.com/upload", big) // unknown length
	_, err := client().Do(req)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("err = %v, want ErrLimit naming 16 MiB", err)
	}
	if len(f.heads) != 0 {
		t.Error("a request over the body limit was sent")
	}
	req, _ = http.NewRequest("POST", "http://example.com/upload", bytes.NewReader(make([]byte, MaxRequestBody)))
	resp, err := client().Do(req)
	if err != nil {
		t.Fatalf("a body of exactly 16 MiB: %v", err)
	}
	resp.Body.Close()
	if len(f.bodies) != 1 || len(f.bodies[0]) != MaxRequestBody {
		t.Errorf("sent %d requests", len(f.bodies))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestContextDoneBeforeSend(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://example.com/", nil)
	if _, err := client().Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if len(f.heads) != 0 {
		t.Error("a request with a done context was sent")
	}
}

func TestContextDoneWhileReading(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200, body: make([]byte, 100)})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://example.com/", nil)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := resp.Body.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
	if f.closes != 1 {
		t.Error("the response was not released after the context ended")
	}
}

func TestCloseEarly(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200, body: make([]byte, 100000)})
	resp, err := client().Get("http://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := resp.Body.Read(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	resp.Body.Close()
	if f.closes != 1 || len(f.open) != 0 {
		t.Errorf("Close did not release the response (%d closes)", f.closes)
	}
	if _, err := resp.Body.Read(make([]byte, 10)); err == nil {
		t.Error("read after Close succeeded")
	}
	resp.Body.Close()
	if f.closes != 1 {
		t.Error("a second Close closed the handle again")
	}
}

func TestReadError(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200, body: make([]byte, 3*chunkSize)})
	f.readErr = codeLimit
	resp, err := client().Get("http://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, ErrLimit) || err.Error() != "reading the body failed" || n == 0 {
		t.Errorf("copied %d, err %v; want part of the body, then ErrLimit with the host's message", n, err)
	}
	if f.closes != 1 {
		t.Error("the response was not released after the error")
	}
}

func TestHeadAndNoContent(t *testing.T) {
	f := useFake(t, fakeResponse{status: 200, headers: "Content-Length: 42\n"})
	resp, err := client().Head("http://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 42 || resp.Body != http.NoBody || f.closes != 1 {
		t.Errorf("HEAD: length %d, body %T, %d closes", resp.ContentLength, resp.Body, f.closes)
	}
	f.resp = fakeResponse{status: 204}
	resp, err = client().Get("http://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 0 || resp.Body != http.NoBody || f.closes != 2 {
		t.Errorf("204: length %d, body %T, %d closes", resp.ContentLength, resp.Body, f.closes)
	}
}

func TestNoHost(t *testing.T) {
	old := host
	host = nil
	t.Cleanup(func() { host = old })
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", "http://example.com/", body)
	_, err := (&Transport{}).RoundTrip(req)
	if err == nil || err.Error() != "outbound HTTP needs the wasmworker host (GOOS=wasip1)" {
		t.Errorf("err = %v", err)
	}
	if !body.closed {
		t.Error("RoundTrip did not close the request body")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }
