package outbound

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// stallServer answers /head by blocking before the headers and /body by
// sending "first" and then blocking, until the test ends or the client
// goes away. arrived gets a value when a request is being served.
func stallServer(t *testing.T) (srvURL string, arrived <-chan struct{}) {
	release := make(chan struct{})
	got := make(chan struct{}, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := startServer(t, mux)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL, got
}

// readFirst reads the 5 bytes "first" of a /body response.
func readFirst(t *testing.T, s *Session, h int32) {
	t.Helper()
	var got []byte
	buf := make([]byte, 16)
	for len(got) < 5 {
		n, err := s.Read(h, buf)
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v after %q", n, err, got)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "first" {
		t.Fatalf("read %q, want \"first\"", got)
	}
}

func TestDeadline(t *testing.T) {
	u, _ := stallServer(t)
	c := newClient(t, Policy{Allowed: allow(t, u)}, Options{})

	t.Run("send", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		s := newSession(t, c, ctx)
		_, err := s.Send([]byte("GET "+u+"/head"), nil)
		wantError(t, s, err, CodeFailed, "outbound request to "+u+"/head failed: the invocation's deadline passed")
		_, err = s.Send([]byte("GET "+u+"/x"), nil)
		e := wantError(t, s, err, CodeFailed, "outbound request to "+u+"/x failed: the invocation's deadline passed")
		if !errorsIs(e, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", e)
		}
	})

	t.Run("read", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		s := newSession(t, c, ctx)
		h := send(t, s, "GET "+u+"/body", nil)
		readFirst(t, s, h)
		_, err := s.Read(h, make([]byte, 16))
		wantError(t, s, err, CodeFailed, "reading the response of "+u+"/body failed: the invocation's deadline passed")
	})
}

func TestCancel(t *testing.T) {
	u, arrived := stallServer(t)
	c := newClient(t, Policy{Allowed: allow(t, u)}, Options{})

	t.Run("invocation cancelled during send", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s := newSession(t, c, ctx)
		done := make(chan error)
		go func() {
			_, err := s.Send([]byte("GET "+u+"/head"), nil)
			done <- err
		}()
		<-arrived
		cancel()
		wantError(t, s, <-done, CodeFailed, "the invocation was cancelled")
	})

	t.Run("session closed during send", func(t *testing.T) {
		s := c.NewSession(t.Context())
		done := make(chan error)
		go func() {
			_, err := s.Send([]byte("GET "+u+"/head"), nil)
			done <- err
		}()
		<-arrived
		s.Close()
		wantError(t, s, <-done, CodeFailed, "the invocation has ended")
	})

	t.Run("session closed during read", func(t *testing.T) {
		s := c.NewSession(t.Context())
		h := send(t, s, "GET "+u+"/body", nil)
		<-arrived
		readFirst(t, s, h)
		done := make(chan error)
		go func() {
			_, err := s.Read(h, make([]byte, 16))
			done <- err
		}()
		s.Close()
		// Whether Close came before the read started or aborted it, the read fails.
		wantError(t, s, <-done, CodeFailed, "the invocation has ended")
	})

	t.Run("cause of cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		s := newSession(t, c, ctx)
		cancel(context.Cause(ctx)) // no cause given: plain cancellation
		_, err := s.Send([]byte("GET "+u+"/x"), nil)
		wantError(t, s, err, CodeFailed, "the invocation was cancelled")

		ctx, cancel = context.WithCancelCause(t.Context())
		s = newSession(t, c, ctx)
		cancel(errTestShutdown)
		_, err = s.Send([]byte("GET "+u+"/x"), nil)
		wantError(t, s, err, CodeFailed, "the invocation was cancelled: worker shutting down")

		// The worker's invocations: one context carries the deadline and
		// the cancel's reason is kept beside it (invocation.WithCanceler).
		plain, stop := context.WithTimeout(t.Context(), time.Hour)
		r := &reason{}
		s = newSession(t, c, invocation.WithCanceler(plain, r))
		r.err = errTestShutdown
		stop()
		_, err = s.Send([]byte("GET "+u+"/x"), nil)
		wantError(t, s, err, CodeFailed, "the invocation was cancelled: worker shutting down")
	})
}

// reason is an invocation.Canceler.
type reason struct{ err error }

func (r *reason) CancelReason() error { return r.err }
