package wasmbin

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported reports a valid module that Instrument does not handle: a
// construct of a proposal it does not know (typed references, GC ...), or a
// module that already imports from the guard's module.
var ErrUnsupported = errors.New("unsupported wasm construct")

// Instrument returns bin with a deadline guard added: code that makes the
// guest call the host every interval loop iterations or function calls,
// so that the host can stop it.
//
// It adds a mutable i32 global, the fuel, set to interval, and an imported
// function of type () -> (), importModule.importName. At every function
// entry and loop header it inserts
//
//	global.get $fuel
//	i32.eqz
//	if
//	  i32.const interval
//	  global.set $fuel
//	  call $importName
//	end
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//
// The added import shifts the index of every function defined by the
// module by one; calls, exports, the start function, element segments,
// ref.func and the name section are renumbered to match. DWARF custom
// sections (.debug_*) are dropped: their code offsets no longer hold.
//
// The caller names the import (the engine's guard.go defines the names and
// provides the function): this package only rewrites binaries. A module
// that itself imports anything from importModule is refused, so that the
// guest cannot call or shadow the host's function, and so that a module
// cannot be instrumented twice.
//
// Instrument fails, without panicking, with an error wrapping ErrMalformed
// on a binary it cannot read and one wrapping ErrUnsupported on constructs
// it does not know. Its output depends only on its arguments: a caller that
// caches it must change its cache's key when this function's output
// changes.
func Instrument(bin []byte, interval uint32, importModule, importName string) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != Magic || string(bin[4:8]) != Version {
		return nil, ErrMalformed
	}
	in := &instrumenter{interval: interval, module: importModule, name: importName}
	out := make([]byte, 0, len(bin)+len(bin)/8+64)
	out = append(out, bin[:8]...)
	r := &reader{b: bin, off: 8}
	lastRank := 0
	for r.off < len(r.b) {
		id, sec := r.section()
		if r.err != nil {
			return nil, ErrMalformed
		}
		payload := sec.b[sec.off:]
		if id != SectionCustom {
			rank, ok := sectionRank[id]
			if !ok || rank <= lastRank {
				return nil, fmt.Errorf("%w: section %d out of order or unknown", ErrUnsupported, id)
			}
			lastRank = rank
			// Sections the instrumentation needs and the module lacks are
			// added where they belong.
			var err error
			if out, err = in.addMissing(out, rank); err != nil {
				return nil, err
			}
		}
		body, keep, err := in.section(id, payload)
		if err != nil {
			return nil, err
		}
		if keep {
			out = AppendSection(out, id, body)
		}
	}
	out, err := in.addMissing(out, 100)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sectionRank orders the non-custom sections as the binary format requires.
var sectionRank = map[byte]int{
	SectionType: 1, SectionImport: 2, SectionFunction: 3, SectionTable: 4, SectionMemory: 5, SectionTag: 6,
	SectionGlobal: 7, SectionExport: 8, SectionStart: 9, SectionElement: 10, SectionDataCount: 11,
	SectionCode: 12, SectionData: 13,
}

// instrumenter is the state of one Instrument call.
type instrumenter struct {
	interval        uint32
	module, name    string // of the added import
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	types           uint32
	yieldType       uint32
	fuel            uint32               // global index of the fuel
	check           []byte               // the code inserted at each check point
	seen            [SectionTag + 1]bool // the type, import and global sections, once read
}

// addMissing adds the type, import and global sections, if not seen yet,
// before a section of the given rank.
func (in *instrumenter) addMissing(out []byte, rank int) ([]byte, error) {
	for _, id := range []byte{SectionType, SectionImport, SectionGlobal} {
		if in.seen[id] || rank <= sectionRank[id] {
			continue
		}
		b, _, err := in.section(id, []byte{0}) // as if the module had an empty one
		if err != nil {
			return nil, err
		}
		out = AppendSection(out, id, b)
	}
	return out, nil
}

