package outbound

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/slots"
)

// Code classifies a failure; each maps to one ABI error code (SPEC §6).
type Code int

// The codes Session methods fail with.
const (
	CodeBadValue  Code = iota + 1 // ABI BAD_VALUE (-11)
	CodeBadUTF8                   // BAD_UTF8 (-5)
	CodeDenied                    // DENIED (-13)
	CodeLimit                     // LIMIT (-9)
	CodeFailed                    // HTTP_FAILED (-14)
	CodeBadHandle                 // BAD_HANDLE (-15)
)

// ABI returns the ABI error code (a negative number) of c, or 0 for an
// unknown code.
func (c Code) ABI() int32 {
	switch c {
	case CodeBadValue:
		return -11
	case CodeBadUTF8:
		return -5
	case CodeDenied:
		return -13
	case CodeLimit:
		return -9
	case CodeFailed:
		return -14
	case CodeBadHandle:
		return -15
	}
	return 0
}

// String returns the ABI name of c.
func (c Code) String() string {
	switch c {
	case CodeBadValue:
		return "BAD_VALUE"
	case CodeBadUTF8:
		return "BAD_UTF8"
	case CodeDenied:
		return "DENIED"
	case CodeLimit:
		return "LIMIT"
	case CodeFailed:
		return "HTTP_FAILED"
	case CodeBadHandle:
		return "BAD_HANDLE"
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Error is what every Session method returns on failure; Code maps to the
// ABI codes and Msg is the message the guest reads with outbound_error.
type Error struct {
	Code Code
	Msg  string
	err  error // the cause, when there is one
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause (a network error, a context error), or nil.
func (e *Error) Unwrap() error { return e.err }

// errSessionClosed is the cause of a session's context after Close.
var errSessionClosed = errors.New("outbound session closed")

// response is one open response of a session.
type response struct {
	url    string // redacted, for messages
	status int
	header http.Header

	mu     sync.Mutex // serializes body reads with closing
	body   io.ReadCloser
	eof    bool  // the body ended
	err    error // a read error to return on the next Read
	peeked bool  // one byte was read past the budget (never delivered)
	closed bool
}

// close closes the body, waiting for a read in progress (which the
// session's cancelled context aborts).
func (r *response) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.body.Close()
	}
}

// Session is one invocation's outbound state: handles, counters, last
// error. It is used by one goroutine at a time (the guest is
// single-threaded), but Close may be called from another goroutine, for
// example when the invocation is cancelled. Call Close when the invocation
// ends.
type Session struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	closed   bool
	open     map[int32]*response
	next     int32 // the last handle given out
	requests int
	bytes    int64 // response body bytes delivered
	lastErr  string
	failed   bool
}

// NewSession starts the outbound state of one invocation; ctx is the
// invocation's (deadline, cancellation), and every request and body read
// runs under it.
func (c *Client) NewSession(ctx context.Context) *Session {
	sctx, cancel := context.WithCancelCause(ctx)
	return &Session{c: c, ctx: sctx, cancel: cancel, open: map[int32]*response{}}
}

// Close closes every open response and aborts requests and reads in
// flight; later calls fail with CodeFailed. It is idempotent and safe to
// call from any goroutine.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	s.cancel(errSessionClosed)
	for _, r := range open {
		r.close()
	}
}

// fail records err's message as the last error and returns err.
func (s *Session) fail(err *Error) *Error {
	s.mu.Lock()
	s.lastErr, s.failed = err.Msg, true
	s.mu.Unlock()
	return err
}

// LastError returns the message of the last failed call of this session,
// and false when none has failed.
func (s *Session) LastError() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr, s.failed
}

// endedMessage says why the session's context is done, or "" when it is not.
func (s *Session) endedMessage() string {
	if s.ctx.Err() == nil {
		return ""
	}
	cause := invocation.CancelCause(s.ctx)
	switch {
	case errors.Is(cause, errSessionClosed):
		return "the invocation has ended"
	case errors.Is(cause, context.DeadlineExceeded):
		return "the invocation's deadline passed"
	case errors.Is(cause, context.Canceled):
		return "the invocation was cancelled"
	default:
		return "the invocation was cancelled: " + cause.Error()
	}
}

