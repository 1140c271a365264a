package abi

// Writing: what set_output, http_*, log and set_error store for the host
// (SPEC.md §5.4–§5.7), charged against the limits of SPEC.md §7.

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// toValue converts bytes a guest wrote as a value of type t. The bytes are
// copied.
func toValue(t Type, b []byte) (*invocation.Value, int32) {
	switch t {
	case TypeString:
		if !utf8.Valid(b) {
			return nil, ErrBadUTF8
		}
		return &invocation.Value{Kind: invocation.KindString, String: string(b)}, 0
	case TypeJSON:
		if !utf8.Valid(b) {
			return nil, ErrBadUTF8
		}
		if !json.Valid(b) {
			return nil, ErrBadJSON
		}
		return &invocation.Value{Kind: invocation.KindJSON, String: string(b)}, 0
	case TypeBytes:
		return &invocation.Value{Kind: invocation.KindBytes, Bytes: append([]byte{}, b...)}, 0
	case TypeInt:
		if len(b) != 8 {
			return nil, ErrBadValue
		}
		return &invocation.Value{Kind: invocation.KindInt, Int: int64(binary.LittleEndian.Uint64(b))}, 0
	case TypeDouble:
		if len(b) != 8 {
			return nil, ErrBadValue
		}
		return &invocation.Value{Kind: invocation.KindDouble, Double: math.Float64frombits(binary.LittleEndian.Uint64(b))}, 0
	}
	return nil, ErrBadType
}

func (inv *Invocation) charge(n int) int32 {
	if inv.outBytes+n > MaxOutputBytes {
		return ErrLimit
	}
	inv.outBytes += n
	return 0
}

// isOutput reports whether name is an output binding of the function.
func (inv *Invocation) isOutput(name []byte) bool {
	for _, b := range inv.bindings {
		if b.Name == string(name) && b.IsOutput() {
			return true
		}
	}
	return false
}

// setOutput sets output binding name (or the return value for $return).
func (inv *Invocation) setOutput(name []byte, t Type, b []byte) int32 {
	if !inv.isOutput(name) {
		return ErrNotOutput
	}
	td, code := toValue(t, b)
	if code != 0 {
		return code
	}
	// Each element of a JSON array becomes a message in the host: charged
	// by that cost too, not by its bytes alone (SPEC.md §7).
	if code := inv.charge(len(b) + len(name) + td.Elements()*invocation.OutputElementCost); code != 0 {
		return code
	}
	if string(name) == inv.httpOut {
		inv.resp, inv.hdrs = nil, nil // a new http_* call starts a new response
	}
	inv.put(string(name), td)
	return 0
}

// put stores an output value, replacing an earlier one of the same name.
func (inv *Invocation) put(name string, v *invocation.Value) {
	if name == "$return" {
		inv.ret = v
		return
	}
	for i := range inv.outputs {
		if inv.outputs[i].Name == name {
			inv.outputs[i].Value = v
			return
		}
	}
	inv.outputs = append(inv.outputs, invocation.Output{Name: name, Value: v})
}

// response returns the HTTP response being built, creating it (status 200,
// empty body) on first use.
func (inv *Invocation) response() (*invocation.HTTPResponse, int32) {
	if inv.httpOut == "" {
		return nil, ErrNoHTTP
	}
	if inv.resp == nil {
		inv.resp = &invocation.HTTPResponse{
			StatusCode: "200",
			Headers:    map[string]string{},
			Body:       &invocation.Value{Kind: invocation.KindBytes, Bytes: []byte{}},
		}
		inv.put(inv.httpOut, &invocation.Value{Kind: invocation.KindHTTP, Response: inv.resp})
	}
	return inv.resp, 0
}

