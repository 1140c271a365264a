package outbound

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// echo answers with what it received: method, Host, User-Agent, X-Custom,
// Content-Length and the body, one per line, and a few response headers.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Add("X-B", "2")
	w.Header().Add("X-A", "first")
	w.Header().Add("X-A", "second")
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s\n%s\n%s\n%s\n%d\n%s", r.Method, r.Host, r.UserAgent(), r.Header.Get("X-Custom"), r.ContentLength, body)
}

func TestSendAndRead(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := newSession(t, c, t.Context())

	head := "POST " + srv.URL + "/api/x?k=v\r\nX-Custom: hello\r\nHost: evil.example\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
	h := send(t, s, head, []byte("request body"))
	if st, err := s.Status(h); err != nil || st != http.StatusCreated {
		t.Errorf("Status = %d, %v; want 201", st, err)
	}
	hdr, err := s.Header(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(hdr, []byte("Content-Type: text/plain\nDate: ")) || !bytes.HasSuffix(hdr, []byte("\nX-A: first\nX-A: second\nX-B: 2\n")) {
		t.Errorf("Header =\n%s\nwant canonical names sorted, values in order", hdr)
	}
	want := "POST\n" + srv.Listener.Addr().String() + "\nwasmworker/1\nhello\n12\nrequest body"
	if got := string(readAll(t, s, h)); got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if n, err := s.Read(h, make([]byte, 10)); n != 0 || err != nil {
		t.Errorf("Read after the end = %d, %v; want 0, nil", n, err)
	}
	if err := s.CloseResponse(h); err != nil {
		t.Errorf("CloseResponse: %v", err)
	}
	if _, ok := s.LastError(); ok {
		t.Error("LastError reports a failure after only successful calls")
	}

	// A User-Agent of the guest's is kept; an empty body has no Content-Length.
	h = send(t, s, "GET "+srv.URL+"\nUser-Agent: mine/2\n", nil)
	if got := string(readAll(t, s, h)); got != "GET\n"+srv.Listener.Addr().String()+"\nmine/2\n\n0\n" {
		t.Errorf("body = %q", got)
	}
}

func TestHeaderIsValidText(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Bin", "a\xffb")
	}))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := newSession(t, c, t.Context())
	h := send(t, s, "GET "+srv.URL, nil)
	hdr, err := s.Header(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(hdr, []byte("X-Bin: a\uFFFDb\n")) {
		t.Errorf("Header = %q, want the bad byte replaced by U+FFFD", hdr)
	}
}

func TestDeniedByGrant(t *testing.T) {
	var rec dialRecorder
	c := newClient(t, Policy{
		Allowed:     allow(t, "https://api.example.com"),
		AllowedFrom: `function.json "wasmworker": "allowedHosts"`,
	}, Options{Dial: rec.dial, LookupIP: staticLookup(t, nil)})
	s := newSession(t, c, t.Context())

	_, err := s.Send([]byte("GET https://evil.example/x"), nil)
	e := wantError(t, s, err, CodeDenied)
	want := `outbound request to https://evil.example/x refused: https://evil.example:443 is not allowed by function.json "wasmworker": "allowedHosts" (allowed: https://api.example.com); add it there`
	if e.Msg != want {
		t.Errorf("message\n%s\nwant\n%s", e.Msg, want)
	}
	for _, c := range []struct{ url, origin string }{
		{"http://api.example.com/", "http://api.example.com:80"},          // scheme
		{"https://api.example.com:8443/", "https://api.example.com:8443"}, // port
		{"https://sub.api.example.com/", "https://sub.api.example.com:443"},
		{"https://[2001:db8::1]/", "https://[2001:db8::1]:443"},
	} {
		_, err := s.Send([]byte("GET "+c.url), nil)
		wantError(t, s, err, CodeDenied, "outbound request to "+c.url+" refused: "+c.origin+" is not allowed by function.json")
	}
	// Queries are not repeated in messages.
	_, err = s.Send([]byte("GET https://evil.example/x?code=secret"), nil)
	e = wantError(t, s, err, CodeDenied, "https://evil.example/x?…")
	if strings.Contains(e.Msg, "secret") {
		t.Errorf("message %q repeats the query", e.Msg)
	}
	if d := rec.dialled(); len(d) != 0 {
		t.Errorf("dialled %v for refused requests", d)
	}

	// Nothing allowed: both settings are named, with the entry to add.
	c = newClient(t, Policy{}, Options{Dial: rec.dial})
	s = newSession(t, c, t.Context())
	_, err = s.Send([]byte("GET https://evil.example:8443/x"), nil)
	wantError(t, s, err, CodeDenied, "no outbound destinations are allowed",
		`function.json "wasmworker": "allowedHosts"`, "app setting WASMWORKER_ALLOWED_HOSTS", `"https://evil.example:8443"`)
}

