package runtime

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// wasmMagic is the first four bytes of every WebAssembly binary.
var wasmMagic = []byte{0x00, 'a', 's', 'm'}

// wasmImport is one entry of a module's import section.
type wasmImport struct {
	module, name string
	kind         byte // 0 func, 1 table, 2 memory, 3 global, 4 tag
}

func (i wasmImport) String() string {
	s := i.module + "." + i.name
	switch i.kind {
	case 0:
		return s
	case 1:
		return s + " (table)"
	case 2:
		return s + " (memory)"
	case 3:
		return s + " (global)"
	case 4:
		return s + " (tag)"
	}
	return s
}

// wasmSummary is what Load needs to know about a module before compiling it
// to give clear errors. It is best effort: when the binary is malformed, scan
// returns an error and the compiler's message is used instead.
type wasmSummary struct {
	imports []wasmImport
	exports map[string]byte // name → kind
	// memMin is the declared minimum (in pages) of the first memory, defined
	// or imported; hasMem reports whether there is one.
	memMin uint64
	hasMem bool
}

var errScan = errors.New("malformed wasm binary")

// scanWasm reads the import, memory and export sections of a binary. It
// never panics on malformed input.
func scanWasm(b []byte) (*wasmSummary, error) {
	if len(b) < 8 || string(b[:4]) != string(wasmMagic) {
		return nil, errScan
	}
	r := &wasmReader{b: b, off: 8}
	s := &wasmSummary{exports: map[string]byte{}}
	for r.off < len(r.b) {
		id := r.byte()
		size := r.uleb()
		if r.err != nil || size > uint64(len(r.b)-r.off) {
			return nil, errScan
		}
		sec := &wasmReader{b: r.b[:r.off+int(size)], off: r.off}
		r.off += int(size)
		switch id {
		case 2:
			scanImports(sec, s)
		case 5:
			if n := sec.uleb(); n > 0 && !s.hasMem {
				_, min, _ := sec.limits()
				s.memMin, s.hasMem = min, true
			}
		case 7:
			n := sec.uleb()
			for i := uint64(0); i < n && sec.err == nil; i++ {
				name := sec.name()
				kind := sec.byte()
				sec.uleb()
				s.exports[name] = kind
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	return s, nil
}

func scanImports(r *wasmReader, s *wasmSummary) {
	n := r.uleb()
	for i := uint64(0); i < n && r.err == nil; i++ {
		imp := wasmImport{module: r.name(), name: r.name(), kind: r.byte()}
		switch imp.kind {
		case 0: // func: type index
			r.uleb()
		case 1: // table: reftype + limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			_, min, _ := r.limits()
			if !s.hasMem {
				s.memMin, s.hasMem = min, true
			}
		case 3: // global: valtype + mutability
			r.byte()
			r.byte()
		case 4: // tag: attribute + type index
			r.byte()
			r.uleb()
		default:
			r.err = errScan
		}
		s.imports = append(s.imports, imp)
	}
}

// wasmReader decodes the few encodings scanWasm needs, remembering the first
// error instead of panicking.
type wasmReader struct {
	b   []byte
	off int
	err error
}

func (r *wasmReader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.err = errScan
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *wasmReader) uleb() uint64 {
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
	r.err = errScan
	return 0
}

func (r *wasmReader) name() string {
	n := r.uleb()
	if r.err != nil || n > uint64(len(r.b)-r.off) {
		r.err = errScan
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func (r *wasmReader) limits() (flags byte, min, max uint64) {
	flags = r.byte()
	min = r.uleb()
	if flags&1 != 0 {
		max = r.uleb()
	}
	return flags, min, max
}

// describeStart says in a few words what a file that is not wasm looks like.
func describeStart(b []byte) string {
	if len(b) == 0 {
		return "is empty"
	}
	if len(b) < 8 && string(b) == string(wasmMagic[:min(len(b), 4)]) {
		return fmt.Sprintf("is only %d bytes long (truncated?)", len(b))
	}
	head := b[:min(len(b), 16)]
	switch {
	case len(b) >= 4 && string(b[:4]) == "\x7fELF":
		return "is an ELF executable (build with GOOS=wasip1 GOARCH=wasm or --target=wasm32-wasi)"
	case len(b) >= 2 && string(b[:2]) == "MZ":
		return "is a Windows executable"
	case len(b) >= 2 && string(b[:2]) == "PK":
		return "is a zip archive"
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "is gzip-compressed"
	case len(b) >= 6 && string(b[:6]) == "(modul":
		return "looks like WebAssembly text (.wat); compile it to binary first, e.g. with wat2wasm"
	case looksLikeText(head):
		return fmt.Sprintf("looks like text (starts with %q)", head)
	}
	return fmt.Sprintf("starts with bytes % x", head)
}

func looksLikeText(b []byte) bool {
	if !utf8.Valid(b) && utf8.Valid(b[:max(0, len(b)-3)]) {
		b = b[:len(b)-3] // a rune cut by the 16-byte window
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}
