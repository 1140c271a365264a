// Package customhandler converts one invocation to and from the Azure
// Functions custom-handler JSON that command-mode guests read on stdin and
// write on stdout (docs/custom-handler.md). It works on the plain types of
// internal/invocation and knows nothing of the host's protocol.
package customhandler

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/internal/invocation"
	"github.com/wasmworker/wasmworker/internal/netjson"
)

// utcNowLayout is .NET's round-trip UTC format with 7 fractional digits.
const utcNowLayout = "2006-01-02T15:04:05.0000000Z"

// EncodeRequest renders one invocation as the custom-handler request payload
// {"Data":{…},"Metadata":{…}} (docs/custom-handler.md §2–§4). now and
// randGUID feed Metadata.sys (MethodName = fn.Name, UtcNow with 7 fractional
// digits and Z, RandGuid); pass them so tests are deterministic. The mapping
// is documented in abi/COMMAND.md.
func EncodeRequest(fn invocation.Function, req *invocation.Request, now time.Time, randGUID string) ([]byte, error) {
	if req == nil {
		return nil, errors.New("customhandler: EncodeRequest got a nil Request")
	}
	return AppendRequest(make([]byte, 0, 1024), fn, req, now, randGUID)
}

// AppendRequest appends the request payload EncodeRequest renders to b and
// returns the extended buffer, so that a caller can reuse a buffer across
// invocations. On error it returns nil and the error (b's contents beyond
// len(b) may have been written to, as by any append).
func AppendRequest(b []byte, fn invocation.Function, req *invocation.Request, now time.Time, randGUID string) ([]byte, error) {
	if req == nil {
		return nil, errors.New("customhandler: AppendRequest got a nil Request")
	}
	b = append(b, `{"Data":{`...)
	for i, in := range req.Inputs {
		if in.Unreadable != "" {
			return nil, fmt.Errorf("input %q arrived in shared memory (%s), which command mode does not read; do not enable FUNCTIONS_WORKER_SHARED_MEMORY_DATA_TRANSFER_ENABLED", in.Name, in.Unreadable)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = netjson.AppendString(b, in.Name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, in.Value); err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
	}
	b = append(b, `},"Metadata":{`...)
	for _, m := range req.Metadata { // sorted by name
		trigger, sys, retryContext := classifyMetadataKey(m.Name)
		// As the host: the trigger value is already in Data, HTTP request
		// copies are dropped, null values are dropped, and sys is ours.
		if trigger || sys || isNone(m.Value) || m.Value.Kind == invocation.KindHTTP {
			continue
		}
		if retryContext && req.Retry != nil {
			continue
		}
		b = netjson.AppendString(b, m.Name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m.Value); err != nil {
			return nil, fmt.Errorf("trigger metadata %q: %w", m.Name, err)
		}
		b = append(b, ',')
	}
	if rc := req.Retry; rc != nil {
		b = append(b, `"RetryContext":{"RetryCount":`...)
		b = strconv.AppendInt(b, int64(rc.Count), 10)
		b = append(b, `,"MaxRetryCount":`...)
		b = strconv.AppendInt(b, int64(rc.MaxCount), 10)
		b = append(b, `,"Exception":`...)
		if ex := rc.Exception; ex != nil {
			b = append(b, `{"Message":`...)
			b = netjson.AppendString(b, ex.Message)
			b = append(b, `,"Source":`...)
			b = netjson.AppendString(b, ex.Source)
			b = append(b, `,"StackTrace":`...)
			b = netjson.AppendString(b, ex.StackTrace)
			b = append(b, '}')
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `},`...)
	}
	b = append(b, `"sys":{"MethodName":`...)
	b = netjson.AppendString(b, fn.Name)
	b = append(b, `,"UtcNow":`...)
	b = append(b, '"') // the time has nothing to escape
	b = appendUTCNow(b, now)
	b = append(b, '"')
	b = append(b, `,"RandGuid":`...)
	b = netjson.AppendString(b, randGUID)
	b = append(b, `}}}`...)
	return b, nil
}

// classifyMetadataKey reports whether the metadata key k, lowered
// (strings.ToLower), ends in "trigger", is "sys" or is "retrycontext".
func classifyMetadataKey(k string) (trigger, sys, retryContext bool) {
	for i := 0; i < len(k); i++ {
		if k[i] >= utf8.RuneSelf {
			// Unicode lowering can make ASCII of other runes (the Kelvin
			// sign is k): lower as the host does.
			lk := strings.ToLower(k)
			return strings.HasSuffix(lk, "trigger"), lk == "sys", lk == "retrycontext"
		}
	}
	// ASCII: lowering only maps A-Z, which is what EqualFold folds.
	trigger = len(k) >= len("trigger") && strings.EqualFold(k[len(k)-len("trigger"):], "trigger")
	return trigger, strings.EqualFold(k, "sys"), strings.EqualFold(k, "retrycontext")
}

// appendUTCNow appends t in UTC as Format(utcNowLayout) writes it,
// 2006-01-02T15:04:05.0000000Z (the fraction truncated to 7 digits).
func appendUTCNow(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, utcNowLayout) // a sign or a fifth digit
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/100, 7)
	return append(b, 'Z')
}