func TestAddressRules(t *testing.T) {
	var rec dialRecorder
	c := newClient(t, Policy{Allowed: allow(t, "http://*:*")}, Options{Dial: rec.dial})
	s := newSession(t, c, t.Context())
	cases := []struct{ host, addr, class string }{
		{"127.0.0.1", "127.0.0.1", "loopback"},
		{"127.8.9.10", "127.8.9.10", "loopback"},
		{"[::1]", "::1", "loopback"},
		{"0.0.0.0", "0.0.0.0", "unspecified"},
		{"[::]", "::", "unspecified"},
		{"169.254.169.254", "169.254.169.254", "link-local (instance metadata endpoint)"},
		{"169.254.10.1", "169.254.10.1", "link-local"},
		{"[fe80::1]", "fe80::1", "link-local"},
		{"10.1.2.3", "10.1.2.3", "private"},
		{"172.16.0.1", "172.16.0.1", "private"},
		{"192.168.0.1", "192.168.0.1", "private"},
		{"100.64.0.1", "100.64.0.1", "shared"},
		{"[fc00::1]", "fc00::1", "unique-local"},
		{"[fd00::1]", "fd00::1", "unique-local"},
		{"224.0.0.1", "224.0.0.1", "multicast"},
		{"[ff02::1]", "ff02::1", "multicast"},
		{"255.255.255.255", "255.255.255.255", "broadcast"},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "IPv4-mapped link-local"},
		{"[::ffff:10.0.0.1]", "::ffff:10.0.0.1", "IPv4-mapped private"},
		{"[::127.0.0.1]", "::7f00:1", "IPv4-compatible loopback"},
		{"[::10.0.0.1]", "::a00:1", "IPv4-compatible private"},
	}
	for _, tc := range cases {
		u := "http://" + tc.host + ":8080/x"
		_, err := s.Send([]byte("GET "+u), nil)
		wantError(t, s, err, CodeDenied, "outbound request to "+u+" refused: ", tc.addr+" is a", tc.class,
			"names that exact address", `(for example "http://`)
	}
	if d := rec.dialled(); len(d) != 0 {
		t.Errorf("dialled refused addresses: %v", d)
	}
	// The example names the exact entry.
	_, err := s.Send([]byte("GET http://127.0.0.1:7071/"), nil)
	wantError(t, s, err, CodeDenied, `(for example "http://127.0.0.1:7071")`)
	_, err = s.Send([]byte("GET http://[::1]/"), nil)
	wantError(t, s, err, CodeDenied, `(for example "http://[::1]")`)
}

func TestNameResolvingToLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	p := port(t, srv)
	c := newClient(t, Policy{Allowed: allow(t, "http://localhost:"+itoa(p))}, Options{})
	s := newSession(t, c, t.Context())
	u := "http://localhost:" + itoa(p) + "/"
	_, err := s.Send([]byte("GET "+u), nil)
	wantError(t, s, err, CodeDenied, "outbound request to "+u+" refused: localhost resolves to ", "a loopback address", "names that exact address")
	if hits.Load() != 0 {
		t.Errorf("the server got %d requests", hits.Load())
	}
}

