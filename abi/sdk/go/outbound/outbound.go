// Package outbound lets a Go guest of the wasmworker worker make HTTP
// requests through the host (abi/SPEC.md §5.7): a wasm guest has no sockets,
// so its requests go through six host imports, and the host sends each one
// only to a destination the function's grant (function.json "wasmworker":
// {"allowedHosts": [...]}, or the app setting WASMWORKER_ALLOWED_HOSTS)
// allows.
//
// Transport is an http.RoundTripper over those imports. Importing the
// package for its side effect installs it as http.DefaultTransport, so that
// net/http's client works unchanged:
//
//	import _ "github.com/wasmworker/wasmworker/abi/sdk/go/outbound"
//
//	resp, err := http.Get("https://api.example.com/v1/items")
//
// ABI functions (built with -buildmode=c-shared over package wasmworker,
// abi/sdk/go) and command-mode programs (plain GOOS=wasip1 go build) alike
// add this import; package wasmworker does not import it, because net/http
// makes every module about 3× larger.
// http.Client, http.NewRequestWithContext, POST bodies and response bodies
// read in chunks all work; the host follows redirects itself (only to
// allowed destinations), sets Host, Content-Length and the other hop-by-hop
// headers, and enforces the invocation's deadline. A request the grant
// refuses, or that exceeds a per-invocation limit, fails with an *Error
// whose text is the host's message, naming the URL and the setting or limit
// (test it with errors.Is against ErrDenied, ErrLimit, ErrFailed).
//
// Outside GOOS=wasip1 the package builds, so that code importing it can be
// vetted and tested on the host, but Transport answers every request with
// an error.
package outbound

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MaxRequestBody is the largest request body the host accepts (SPEC.md §7).
const MaxRequestBody = 16 << 20

// chunkSize is how much a response body asks the host for at once when the
// reader's buffer is smaller.
const chunkSize = 32 << 10

// Error codes of the host (SPEC.md §6) that outbound requests return.
const (
	codeNotFound  = -1
	codeBadUTF8   = -5
	codeLimit     = -9
	codeBadValue  = -11
	codeDenied    = -13
	codeFailed    = -14
	codeBadHandle = -15
)

// Error is an outbound request the host refused or could not complete. Code
// is the host's error code (SPEC.md §6, e.g. -13 DENIED) and Msg its message
// (from outbound_error), which names the URL and what refused it.
type Error struct {
	Code int
	Msg  string
}

// Error returns the host's message.
func (e *Error) Error() string { return e.Msg }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrDenied) holds for every refusal by the grant.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors, one per kind of failure; compare with errors.Is.
var (
	// ErrDenied: the function's grant or the address rules refuse the
	// destination (SPEC.md §5.7 "Grant", "Addresses").
	ErrDenied = &Error{Code: codeDenied, Msg: "outbound request denied by the function's grant (allowedHosts) or the address rules"}
	// ErrLimit: a per-invocation limit would be exceeded (requests, response
	// bytes, open responses, request body size; SPEC.md §7).
	ErrLimit = &Error{Code: codeLimit, Msg: "outbound request over a per-invocation limit"}
	// ErrFailed: the request or its body could not be completed (name
	// resolution, connection, TLS, protocol, redirects, the invocation's
	// deadline).
	ErrFailed = &Error{Code: codeFailed, Msg: "outbound request failed"}
)

// errNoHost is what Transport answers outside the wasmworker host.
var errNoHost = errors.New("outbound HTTP needs the wasmworker host (GOOS=wasip1)")

// errClosed is what a response body reads after Close.
var errClosed = errors.New("outbound: read on closed response body")

// abi is the host's six outbound imports (SPEC.md §5.7), with Go slices
// for the guest buffers. It is nil outside GOOS=wasip1.
type abi interface {
	send(head string, body []byte) int32
	status(handle int32) int32
	headers(handle int32, buf []byte) int64
	read(handle int32, buf []byte) int32
	close(handle int32) int32
	lastError(buf []byte) int64
}

// host provides the imports; transport_wasip1.go sets it.
var host abi

