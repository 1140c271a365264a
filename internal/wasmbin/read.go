package wasmbin

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformed reports a binary that is truncated or does not follow the
// WebAssembly binary format.
var ErrMalformed = errors.New("malformed wasm binary")

// reader decodes the encodings of the binary format. It remembers the first
// error instead of panicking: once err is set, every method returns a zero
// value and leaves err as it is.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.err = ErrMalformed
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// uleb reads an unsigned LEB128 number of up to 64 bits.
func (r *reader) uleb() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = ErrMalformed
	return 0
}

// sleb reads a signed LEB128 number of up to 64 bits (ten bytes).
func (r *reader) sleb() int64 {
	var v int64
	for shift := uint(0); shift < 70; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7) // sign-extend
			}
			return v
		}
	}
	r.err = ErrMalformed
	return 0
}

// name reads a length-prefixed string; one that is not valid UTF-8 is
// returned quoted, so that it can be printed.
func (r *reader) name() string {
	n := r.uleb()
	if r.err != nil || n > uint64(len(r.b)-r.off) {
		r.err = ErrMalformed
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// sized reads a size and returns a reader of that many bytes, which r
// skips: the content of a section or a function body. The returned
// reader's offsets are r's.
func (r *reader) sized() *reader {
	size := r.uleb()
	if r.err != nil || size > uint64(len(r.b)-r.off) {
		r.err = ErrMalformed
		return &reader{err: ErrMalformed}
	}
	sub := &reader{b: r.b[:r.off+int(size)], off: r.off}
	r.off += int(size)
	return sub
}

// section reads the id of a section (or of a subsection of a custom
// section) and returns it with a reader of the content, as sized does.
func (r *reader) section() (id byte, content *reader) {
	id = r.byte()
	return id, r.sized()
}

// limits reads the limits of a memory or table.
func (r *reader) limits() (flags byte, min, max uint64) {
	flags = r.byte()
	min = r.uleb()
	if flags&1 != 0 {
		max = r.uleb()
	}
	return flags, min, max
}

func (r *reader) skip(n int) {
	if r.err != nil || len(r.b)-r.off < n {
		r.err = ErrMalformed
		return
	}
	r.off += n
}

// memArg skips the alignment, memory index and offset of a memory access.
func (r *reader) memArg() {
	if align := r.uleb(); align&0x40 != 0 { // multi-memory: memory index
		r.uleb()
	}
	r.uleb()
}

// blockType skips a block type: 0x40, a value type, or a type index (s33).
func (r *reader) blockType() {
	if r.err != nil || r.off >= len(r.b) {
		r.err = ErrMalformed
		return
	}
	switch c := r.b[r.off]; {
	case c == 0x40 || c == I32 || c == I64 || c == F32 || c == F64 || c == V128 || c == FuncRef || c == ExternRef:
		r.off++
	case c == 0x63 || c == 0x64:
		r.err = fmt.Errorf("%w: typed reference", ErrUnsupported)
	default:
		r.sleb()
	}
}

// valType reads a value type, failing with ErrUnsupported on one of the
// proposals (typed references, GC) the instrumentation does not know.
func (r *reader) valType() error {
	switch c := r.byte(); c {
	case I32, I64, F32, F64, V128, FuncRef, ExternRef:
		return r.err
	default:
		if r.err != nil {
			return r.err
		}
		return fmt.Errorf("%w: value type 0x%02x", ErrUnsupported, c)
	}
}

// refType reads a reference type, as valType does.
func (r *reader) refType() error {
	switch c := r.byte(); c {
	case FuncRef, ExternRef:
		return r.err
	default:
		if r.err != nil {
			return r.err
		}
		return fmt.Errorf("%w: reference type 0x%02x", ErrUnsupported, c)
	}
}

// countLen returns the length of the LEB128 number that starts p, such as
// the count of a section's vector.
func countLen(p []byte) int {
	for i, c := range p {
		if c&0x80 == 0 {
			return i + 1
		}
	}
	return len(p)
}