func TestEveryResolvedAddressIsChecked(t *testing.T) {
	var rec dialRecorder
	c := newClient(t, Policy{Allowed: allow(t, "http://mixed.example.test")}, Options{
		Dial:     rec.dial,
		LookupIP: staticLookup(t, map[string][]string{"mixed.example.test": {"203.0.113.7", "10.0.0.5"}}),
	})
	s := newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET http://mixed.example.test/"), nil)
	wantError(t, s, err, CodeDenied, "mixed.example.test resolves to 10.0.0.5, a private address")
	if d := rec.dialled(); len(d) != 0 {
		t.Errorf("dialled %v", d)
	}
	_, err = s.Send([]byte("GET http://missing.example.test/"), nil)
	wantError(t, s, err, CodeDenied, "http://missing.example.test:80 is not allowed")
}

func TestNameAllowed(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	p := itoa(port(t, srv))
	rec := dialRecorder{redirect: map[string]string{"203.0.113.7:" + p: srv.Listener.Addr().String()}}
	c := newClient(t, Policy{Allowed: allow(t, "http://api.example.test:"+p)}, Options{
		Dial:     rec.dial,
		LookupIP: staticLookup(t, map[string][]string{"api.example.test": {"203.0.113.7"}}),
	})
	s := newSession(t, c, t.Context())
	h := send(t, s, "GET http://API.example.test:"+p+"/", nil)
	if got, want := string(readAll(t, s, h)), "GET\napi.example.test:"+p+"\n"; !strings.HasPrefix(got, want) {
		t.Errorf("body %q, want it to start %q", got, want)
	}
	if d := rec.dialled(); len(d) != 1 || d[0] != "203.0.113.7:"+p {
		t.Errorf("dialled %v, want the checked address only", d)
	}
}

func TestExactAddressEntry(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	p := itoa(port(t, srv))
	lookup := staticLookup(t, map[string][]string{"local.example.test": {"127.0.0.1"}})

	// An entry naming the address and port lets a name that resolves to it through.
	c := newClient(t, Policy{Allowed: allow(t, "http://local.example.test:"+p, "http://127.0.0.1:"+p)}, Options{LookupIP: lookup})
	s := newSession(t, c, t.Context())
	h := send(t, s, "GET http://local.example.test:"+p+"/", nil)
	if st, _ := s.Status(h); st != http.StatusCreated {
		t.Errorf("status %d", st)
	}

	// Another port does not.
	c = newClient(t, Policy{Allowed: allow(t, "http://local.example.test:"+p, "http://127.0.0.1:1")}, Options{LookupIP: lookup})
	s = newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET http://local.example.test:"+p+"/"), nil)
	wantError(t, s, err, CodeDenied, "local.example.test resolves to 127.0.0.1, a loopback address", `"http://127.0.0.1:`+p+`"`)
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/end", echo)
	mux.HandleFunc("/303", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/end", http.StatusSeeOther) })
	mux.HandleFunc("/307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/end", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			w.Write([]byte("done"))
			return
		}
		http.Redirect(w, r, "/chain/"+itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://evil.example/x?k=secret", http.StatusFound)
	})
	srv := startServer(t, mux)
	p := itoa(port(t, srv))
	mux.HandleFunc("/inside", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://inside.example.test:"+p+"/end", http.StatusMovedPermanently)
	})
	var rec dialRecorder
	c := newClient(t, Policy{Allowed: allow(t, srv.URL, "http://*.example.test:*")}, Options{
		Dial:     rec.dial,
		LookupIP: staticLookup(t, map[string][]string{"inside.example.test": {"10.0.0.5"}}),
	})
	s := newSession(t, c, t.Context())

	h := send(t, s, "POST "+srv.URL+"/303", []byte("data"))
	if got := string(readAll(t, s, h)); !strings.HasPrefix(got, "GET\n") || !strings.HasSuffix(got, "\n0\n") {
		t.Errorf("after 303: %q, want a GET without body", got)
	}
	h = send(t, s, "POST "+srv.URL+"/307", []byte("data"))
	if got := string(readAll(t, s, h)); !strings.HasPrefix(got, "POST\n") || !strings.HasSuffix(got, "\n4\ndata") {
		t.Errorf("after 307: %q, want the POST and its body again", got)
	}
	h = send(t, s, "GET "+srv.URL+"/chain/"+itoa(MaxRedirects), nil)
	if got := string(readAll(t, s, h)); got != "done" {
		t.Errorf("after %d redirects: %q", MaxRedirects, got)
	}
	_, err := s.Send([]byte("GET "+srv.URL+"/chain/"+itoa(MaxRedirects+1)), nil)
	wantError(t, s, err, CodeFailed, "stopped after 10 redirects")

	_, err = s.Send([]byte("GET "+srv.URL+"/away"), nil)
	e := wantError(t, s, err, CodeDenied, "outbound request to "+srv.URL+"/away refused: it redirects to http://evil.example/x?…", "http://evil.example:80 is not allowed")
	if strings.Contains(e.Msg, "secret") {
		t.Errorf("message %q repeats the query", e.Msg)
	}
	_, err = s.Send([]byte("GET "+srv.URL+"/inside"), nil)
	wantError(t, s, err, CodeDenied, "it was redirected to http://inside.example.test:"+p+"/end", "inside.example.test resolves to 10.0.0.5, a private address")
	for _, d := range rec.dialled() {
		if strings.HasPrefix(d, "10.") {
			t.Errorf("dialled %s", d)
		}
	}
}

