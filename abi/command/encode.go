// Package command converts invocations to and from the custom-handler JSON
// that command-mode guests read on stdin and write on stdout.
package command

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasmworker/wasmworker/funcapp"
	"github.com/wasmworker/wasmworker/proto/rpc"
)

// utcNowLayout is .NET's round-trip UTC format with 7 fractional digits.
const utcNowLayout = "2006-01-02T15:04:05.0000000Z"

// EncodeRequest renders one invocation as the custom-handler request payload
// {"Data":{…},"Metadata":{…}} (custom-handler.md §2–§4). now and randGUID feed
// Metadata.sys (MethodName = fn.Name, UtcNow with 7 fractional digits and Z,
// RandGuid); pass them so tests are deterministic. The mapping is documented
// in abi/COMMAND.md.
func EncodeRequest(fn *funcapp.Function, req *rpc.InvocationRequest, now time.Time, randGUID string) ([]byte, error) {
	if fn == nil {
		return nil, errors.New("command: EncodeRequest needs the function's metadata, got nil")
	}
	if req == nil {
		return nil, errors.New("command: EncodeRequest got a nil InvocationRequest")
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"Data":{`...)
	for i, in := range req.GetInputData() {
		if in.GetRpcSharedMemory() != nil {
			return nil, fmt.Errorf("input %q arrived in shared memory, which command mode does not read; do not enable FUNCTIONS_WORKER_SHARED_MEMORY_DATA_TRANSFER_ENABLED", in.GetName())
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, in.GetName())
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, in.GetData()); err != nil {
			return nil, fmt.Errorf("input %q: %w", in.GetName(), err)
		}
	}
	b = append(b, `},"Metadata":{`...)
	md := req.GetTriggerMetadata()
	keys := make([]string, 0, len(md))
	for k, v := range md {
		lk := strings.ToLower(k)
		// As the host: the trigger value is already in Data, HTTP request
		// copies are dropped, null values are dropped, and sys is ours.
		if strings.HasSuffix(lk, "trigger") || lk == "sys" || v.GetData() == nil || v.GetHttp() != nil {
			continue
		}
		if lk == "retrycontext" && req.GetRetryContext() != nil {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, md[k]); err != nil {
			return nil, fmt.Errorf("trigger metadata %q: %w", k, err)
		}
		b = append(b, ',')
	}
	if rc := req.GetRetryContext(); rc != nil {
		b = append(b, `"RetryContext":{"RetryCount":`...)
		b = strconv.AppendInt(b, int64(rc.GetRetryCount()), 10)
		b = append(b, `,"MaxRetryCount":`...)
		b = strconv.AppendInt(b, int64(rc.GetMaxRetryCount()), 10)
		b = append(b, `,"Exception":`...)
		if ex := rc.GetException(); ex != nil {
			b = append(b, `{"Message":`...)
			b = appendString(b, ex.GetMessage())
			b = append(b, `,"Source":`...)
			b = appendString(b, ex.GetSource())
			b = append(b, `,"StackTrace":`...)
			b = appendString(b, ex.GetStackTrace())
			b = append(b, '}')
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `},`...)
	}
	b = append(b, `"sys":{"MethodName":`...)
	b = appendString(b, fn.Name)
	b = append(b, `,"UtcNow":`...)
	b = appendString(b, now.UTC().Format(utcNowLayout))
	b = append(b, `,"RandGuid":`...)
	b = appendString(b, randGUID)
	b = append(b, `}}}`...)
	return b, nil
}

// appendValue appends one Data or Metadata value encoded as the host encodes
// a value for a custom handler (GetHttpScriptInvocationContextValue).
func appendValue(b []byte, td *rpc.TypedData) ([]byte, error) {
	switch d := td.GetData().(type) {
	case nil:
		// .NET null: JsonConvert.SerializeObject(null) is "null", sent as a string.
		return appendString(b, "null"), nil
	case *rpc.TypedData_String_:
		return appendDoubleEncoded(b, d.String_), nil
	case *rpc.TypedData_Json:
		return appendJSONValue(b, d.Json), nil
	case *rpc.TypedData_Bytes:
		return appendString(b, base64.StdEncoding.EncodeToString(d.Bytes)), nil
	case *rpc.TypedData_Stream:
		return appendString(b, base64.StdEncoding.EncodeToString(d.Stream)), nil
	case *rpc.TypedData_Int:
		return appendString(b, strconv.FormatInt(d.Int, 10)), nil
	case *rpc.TypedData_Double:
		return appendString(b, formatDouble(d.Double)), nil
	case *rpc.TypedData_Http:
		return appendHTTP(b, d.Http)
	case *rpc.TypedData_CollectionString:
		arr := []byte{'['}
		for i, s := range d.CollectionString.GetString_() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = appendString(arr, s)
		}
		return appendString(b, string(append(arr, ']'))), nil
	case *rpc.TypedData_CollectionBytes:
		arr := []byte{'['}
		for i, v := range d.CollectionBytes.GetBytes() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = appendString(arr, base64.StdEncoding.EncodeToString(v))
		}
		return appendString(b, string(append(arr, ']'))), nil
	case *rpc.TypedData_CollectionDouble:
		arr := []byte{'['}
		for i, v := range d.CollectionDouble.GetDouble() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = append(arr, formatDouble(v)...)
		}
		return appendString(b, string(append(arr, ']'))), nil
	case *rpc.TypedData_CollectionSint64:
		arr := []byte{'['}
		for i, v := range d.CollectionSint64.GetSint64() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = strconv.AppendInt(arr, v, 10)
		}
		return appendString(b, string(append(arr, ']'))), nil
	case *rpc.TypedData_ModelBindingData:
		return appendModelBindingData(b, d.ModelBindingData), nil
	case *rpc.TypedData_CollectionModelBindingData:
		arr := []byte{'['}
		for i, m := range d.CollectionModelBindingData.GetModelBindingData() {
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = appendModelBindingData(arr, m)
		}
		return appendString(b, string(append(arr, ']'))), nil
	default:
		return nil, fmt.Errorf("unsupported TypedData case %T", d)
	}
}

// appendJSONValue encodes a json TypedData: an object as itself, a string as
// the plain string, and any other JSON value (or text that is not JSON) as a
// JSON string holding the text.
func appendJSONValue(b []byte, text string) []byte {
	compact, ok := compactJSON(text)
	if !ok {
		return appendString(b, text)
	}
	switch jsonKind(compact) {
	case '{':
		return append(b, compact...)
	case '"':
		return append(b, compact...)
	default:
		return appendString(b, compact)
	}
}

func appendModelBindingData(b []byte, m *rpc.ModelBindingData) []byte {
	b = append(b, `{"Version":`...)
	b = appendString(b, m.GetVersion())
	b = append(b, `,"Source":`...)
	b = appendString(b, m.GetSource())
	b = append(b, `,"ContentType":`...)
	b = appendString(b, m.GetContentType())
	b = append(b, `,"Content":`...)
	b = appendString(b, base64.StdEncoding.EncodeToString(m.GetContent()))
	return append(b, '}')
}

// appendHTTP encodes an HTTP trigger request as the host's
// GetRequestAsJObject does (custom-handler.md §3).
func appendHTTP(b []byte, h *rpc.RpcHttp) ([]byte, error) {
	b = append(b, `{"Url":`...)
	b = appendString(b, h.GetUrl())
	b = append(b, `,"Method":`...)
	b = appendString(b, h.GetMethod())
	b = append(b, `,"Query":`...)
	b = appendStringMap(b, h.GetNullableQuery(), h.GetQuery(), false)
	b = append(b, `,"Headers":`...)
	b = appendStringMap(b, h.GetNullableHeaders(), h.GetHeaders(), true)
	b = append(b, `,"Params":`...)
	b = appendStringMap(b, h.GetNullableParams(), h.GetParams(), false)
	b = append(b, `,"Identities":[`...)
	for i, id := range h.GetIdentities() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIdentity(b, id)
	}
	b = append(b, ']')
	body := h.GetBody()
	if body.GetData() != nil {
		// Without RpcHttpBodyOnly the host also sends rawBody, the exact
		// text; it is what a custom handler would see, so it wins.
		if raw := h.GetRawBody(); raw.GetData() != nil {
			body = raw
		}
		b = append(b, `,"Body":`...)
		var err error
		if b, err = appendBody(b, body, headerValue(h, "content-type")); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendStringMap writes the nullable map if it has entries, else the plain
// one, sorted by key. With arrays each value is a one-element array. An
// absent nullable value is null (or [""] in arrays).
func appendStringMap(b []byte, nullable map[string]*rpc.NullableString, plain map[string]string, arrays bool) []byte {
	b = append(b, '{')
	if len(nullable) > 0 {
		keys := sortedKeys(nullable)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			v := nullable[k]
			switch {
			case arrays:
				b = append(b, '[')
				b = appendString(b, v.GetValue())
				b = append(b, ']')
			case v.GetString_() == nil:
				b = append(b, "null"...)
			default:
				b = appendString(b, v.GetValue())
			}
		}
		return append(b, '}')
	}
	keys := sortedKeys(plain)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if arrays {
			b = append(b, '[')
		}
		b = appendString(b, plain[k])
		if arrays {
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func appendNullable(b []byte, s *rpc.NullableString) []byte {
	if s.GetString_() == nil {
		return append(b, "null"...)
	}
	return appendString(b, s.GetValue())
}

// appendIdentity writes the ClaimsIdentity keys we can fill from an
// RpcClaimsIdentity; Name is the first claim of type NameClaimType.
func appendIdentity(b []byte, id *rpc.RpcClaimsIdentity) []byte {
	b = append(b, `{"AuthenticationType":`...)
	b = appendNullable(b, id.GetAuthenticationType())
	b = append(b, `,"IsAuthenticated":`...)
	b = strconv.AppendBool(b, id.GetAuthenticationType().GetValue() != "")
	b = append(b, `,"Claims":[`...)
	var name *string
	nameType := id.GetNameClaimType().GetValue()
	for i, c := range id.GetClaims() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Type":`...)
		b = appendString(b, c.GetType())
		b = append(b, `,"Value":`...)
		b = appendString(b, c.GetValue())
		b = append(b, '}')
		if name == nil && nameType != "" && c.GetType() == nameType {
			v := c.GetValue()
			name = &v
		}
	}
	b = append(b, `],"Name":`...)
	if name == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *name)
	}
	b = append(b, `,"NameClaimType":`...)
	b = appendNullable(b, id.GetNameClaimType())
	b = append(b, `,"RoleClaimType":`...)
	b = appendNullable(b, id.GetRoleClaimType())
	return append(b, '}')
}

// headerValue returns a request header (case-insensitive name), from the
// nullable map if it has entries, else the plain map.
func headerValue(h *rpc.RpcHttp, name string) string {
	if nh := h.GetNullableHeaders(); len(nh) > 0 {
		if v, ok := nh[name]; ok {
			return v.GetValue()
		}
		for k, v := range nh {
			if strings.EqualFold(k, name) {
				return v.GetValue()
			}
		}
		return ""
	}
	hs := h.GetHeaders()
	if v, ok := hs[name]; ok {
		return v
	}
	for k, v := range hs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// binaryContentType reports whether the host would send a body of this
// content type base64-encoded: application/octet-stream or multipart/*.
func binaryContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

// appendBody writes the request Body: text as is, binary content types (and
// bytes that are not valid UTF-8) as base64.
func appendBody(b []byte, body *rpc.TypedData, contentType string) ([]byte, error) {
	switch d := body.GetData().(type) {
	case *rpc.TypedData_String_:
		return appendString(b, d.String_), nil
	case *rpc.TypedData_Json:
		return appendString(b, d.Json), nil
	case *rpc.TypedData_Bytes:
		return appendBodyBytes(b, d.Bytes, contentType), nil
	case *rpc.TypedData_Stream:
		return appendBodyBytes(b, d.Stream, contentType), nil
	case *rpc.TypedData_Int:
		return appendString(b, strconv.FormatInt(d.Int, 10)), nil
	case *rpc.TypedData_Double:
		return appendString(b, formatDouble(d.Double)), nil
	default:
		return nil, fmt.Errorf("HTTP body of unsupported type %T", d)
	}
}

func appendBodyBytes(b, body []byte, contentType string) []byte {
	if binaryContentType(contentType) || !utf8.Valid(body) {
		return appendString(b, base64.StdEncoding.EncodeToString(body))
	}
	// The host decodes text with BOM detection, which drops a UTF-8 BOM.
	s := strings.TrimPrefix(string(body), "\ufeff")
	return appendString(b, s)
}