// Transport is an http.RoundTripper that sends requests through the
// wasmworker host. The zero value is ready to use and holds no state: the
// host keeps the connections, so every Transport (and every http.Client)
// shares them.
//
// RoundTrip sends req.Method, the absolute req.URL (without its fragment;
// user info becomes a Basic Authorization header), req.Header without
// hop-by-hop headers, and the whole req.Body (at most MaxRequestBody bytes).
// req.Host is not used: the host sets Host from the URL. A request whose
// context is already done is not sent. The response's Body reads from the
// host in chunks and must be closed (a response left open counts against
// the host's limit of open responses until the invocation ends). Its Proto
// is always HTTP/1.1: the ABI does not tell which protocol the host used.
type Transport struct{}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if host == nil {
		return nil, errNoHost
	}
	head, err := encodeHead(req)
	if err != nil {
		return nil, err
	}
	payload, err := readBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := host.send(head, payload)
	if h <= 0 {
		return nil, hostError(h)
	}
	status := host.status(h)
	if status < 0 {
		host.close(h)
		return nil, hostError(status)
	}
	hdr, err := responseHeader(h)
	if err != nil {
		host.close(h)
		return nil, err
	}
	resp := &http.Response{
		Status:        statusText(int(status)),
		StatusCode:    int(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		ContentLength: contentLength(hdr),
		Request:       req,
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		resp.ContentLength = 0
	}
	if req.Method == http.MethodHead || resp.ContentLength == 0 {
		host.close(h)
		resp.Body = http.NoBody
		return resp, nil
	}
	resp.Body = &responseBody{handle: h, ctx: ctx}
	return resp, nil
}

// hostError returns the error for a failed outbound_* call with result
// code: the host's message from outbound_error, or a generic one.
func hostError(code int32) error {
	if code == 0 {
		code = codeFailed // not a valid handle; never returned by a conforming host
	}
	msg := lastMessage()
	if msg == "" {
		switch code {
		case codeDenied:
			msg = ErrDenied.Msg
		case codeLimit:
			msg = ErrLimit.Msg
		case codeFailed:
			msg = ErrFailed.Msg
		case codeBadValue:
			msg = "outbound: malformed request (method, URL or header)"
		case codeBadUTF8:
			msg = "outbound: request head is not valid UTF-8"
		case codeBadHandle:
			msg = "outbound: response is no longer open"
		default:
			msg = fmt.Sprintf("outbound: host error %d", code)
		}
	}
	return &Error{Code: int(code), Msg: msg}
}

// lastMessage returns the message of outbound_error, or "".
func lastMessage() string {
	b, ok := getString(host.lastError)
	if !ok {
		return ""
	}
	return string(b)
}

// getString runs a getter of SPEC.md §5.1 (a STRING value) into a 4 KiB
// buffer, or into one of the value's length when it is longer.
func getString(get func(buf []byte) int64) ([]byte, bool) {
	buf := make([]byte, 4096)
	r := get(buf)
	if r < 0 {
		return nil, false
	}
	n := int(uint32(r))
	if n <= len(buf) {
		return buf[:n], true
	}
	buf = make([]byte, n)
	if r = get(buf); r < 0 || int(uint32(r)) != n {
		return nil, false
	}
	return buf, true
}

// responseHeader reads and parses the headers of response h.
func responseHeader(h int32) (http.Header, error) {
	var code int64
	b, ok := getString(func(buf []byte) int64 {
		code = host.headers(h, buf)
		return code
	})
	if !ok {
		if code >= 0 {
			code = codeFailed
		}
		return nil, hostError(int32(code))
	}
	return parseHeader(string(b)), nil
}

// parseHeader parses the "Name: value\n" lines of outbound_headers.
func parseHeader(s string) http.Header {
	h := make(http.Header)
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			continue
		}
		h.Add(name, strings.TrimLeft(value, " \t"))
	}
	return h
}