// Send sends one request and waits for its status line and headers,
// following redirects, and returns a handle > 0 for the response. head and
// body are copied, so both may alias guest memory.
//
// head is SPEC §5.7's: UTF-8 (else CodeBadUTF8), at most MaxRequestHead
// bytes (else CodeLimit); a first line "METHOD URL" with one space, the
// method an HTTP token other than CONNECT, the URL absolute http or https
// without fragment or user info; then "Name: value" lines, names HTTP
// tokens, values without control characters other than tab, spaces and
// tabs around values trimmed. Lines end with "\n", a "\r" before it is
// dropped, the last "\n" is optional, and empty lines after the first are
// ignored. Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive,
// TE, Trailer, Upgrade and Proxy-* headers are ignored; User-Agent defaults
// to the Client's. Malformed heads fail with CodeBadValue.
//
// Requests that passed the grant count against Policy.MaxRequests, whether
// or not they then succeed; refused and malformed ones do not.
func (s *Session) Send(head, body []byte) (handle int32, err error) {
	h, e := s.send(head, body)
	if e != nil {
		return 0, s.fail(e)
	}
	return h, nil
}

func (s *Session) send(head, body []byte) (int32, *Error) {
	if s.isClosed() {
		return 0, &Error{Code: CodeFailed, Msg: "outbound request failed: the invocation has ended", err: errSessionClosed}
	}
	if s.c.closed.Load() {
		return 0, &Error{Code: CodeFailed, Msg: "outbound request failed: the function's outbound client is closed (the function was unloaded)"}
	}
	parsed, err := parseHead(head)
	if err != nil {
		return 0, err.(*Error)
	}
	u := redact(parsed.url)
	if msg := s.endedMessage(); msg != "" {
		return 0, &Error{Code: CodeFailed, Msg: "outbound request to " + u + " failed: " + msg, err: invocation.CancelCause(s.ctx)}
	}
	t, _ := targetOf(parsed.url)
	if !s.c.policy.Allowed.allows(t) {
		return 0, &Error{Code: CodeDenied, Msg: "outbound request to " + u + " refused: " + s.c.notAllowed(t)}
	}
	if len(body) > MaxRequestBody {
		return 0, &Error{Code: CodeLimit, Msg: fmt.Sprintf("outbound request to %s refused: its body of %d bytes is over the limit of %s", u, len(body), formatBytes(MaxRequestBody))}
	}
	s.mu.Lock()
	switch {
	case s.requests >= s.c.policy.MaxRequests:
		s.mu.Unlock()
		return 0, &Error{Code: CodeLimit, Msg: fmt.Sprintf("outbound request to %s refused: this invocation reached its limit of %d outbound requests (%s)", u, s.requests, settingMaxRequests)}
	case len(s.open) >= MaxOpen:
		s.mu.Unlock()
		return 0, &Error{Code: CodeLimit, Msg: fmt.Sprintf("outbound request to %s refused: %d responses are open, the most at once; close one first", u, len(s.open))}
	case s.next == math.MaxInt32:
		s.mu.Unlock()
		return 0, &Error{Code: CodeLimit, Msg: "outbound request to " + u + " refused: no handles are left in this invocation"}
	}
	s.requests++
	s.mu.Unlock()

	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(bytes.Clone(body))
	}
	req, nerr := http.NewRequestWithContext(s.ctx, parsed.method, parsed.url.String(), rd)
	if nerr != nil {
		return 0, &Error{Code: CodeBadValue, Msg: "malformed outbound request head: " + nerr.Error(), err: nerr}
	}
	req.URL = parsed.url
	req.Header = parsed.header
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", s.c.userAgent)
	}
	// Waiting on the network, the guest uses no CPU: its running slot is
	// free meanwhile (internal/slots).
	slot := slots.Pause(s.ctx)
	resp, derr := s.c.http.Do(req)
	slot.Resume(s.ctx)
	if derr != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return 0, s.requestError(u, derr)
	}
	r := &response{url: u, status: resp.StatusCode, header: resp.Header, body: resp.Body}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		resp.Body.Close()
		return 0, &Error{Code: CodeFailed, Msg: "outbound request to " + u + " failed: the invocation has ended", err: errSessionClosed}
	}
	s.next++
	h := s.next
	s.open[h] = r
	s.mu.Unlock()
	return h, nil
}