func TestRequestLimits(t *testing.T) {
	var hits atomic.Int32
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	}))
	get := []byte("GET " + srv.URL)

	t.Run("requests", func(t *testing.T) {
		c := newClient(t, Policy{Allowed: allow(t, srv.URL), MaxRequests: 2}, Options{})
		s := newSession(t, c, t.Context())
		if _, err := s.Send([]byte("GET https://refused.example"), nil); err == nil {
			t.Fatal("refused request sent")
		}
		for range 2 {
			s.CloseResponse(send(t, s, string(get), nil))
		}
		_, err := s.Send(get, nil)
		wantError(t, s, err, CodeLimit, "reached its limit of 2 outbound requests", `"maxOutboundRequests"`, "WASMWORKER_MAX_OUTBOUND_REQUESTS")
		// The count is per invocation.
		s2 := newSession(t, c, t.Context())
		send(t, s2, string(get), nil)
	})

	t.Run("open", func(t *testing.T) {
		c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
		s := newSession(t, c, t.Context())
		var hs []int32
		for range MaxOpen {
			hs = append(hs, send(t, s, string(get), nil))
		}
		_, err := s.Send(get, nil)
		wantError(t, s, err, CodeLimit, "8 responses are open")
		if err := s.CloseResponse(hs[3]); err != nil {
			t.Fatal(err)
		}
		send(t, s, string(get), nil)
	})

	t.Run("request body", func(t *testing.T) {
		c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
		s := newSession(t, c, t.Context())
		before := hits.Load()
		_, err := s.Send([]byte("POST "+srv.URL), make([]byte, MaxRequestBody+1))
		wantError(t, s, err, CodeLimit, "body of 16777217 bytes is over the limit of 16 MiB")
		if hits.Load() != before {
			t.Error("the refused request reached the server")
		}
		h := send(t, s, "POST "+srv.URL, make([]byte, MaxRequestBody))
		if got := string(readAll(t, s, h)); got != itoa(MaxRequestBody) {
			t.Errorf("server read %s bytes", got)
		}
	})
}

