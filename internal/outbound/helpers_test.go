package outbound

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("netip.ParseAddr(%q): %v", s, err)
	}
	return a
}

func itoa(n int) string { return strconv.Itoa(n) }

// allow parses entries or fails the test.
func allow(t testing.TB, entries ...string) Allowlist {
	t.Helper()
	a, err := ParseAllowlist(entries)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startServer starts a loopback HTTP server closed when the test ends.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// port is the port of a test server.
func port(t testing.TB, srv *httptest.Server) int {
	t.Helper()
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// newClient returns a Client closed when the test ends.
func newClient(t *testing.T, p Policy, opt Options) *Client {
	t.Helper()
	c, err := NewClient(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newSession returns a Session of c closed when the test ends.
func newSession(t *testing.T, c *Client, ctx context.Context) *Session {
	t.Helper()
	s := c.NewSession(ctx)
	t.Cleanup(s.Close)
	return s
}

// send sends or fails the test.
func send(t *testing.T, s *Session, head string, body []byte) int32 {
	t.Helper()
	h, err := s.Send([]byte(head), body)
	if err != nil {
		t.Fatalf("Send(%q): %v", head, err)
	}
	if h <= 0 {
		t.Fatalf("Send(%q) = handle %d", head, h)
	}
	return h
}

// readAll reads the body of h to its end with a small buffer, or fails.
func readAll(t *testing.T, s *Session, h int32) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 7)
	for {
		n, err := s.Read(h, buf)
		if err != nil {
			t.Fatalf("Read(%d): %v", h, err)
		}
		if n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// wantError checks that err is an *Error with the code, a message holding
// every part, and that the session recorded it as its last error.
func wantError(t *testing.T, s *Session, err error, code Code, parts ...string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error %v", err, err, code)
	}
	if e.Code != code {
		t.Errorf("code %v (%q), want %v", e.Code, e.Msg, code)
	}
	for _, p := range parts {
		if !strings.Contains(e.Msg, p) {
			t.Errorf("message %q does not contain %q", e.Msg, p)
		}
	}
	if s != nil {
		if last, ok := s.LastError(); !ok || last != e.Msg {
			t.Errorf("LastError() = %q, %v; want %q", last, ok, e.Msg)
		}
	}
	return e
}

// dialRecorder is an Options.Dial that records the addresses it is asked
// for and connects to redirect[addr] (or addr itself).
type dialRecorder struct {
	mu       sync.Mutex
	addrs    []string
	redirect map[string]string
}

func (d *dialRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	to, ok := d.redirect[addr]
	d.mu.Unlock()
	if !ok {
		to = addr
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func (d *dialRecorder) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.addrs)
}

// staticLookup is an Options.LookupIP answering from a map; other names do
// not exist.
func staticLookup(t testing.TB, names map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	m := map[string][]netip.Addr{}
	for name, addrs := range names {
		for _, a := range addrs {
			m[name] = append(m[name], mustAddr(t, a))
		}
	}
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := m[host]; ok {
			return a, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

// connCounter counts the connections a test server accepts.
type connCounter struct {
	mu  sync.Mutex
	new int
}

func (c *connCounter) hook(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		c.mu.Lock()
		c.new++
		c.mu.Unlock()
	}
}

func (c *connCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.new
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemFile string // the CA certificate in PEM, in the test's temporary directory
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "outbound test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pemFile: path}
}

// leaf issues a server certificate for 127.0.0.1 and the names.
func (ca *testCA) leaf(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "outbound test server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