// appendDigits appends the n low decimal digits of x >= 0, zero-padded.
func appendDigits(b []byte, x, n int) []byte {
	var buf [8]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + x%10)
		x /= 10
	}
	return append(b, buf[:n]...)
}

// appendBase64 appends the JSON string of data in standard base64 (its
// alphabet has nothing to escape).
func appendBase64(b, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// isNone reports whether v is no value (the host's null).
func isNone(v *invocation.Value) bool { return v == nil || v.Kind == invocation.KindNone }

// appendValue appends one Data or Metadata value encoded as the host encodes
// a value for a custom handler (GetHttpScriptInvocationContextValue).
func appendValue(b []byte, v *invocation.Value) ([]byte, error) {
	if isNone(v) {
		// .NET null: JsonConvert.SerializeObject(null) is "null", sent as a string.
		return netjson.AppendString(b, "null"), nil
	}
	switch v.Kind {
	case invocation.KindString:
		return appendDoubleEncoded(b, v.String), nil
	case invocation.KindJSON:
		return appendJSONValue(b, v.String), nil
	case invocation.KindBytes, invocation.KindStream:
		return appendBase64(b, v.Bytes), nil
	case invocation.KindInt:
		return appendQuotedInt(b, v.Int), nil
	case invocation.KindDouble:
		return netjson.AppendString(b, netjson.FormatDouble(v.Double)), nil
	case invocation.KindHTTP:
		h := v.Request
		if h == nil {
			h = &invocation.HTTPRequest{}
		}
		return appendHTTP(b, h)
	case invocation.KindCollectionString:
		arr := []byte{'['}
		for i, s := range v.Strings() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = netjson.AppendString(arr, s)
		}
		return netjson.AppendString(b, string(append(arr, ']'))), nil
	case invocation.KindCollectionBytes:
		arr := []byte{'['}
		for i, x := range v.BytesList() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = appendBase64(arr, x)
		}
		return netjson.AppendString(b, string(append(arr, ']'))), nil
	case invocation.KindCollectionDouble:
		arr := []byte{'['}
		for i, x := range v.Doubles() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = append(arr, netjson.FormatDouble(x)...)
		}
		return netjson.AppendString(b, string(append(arr, ']'))), nil
	case invocation.KindCollectionInt:
		arr := []byte{'['}
		for i, x := range v.Ints() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = strconv.AppendInt(arr, x, 10)
		}
		return netjson.AppendString(b, string(append(arr, ']'))), nil
	case invocation.KindModelBinding:
		var m invocation.ModelBinding
		if len(v.Models()) > 0 {
			m = v.Models()[0]
		}
		return appendModelBinding(b, m), nil
	case invocation.KindCollectionModelBinding:
		arr := []byte{'['}
		for i, m := range v.Models() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = appendModelBinding(arr, m)
		}
		return netjson.AppendString(b, string(append(arr, ']'))), nil
	default:
		return nil, fmt.Errorf("unsupported value kind %v", v.Kind)
	}
}