func TestResponseByteBudget(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(bytes.Repeat([]byte("x"), n))
	}))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL), MaxResponseBytes: 1000}, Options{})

	s := newSession(t, c, t.Context())
	h := send(t, s, "GET "+srv.URL+"?n=1500", nil)
	buf := make([]byte, 600)
	total := 0
	var err error
	for {
		var n int
		n, err = s.Read(h, buf)
		total += n
		if err != nil || n == 0 {
			break
		}
	}
	wantError(t, s, err, CodeLimit, "reached the limit of 1000 bytes", `"maxOutboundResponseMB"`, "WASMWORKER_MAX_OUTBOUND_RESPONSE_MB", srv.URL+"?…")
	if total != 1000 {
		t.Errorf("read %d bytes before the limit, want 1000", total)
	}
	// The budget is shared by the invocation's responses.
	h2 := send(t, s, "GET "+srv.URL+"?n=10", nil)
	_, err = s.Read(h2, buf)
	wantError(t, s, err, CodeLimit)
	// An empty body still ends normally.
	h3 := send(t, s, "GET "+srv.URL+"?n=0", nil)
	if n, err := s.Read(h3, buf); n != 0 || err != nil {
		t.Errorf("Read of an empty body with no budget left = %d, %v", n, err)
	}

	// A body of exactly the budget ends normally.
	s = newSession(t, c, t.Context())
	h = send(t, s, "GET "+srv.URL+"?n=1000", nil)
	if got := len(readAll(t, s, h)); got != 1000 {
		t.Errorf("read %d bytes, want 1000", got)
	}
}

func TestResponseHeaderLimit(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("h", MaxResponseHeaderBytes+1))
	}))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET "+srv.URL), nil)
	wantError(t, s, err, CodeFailed, "outbound request to "+srv.URL+" failed: ", "headers exceeded")
}

func TestHandlesAndLastError(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := newSession(t, c, t.Context())
	if msg, ok := s.LastError(); ok || msg != "" {
		t.Errorf("LastError() = %q, %v before any call", msg, ok)
	}
	for _, h := range []int32{0, -1, 1, 99} {
		_, err := s.Status(h)
		wantError(t, s, err, CodeBadHandle, fmt.Sprintf("handle %d is not open", h))
	}
	h := send(t, s, "GET "+srv.URL, nil)
	if msg, ok := s.LastError(); !ok || !strings.Contains(msg, "handle 99") {
		t.Errorf("LastError() = %q, %v; a success must not clear it", msg, ok)
	}
	other := newSession(t, c, t.Context())
	_, err := other.Header(h)
	wantError(t, other, err, CodeBadHandle)

	if err := s.CloseResponse(h); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(h, make([]byte, 4))
	wantError(t, s, err, CodeBadHandle)
	_, err = s.Header(h)
	wantError(t, s, err, CodeBadHandle)
	wantError(t, s, s.CloseResponse(h), CodeBadHandle)
	if h2 := send(t, s, "GET "+srv.URL, nil); h2 == h {
		t.Errorf("handle %d given out twice", h)
	}
}

func TestSessionClose(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := c.NewSession(t.Context())
	h := send(t, s, "GET "+srv.URL, nil)
	s.Close()
	s.Close()
	_, err := s.Send([]byte("GET "+srv.URL), nil)
	wantError(t, s, err, CodeFailed, "the invocation has ended")
	_, err = s.Status(h)
	wantError(t, s, err, CodeFailed, "the invocation has ended")
	_, err = s.Read(h, make([]byte, 4))
	wantError(t, s, err, CodeFailed, "the invocation has ended")
	wantError(t, s, s.CloseResponse(h), CodeFailed, "the invocation has ended")
}

func TestClientClose(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(echo))
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	c.Close()
	s := newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET "+srv.URL), nil)
	wantError(t, s, err, CodeFailed, "client is closed")
}

func TestConnectionReuse(t *testing.T) {
	var conns connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(echo))
	srv.Config.ConnState = conns.hook
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	for i := range 3 {
		s := c.NewSession(t.Context())
		h := send(t, s, "GET "+srv.URL, nil)
		if got := readAll(t, s, h); !bytes.HasPrefix(got, []byte("GET\n")) {
			t.Errorf("session %d: body %q", i, got)
		}
		if err := s.CloseResponse(h); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if n := conns.count(); n != 1 {
		t.Errorf("three sessions opened %d connections, want 1", n)
	}
}

