// Package wwhttp registers HTTP-triggered functions of the wasmworker Go SDK
// as net/http handlers:
//
//	func init() {
//		wwhttp.HandleFunc("Hello", hello, ww.Route("hello/{name?}"), ww.Methods("GET", "POST"))
//	}
//
//	func hello(w http.ResponseWriter, r *http.Request) {
//		name := r.PathValue("name")
//		…
//		fmt.Fprintf(w, "Hello, %s!", name)
//	}
//
// The *http.Request is built from the invocation's HTTP trigger: method,
// URL (with the query), headers, route parameters (r.PathValue) and body;
// its context is the handler context of package wasmworker (FromContext,
// SetOutput, Logger take it). The http.ResponseWriter behaves as net/http's:
// WriteHeader once, Header().Set replaces and Add appends, a missing
// Content-Type is sniffed from the body, Set-Cookie headers become cookies
// of the response. The response is sent when the handler returns.
//
// It is a package of its own because importing net/http makes a module
// about twice as large and slower to instantiate (the SDK's README); a
// module without HTTP functions does not pay for it.
package wwhttp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	ww "github.com/wasmworker/wasmworker/abi/sdk/go"
)

// Binding names of the functions this package registers.
const (
	RequestBinding  = "req" // the httpTrigger
	ResponseBinding = "res" // the http output
)

// Handle registers h as the HTTP-triggered function name. opts add to the
// declaration: Route, Methods and AuthLevel of package wasmworker set the
// trigger's properties (by default: route = the function name, every
// method, authLevel "function"); output bindings such as QueueOutput are
// set with ww.SetOutput(r.Context(), …).
func Handle(name string, h http.Handler, opts ...ww.Option) {
	trigger := ww.Binding{"type": "httpTrigger", "direction": "in", "name": RequestBinding}
	res := ww.Binding{"type": "http", "direction": "out", "name": ResponseBinding}
	all := append([]ww.Option{ww.Bind(trigger), ww.Bind(res)}, opts...)
	ww.Handle(name, func(ctx context.Context) error { return serve(ctx, name, h) }, all...)
}

// HandleFunc registers f as the HTTP-triggered function name (see Handle).
func HandleFunc(name string, f func(http.ResponseWriter, *http.Request), opts ...ww.Option) {
	Handle(name, http.HandlerFunc(f), opts...)
}

// serve runs h for the invocation's request and sends its response.
func serve(ctx context.Context, name string, h http.Handler) error {
	r, err := Request(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	w := &responseWriter{header: make(http.Header)}
	h.ServeHTTP(w, r)
	if err := w.send(r.Method == http.MethodHead); err != nil {
		return fmt.Errorf("%s: send the HTTP response: %w", name, err)
	}
	return nil
}

// Request returns the HTTP request of the invocation in progress (the
// function's first HTTP input), with ctx as its context. Handle and
// HandleFunc call it; a function registered with ww.Handle and an
// httpTrigger binding may call it too.
func Request(ctx context.Context) (*http.Request, error) {
	method, raw := ww.Method(), ww.URL()
	if method == "" {
		return nil, fmt.Errorf("the invocation has no HTTP request (%w)", ww.ErrNoHTTP)
	}
	var body *bytes.Reader
	if b := ww.Body(); len(b) > 0 {
		body = bytes.NewReader(b)
	}
	var (
		r   *http.Request
		err error
	)
	if body != nil {
		r, err = http.NewRequestWithContext(ctx, method, raw, body)
	} else {
		r, err = http.NewRequestWithContext(ctx, method, raw, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("build the request %s %s: %w", method, raw, err)
	}
	if r.Body == nil {
		r.Body = http.NoBody // as a server request's
	}
	r.RequestURI = r.URL.RequestURI()
	for _, name := range ww.HeaderNames() {
		r.Header[http.CanonicalHeaderKey(name)] = []string{ww.Header(name)}
	}
	if host := r.Header.Get("Host"); host != "" {
		r.Host = host
	}
	r.Header.Del("Host") // net/http servers keep it in r.Host only
	for _, name := range ww.ParamNames() {
		r.SetPathValue(name, ww.Param(name))
	}
	return r, nil
}

// responseWriter collects a handler's response.
type responseWriter struct {
	header http.Header
	sent   http.Header // the header as it was at WriteHeader
	status int         // 0 until WriteHeader
	body   []byte
}

func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status once, like net/http's (later calls are
// ignored; an informational 1xx status is not sent).
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

// Write adds p to the body; like net/http's, it fails with
// http.ErrBodyNotAllowed after a 204 or 304 status.
func (w *responseWriter) Write(p []byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// WriteString lets io.WriteString and fmt.Fprint skip a conversion.
func (w *responseWriter) WriteString(s string) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	w.body = append(w.body, s...)
	return len(s), nil
}

// writable sends the status when not yet sent and says whether the status
// allows a body.
func (w *responseWriter) writable() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return http.ErrBodyNotAllowed
	}
	return nil
}

// managed are headers the host sets itself.
var managed = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true}

// send writes the response through the host; for a HEAD request, the
// headers of a GET (the content type guessed from what the handler wrote
// included) and no body, as net/http's server does.
func (w *responseWriter) send(head bool) error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	h := w.sent
	if _, ok := h["Content-Type"]; !ok && len(w.body) > 0 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(w.body))
	}
	if head {
		w.body = nil
	}
	if err := ww.SetStatus(w.status); err != nil {
		return fmt.Errorf("status %d: %w", w.status, err)
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		canon := http.CanonicalHeaderKey(name)
		if managed[canon] {
			continue
		}
		for _, v := range h[name] {
			var err error
			if canon == "Set-Cookie" {
				err = ww.AddCookie(v)
			} else {
				err = ww.AddHeader(strings.ToLower(name), v)
			}
			if err != nil {
				return fmt.Errorf("header %s: %w", name, err)
			}
		}
	}
	if len(w.body) > 0 {
		if err := ww.SetBody(ww.Bytes, w.body); err != nil {
			return fmt.Errorf("body of %d bytes: %w", len(w.body), err)
		}
	}
	return nil
}
