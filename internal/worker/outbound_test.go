package worker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/protocol/rpc"
)

// fetchResult is what testdata/app/Fetch answers.
type fetchResult struct {
	Status int               `json:"status"`
	Proto  string            `json:"proto"`
	Header map[string]string `json:"header"`
	Body   string            `json:"body"`
	Length int               `json:"length"`
	Error  string            `json:"error"`
	Denied bool              `json:"denied"`
	Limit  bool              `json:"limit"`
	Done   int               `json:"done"`
}

// fetch invokes Fetch with the query q and decodes its answer; the
// invocation itself must succeed.
func fetch(t *testing.T, h *hostConn, id string, q map[string]string) fetchResult {
	t.Helper()
	resp, _ := h.invoke(httpRequest(id, "GET", "http://localhost:7071/api/fetch", nil, q, nil, nil), time.Minute)
	if resp.GetResult().GetStatus() != rpc.StatusResult_Success {
		t.Fatalf("Fetch %v: %v", q, resp.GetResult())
	}
	var r fetchResult
	if err := json.Unmarshal(bodyBytes(outputHTTP(resp, "res")), &r); err != nil {
		t.Fatalf("Fetch %v: answer %q: %v", q, bodyBytes(outputHTTP(resp, "res")), err)
	}
	return r
}

// slowCalls reports the requests of an upstream's /slow: each sends its
// done channel on arrived, which is closed when the caller goes away.
var slowCalls = make(chan (<-chan struct{}), 16)

