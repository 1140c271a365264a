package outbound

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

var errTestShutdown = errors.New("worker shutting down")

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// startTLSServer starts a loopback HTTPS server with a certificate of ca
// (for 127.0.0.1 and api.example.test), HTTP/2 enabled or not. It records
// the protocol major version of the last request and counts connections.
func startTLSServer(t *testing.T, ca *testCA, h2 bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int32, *connCounter) {
	t.Helper()
	var proto atomic.Int32
	conns := &connCounter{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		h(w, r)
	}))
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, "api.example.test")}}
	srv.Config.ConnState = conns.hook
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes refused by TestTLSUnknownCA
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &proto, conns
}

func TestTLSHTTP2WithTestCA(t *testing.T) {
	ca := newTestCA(t)
	srv, proto, conns := startTLSServer(t, ca, true, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proto %d tls %v", r.ProtoMajor, r.TLS != nil)
	})
	c := newClient(t, Policy{Allowed: allow(t, srv.URL), CAFile: ca.pemFile}, Options{})
	for i := range 2 {
		s := c.NewSession(t.Context())
		h := send(t, s, "GET "+srv.URL+"/", nil)
		if got := string(readAll(t, s, h)); got != "proto 2 tls true" {
			t.Errorf("session %d: body %q", i, got)
		}
		s.Close()
	}
	if p := proto.Load(); p != 2 {
		t.Errorf("server saw HTTP/%d, want HTTP/2", p)
	}
	if n := conns.count(); n != 1 {
		t.Errorf("two sessions opened %d connections, want 1", n)
	}
}

func TestTLSHTTP1WithTestCA(t *testing.T) {
	ca := newTestCA(t)
	srv, proto, _ := startTLSServer(t, ca, false, echo)
	c := newClient(t, Policy{Allowed: allow(t, srv.URL), CAFile: ca.pemFile}, Options{})
	s := newSession(t, c, t.Context())
	h := send(t, s, "POST "+srv.URL+"/\nX-Custom: c", []byte("b"))
	if got := string(readAll(t, s, h)); !strings.HasPrefix(got, "POST\n") || !strings.HasSuffix(got, "\nc\n1\nb") {
		t.Errorf("body %q", got)
	}
	if p := proto.Load(); p != 1 {
		t.Errorf("server saw HTTP/%d, want HTTP/1.1", p)
	}
}

func TestTLSNameOverHTTP2(t *testing.T) {
	ca := newTestCA(t)
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: more than the HTTP/2 windows
	srv, proto, _ := startTLSServer(t, ca, true, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|", r.Host)
		w.Write(body)
	})
	p := itoa(port(t, srv))
	rec := dialRecorder{redirect: map[string]string{"203.0.113.7:" + p: srv.Listener.Addr().String()}}
	c := newClient(t, Policy{Allowed: allow(t, "https://*.example.test:*"), CAFile: ca.pemFile}, Options{
		Dial:     rec.dial,
		LookupIP: staticLookup(t, map[string][]string{"api.example.test": {"203.0.113.7"}}),
	})
	s := newSession(t, c, t.Context())
	h := send(t, s, "GET https://api.example.test:"+p+"/big", nil)
	got := readAll(t, s, h)
	if want := append([]byte("api.example.test:"+p+"|"), body...); !bytes.Equal(got, want) {
		t.Errorf("body of %d bytes, want %d", len(got), len(want))
	}
	if pr := proto.Load(); pr != 2 {
		t.Errorf("server saw HTTP/%d, want HTTP/2", pr)
	}
}

func TestTLSUnknownCA(t *testing.T) {
	ca := newTestCA(t)
	srv, _, _ := startTLSServer(t, ca, true, echo)
	c := newClient(t, Policy{Allowed: allow(t, srv.URL)}, Options{})
	s := newSession(t, c, t.Context())
	_, err := s.Send([]byte("GET "+srv.URL), nil)
	wantError(t, s, err, CodeFailed, "outbound request to "+srv.URL+" failed: ", "certificate", "WASMWORKER_OUTBOUND_CA_FILE")
}

func TestNewClientCAFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	_, err := NewClient(Policy{CAFile: missing}, Options{})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "WASMWORKER_OUTBOUND_CA_FILE") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewClient with a missing CA file: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(Policy{CAFile: junk}, Options{})
	if err == nil || !strings.Contains(err.Error(), junk) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("NewClient with a CA file without certificates: %v", err)
	}
}