// isClosed reports whether Close has been called.
func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// notAllowed says why the grant refuses t and how to allow it.
func (c *Client) notAllowed(t target) string {
	if c.policy.Allowed.Empty() {
		return fmt.Sprintf("no outbound destinations are allowed for this function (%s and %s are both empty); add %q to one of them",
			settingAllowedHosts, settingAllowedHostsApp, t.suggestion())
	}
	from := c.policy.AllowedFrom
	if from == "" {
		from = settingAllowedHosts + " or " + settingAllowedHostsApp
	}
	entries := c.policy.Allowed.Entries()
	list := strings.Join(entries, ", ")
	if len(entries) > 10 {
		list = strings.Join(entries[:10], ", ") + fmt.Sprintf(" and %d more", len(entries)-10)
	}
	return fmt.Sprintf("%s is not allowed by %s (allowed: %s); add it there", t.origin(), from, list)
}

// requestError turns an error of http.Client.Do into an *Error.
func (s *Session) requestError(u string, err error) *Error {
	var (
		addrErr  *addrDeniedError
		redirErr *redirectDeniedError
	)
	hop, hopScheme := "", "http"
	var ue *url.Error
	if errors.As(err, &ue) {
		if hu, perr := url.Parse(ue.URL); perr == nil {
			hop, hopScheme = redact(hu), strings.ToLower(hu.Scheme)
		}
	}
	switch {
	case errors.As(err, &addrErr):
		msg := "outbound request to " + u + " refused: "
		if hop != "" && hop != u {
			msg += "it was redirected to " + hop + ", and "
		}
		example := target{scheme: hopScheme, ip: addrErr.addr.WithZone("").Unmap(), port: addrErr.port}
		from := s.c.policy.AllowedFrom
		if from == "" {
			from = "allowedHosts"
		}
		msg += fmt.Sprintf("%v; such addresses are refused unless an entry of %s names that exact address (for example %q)", addrErr, from, example.suggestion())
		return &Error{Code: CodeDenied, Msg: msg, err: err}
	case errors.As(err, &redirErr):
		why := "it is not an absolute http or https URL"
		if redirErr.valid {
			why = s.c.notAllowed(redirErr.dest)
		}
		return &Error{Code: CodeDenied, Msg: "outbound request to " + u + " refused: it redirects to " + redirErr.target + ", and " + why, err: err}
	}
	if msg := s.endedMessage(); msg != "" {
		return &Error{Code: CodeFailed, Msg: "outbound request to " + u + " failed: " + msg, err: err}
	}
	if errors.Is(err, errTooManyRedirects) {
		return &Error{Code: CodeFailed, Msg: "outbound request to " + u + " failed: " + errTooManyRedirects.Error(), err: err}
	}
	msg := "outbound request to " + u + " failed: " + innerMessage(err)
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		msg += " (to trust a private CA, name a PEM bundle in the " + settingCAFile + ")"
	}
	return &Error{Code: CodeFailed, Msg: msg, err: err}
}

// innerMessage is err's message without the url.Error wrapper, which
// repeats the method and the unredacted URL.
func innerMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// lookup returns the open response h.
func (s *Session) lookup(h int32) (*response, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &Error{Code: CodeFailed, Msg: "outbound response: the invocation has ended", err: errSessionClosed}
	}
	r, ok := s.open[h]
	if !ok {
		return nil, &Error{Code: CodeBadHandle, Msg: fmt.Sprintf("outbound response handle %d is not open in this invocation", h)}
	}
	return r, nil
}

// Status returns the status code of response h.
func (s *Session) Status(h int32) (int, error) {
	r, err := s.lookup(h)
	if err != nil {
		return 0, s.fail(err)
	}
	return r.status, nil
}

// Header returns the headers of response h as "Name: value\n" lines:
// canonical names sorted byte-wise, the values of a name in the order
// received. Values are made valid UTF-8 (U+FFFD for bad bytes) without
// CR, LF or NUL.
func (s *Session) Header(h int32) ([]byte, error) {
	r, err := s.lookup(h)
	if err != nil {
		return nil, s.fail(err)
	}
	return formatHeader(r.header), nil
}

// formatHeader writes a header in the head's "Name: value\n" form.
func formatHeader(hdr http.Header) []byte {
	names := make([]string, 0, len(hdr))
	size := 0
	for name, values := range hdr {
		names = append(names, name)
		for _, v := range values {
			size += len(name) + len(v) + 3
		}
	}
	slices.Sort(names)
	out := make([]byte, 0, size)
	for _, name := range names {
		for _, v := range hdr[name] {
			out = append(out, cleanText(name)...)
			out = append(out, ": "...)
			out = append(out, cleanText(v)...)
			out = append(out, '\n')
		}
	}
	return out
}

