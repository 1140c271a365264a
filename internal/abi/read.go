package abi

// Reading: what the host functions get, get_item and get_key return to a
// guest (SPEC.md §4, §5.1–§5.3).

import (
	"math"
	"slices"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// value is one readable value in a form that copies into guest memory without
// allocating: text in s, bytes in b, or a number in n.
type value struct {
	typ   Type
	s     string
	b     []byte
	n     uint64 // INT / DOUBLE bits
	count int    // collection element count
	isStr bool
}

func (v value) length() int {
	switch v.typ {
	case TypeInt, TypeDouble:
		return 8
	case TypeCollectionBytes, TypeCollectionString, TypeCollectionDouble, TypeCollectionInt:
		return v.count
	case TypeHTTP, TypeNone:
		return 0
	}
	if v.isStr {
		return len(v.s)
	}
	return len(v.b)
}

func str(t Type, s string) value { return value{typ: t, s: s, isStr: true} }

// fromValue converts a value the host sent; code is 0 or an error code.
func fromValue(v *invocation.Value) (value, int32) {
	if v == nil {
		return value{typ: TypeNone}, 0
	}
	switch v.Kind {
	case invocation.KindNone:
		return value{typ: TypeNone}, 0
	case invocation.KindString:
		return str(TypeString, v.String), 0
	case invocation.KindJSON:
		return str(TypeJSON, v.String), 0
	case invocation.KindBytes:
		return value{typ: TypeBytes, b: v.Bytes}, 0
	case invocation.KindStream:
		return value{typ: TypeStream, b: v.Bytes}, 0
	case invocation.KindHTTP:
		return value{typ: TypeHTTP}, 0
	case invocation.KindInt:
		return value{typ: TypeInt, n: uint64(v.Int)}, 0
	case invocation.KindDouble:
		return value{typ: TypeDouble, n: math.Float64bits(v.Double)}, 0
	case invocation.KindCollectionBytes, invocation.KindCollectionString, invocation.KindCollectionDouble, invocation.KindCollectionInt:
		return value{typ: Type(v.Kind), count: v.Len()}, 0
	}
	return value{}, ErrUnsupported
}

// item returns element i of a collection.
func item(v *invocation.Value, i int) (value, int32) {
	if i < 0 {
		return value{}, ErrNotFound
	}
	switch v.Kind {
	case invocation.KindCollectionBytes:
		if l := v.BytesList(); i < len(l) {
			return value{typ: TypeBytes, b: l[i]}, 0
		}
	case invocation.KindCollectionString:
		if l := v.Strings(); i < len(l) {
			return str(TypeString, l[i]), 0
		}
	case invocation.KindCollectionDouble:
		if l := v.Doubles(); i < len(l) {
			return value{typ: TypeDouble, n: math.Float64bits(l[i])}, 0
		}
	case invocation.KindCollectionInt:
		if l := v.Ints(); i < len(l) {
			return value{typ: TypeInt, n: uint64(l[i])}, 0
		}
	default:
		return value{}, ErrBadType
	}
	return value{}, ErrNotFound
}

// noValue stands for a binding the host sent without a value.
var noValue = &invocation.Value{}

// typed finds the value of an INPUT or METADATA name.
func (inv *Invocation) typed(src Source, name []byte) (*invocation.Value, int32) {
	switch src {
	case SourceInput:
		for i := range inv.req.Inputs {
			in := &inv.req.Inputs[i]
			if in.Name == string(name) {
				if in.Unreadable != "" {
					return nil, ErrUnsupported
				}
				if in.Value == nil {
					return noValue, 0
				}
				return in.Value, 0
			}
		}
		return nil, ErrNotFound
	case SourceMetadata:
		if v, ok := inv.req.Meta(string(name)); ok {
			if v == nil {
				return noValue, 0
			}
			return v, 0
		}
		return nil, ErrNotFound
	}
	return nil, ErrBadSource
}

// get returns the value name of src.
func (inv *Invocation) get(src Source, name []byte) (value, int32) {
	switch src {
	case SourceInput, SourceMetadata:
		v, code := inv.typed(src, name)
		if code != 0 {
			return value{}, code
		}
		return fromValue(v)
	case SourceContext:
		return inv.context(name)
	case SourceHTTP, SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
		h := inv.req.HTTP()
		if h == nil {
			return value{}, ErrNoHTTP
		}
		return httpPart(h, src, name)
	}
	return value{}, ErrBadSource
}

func (inv *Invocation) context(name []byte) (value, int32) {
	switch string(name) {
	case "invocation_id":
		return str(TypeString, inv.req.InvocationID), 0
	case "function_id":
		return str(TypeString, inv.req.FunctionID), 0
	case "function_name":
		return str(TypeString, inv.fnName), 0
	case "trace_parent":
		return str(TypeString, inv.req.TraceParent), 0
	case "trace_state":
		return str(TypeString, inv.req.TraceState), 0
	case "retry_count", "max_retry_count":
		rc := inv.req.Retry
		if rc == nil {
			return value{}, ErrNotFound
		}
		n := rc.Count
		if string(name) == "max_retry_count" {
			n = rc.MaxCount
		}
		return value{typ: TypeInt, n: uint64(int64(n))}, 0
	}
	return value{}, ErrBadSource
}

func httpPart(h *invocation.HTTPRequest, src Source, name []byte) (value, int32) {
	switch src {
	case SourceHTTP:
		switch string(name) {
		case "method":
			return str(TypeString, h.Method), 0
		case "url":
			return str(TypeString, h.URL), 0
		case "body":
			if h.Body == nil {
				return value{}, ErrNotFound
			}
			return fromValue(h.Body)
		case "raw_body":
			if h.RawBody == nil {
				return value{}, ErrNotFound
			}
			return fromValue(h.RawBody)
		}
		return value{}, ErrBadSource
	case SourceHTTPHeader:
		return lookup(h.Headers, name)
	case SourceHTTPQuery:
		return lookup(h.Query, name)
	case SourceHTTPParam:
		return lookup(h.Params, name)
	}
	return value{}, ErrBadSource
}

// lookup finds name in fs: exact match first, then case-insensitive.
func lookup(fs invocation.Fields, name []byte) (value, int32) {
	if f, ok := fs.Get(string(name)); ok {
		return str(TypeString, f.Value), 0
	}
	return value{}, ErrNotFound
}

// getItem returns element index of the collection name of src.
func (inv *Invocation) getItem(src Source, name []byte, index int) (value, int32) {
	switch src {
	case SourceInput, SourceMetadata:
		td, code := inv.typed(src, name)
		if code != 0 {
			return value{}, code
		}
		return item(td, index)
	case SourceContext, SourceHTTP, SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
		if _, code := inv.get(src, name); code != 0 {
			return value{}, code
		}
		return value{}, ErrBadType // these sources hold no collections
	}
	return value{}, ErrBadSource
}

// getKey returns the index-th name of src in ascending byte order. The
// sorted names are made on the first call for a source and kept.
func (inv *Invocation) getKey(src Source, index int) (value, int32) {
	keys, ok := inv.keys[src]
	if !ok {
		switch src {
		case SourceInput:
			for _, in := range inv.req.Inputs {
				keys = append(keys, in.Name)
			}
		case SourceMetadata:
			for _, m := range inv.req.Metadata {
				keys = append(keys, m.Name)
			}
		case SourceHTTPHeader, SourceHTTPQuery, SourceHTTPParam:
			h := inv.req.HTTP()
			if h == nil {
				return value{}, ErrNoHTTP
			}
			fs := h.Headers
			if src == SourceHTTPQuery {
				fs = h.Query
			} else if src == SourceHTTPParam {
				fs = h.Params
			}
			keys = make([]string, len(fs))
			for i, f := range fs {
				keys[i] = f.Name
			}
		default:
			return value{}, ErrBadSource
		}
		slices.Sort(keys)
		if inv.keys == nil {
			inv.keys = map[Source][]string{}
		}
		inv.keys[src] = keys
	}
	if index < 0 || index >= len(keys) {
		return value{}, ErrNotFound
	}
	return str(TypeString, keys[index]), 0
}
