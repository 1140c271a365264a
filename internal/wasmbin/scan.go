package wasmbin

import (
	"fmt"
	"unicode/utf8"
)

// Import is one entry of a module's import section.
type Import struct {
	Module, Name string
	Kind         ExternKind
}

// String returns module.name, followed by the kind in parentheses unless
// it is a function: "env.mem (memory)".
func (i Import) String() string {
	s := i.Module + "." + i.Name
	switch i.Kind {
	case KindFunc:
		return s
	case KindTable:
		return s + " (table)"
	case KindMemory:
		return s + " (memory)"
	case KindGlobal:
		return s + " (global)"
	case KindTag:
		return s + " (tag)"
	}
	return s
}

// Summary is what a loader needs to know about a module before compiling it
// to give clear errors.
type Summary struct {
	// Imports lists the import section in order.
	Imports []Import
	// Exports maps the name of every export to its kind.
	Exports map[string]ExternKind
	// HasMemory reports whether the module defines or imports a memory;
	// MemoryMinPages is then the declared minimum size, in 64 KiB pages, of
	// the first one.
	HasMemory      bool
	MemoryMinPages uint64
}

// Scan reads the import, memory and export sections of a binary, checking
// only the framing of the other sections. It is best effort, not a
// validator: it returns an error wrapping ErrMalformed when it cannot read
// the binary, and never panics.
func Scan(b []byte) (*Summary, error) {
	if len(b) < 8 || string(b[:4]) != Magic {
		return nil, ErrMalformed
	}
	r := &reader{b: b, off: 8}
	s := &Summary{Exports: map[string]ExternKind{}}
	for r.off < len(r.b) {
		id, sec := r.section()
		if r.err != nil {
			return nil, ErrMalformed
		}
		switch id {
		case SectionImport:
			scanImports(sec, s)
		case SectionMemory:
			if n := sec.uleb(); n > 0 && !s.HasMemory {
				_, min, _ := sec.limits()
				s.MemoryMinPages, s.HasMemory = min, true
			}
		case SectionExport:
			n := sec.uleb()
			for i := uint64(0); i < n && sec.err == nil; i++ {
				name := sec.name()
				kind := sec.byte()
				sec.uleb()
				s.Exports[name] = ExternKind(kind)
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	return s, nil
}

func scanImports(r *reader, s *Summary) {
	n := r.uleb()
	for i := uint64(0); i < n && r.err == nil; i++ {
		imp := Import{Module: r.name(), Name: r.name(), Kind: ExternKind(r.byte())}
		switch imp.Kind {
		case KindFunc: // type index
			r.uleb()
		case KindTable: // reftype + limits
			r.byte()
			r.limits()
		case KindMemory: // limits
			_, min, _ := r.limits()
			if !s.HasMemory {
				s.MemoryMinPages, s.HasMemory = min, true
			}
		case KindGlobal: // valtype + mutability
			r.byte()
			r.byte()
		case KindTag: // attribute + type index
			r.byte()
			r.uleb()
		default:
			r.err = ErrMalformed
		}
		s.Imports = append(s.Imports, imp)
	}
}

// DescribeStart says in a few words what a file that is not a WebAssembly
// binary looks like, for an error message: "is empty", "is a zip archive",
// "looks like text (starts with ...)", "starts with bytes ...".
func DescribeStart(b []byte) string {
	if len(b) == 0 {
		return "is empty"
	}
	if len(b) < 8 && string(b) == Magic[:min(len(b), 4)] {
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
	if len(b) > 3 && !utf8.Valid(b) && utf8.Valid(b[:len(b)-3]) {
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
