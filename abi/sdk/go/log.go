package wasmworker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/wasmworker/wasmworker/abi/sdk/go/internal/hostabi"
)

// Logger returns a logger whose records become log entries of the
// invocation of ctx, at the matching level (Debug → Debug, Info →
// Information, Warn → Warning, Error → Error). Attributes are appended to the
// message as key=value pairs. Records made after the invocation ended are
// dropped; outside the host and package wwtest (a handler tested with
// net/http/httptest) they are written to standard error.
func Logger(ctx context.Context) *slog.Logger {
	inv, _ := FromContext(ctx)
	return slog.New(&logHandler{inv: inv})
}

// NewLogHandler returns a slog.Handler that writes to the log of the
// invocation in progress; opts.Level filters (all levels when nil). Install
// it as the default logger in init to route slog's package functions to the
// host:
//
//	slog.SetDefault(slog.New(ww.NewLogHandler(nil)))
//
// Outside an invocation its records are dropped; outside the host and
// package wwtest they are written to standard error.
func NewLogHandler(opts *slog.HandlerOptions) slog.Handler {
	h := &logHandler{}
	if opts != nil {
		h.level = opts.Level
	}
	return h
}

type logHandler struct {
	inv    *Invocation // the invocation the records belong to; nil: the current one
	level  slog.Leveler
	prefix string // groups, "a.b."
	attrs  string // preformatted attributes, " k=v k2=v2"
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelDebug - 4
	if h.level != nil {
		min = h.level.Level()
	}
	return l >= min
}

// hostLevel maps a slog level to RpcLog.Level.
func hostLevel(l slog.Level) Level {
	switch {
	case l < slog.LevelDebug:
		return Trace
	case l < slog.LevelInfo:
		return Debug
	case l < slog.LevelWarn:
		return Information
	case l < slog.LevelError:
		return Warning
	case l < slog.LevelError+4:
		return LevelError
	}
	return Critical
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.prefix, a)
		return true
	})
	if hostabi.Current == nil {
		_, err := fmt.Fprintf(os.Stderr, "%s %s\n", r.Level, b.String())
		return err
	}
	if h.inv != nil && h.inv.live() != nil {
		return nil
	}
	if code := host().Log(int32(hostLevel(r.Level)), b.String()); code < 0 && Error(code) != ErrNoInvocation {
		return Error(code)
	}
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		appendAttr(&b, h.prefix, a)
	}
	c := *h
	c.attrs = b.String()
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix += name + "."
	return &c
}

// appendAttr writes " key=value" (groups flattened as group.key).
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := a.Value.String()
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' }) {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}