// cleanText is s as valid UTF-8 with CR, LF and NUL replaced by spaces.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.ContainsAny(s, "\r\n\x00") {
		s = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, s)
	}
	return s
}

// Read reads the next bytes of the body of response h into p and returns
// how many; it blocks until at least one byte is there or the body ends,
// and returns (0, nil) at the end of the body (or when p is empty). p may
// alias guest memory: it is not kept. Bytes are charged against the
// session's response byte budget: when p is larger than what is left, Read
// returns what fits, and the next Read fails with CodeLimit (unless the
// body has ended).
func (s *Session) Read(h int32, p []byte) (int, error) {
	n, err := s.read(h, p)
	if err != nil {
		return n, s.fail(err)
	}
	return n, nil
}

func (s *Session) read(h int32, p []byte) (int, *Error) {
	r, err := s.lookup(h)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	left := s.c.policy.MaxResponseBytes - s.bytes
	s.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return 0, &Error{Code: CodeFailed, Msg: "reading the response of " + r.url + " failed: the invocation has ended", err: errSessionClosed}
	case r.eof || len(p) == 0:
		return 0, nil
	case r.err != nil:
		return 0, s.readError(r, r.err)
	case left <= 0:
		// Deliver nothing, but tell the end of the body from more bytes.
		if !r.peeked {
			var b [1]byte
			n, rerr := readSome(r.body, b[:])
			switch {
			case n > 0:
				r.peeked = true
			case rerr == io.EOF:
				r.eof = true
				return 0, nil
			default:
				return 0, s.readError(r, rerr)
			}
		}
		return 0, &Error{Code: CodeLimit, Msg: fmt.Sprintf("reading the response of %s refused: the outbound response bodies of this invocation reached the limit of %s (%s)",
			r.url, formatBytes(s.c.policy.MaxResponseBytes), settingMaxResponse)}
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	slot := slots.Pause(s.ctx) // the body may still be on its way
	n, rerr := readSome(r.body, p)
	slot.Resume(s.ctx)
	if n > 0 {
		s.mu.Lock()
		s.bytes += int64(n)
		s.mu.Unlock()
	}
	switch {
	case rerr == io.EOF:
		r.eof = true
	case rerr != nil && n > 0:
		r.err = rerr
	case rerr != nil:
		return 0, s.readError(r, rerr)
	}
	return n, nil
}

// readSome reads into p (not empty) until at least one byte arrives or an
// error; at most n > 0 with a nil or io.EOF error, or 0 with an error.
func readSome(rd io.Reader, p []byte) (int, error) {
	for range 100 {
		n, err := rd.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readError turns a body read error into an *Error.
func (s *Session) readError(r *response, err error) *Error {
	if msg := s.endedMessage(); msg != "" {
		return &Error{Code: CodeFailed, Msg: "reading the response of " + r.url + " failed: " + msg, err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Code: CodeFailed, Msg: "reading the response of " + r.url + " failed: the connection closed before the body ended", err: err}
	}
	return &Error{Code: CodeFailed, Msg: "reading the response of " + r.url + " failed: " + err.Error(), err: err}
}

// CloseResponse releases response h; its handle is no longer valid.
func (s *Session) CloseResponse(h int32) error {
	s.mu.Lock()
	r, ok := s.open[h]
	closed := s.closed
	if ok {
		delete(s.open, h)
	}
	s.mu.Unlock()
	switch {
	case closed:
		return s.fail(&Error{Code: CodeFailed, Msg: "outbound response: the invocation has ended", err: errSessionClosed})
	case !ok:
		return s.fail(&Error{Code: CodeBadHandle, Msg: fmt.Sprintf("outbound response handle %d is not open in this invocation", h)})
	}
	r.close()
	return nil
}

// redact is u as messages show it: no user info, and the query (which
// often carries keys) replaced by "?…".
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = "…", false
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// formatBytes writes a size in MiB when it is a whole number of them.
func formatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sessionKey is the context key of WithSession.
type sessionKey struct{}

// WithSession returns a context that carries s, for host functions that
// find the invocation's session from their context.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// FromContext returns the session WithSession stored in ctx, or nil.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}