// section returns the rewritten payload of one section, and whether to keep
// it.
func (in *instrumenter) section(id byte, p []byte) ([]byte, bool, error) {
	r := &reader{b: p}
	var out []byte
	switch id {
	case SectionCustom:
		name := r.name()
		if r.err != nil {
			return nil, false, ErrMalformed
		}
		switch {
		case name == "name":
			b, err := in.names(r)
			if err != nil {
				// A name section is only for messages: drop one we cannot
				// renumber rather than refuse the module.
				return nil, false, nil //nolint:nilerr
			}
			return b, true, nil
		case strings.HasPrefix(name, ".debug_"):
			return nil, false, nil // DWARF code offsets no longer hold
		}
		return p, true, nil
	case SectionType:
		in.seen[SectionType] = true
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			if r.byte() != 0x60 {
				return nil, false, fmt.Errorf("%w: non-function type", ErrUnsupported)
			}
			for k := 0; k < 2; k++ { // params, results
				m := r.uleb()
				for j := uint64(0); j < m && r.err == nil; j++ {
					if err := r.valType(); err != nil {
						return nil, false, err
					}
				}
			}
		}
		if r.err != nil || r.off != len(r.b) || n >= 1<<31 {
			return nil, false, ErrMalformed
		}
		in.types = uint32(n)
		in.yieldType = uint32(n)
		out = AppendULEB(out, n+1)
		out = append(out, r.b[countLen(p):]...)
		out = append(out, FuncType(nil, nil)...)
		return out, true, nil
	case SectionImport:
		in.seen[SectionImport] = true
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			mod, _ := r.name(), r.name()
			if mod == in.module {
				return nil, false, fmt.Errorf("%w: the module imports from %s, a name reserved by the worker", ErrUnsupported, in.module)
			}
			switch ExternKind(r.byte()) {
			case KindFunc:
				r.uleb()
				in.importedFuncs++
			case KindTable:
				if err := r.refType(); err != nil {
					return nil, false, err
				}
				r.limits()
			case KindMemory:
				r.limits()
			case KindGlobal:
				if err := r.valType(); err != nil {
					return nil, false, err
				}
				r.byte()
				in.importedGlobals++
			case KindTag:
				r.byte()
				r.uleb()
			default:
				return nil, false, ErrMalformed
			}
		}
		if r.err != nil || r.off != len(r.b) {
			return nil, false, ErrMalformed
		}
		out = AppendULEB(out, n+1)
		out = append(out, r.b[countLen(p):]...)
		out = append(out, FuncImport(in.module, in.name, in.yieldType)...)
		return out, true, nil
	case SectionTable:
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			if err := r.refType(); err != nil {
				return nil, false, err // also a table with an initializer (0x40)
			}
			r.limits()
		}
		if r.err != nil {
			return nil, false, ErrMalformed
		}
		return p, true, nil
	case SectionGlobal:
		in.seen[SectionGlobal] = true
		n := r.uleb()
		out = AppendULEB(out, n+1)
		for i := uint64(0); i < n && r.err == nil; i++ {
			start := r.off
			if err := r.valType(); err != nil {
				return nil, false, err
			}
			r.byte()
			out = append(out, r.b[start:r.off]...)
			var err error
			if out, err = in.code(out, r, true); err != nil {
				return nil, false, err
			}
		}
		if r.err != nil || r.off != len(r.b) {
			return nil, false, ErrMalformed
		}
		in.definedGlobals = uint32(n)
		in.fuel = in.importedGlobals + in.definedGlobals
		out = append(out, I32, 0x01, 0x41) // mutable i32, i32.const
		out = AppendSLEB(out, int64(in.interval))
		out = append(out, 0x0b)
		in.check = in.checkCode()
		return out, true, nil
	case SectionExport:
		n := r.uleb()
		out = AppendULEB(out, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			start := r.off
			r.name()
			kind := ExternKind(r.byte())
			out = append(out, r.b[start:r.off]...)
			idx := r.uleb()
			if kind == KindFunc {
				idx = in.fn(idx)
			}
			out = AppendULEB(out, idx)
		}
		if r.err != nil || r.off != len(r.b) {
			return nil, false, ErrMalformed
		}
		return out, true, nil
	case SectionStart:
		idx := r.uleb()
		if r.err != nil {
			return nil, false, ErrMalformed
		}
		return AppendULEB(nil, in.fn(idx)), true, nil
	case SectionElement:
		return in.elements(r)
	case SectionCode:
		return in.codeSection(r)
	case SectionFunction, SectionMemory, SectionData, SectionDataCount, SectionTag:
		return p, true, nil
	}
	return nil, false, fmt.Errorf("%w: section %d", ErrUnsupported, id)
}

