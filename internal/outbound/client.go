package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults and fixed limits (SPEC §7).
const (
	DefaultMaxRequests      = 50       // requests per invocation (redirects not counted)
	DefaultMaxResponseBytes = 16 << 20 // response body bytes per invocation, all responses together
	MaxRequestBody          = 16 << 20 // bytes of one request body
	MaxOpen                 = 8        // responses open at once per invocation
	MaxResponseHeaderBytes  = 64 << 10 // response header bytes per response
	MaxRedirects            = 10       // redirects followed per request
)

// DefaultUserAgent is the User-Agent sent when the guest gives none.
const DefaultUserAgent = "wasmworker/1"

// Names of the settings quoted in messages.
const (
	settingAllowedHosts    = `function.json "wasmworker": "allowedHosts"`
	settingAllowedHostsApp = "app setting WASMWORKER_ALLOWED_HOSTS"
	settingMaxRequests     = `function.json "wasmworker": "maxOutboundRequests" or app setting WASMWORKER_MAX_OUTBOUND_REQUESTS`
	settingMaxResponse     = `function.json "wasmworker": "maxOutboundResponseMB" or app setting WASMWORKER_MAX_OUTBOUND_RESPONSE_MB`
	settingCAFile          = "app setting WASMWORKER_OUTBOUND_CA_FILE"
)

// Transport tuning. HTTP/2 flow-control windows bound what the transport
// buffers for a response the guest does not read: at most
// h2StreamWindow per response and h2ConnWindow per connection.
const (
	h2StreamWindow      = 1 << 20
	h2ConnWindow        = 4<<20 - 1 // the documented maximum of http.HTTP2Config
	maxIdleConnsPerHost = 64
	maxIdleConns        = 256
	idleConnTimeout     = 90 * time.Second
	dialTimeout         = 30 * time.Second
	minDialShare        = 2 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	h2PingAfter         = 30 * time.Second
)

// Policy is one function's grant and limits. Zero limits mean the defaults.
type Policy struct {
	Allowed          Allowlist
	AllowedFrom      string // where Allowed came from, for messages, e.g. `function.json "wasmworker": "allowedHosts"` or `app setting WASMWORKER_ALLOWED_HOSTS`
	MaxRequests      int    // requests per invocation; <= 0 means DefaultMaxRequests
	MaxResponseBytes int64  // response body bytes per invocation; <= 0 means DefaultMaxResponseBytes
	CAFile           string // extra PEM roots (app setting WASMWORKER_OUTBOUND_CA_FILE); "" for none
}

// Options tune a Client beyond the policy; zero is right for production.
type Options struct {
	// UserAgent is sent when the guest sets none; "" means DefaultUserAgent.
	UserAgent string
	// LookupIP resolves names; nil means net.DefaultResolver.LookupNetIP
	// with network "ip". A test seam.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to an already-checked ip:port; nil means
	// net.Dialer.DialContext. The address check always runs before Dial,
	// on the resolved address. A test seam.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client sends one function's requests. It holds one http.Transport, so
// connections are reused across the function's invocations; HTTP/2 is
// negotiated by TLS ALPN; no proxy is used; TLS trusts the system roots plus
// Policy.CAFile. A Client is safe for concurrent use by many sessions.
type Client struct {
	policy    Policy
	userAgent string
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	transport *http.Transport
	http      *http.Client
	closed    atomic.Bool
}

// NewClient returns a Client for the policy. It reads Policy.CAFile; the
// error names the file.
func NewClient(p Policy, opt Options) (*Client, error) {
	if p.MaxRequests <= 0 {
		p.MaxRequests = DefaultMaxRequests
	}
	if p.MaxResponseBytes <= 0 {
		p.MaxResponseBytes = DefaultMaxResponseBytes
	}
	c := &Client{policy: p, userAgent: opt.UserAgent, lookup: opt.LookupIP, dial: opt.Dial}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.lookup == nil {
		c.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if c.dial == nil {
		d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		c.dial = d.DialContext
	}
	roots, err := rootPool(p.CAFile)
	if err != nil {
		return nil, err
	}
	c.transport = &http.Transport{
		Proxy:                  nil,
		DialContext:            c.dialChecked,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		HTTP2: &http.HTTP2Config{
			MaxReceiveBufferPerStream:     h2StreamWindow,
			MaxReceiveBufferPerConnection: h2ConnWindow,
			SendPingTimeout:               h2PingAfter,
		},
	}
	c.http = &http.Client{Transport: c.transport, CheckRedirect: c.checkRedirect}
	return c, nil
}

// rootPool is the system roots plus the certificates of caFile, or nil (the
// system roots) when caFile is "".
func rootPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the outbound CA bundle %s (%s): %w", caFile, settingCAFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the outbound CA bundle %s (%s) has no PEM certificate", caFile, settingCAFile)
	}
	return pool, nil
}

