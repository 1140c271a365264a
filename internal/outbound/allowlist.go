package outbound

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// entryForm is the form of an allowlist entry, quoted in errors.
const entryForm = "scheme://host[:port], for example https://api.example.com or https://*.example.org:8443"

// hostKind says how an entry's host matches.
type hostKind uint8

const (
	kindName   hostKind = iota // exactly one DNS name
	kindSuffix                 // any name below a suffix ("*.example.org")
	kindAny                    // any host ("*")
	kindIP                     // exactly one IP address
)

// entry is one parsed allowedHosts entry.
type entry struct {
	text   string     // as written, without surrounding spaces
	scheme string     // "http" or "https"
	kind   hostKind   //
	name   string     // kindName: the name; kindSuffix: the suffix without "*."
	ip     netip.Addr // kindIP
	port   int        // 0 means any port
}

// Allowlist is a parsed list of allowedHosts entries (SPEC §5.7 "Grant").
// The zero value allows nothing.
type Allowlist struct {
	entries []entry
}

// ParseAllowlist validates entries; the error names the bad entry and says
// the expected form scheme://host[:port]. Entries are trimmed of spaces and
// empty entries are skipped (an app setting "a,,b" or with a trailing comma
// is accepted). A single trailing "/" is tolerated; any other path, a query,
// a fragment or user info is an error. Names may be internationalized; they
// are compared in their ASCII (punycode) form.
func ParseAllowlist(entries []string) (Allowlist, error) {
	var a Allowlist
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		e, err := parseEntry(s)
		if err != nil {
			return Allowlist{}, fmt.Errorf("allowedHosts entry %q: %w; the form is %s", s, err, entryForm)
		}
		a.entries = append(a.entries, e)
	}
	return a, nil
}

// parseEntry parses one trimmed, non-empty entry.
func parseEntry(s string) (entry, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return entry{}, errors.New("no scheme")
	}
	e := entry{text: s, scheme: strings.ToLower(scheme)}
	if e.scheme != "http" && e.scheme != "https" {
		return entry{}, fmt.Errorf("scheme %q is not http or https", scheme)
	}
	rest = strings.TrimSuffix(rest, "/")
	if i := strings.IndexAny(rest, "/?#@\\"); i >= 0 {
		switch rest[i] {
		case '@':
			return entry{}, errors.New("user info is not allowed")
		case '?':
			return entry{}, errors.New("a query is not allowed")
		case '#':
			return entry{}, errors.New("a fragment is not allowed")
		default:
			return entry{}, errors.New("a path is not allowed")
		}
	}
	host, port, hasPort, err := splitEntryHostPort(rest)
	if err != nil {
		return entry{}, err
	}
	switch {
	case !hasPort:
		e.port = defaultPort(e.scheme)
	case port == "*":
		e.port = 0
	default:
		n, ok := parsePort(port)
		if !ok {
			return entry{}, fmt.Errorf("port %q is not a number from 1 to 65535 or *", port)
		}
		e.port = n
	}
	switch {
	case host == "":
		return entry{}, errors.New("no host")
	case host == "*":
		e.kind = kindAny
	case strings.HasPrefix(host, "*."):
		name, ip, err := parseHost(host[2:])
		if err != nil {
			return entry{}, err
		}
		if ip.IsValid() {
			return entry{}, errors.New("a wildcard applies to names, not to IP addresses")
		}
		e.kind, e.name = kindSuffix, name
	case strings.Contains(host, "*"):
		return entry{}, errors.New(`a wildcard is allowed only as a leading "*." or as the whole host "*"`)
	default:
		name, ip, err := parseHost(host)
		if err != nil {
			return entry{}, err
		}
		if ip.IsValid() {
			e.kind, e.ip = kindIP, ip
		} else {
			e.kind, e.name = kindName, name
		}
	}
	return e, nil
}

// splitEntryHostPort splits host[:port] as written in an entry; an IPv6
// address must be bracketed.
func splitEntryHostPort(s string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, errors.New(`"[" without "]"`)
		}
		host, after := s[1:end], s[end+1:]
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", "", false, fmt.Errorf("[%s] is not an IPv6 address (without a zone)", host)
		}
		switch {
		case after == "":
			return host, "", false, nil
		case after[0] == ':':
			if after == ":" {
				return "", "", false, errors.New("empty port")
			}
			return host, after[1:], true, nil
		default:
			return "", "", false, fmt.Errorf("unexpected %q after the IPv6 address", after)
		}
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, nil
	case 1:
		host, port, _ := strings.Cut(s, ":")
		if port == "" {
			return "", "", false, errors.New("empty port")
		}
		return host, port, true, nil
	default:
		return "", "", false, errors.New("an IPv6 address must be in brackets, as in http://[2001:db8::1]:8080")
	}
}

