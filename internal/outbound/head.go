package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxRequestHead is the largest request head Send accepts (CodeLimit
// beyond), so that parsing a head never copies more than this.
const MaxRequestHead = 1 << 20

// request is a parsed request head.
type request struct {
	method string
	url    *url.URL
	header http.Header // canonical names; hop-by-hop and Host headers removed
}

// parseHead parses a head per SPEC §5.7: a first line "METHOD URL" (one
// space), then "Name: value" lines. Lines end with "\n"; a "\r" before it is
// dropped and the last "\n" is optional. Empty lines after the first line
// are ignored. Spaces and tabs around a value are trimmed. Headers the host
// sets itself (see ignoredHeader) are dropped. Errors are *Error with
// CodeBadUTF8, CodeBadValue or CodeLimit.
func parseHead(head []byte) (request, error) {
	if len(head) > MaxRequestHead {
		return request{}, &Error{Code: CodeLimit, Msg: fmt.Sprintf("outbound request head of %d bytes is over the limit of %s", len(head), formatBytes(MaxRequestHead))}
	}
	if !utf8.Valid(head) {
		return request{}, &Error{Code: CodeBadUTF8, Msg: "outbound request head is not valid UTF-8"}
	}
	rest := string(head)
	first, rest, _ := strings.Cut(rest, "\n")
	first = strings.TrimSuffix(first, "\r")
	method, rawURL, ok := strings.Cut(first, " ")
	if !ok || first == "" {
		return request{}, badHead("the first line %q is not METHOD URL", first)
	}
	if !isToken(method) {
		return request{}, badHead("method %q is not an HTTP token", method)
	}
	if method == "CONNECT" {
		return request{}, badHead("method CONNECT is not supported")
	}
	u, err := parseURL(rawURL)
	if err != nil {
		return request{}, badHead("%v", err)
	}
	req := request{method: method, url: u, header: http.Header{}}
	for n := 2; rest != ""; n++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return request{}, badHead("line %d %q is not Name: value", n, line)
		}
		if !isToken(name) {
			return request{}, badHead("line %d: header name %q is not an HTTP token", n, name)
		}
		value = strings.Trim(value, " \t")
		if i := strings.IndexFunc(value, isCTL); i >= 0 {
			return request{}, badHead("line %d: the value of %s has the control character %q", n, name, value[i])
		}
		key := http.CanonicalHeaderKey(name)
		if ignoredHeader(key) {
			continue
		}
		req.header[key] = append(req.header[key], value)
	}
	return req, nil
}

// badHead is a CodeBadValue error about a head.
func badHead(format string, args ...any) *Error {
	return &Error{Code: CodeBadValue, Msg: "malformed outbound request head: " + fmt.Sprintf(format, args...)}
}

// parseURL parses an absolute http or https URL without fragment or user
// info, returning it with its host in lower-case ASCII (punycode for an
// internationalized name).
func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the URL is empty")
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return nil, fmt.Errorf("URL %q has a space or control character", raw)
	}
	if strings.Contains(raw, "#") {
		return nil, fmt.Errorf("URL %q has a fragment", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("URL %q does not parse: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not an absolute http or https URL", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q has user info; send credentials in a header", redactedRaw(u))
	}
	port := u.Port()
	if port != "" {
		if _, ok := parsePort(port); !ok {
			return nil, fmt.Errorf("URL %q has port %q, not a number from 1 to 65535", raw, port)
		}
	}
	name, ip, err := parseHost(u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", raw, err)
	}
	if !ip.IsValid() {
		u.Host = name
		if port != "" {
			u.Host += ":" + port
		}
	} else if strings.HasSuffix(u.Host, ":") {
		u.Host = strings.TrimSuffix(u.Host, ":")
	}
	return u, nil
}

// redactedRaw is the URL without user info, for a message about it.
func redactedRaw(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// ignoredHeader reports whether a canonical header name is one the host
// sets itself: Host, framing and hop-by-hop headers.
func ignoredHeader(key string) bool {
	switch key {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade":
		return true
	}
	return strings.HasPrefix(key, "Proxy-")
}

// isCTL reports whether r is a control character other than horizontal
// tab; net/http refuses them in header values.
func isCTL(r rune) bool {
	return r < ' ' && r != '\t' || r == 0x7f
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