// appendJSONValue encodes a KindJSON value: an object as itself, a string as
// the plain string, and any other JSON value (or text that is not JSON) as a
// JSON string holding the text.
func appendJSONValue(b []byte, text string) []byte {
	n := len(b)
	b, ok := appendCompact(b, text)
	if !ok {
		return netjson.AppendString(b[:n], text)
	}
	compact := b[n:]
	switch jsonKind(compact) {
	case '{':
		return b
	case '"':
		// A JSON string came from a .NET value that is neither a string nor
		// an object (strings arrive as TypedData string). The host gives
		// DateTime and DateTimeOffset values to the custom handler as
		// dates, written once; every other such value (Guid, Uri,
		// TimeSpan …) goes through JsonConvert.SerializeObject and so
		// arrives double-encoded (ScriptInvocationContextExtensions.
		// GetHttpScriptInvocationContextValue; docs/custom-handler.md §2.3, §4).
		if isDateString(compact) {
			return b
		}
	}
	return netjson.AppendString(b[:n], string(compact))
}

// isDateString reports whether the JSON string literal q holds an ISO 8601
// date and time, as Newtonsoft writes DateTime and DateTimeOffset values
// ("2024-10-25T10:00:00", optionally with a fraction and a zone).
func isDateString(q []byte) bool {
	s := bytes.TrimSuffix(bytes.TrimPrefix(q, []byte(`"`)), []byte(`"`))
	if len(s) < len("2006-01-02T15:04:05") {
		return false
	}
	for i, c := range s[:19] {
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func appendModelBinding(b []byte, m invocation.ModelBinding) []byte {
	b = append(b, `{"Version":`...)
	b = netjson.AppendString(b, m.Version)
	b = append(b, `,"Source":`...)
	b = netjson.AppendString(b, m.Source)
	b = append(b, `,"ContentType":`...)
	b = netjson.AppendString(b, m.ContentType)
	b = append(b, `,"Content":`...)
	b = appendBase64(b, m.Content)
	return append(b, '}')
}

// appendHTTP encodes an HTTP trigger request as the host's
// GetRequestAsJObject does (docs/custom-handler.md §3).
func appendHTTP(b []byte, h *invocation.HTTPRequest) ([]byte, error) {
	b = append(b, `{"Url":`...)
	b = netjson.AppendString(b, h.URL)
	b = append(b, `,"Method":`...)
	b = netjson.AppendString(b, h.Method)
	b = append(b, `,"Query":`...)
	b = appendFields(b, h.Query, false)
	b = append(b, `,"Headers":`...)
	b = appendFields(b, h.Headers, true)
	b = append(b, `,"Params":`...)
	b = appendFields(b, h.Params, false)
	b = append(b, `,"Identities":[`...)
	for i, id := range h.Identities {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIdentity(b, id)
	}
	b = append(b, ']')
	if body := h.Body; !isNone(body) {
		// Without RpcHttpBodyOnly the host also sends rawBody, the exact
		// text; it is what a custom handler would see, so it wins.
		if raw := h.RawBody; !isNone(raw) {
			body = raw
		}
		b = append(b, `,"Body":`...)
		var err error
		if b, err = appendBody(b, body, headerValue(h.Headers, "content-type")); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendFields writes HTTP fields as an object sorted by name. With arrays
// each value is a one-element array. A null value is null (or [""] in
// arrays).
func appendFields(b []byte, fs invocation.Fields, arrays bool) []byte {
	if !slices.IsSortedFunc(fs, compareFields) {
		// Fields come in no order (the host sends maps); sort a copy,
		// on the stack for a request's usual few headers.
		var buf [16]invocation.Field
		fs = append(buf[:0], fs...)
		slices.SortStableFunc(fs, compareFields)
	}
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = netjson.AppendString(b, f.Name)
		b = append(b, ':')
		switch {
		case arrays:
			b = append(b, '[')
			b = netjson.AppendString(b, fieldValue(f))
			b = append(b, ']')
		case f.Null:
			b = append(b, "null"...)
		default:
			b = netjson.AppendString(b, f.Value)
		}
	}
	return append(b, '}')
}

func compareFields(a, b invocation.Field) int { return strings.Compare(a.Name, b.Name) }

// fieldValue is a field's value, "" for a null one.
func fieldValue(f invocation.Field) string {
	if f.Null {
		return ""
	}
	return f.Value
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return netjson.AppendString(b, *s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// appendIdentity writes the ClaimsIdentity keys we can fill from an
// Identity; Name is the first claim of type NameClaimType.
func appendIdentity(b []byte, id invocation.Identity) []byte {
	b = append(b, `{"AuthenticationType":`...)
	b = appendNullable(b, id.AuthenticationType)
	b = append(b, `,"IsAuthenticated":`...)
	b = strconv.AppendBool(b, deref(id.AuthenticationType) != "")
	b = append(b, `,"Claims":[`...)
	var name *string
	nameType := deref(id.NameClaimType)
	for i, c := range id.Claims {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Type":`...)
		b = netjson.AppendString(b, c.Type)
		b = append(b, `,"Value":`...)
		b = netjson.AppendString(b, c.Value)
		b = append(b, '}')
		if name == nil && nameType != "" && c.Type == nameType {
			v := c.Value
			name = &v
		}
	}
	b = append(b, `],"Name":`...)
	b = appendNullable(b, name)
	b = append(b, `,"NameClaimType":`...)
	b = appendNullable(b, id.NameClaimType)
	b = append(b, `,"RoleClaimType":`...)
	b = appendNullable(b, id.RoleClaimType)
	return append(b, '}')
}

// headerValue returns a request header (exact name first, then without
// regard to case); "" if absent or null.
func headerValue(hs invocation.Fields, name string) string {
	f, _ := hs.Get(name)
	return fieldValue(f)
}

// binaryContentType reports whether the host would send a body of this
// content type base64-encoded: application/octet-stream or multipart/*.
func binaryContentType(ct string) bool {
	if isASCIIString(ct) {
		// What follows, without mime's map of parameters: either way the
		// media type is the trimmed, lowered text before any ';'.
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(mt)
		return strings.EqualFold(mt, "application/octet-stream") ||
			len(mt) >= len("multipart/") && strings.EqualFold(mt[:len("multipart/")], "multipart/")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

// appendBody writes the request Body: text as is, binary content types (and
// bytes that are not valid UTF-8) as base64.
func appendBody(b []byte, body *invocation.Value, contentType string) ([]byte, error) {
	switch body.Kind {
	case invocation.KindString, invocation.KindJSON:
		return netjson.AppendString(b, body.String), nil
	case invocation.KindBytes, invocation.KindStream:
		return appendBodyBytes(b, body.Bytes, contentType), nil
	case invocation.KindInt:
		return appendQuotedInt(b, body.Int), nil
	case invocation.KindDouble:
		return netjson.AppendString(b, netjson.FormatDouble(body.Double)), nil
	default:
		return nil, fmt.Errorf("HTTP body of unsupported type %v", body.Kind)
	}
}

// appendQuotedInt appends x's decimal text as a JSON string.
func appendQuotedInt(b []byte, x int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, x, 10)
	return append(b, '"')
}

func appendBodyBytes(b, body []byte, contentType string) []byte {
	if binaryContentType(contentType) || !utf8.Valid(body) {
		return appendBase64(b, body)
	}
	// The host decodes text with BOM detection, which drops a UTF-8 BOM.
	s := strings.TrimPrefix(string(body), "\ufeff")
	return netjson.AppendString(b, s)
}