// parsePort parses a decimal port from 1 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// defaultPort is the port of a scheme when none is written.
func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// parseHost parses a host without brackets or port: an IP address (returned
// as ip), or a DNS name, returned in lower-case ASCII without a trailing dot.
// A host whose last label is a number must be a valid dotted IPv4 address,
// so that forms such as 127.1 or 0x7f.0.0.1 never pass as names.
func parseHost(h string) (name string, ip netip.Addr, err error) {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return "", netip.Addr{}, fmt.Errorf("address %q has a zone", h)
		}
		return "", a, nil
	}
	name, err = normalizeName(h)
	if err != nil {
		return "", netip.Addr{}, err
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	if isNumericLabel(last) {
		return "", netip.Addr{}, fmt.Errorf("host %q is neither a name nor a dotted IPv4 address", h)
	}
	return name, netip.Addr{}, nil
}

// isNumericLabel reports whether a label reads as a number in any of the
// forms some resolvers accept for IPv4 parts (decimal, 0x hex).
func isNumericLabel(s string) bool {
	if strings.HasPrefix(s, "0x") {
		s = s[2:]
		for i := 0; i < len(s); i++ {
			if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
				return false
			}
		}
		return true
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normalizeName returns a DNS name in lower-case ASCII without a trailing
// dot, converting an internationalized name to punycode as net/http does
// before dialling, or an error when it is not a valid name.
func normalizeName(h string) (string, error) {
	if !isASCII(h) {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("host %q is not a valid internationalized name: %w", h, err)
		}
		h = a
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "" || len(h) > 253 {
		return "", fmt.Errorf("host %q is not a valid name (1 to 253 characters)", h)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("host %q is not a valid name (a label is empty or longer than 63)", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q is not a valid name (character %q)", h, c)
			}
		}
	}
	return h, nil
}

// isASCII reports whether s has only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// target is a request destination in the form entries compare with.
type target struct {
	scheme string
	name   string     // lower-case ASCII, when ip is not valid
	ip     netip.Addr // when the URL names an address
	port   int
}

// targetOf returns the destination of an absolute http or https URL, or false.
func targetOf(u *url.URL) (target, bool) {
	if u == nil {
		return target{}, false
	}
	t := target{scheme: strings.ToLower(u.Scheme)}
	if t.scheme != "http" && t.scheme != "https" || u.Host == "" || u.Opaque != "" {
		return target{}, false
	}
	t.port = defaultPort(t.scheme)
	if p := u.Port(); p != "" {
		n, ok := parsePort(p)
		if !ok {
			return target{}, false
		}
		t.port = n
	}
	name, ip, err := parseHost(u.Hostname())
	if err != nil {
		return target{}, false
	}
	t.name, t.ip = name, ip
	return t, true
}

// origin is scheme://host:port with the port always written, as messages
// show a destination.
func (t target) origin() string {
	return t.scheme + "://" + joinHostPort(t.host(), t.port)
}

// suggestion is the entry that would allow t, with the port written only
// when it is not the scheme's.
func (t target) suggestion() string {
	if t.port == defaultPort(t.scheme) {
		h := t.host()
		if t.ip.Is6() {
			h = "[" + h + "]"
		}
		return t.scheme + "://" + h
	}
	return t.origin()
}

// host is the name or the address, unbracketed.
func (t target) host() string {
	if t.ip.IsValid() {
		return t.ip.String()
	}
	return t.name
}

// joinHostPort writes host:port, bracketing an IPv6 address.
func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// matches reports whether the entry allows the destination.
func (e entry) matches(t target) bool {
	if e.scheme != t.scheme || e.port != 0 && e.port != t.port {
		return false
	}
	switch e.kind {
	case kindAny:
		return true
	case kindIP:
		return t.ip.IsValid() && e.ip.Unmap() == t.ip.Unmap()
	case kindName:
		return !t.ip.IsValid() && e.name == t.name
	case kindSuffix:
		return !t.ip.IsValid() && strings.HasSuffix(t.name, "."+e.name)
	}
	return false
}

// Allows reports whether u's destination is allowed: its scheme, its host
// (names compared case-insensitively and in ASCII form; "*.suffix" matches
// any name below suffix but not suffix itself; "*" matches any host; an IP
// entry matches that address) and its port (the scheme's default when the
// URL has none; "*" in an entry matches any). A URL that is not absolute
// http or https is never allowed. Allows does not apply the address rules:
// they run when the address is dialled.
func (a Allowlist) Allows(u *url.URL) bool {
	t, ok := targetOf(u)
	return ok && a.allows(t)
}

// allows reports whether an entry matches t.
func (a Allowlist) allows(t target) bool {
	for _, e := range a.entries {
		if e.matches(t) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether an entry names exactly the address ip (an IP
// entry, IPv4-mapped forms compared as IPv4) with a port that matches.
// Scheme is not compared: the dialler does not know it, and the URL was
// already matched against the entries.
func (a Allowlist) allowsAddr(ip netip.Addr, port int) bool {
	for _, e := range a.entries {
		if e.kind == kindIP && e.ip.Unmap() == ip.Unmap() && (e.port == 0 || e.port == port) {
			return true
		}
	}
	return false
}

// Empty reports whether the list allows nothing.
func (a Allowlist) Empty() bool { return len(a.entries) == 0 }

// Entries returns the entries as written (trimmed of spaces), in order.
func (a Allowlist) Entries() []string {
	out := make([]string, len(a.entries))
	for i, e := range a.entries {
		out[i] = e.text
	}
	return out
}