// contentLength returns the Content-Length header's value, or -1.
func contentLength(h http.Header) int64 {
	v := h.Get("Content-Length")
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// statusText formats a status line's code and reason, like "200 OK".
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// hopByHop are the request headers the host sets itself (SPEC.md §5.7);
// given ones are left out of the head.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Content-Length":      true,
	"Host":                true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// encodeHead writes the head of SPEC.md §5.7: "METHOD URL\n" then one
// "Name: value\n" line per header value, names sorted.
func encodeHead(req *http.Request) (string, error) {
	if req.URL == nil {
		return "", errors.New("outbound: request has no URL")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !isToken(method) {
		return "", fmt.Errorf("outbound: invalid method %q", method)
	}
	u := *req.URL
	u.Fragment, u.RawFragment = "", ""
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return "", fmt.Errorf("outbound: unsupported protocol scheme %q (http and https only)", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("outbound: no host in request URL %q", u.String())
	}
	var auth string
	if u.User != nil {
		if req.Header.Get("Authorization") == "" {
			pw, _ := u.User.Password()
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
		}
		u.User = nil
	}
	target := u.String()
	if strings.ContainsAny(target, " \r\n\x00") {
		return "", fmt.Errorf("outbound: invalid URL %q", target)
	}
	var b strings.Builder
	b.Grow(len(method) + len(target) + 2 + 64*len(req.Header))
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(target)
	b.WriteByte('\n')
	names := make([]string, 0, len(req.Header))
	for name := range req.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if hopByHop[http.CanonicalHeaderKey(name)] {
			continue
		}
		if !isToken(name) {
			return "", fmt.Errorf("outbound: invalid header name %q", name)
		}
		for _, v := range req.Header[name] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return "", fmt.Errorf("outbound: invalid value for header %q: it holds CR, LF or NUL", name)
			}
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	if auth != "" {
		b.WriteString("Authorization: ")
		b.WriteString(auth)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// readBody reads the whole request body, at most MaxRequestBody bytes.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	tooLarge := func() error {
		return &Error{Code: codeLimit, Msg: fmt.Sprintf("outbound: the request body of %s %s is larger than %d MiB, the limit of one outbound request body",
			req.Method, redacted(req.URL), MaxRequestBody>>20)}
	}
	if req.ContentLength > MaxRequestBody {
		return nil, tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestBody+1))
	if err != nil {
		return nil, fmt.Errorf("outbound: read request body: %w", err)
	}
	if len(b) > MaxRequestBody {
		return nil, tooLarge()
	}
	return b, nil
}

// redacted is u without its password, for messages.
func redacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

// chunks are the buffers of response bodies, reused across responses.
var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// responseBody is a response body read from the host with outbound_read.
type responseBody struct {
	handle int32
	ctx    context.Context
	chunk  *[chunkSize]byte // nil until a small Read needs it
	r, w   int              // the unread bytes of chunk
	err    error            // io.EOF, errClosed or the error that ended the body
}

// Read reads directly into p when it can hold a whole chunk, and otherwise
// through a chunk buffer, so that small reads cost few host calls. At the end
// of the body (or on an error) the response is released at once.
func (b *responseBody) Read(p []byte) (int, error) {
	if b.r < b.w {
		n := copy(p, b.chunk[b.r:b.w])
		b.r += n
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := b.ctx.Err(); err != nil {
		b.end(err)
		return 0, err
	}
	dst := p
	if len(p) < chunkSize {
		if b.chunk == nil {
			b.chunk = chunks.Get().(*[chunkSize]byte)
		}
		dst = b.chunk[:]
	}
	n := host.read(b.handle, dst)
	switch {
	case n < 0:
		err := hostError(n)
		b.end(err)
		return 0, err
	case n == 0:
		b.end(io.EOF)
		return 0, io.EOF
	case int(n) > len(dst):
		b.end(ErrFailed)
		return 0, ErrFailed
	}
	if len(p) >= chunkSize {
		return int(n), nil
	}
	b.r, b.w = 0, int(n)
	m := copy(p, b.chunk[:n])
	b.r = m
	return m, nil
}

// Close releases the response; further reads fail.
func (b *responseBody) Close() error {
	b.r, b.w = 0, 0
	b.end(errClosed)
	return nil
}

// end releases the response and records why the body ended.
func (b *responseBody) end(err error) {
	if b.err == nil {
		host.close(b.handle)
	}
	b.err = err
	if b.chunk != nil && b.r >= b.w { // nothing unread: the buffer can go
		chunks.Put(b.chunk)
		b.chunk = nil
	}
}