// Close closes idle connections. Sessions sending after Close fail with
// CodeFailed; requests already in flight finish.
func (c *Client) Close() {
	c.closed.Store(true)
	c.transport.CloseIdleConnections()
}

// addrDeniedError is the dialler's refusal of an address; it travels
// through the transport to Send, which reports it as CodeDenied.
type addrDeniedError struct {
	host  string // as dialled: a name or an address
	addr  netip.Addr
	port  int
	class string
}

func (e *addrDeniedError) Error() string {
	if a, err := netip.ParseAddr(e.host); err == nil && a == e.addr {
		return fmt.Sprintf("%s is %s %s address", e.addr, article(e.class), e.class)
	}
	return fmt.Sprintf("%s resolves to %s, %s %s address", e.host, e.addr, article(e.class), e.class)
}

// article is "a" or "an" before a class name.
func article(class string) string {
	if class != "" && strings.ContainsRune("aeioAEIO", rune(class[0])) || strings.HasPrefix(class, "un") && !strings.HasPrefix(class, "uni") {
		return "an"
	}
	return "a"
}

// dialChecked is the transport's DialContext: it resolves the host itself,
// refuses the whole host when any of its addresses is refused by the
// address rules, and dials checked addresses only, never the name.
func (c *Client) dialChecked(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("splitting %q into host and port: %w", addr, err)
	}
	port, ok := parsePort(portText)
	if !ok {
		return nil, fmt.Errorf("port %q of %q is not a number from 1 to 65535", portText, addr)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = c.lookup(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", host, err)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("resolving %s: no addresses", host)
		}
		// Resolvers may return IPv4 addresses in their IPv4-mapped form.
		for i, ip := range ips {
			ips[i] = ip.Unmap()
		}
	}
	for _, ip := range ips {
		if class := addrClass(ip); class != "" && !c.policy.Allowed.allowsAddr(ip, port) {
			return nil, &addrDeniedError{host: host, addr: ip, port: port, class: class}
		}
	}
	// Addresses are tried in order; with several, each gets a share of the
	// dial timeout so that one unreachable address does not use it all.
	share := max(dialTimeout/time.Duration(len(ips)), minDialShare)
	var first error
	for _, ip := range ips {
		actx, cancel := context.WithTimeout(ctx, share)
		conn, err := c.dial(actx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		cancel()
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// redirectDeniedError is CheckRedirect's refusal of a redirect target the
// grant does not allow.
type redirectDeniedError struct {
	target string // redacted URL
	dest   target
	valid  bool // dest was parsed
}

func (e *redirectDeniedError) Error() string {
	return "redirect to " + e.target + " is not allowed"
}

// errTooManyRedirects stops a request after MaxRedirects redirects.
var errTooManyRedirects = errors.New("stopped after " + strconv.Itoa(MaxRedirects) + " redirects")

// checkRedirect follows at most MaxRedirects redirects, each only to a
// destination the grant allows; the dialler checks its address.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return errTooManyRedirects
	}
	t, ok := targetOf(req.URL)
	if !ok || !c.policy.Allowed.allows(t) {
		return &redirectDeniedError{target: redact(req.URL), dest: t, valid: ok}
	}
	return nil
}