// fn maps a function index of the original module to the rewritten one.
func (in *instrumenter) fn(idx uint64) uint64 {
	if idx >= uint64(in.importedFuncs) {
		return idx + 1
	}
	return idx
}

func (in *instrumenter) checkCode() []byte {
	var b []byte
	fuel := uint64(in.fuel)
	b = append(b, 0x23)
	b = AppendULEB(b, fuel)
	b = append(b, 0x45, 0x04, 0x40, 0x41)
	b = AppendSLEB(b, int64(in.interval))
	b = append(b, 0x24)
	b = AppendULEB(b, fuel)
	b = append(b, 0x10)
	b = AppendULEB(b, uint64(in.importedFuncs)) // the added import
	b = append(b, 0x0b, 0x23)
	b = AppendULEB(b, fuel)
	b = append(b, 0x41, 0x01, 0x6b, 0x24)
	b = AppendULEB(b, fuel)
	return b
}

func (in *instrumenter) elements(r *reader) ([]byte, bool, error) {
	n := r.uleb()
	out := AppendULEB(nil, n)
	var err error
	for i := uint64(0); i < n && r.err == nil && err == nil; i++ {
		flags := r.uleb()
		out = AppendULEB(out, flags)
		if flags > 7 {
			return nil, false, ErrMalformed
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			out = AppendULEB(out, r.uleb())
		}
		if flags&1 == 0 { // active: offset expression
			if out, err = in.code(out, r, true); err != nil {
				return nil, false, err
			}
		}
		if flags&3 != 0 { // elemkind or reftype
			start := r.off
			if flags&4 != 0 {
				err = r.refType()
			} else {
				r.byte()
			}
			out = append(out, r.b[start:r.off]...)
		}
		m := r.uleb()
		out = AppendULEB(out, m)
		for j := uint64(0); j < m && r.err == nil && err == nil; j++ {
			if flags&4 != 0 {
				out, err = in.code(out, r, true)
			} else {
				out = AppendULEB(out, in.fn(r.uleb()))
			}
		}
	}
	if err != nil {
		return nil, false, err
	}
	if r.err != nil || r.off != len(r.b) {
		return nil, false, ErrMalformed
	}
	return out, true, nil
}

func (in *instrumenter) codeSection(r *reader) ([]byte, bool, error) {
	if in.check == nil {
		return nil, false, errors.New("BUG: code before the fuel global was added")
	}
	n := r.uleb()
	out := AppendULEB(nil, n)
	var body []byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		fr := r.sized()
		if r.err != nil {
			return nil, false, ErrMalformed
		}
		bodyStart := fr.off
		body = body[:0]
		groups := fr.uleb()
		for j := uint64(0); j < groups && fr.err == nil; j++ {
			fr.uleb()
			if err := fr.valType(); err != nil {
				return nil, false, err
			}
		}
		if fr.err != nil {
			return nil, false, ErrMalformed
		}
		body = append(body, fr.b[bodyStart:fr.off]...) // the locals
		body = append(body, in.check...)
		var err error
		if body, err = in.code(body, fr, false); err != nil {
			return nil, false, err
		}
		out = AppendULEB(out, uint64(len(body)))
		out = append(out, body...)
	}
	if r.err != nil || r.off != len(r.b) {
		return nil, false, ErrMalformed
	}
	return out, true, nil
}