// upstream is a loopback HTTP server for the guest to call.
func upstream(t *testing.T, tlsCfg *tls.Config) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Guest", r.Header.Get("X-Guest"))
		w.Header().Set("X-Seen-Agent", r.UserAgent())
		w.Header().Set("X-Seen-Proto", r.Proto)
		fmt.Fprintf(w, "hello %s", r.Method)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", r.Method, b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 32 { // 2 MiB
			io.WriteString(w, chunk)
		}
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/metadata/instance", http.StatusFound)
	})
	mux.HandleFunc("/to-hello", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case slowCalls <- r.Context().Done():
		default:
		}
		<-r.Context().Done() // until the worker gives up
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsCfg != nil {
		srv.EnableHTTP2 = true
		srv.TLS = tlsCfg
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestOutbound runs the outbound HTTP of a command-mode Go guest (the
// SDK's net/http transport) through the worker: what the grant allows, what
// it refuses, the address rules, redirects and the per-invocation limits.
func TestOutbound(t *testing.T) {
	srv, conns := upstream(t, nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	base := srv.URL
	t.Setenv("WASMWORKER_ALLOWED_HOSTS", base+", https://api.example.test")
	t.Setenv("WASMWORKER_MAX_OUTBOUND_REQUESTS", "3")
	t.Setenv("WASMWORKER_MAX_OUTBOUND_RESPONSE_MB", "1")
	h := startWorker(t, testApp)
	h.initWorker()
	id := h.mustLoad("Fetch")["Fetch"]

	t.Run("allowed", func(t *testing.T) {
		r := fetch(t, h, id, map[string]string{"url": base + "/hello"})
		if r.Status != 200 || r.Body != "hello GET" || r.Error != "" {
			t.Fatalf("GET: %+v", r)
		}
		if r.Header["X-Seen-Guest"] != "fetch" || !strings.Contains(r.Header["X-Seen-Agent"], "wasmworker") {
			t.Errorf("the upstream saw headers %v; want the guest's X-Guest and a User-Agent naming the worker", r.Header)
		}
		r = fetch(t, h, id, map[string]string{"url": base + "/echo", "method": "POST", "body": "ping"})
		if r.Status != 200 || r.Body != "POST ping" {
			t.Errorf("POST: %+v", r)
		}
		r = fetch(t, h, id, map[string]string{"url": base + "/to-hello"})
		if r.Status != 200 || r.Body != "hello GET" {
			t.Errorf("redirect to an allowed URL: %+v", r)
		}
	})

	t.Run("connections are reused", func(t *testing.T) {
		fetch(t, h, id, map[string]string{"url": base + "/hello"})
		before := conns.Load()
		for range 3 {
			if r := fetch(t, h, id, map[string]string{"url": base + "/hello"}); r.Status != 200 {
				t.Fatalf("GET: %+v", r)
			}
		}
		if n := conns.Load() - before; n != 0 {
			t.Errorf("three more invocations opened %d new connections; want the kept one reused", n)
		}
	})

	t.Run("refused by the grant", func(t *testing.T) {
		for _, u := range []string{
			fmt.Sprintf("https://127.0.0.1:%d/hello", port),  // scheme
			fmt.Sprintf("http://127.0.0.1:%d/hello", port+1), // port
			"http://example.invalid/",                        // host
			"https://api.example.test:8443/",                 // port of an allowed name
		} {
			r := fetch(t, h, id, map[string]string{"url": u})
			if !r.Denied || r.Done != 0 || !strings.Contains(r.Error, "WASMWORKER_ALLOWED_HOSTS") {
				t.Errorf("%s: %+v; want a refusal naming the setting", u, r)
			}
		}
	})

	t.Run("refused addresses", func(t *testing.T) {
		// Allowed by a wildcard, refused by the address rules.
		h2 := restartWith(t, "http://*:*")
		id2 := h2.mustLoad("Fetch")["Fetch"]
		for _, u := range []string{
			base + "/hello", // loopback, but no entry names 127.0.0.1 exactly
			fmt.Sprintf("http://localhost:%d/hello", port), // a name that resolves to loopback
			"http://169.254.169.254/metadata/instance",     // the metadata endpoint
			"http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
			"http://0.0.0.0/", "http://[::1]/", "http://[fe80::1]/", "http://[fc00::1]/",
			"http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
		} {
			r := fetch(t, h2, id2, map[string]string{"url": u})
			if !r.Denied || r.Done != 0 {
				t.Errorf("%s: %+v; want it refused", u, r)
			}
		}
	})

	t.Run("redirect to a refused address", func(t *testing.T) {
		r := fetch(t, h, id, map[string]string{"url": base + "/to-metadata"})
		if !r.Denied || !strings.Contains(r.Error, "169.254.169.254") {
			t.Errorf("%+v; want the redirect refused, naming its target", r)
		}
	})

	t.Run("request count limit", func(t *testing.T) {
		r := fetch(t, h, id, map[string]string{"url": base + "/hello", "count": "5"})
		if r.Done != 3 || !r.Limit || !strings.Contains(r.Error, "WASMWORKER_MAX_OUTBOUND_REQUESTS") {
			t.Errorf("%+v; want 3 requests, then the limit named", r)
		}
	})

	t.Run("response bytes limit", func(t *testing.T) {
		r := fetch(t, h, id, map[string]string{"url": base + "/big"})
		if !r.Limit || r.Length > 1<<20 || !strings.Contains(r.Error, "WASMWORKER_MAX_OUTBOUND_RESPONSE_MB") {
			t.Errorf("%+v; want the body cut at 1 MiB with the limit named", r)
		}
	})

	t.Run("upstream slower than the deadline", func(t *testing.T) {
		resp, _ := h.invoke(httpRequest(id, "GET", "http://localhost:7071/api/fetch", nil, map[string]string{"url": base + "/slow"}, nil, nil), time.Minute)
		msg := resp.GetResult().GetException().GetMessage()
		if resp.GetResult().GetStatus() != rpc.StatusResult_Failure || !strings.Contains(msg, "deadline") {
			t.Errorf("%v; want the invocation failed by its 3 s timeout", resp.GetResult())
		}
		if r := fetch(t, h, id, map[string]string{"url": base + "/hello"}); r.Status != 200 {
			t.Errorf("the next invocation: %+v", r)
		}
	})

	t.Run("cancel mid-request", func(t *testing.T) {
		req := httpRequest(id, "GET", "http://localhost:7071/api/fetch", nil, map[string]string{"url": base + "/slow"}, nil, nil)
		for len(slowCalls) > 0 { // calls of the deadline test
			<-slowCalls
		}
		h.sendInvocation(req)
		var gone <-chan struct{}
		select {
		case gone = <-slowCalls:
		case <-time.After(time.Minute):
			t.Fatal("the request never reached the upstream")
		}
		h.send(&rpc.StreamingMessage{Content: &rpc.StreamingMessage_InvocationCancel{InvocationCancel: &rpc.InvocationCancel{InvocationId: req.InvocationId}}})
		resp, _ := h.awaitResponse(req.InvocationId, time.Minute)
		if resp.GetResult().GetStatus() != rpc.StatusResult_Cancelled {
			t.Errorf("%v; want the invocation cancelled (not failed by its deadline)", resp.GetResult())
		}
		select {
		case <-gone: // the worker dropped the request
		case <-time.After(time.Minute):
			t.Error("the upstream request was not aborted")
		}
	})
}

// restartWith starts another worker for the test app whose app-wide grant
// is allowed.
func restartWith(t *testing.T, allowed string) *hostConn {
	t.Helper()
	t.Setenv("WASMWORKER_ALLOWED_HOSTS", allowed)
	h := startWorker(t, testApp)
	h.initWorker()
	return h
}

// TestOutboundTLS calls an HTTPS upstream whose certificate a test CA signed:
// refused without the CA, over HTTP/2 with it (WASMWORKER_OUTBOUND_CA_FILE).
func TestOutboundTLS(t *testing.T) {
	caPEM, serverCert := testCA(t)
	srv, _ := upstream(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
	t.Setenv("WASMWORKER_ALLOWED_HOSTS", srv.URL)

	h := startWorker(t, testApp)
	h.initWorker()
	id := h.mustLoad("Fetch")["Fetch"]
	if r := fetch(t, h, id, map[string]string{"url": srv.URL + "/hello"}); r.Done != 0 || r.Denied || !strings.Contains(r.Error, "certificate") {
		t.Errorf("without the CA: %+v; want a certificate error", r)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WASMWORKER_OUTBOUND_CA_FILE", ca)
	h = startWorker(t, testApp)
	h.initWorker()
	id = h.mustLoad("Fetch")["Fetch"]
	r := fetch(t, h, id, map[string]string{"url": srv.URL + "/hello"})
	if r.Status != 200 || r.Body != "hello GET" || r.Header["X-Seen-Proto"] != "HTTP/2.0" {
		t.Errorf("with the CA: %+v; want 200 over HTTP/2", r)
	}
}

// testCA makes a CA and a certificate it signed for 127.0.0.1.
func testCA(t *testing.T) (caPEM []byte, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wasmworker test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestOutboundBenchFunction runs the C function of the outbound benchmark
// (examples-wasm/bench, ABI on warm instances) against a loopback upstream,
// as `wasmload -upstream` drives it.
func TestOutboundBenchFunction(t *testing.T) {
	srv, conns := upstream(t, nil)
	t.Setenv("WASMWORKER_ALLOWED_HOSTS", srv.URL)
	t.Setenv("WASMLOAD_UPSTREAM_URL", srv.URL+"/hello")
	h := startWorker(t, filepath.Join("..", "..", "examples-wasm", "bench"))
	h.initWorker()
	id := h.mustLoad("CallUpstream")["CallUpstream"]
	for i := range 3 {
		resp, _ := h.invoke(httpRequest(id, "GET", "http://localhost:7071/api/callout", nil, nil, nil, nil), time.Minute)
		res := outputHTTP(resp, "res")
		if resp.GetResult().GetStatus() != rpc.StatusResult_Success || res.GetStatusCode() != "200" || string(bodyBytes(res)) != "hello GET" {
			t.Fatalf("call %d: %v, status %q, body %q", i, resp.GetResult(), res.GetStatusCode(), bodyBytes(res))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("three invocations opened %d connections to the upstream; want one, reused", n)
	}
}