func TestContextHelpers(t *testing.T) {
	if FromContext(t.Context()) != nil {
		t.Error("FromContext of a bare context is not nil")
	}
	c := newClient(t, Policy{}, Options{})
	s := newSession(t, c, t.Context())
	if got := FromContext(WithSession(t.Context(), s)); got != s {
		t.Errorf("FromContext(WithSession(s)) = %p, want %p", got, s)
	}
}

func TestCodes(t *testing.T) {
	want := map[Code]struct {
		abi  int32
		name string
	}{
		CodeBadValue: {-11, "BAD_VALUE"}, CodeBadUTF8: {-5, "BAD_UTF8"}, CodeDenied: {-13, "DENIED"},
		CodeLimit: {-9, "LIMIT"}, CodeFailed: {-14, "HTTP_FAILED"}, CodeBadHandle: {-15, "BAD_HANDLE"},
	}
	for code, w := range want {
		if code.ABI() != w.abi || code.String() != w.name {
			t.Errorf("Code %d: ABI %d %s, want %d %s", int(code), code.ABI(), code, w.abi, w.name)
		}
	}
	if Code(0).ABI() != 0 {
		t.Error("Code(0).ABI() is not 0")
	}
	e := &Error{Code: CodeDenied, Msg: "m"}
	if e.Error() != "m" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestSendMalformedHead(t *testing.T) {
	c := newClient(t, Policy{Allowed: allow(t, "https://*")}, Options{})
	s := newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET https://api.example.com/\nX: \xff"), nil)
	wantError(t, s, err, CodeBadUTF8, "not valid UTF-8")
	_, err = s.Send([]byte("GET https://api.example.com/#x"), nil)
	wantError(t, s, err, CodeBadValue, "fragment")
}

func TestNetworkFailures(t *testing.T) {
	t.Run("name does not resolve", func(t *testing.T) {
		c := newClient(t, Policy{Allowed: allow(t, "http://missing.example.test")}, Options{LookupIP: staticLookup(t, nil)})
		s := newSession(t, c, t.Context())
		_, err := s.Send([]byte("GET http://missing.example.test/"), nil)
		wantError(t, s, err, CodeFailed, "outbound request to http://missing.example.test/ failed: resolving missing.example.test: ", "no such host")
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + ln.Addr().String()
		ln.Close()
		c := newClient(t, Policy{Allowed: allow(t, u)}, Options{})
		s := newSession(t, c, t.Context())
		_, err = s.Send([]byte("GET "+u+"/"), nil)
		wantError(t, s, err, CodeFailed, "outbound request to "+u+"/ failed: dial tcp "+ln.Addr().String())
	})

	t.Run("body cut short", func(t *testing.T) {
		srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			buf.Flush()
			conn.Close()
		}))
		c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
		s := newSession(t, c, t.Context())
		h := send(t, s, "GET "+srv.URL, nil)
		var got []byte
		buf := make([]byte, 64)
		var err error
		for {
			var n int
			n, err = s.Read(h, buf)
			got = append(got, buf[:n]...)
			if err != nil || n == 0 {
				break
			}
		}
		wantError(t, s, err, CodeFailed, "reading the response of "+srv.URL+" failed: the connection closed before the body ended")
		if string(got) != "short" {
			t.Errorf("read %q before the error, want \"short\"", got)
		}
	})
}

func TestFormatHeaderCleansValues(t *testing.T) {
	got := string(formatHeader(http.Header{"X-B": {"a\r\nb\x00c"}, "X-A": {"\xffok"}}))
	if want := "X-A: \uFFFDok\nX-B: a  b c\n"; got != want {
		t.Errorf("formatHeader = %q, want %q", got, want)
	}
}