// code copies instructions from r to out, renumbering function indices and
// adding the check after every loop header. With expr it stops after the
// "end" that closes a constant expression; otherwise it reads to the end of
// r (a function body).
func (in *instrumenter) code(out []byte, r *reader, expr bool) ([]byte, error) {
	depth := 0
	for r.off < len(r.b) {
		start := r.off
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.blockType()
			depth++
			out = append(out, r.b[start:r.off]...)
			if op == 0x03 && !expr {
				out = append(out, in.check...)
			}
			continue
		case op == 0x0b: // end
			out = append(out, op)
			if expr && depth == 0 {
				return out, r.err
			}
			depth--
			continue
		case op == 0x10 || op == 0x12 || op == 0xd2: // call, return_call, ref.func
			idx := r.uleb()
			out = append(out, op)
			out = AppendULEB(out, in.fn(idx))
			continue
		case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0a || op == 0x0f || op == 0x1a || op == 0x1b ||
			op == 0xd1 || (op >= 0x45 && op <= 0xc4):
			// no immediates
		case op == 0x08 || op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x26): // throw, br, br_if, locals, globals, tables
			r.uleb()
		case op == 0x0e: // br_table
			m := r.uleb()
			for i := uint64(0); i <= m && r.err == nil; i++ {
				r.uleb()
			}
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.uleb()
			r.uleb()
		case op == 0x1c: // select t*
			m := r.uleb()
			for i := uint64(0); i < m && r.err == nil; i++ {
				if err := r.valType(); err != nil {
					return nil, err
				}
			}
		case op == 0x1f: // try_table
			r.blockType()
			m := r.uleb()
			for i := uint64(0); i < m && r.err == nil; i++ {
				switch r.byte() {
				case 0, 1:
					r.uleb()
					r.uleb()
				case 2, 3:
					r.uleb()
				default:
					return nil, ErrMalformed
				}
			}
			depth++
		case op >= 0x28 && op <= 0x3e:
			r.memArg()
		case op == 0x3f || op == 0x40:
			r.uleb()
		case op == 0x41 || op == 0x42:
			r.sleb()
		case op == 0x43:
			r.skip(4)
		case op == 0x44:
			r.skip(8)
		case op == 0xd0:
			r.sleb() // heap type
		case op == 0xfc:
			misc(r)
		case op == 0xfd:
			simd(r)
		case op == 0xfe:
			if sub := r.uleb(); sub == 3 {
				r.byte() // atomic.fence
			} else {
				r.memArg()
			}
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x", ErrUnsupported, op)
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.b[start:r.off]...)
	}
	if expr || depth != -1 || r.err != nil {
		return nil, ErrMalformed
	}
	return out, nil
}

// misc skips the immediates of a 0xfc instruction (saturating truncation,
// bulk memory and table instructions).
func misc(r *reader) {
	switch sub := r.uleb(); {
	case sub <= 7:
	case sub == 8, sub == 10, sub == 12, sub == 14: // two indices
		r.uleb()
		r.uleb()
	case sub <= 17:
		r.uleb()
	default:
		r.err = fmt.Errorf("%w: 0xfc %d", ErrUnsupported, sub)
	}
}

// simd skips the immediates of a 0xfd (SIMD) instruction.
func simd(r *reader) {
	switch sub := r.uleb(); {
	case sub <= 11, sub == 92, sub == 93: // loads and stores
		r.memArg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 21 && sub <= 34: // lane access
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memArg()
		r.byte()
	case sub <= 0x113:
	default:
		r.err = fmt.Errorf("%w: 0xfd %d", ErrUnsupported, sub)
	}
}

// names renumbers the function indices of a name section.
func (in *instrumenter) names(r *reader) ([]byte, error) {
	out := AppendName(nil, "name")
	for r.off < len(r.b) {
		id, sub := r.section()
		if r.err != nil {
			return nil, ErrMalformed
		}
		var body []byte
		switch id {
		case 1: // function names
			n := sub.uleb()
			body = AppendULEB(body, n)
			for i := uint64(0); i < n && sub.err == nil; i++ {
				body = AppendULEB(body, in.fn(sub.uleb()))
				start := sub.off
				sub.name()
				body = append(body, sub.b[start:sub.off]...)
			}
		case 2, 3: // local names, label names: maps keyed by function
			n := sub.uleb()
			body = AppendULEB(body, n)
			for i := uint64(0); i < n && sub.err == nil; i++ {
				body = AppendULEB(body, in.fn(sub.uleb()))
				start := sub.off
				m := sub.uleb()
				for j := uint64(0); j < m && sub.err == nil; j++ {
					sub.uleb()
					sub.name()
				}
				body = append(body, sub.b[start:sub.off]...)
			}
		default:
			body = sub.b[sub.off:]
			sub.off = len(sub.b)
		}
		if sub.err != nil || sub.off != len(sub.b) {
			return nil, ErrMalformed
		}
		out = AppendSection(out, id, body)
	}
	return out, r.err
}