func (inv *Invocation) httpStatus(status int32) int32 {
	if status < 100 || status > 999 {
		return ErrBadValue
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	r.StatusCode = strconv.Itoa(int(status))
	return 0
}

func (inv *Invocation) httpHeader(name, val []byte) int32 {
	if !utf8.Valid(val) {
		return ErrBadUTF8
	}
	if invocation.CheckHeader(name, val) != nil {
		return ErrBadValue
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	// Charged by what the entry costs the worker (its map entries on both
	// sides of the conversion and its share of the encoded message), not
	// only by its bytes: a million tiny headers must not cost gigabytes.
	if code := inv.charge(len(name) + len(val) + headerCost); code != 0 {
		return code
	}
	k := strings.ToLower(string(name))
	old, seen := r.Headers[k]
	switch {
	case !seen:
		r.Headers[k] = string(val)
	case inv.hdrs[k] == nil:
		// A repeated name: its values are kept and joined once, in
		// Result, so that repeating a name stays linear.
		if inv.hdrs == nil {
			inv.hdrs = map[string][]string{}
		}
		inv.hdrs[k] = []string{old, string(val)}
	default:
		inv.hdrs[k] = append(inv.hdrs[k], string(val))
	}
	return 0
}

// Host-side costs charged per entry on top of its bytes (SPEC.md §7): what
// a response header or a cookie costs the worker in Go maps and structures,
// in the converted protocol message and in its encoding, rounded up.
const (
	headerCost = 128
	cookieCost = 512
)

// joinHeaders sets each response header to its values joined with ", ", in
// the order the guest added them. Joining once at the end keeps repeated
// names linear.
func (inv *Invocation) joinHeaders() {
	if inv.resp == nil || len(inv.hdrs) == 0 {
		return
	}
	for k, vs := range inv.hdrs {
		inv.resp.Headers[k] = strings.Join(vs, ", ")
	}
	inv.hdrs = nil
}

func (inv *Invocation) httpCookie(line []byte) int32 {
	if !utf8.Valid(line) {
		return ErrBadUTF8
	}
	c, err := http.ParseSetCookie(string(line))
	if err != nil {
		return ErrBadValue
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	if code := inv.charge(len(line) + cookieCost); code != 0 {
		return code
	}
	r.Cookies = append(r.Cookies, cookie(c))
	return 0
}

// cookie converts a parsed Set-Cookie line to the contract's cookie.
func cookie(c *http.Cookie) invocation.Cookie {
	rc := invocation.Cookie{Name: c.Name, Value: c.Value, Expires: c.Expires}
	if c.Domain != "" {
		rc.Domain = &c.Domain
	}
	if c.Path != "" {
		rc.Path = &c.Path
	}
	yes := true
	if c.Secure {
		rc.Secure = &yes
	}
	if c.HttpOnly {
		rc.HTTPOnly = &yes
	}
	switch {
	case c.MaxAge > 0:
		age := float64(c.MaxAge)
		rc.MaxAge = &age
	case c.MaxAge < 0: // "Max-Age=0" or negative: delete now
		age := 0.0
		rc.MaxAge = &age
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		rc.SameSite = invocation.SameSiteLax
	case http.SameSiteStrictMode:
		rc.SameSite = invocation.SameSiteStrict
	case http.SameSiteNoneMode:
		rc.SameSite = invocation.SameSiteNone
	}
	return rc
}

func (inv *Invocation) httpBody(t Type, b []byte) int32 {
	if t != TypeString && t != TypeBytes && t != TypeJSON {
		return ErrBadType
	}
	td, code := toValue(t, b)
	if code != 0 {
		return code
	}
	r, code := inv.response()
	if code != 0 {
		return code
	}
	if code := inv.charge(len(b)); code != 0 {
		return code
	}
	r.Body = td
	return 0
}

func (inv *Invocation) log(level int32, msg []byte) int32 {
	if level < int32(invocation.LevelTrace) || level > int32(invocation.LevelCritical) {
		return ErrBadValue
	}
	if len(inv.logs) >= MaxLogEntries || inv.logBytes+min(len(msg), MaxMessageBytes) > MaxLogBytes {
		inv.logsDropped++
		return ErrLimit
	}
	s := message(msg)
	inv.logBytes += len(s)
	inv.logs = append(inv.logs, invocation.Log{Level: invocation.Level(level), Message: s})
	return 0
}

// message makes guest text safe to send: valid UTF-8, at most
// MaxMessageBytes (plus the "…" that marks a cut).
func message(b []byte) string {
	cut := false
	if len(b) > MaxMessageBytes {
		b, cut = b[:MaxMessageBytes], true
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if cut {
		s += "…"
	}
	return s
}

func (inv *Invocation) setError(msg []byte) int32 {
	inv.errMsg = message(msg)
	return 0
}
