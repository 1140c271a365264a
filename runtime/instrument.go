package runtime

import (
	"errors"
	"fmt"
	"strings"
)

// Deadline guard by instrumentation.
//
// wazero can only stop a running guest if the module is compiled with
// WithCloseOnContextDone, which leaves native code for Go at every loop
// header and function entry (about 100x on tight loops). Without it, a
// guest in a loop can neither be stopped nor paused, and a garbage
// collection of the whole worker waits for it: every goroutine freezes.
//
// instrument rewrites a module instead. It adds a mutable i32 global, the
// fuel, and an imported function, guardModule.guardFunc. At every function
// entry and loop header it inserts
//
//	global.get $fuel
//	i32.eqz
//	if
//	  i32.const guardInterval
//	  global.set $fuel
//	  call $yield
//	end
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//
// so that the guest calls the host every guardInterval loop iterations or
// calls. The host function checks the run's context (stopping the guest if
// it has ended) and, being Go code, lets the Go scheduler and collector in.
// The added import shifts the index of every function defined by the
// module by one; calls, exports, the start function, element segments,
// ref.func and the name section are renumbered to match.

const (
	guardModule = "wasmworker_guard"
	guardFunc   = "yield"
)

// guardInterval is how many loop iterations and calls a guest makes
// between two calls to the host (see BENCHMARKS.md, "Deadline guard").
var guardInterval uint32 = 1 << 14

// errUnsupported reports a module the instrumentation does not handle; such
// a module runs with wazero's WithCloseOnContextDone instead.
var errUnsupported = errors.New("unsupported wasm construct")

// section ids in the order the binary format requires them.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type instrumenter struct {
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	types           uint32
	yieldType       uint32
	fuel            uint32 // global index of the fuel
	check           []byte // the code inserted at each check point
	sawType         bool
	sawImport       bool
	sawGlobal       bool
}

// instrument returns bin with the deadline guard added. It fails, without
// panicking, on malformed input and on constructs it does not know.
func instrument(bin []byte, interval uint32) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != string(wasmMagic) || string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, errScan
	}
	in := &instrumenter{}
	out := make([]byte, 0, len(bin)+len(bin)/8+64)
	out = append(out, bin[:8]...)
	r := &wasmReader{b: bin, off: 8}
	lastRank := 0
	for r.off < len(r.b) {
		id := r.byte()
		size := r.uleb()
		if r.err != nil || size > uint64(len(r.b)-r.off) {
			return nil, errScan
		}
		payload := r.b[r.off : r.off+int(size)]
		r.off += int(size)
		if id != 0 {
			rank, ok := sectionRank[id]
			if !ok || rank <= lastRank {
				return nil, fmt.Errorf("%w: section %d out of order or unknown", errUnsupported, id)
			}
			lastRank = rank
			// Sections the instrumentation needs and the module lacks are
			// added where they belong.
			var err error
			if out, err = in.addMissing(out, rank, interval); err != nil {
				return nil, err
			}
		}
		body, keep, err := in.section(id, payload, interval)
		if err != nil {
			return nil, err
		}
		if keep {
			out = appendSection(out, id, body)
		}
	}
	out, err := in.addMissing(out, 100, interval)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendLEB(out, uint64(len(body)))
	return append(out, body...)
}

func appendLEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// addMissing adds the type, import and global sections, if not seen yet,
// before a section of the given rank.
func (in *instrumenter) addMissing(out []byte, rank int, interval uint32) ([]byte, error) {
	if !in.sawType && rank > sectionRank[1] {
		b, _, err := in.section(1, []byte{0}, interval)
		if err != nil {
			return nil, err
		}
		out = appendSection(out, 1, b)
	}
	if !in.sawImport && rank > sectionRank[2] {
		b, _, err := in.section(2, []byte{0}, interval)
		if err != nil {
			return nil, err
		}
		out = appendSection(out, 2, b)
	}
	if !in.sawGlobal && rank > sectionRank[6] {
		b, _, err := in.section(6, []byte{0}, interval)
		if err != nil {
			return nil, err
		}
		out = appendSection(out, 6, b)
	}
	return out, nil
}

// section returns the rewritten payload of one section, and whether to keep
// it.
func (in *instrumenter) section(id byte, p []byte, interval uint32) ([]byte, bool, error) {
	r := &wasmReader{b: p}
	var out []byte
	switch id {
	case 0:
		name := r.name()
		if r.err != nil {
			return nil, false, errScan
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
	case 1:
		in.sawType = true
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			if r.byte() != 0x60 {
				return nil, false, fmt.Errorf("%w: non-function type", errUnsupported)
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
			return nil, false, errScan
		}
		in.types = uint32(n)
		in.yieldType = uint32(n)
		out = appendLEB(out, n+1)
		out = append(out, r.b[countLen(p):]...)
		out = append(out, 0x60, 0, 0)
		return out, true, nil
	case 2:
		in.sawImport = true
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			mod, _ := r.name(), r.name()
			if mod == guardModule {
				return nil, false, fmt.Errorf("%w: the module imports from %s, a name reserved by the worker", errUnsupported, guardModule)
			}
			switch r.byte() {
			case 0:
				r.uleb()
				in.importedFuncs++
			case 1:
				if err := r.refType(); err != nil {
					return nil, false, err
				}
				r.limits()
			case 2:
				r.limits()
			case 3:
				if err := r.valType(); err != nil {
					return nil, false, err
				}
				r.byte()
				in.importedGlobals++
			case 4:
				r.byte()
				r.uleb()
			default:
				return nil, false, errScan
			}
		}
		if r.err != nil || r.off != len(r.b) {
			return nil, false, errScan
		}
		out = appendLEB(out, n+1)
		out = append(out, r.b[countLen(p):]...)
		out = appendLEB(out, uint64(len(guardModule)))
		out = append(out, guardModule...)
		out = appendLEB(out, uint64(len(guardFunc)))
		out = append(out, guardFunc...)
		out = append(out, 0)
		out = appendLEB(out, uint64(in.yieldType))
		return out, true, nil
	case 4:
		n := r.uleb()
		for i := uint64(0); i < n && r.err == nil; i++ {
			if err := r.refType(); err != nil {
				return nil, false, err // also a table with an initializer (0x40)
			}
			r.limits()
		}
		if r.err != nil {
			return nil, false, errScan
		}
		return p, true, nil
	case 6:
		in.sawGlobal = true
		n := r.uleb()
		out = appendLEB(out, n+1)
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
			return nil, false, errScan
		}
		in.definedGlobals = uint32(n)
		in.fuel = in.importedGlobals + in.definedGlobals
		out = append(out, 0x7f, 0x01, 0x41)
		out = appendSLEB(out, int64(interval))
		out = append(out, 0x0b)
		in.check = in.checkCode(interval)
		return out, true, nil
	case 7:
		n := r.uleb()
		out = appendLEB(out, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			start := r.off
			r.name()
			kind := r.byte()
			out = append(out, r.b[start:r.off]...)
			idx := r.uleb()
			if kind == 0 {
				idx = in.fn(idx)
			}
			out = appendLEB(out, idx)
		}
		if r.err != nil || r.off != len(r.b) {
			return nil, false, errScan
		}
		return out, true, nil
	case 8:
		idx := r.uleb()
		if r.err != nil {
			return nil, false, errScan
		}
		return appendLEB(nil, in.fn(idx)), true, nil
	case 9:
		return in.elements(r)
	case 10:
		return in.codeSection(r)
	case 3, 5, 11, 12, 13:
		return p, true, nil
	}
	return nil, false, fmt.Errorf("%w: section %d", errUnsupported, id)
}

// fn maps a function index of the original module to the rewritten one.
func (in *instrumenter) fn(idx uint64) uint64 {
	if idx >= uint64(in.importedFuncs) {
		return idx + 1
	}
	return idx
}

func (in *instrumenter) checkCode(interval uint32) []byte {
	var b []byte
	fuel := uint64(in.fuel)
	b = append(b, 0x23)
	b = appendLEB(b, fuel)
	b = append(b, 0x45, 0x04, 0x40, 0x41)
	b = appendSLEB(b, int64(interval))
	b = append(b, 0x24)
	b = appendLEB(b, fuel)
	b = append(b, 0x10)
	b = appendLEB(b, uint64(in.importedFuncs)) // the yield import
	b = append(b, 0x0b, 0x23)
	b = appendLEB(b, fuel)
	b = append(b, 0x41, 0x01, 0x6b, 0x24)
	b = appendLEB(b, fuel)
	return b
}

func (in *instrumenter) elements(r *wasmReader) ([]byte, bool, error) {
	n := r.uleb()
	out := appendLEB(nil, n)
	var err error
	for i := uint64(0); i < n && r.err == nil && err == nil; i++ {
		flags := r.uleb()
		out = appendLEB(out, flags)
		if flags > 7 {
			return nil, false, errScan
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			out = appendLEB(out, r.uleb())
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
		out = appendLEB(out, m)
		for j := uint64(0); j < m && r.err == nil && err == nil; j++ {
			if flags&4 != 0 {
				out, err = in.code(out, r, true)
			} else {
				out = appendLEB(out, in.fn(r.uleb()))
			}
		}
	}
	if err != nil {
		return nil, false, err
	}
	if r.err != nil || r.off != len(r.b) {
		return nil, false, errScan
	}
	return out, true, nil
}

func (in *instrumenter) codeSection(r *wasmReader) ([]byte, bool, error) {
	if in.check == nil {
		return nil, false, errors.New("BUG: code before the fuel global was added")
	}
	n := r.uleb()
	out := appendLEB(nil, n)
	var body []byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		size := r.uleb()
		if r.err != nil || size > uint64(len(r.b)-r.off) {
			return nil, false, errScan
		}
		bodyStart := r.off
		fr := &wasmReader{b: r.b[:r.off+int(size)], off: r.off}
		r.off += int(size)
		body = body[:0]
		groups := fr.uleb()
		for j := uint64(0); j < groups && fr.err == nil; j++ {
			fr.uleb()
			if err := fr.valType(); err != nil {
				return nil, false, err
			}
		}
		if fr.err != nil {
			return nil, false, errScan
		}
		body = append(body, fr.b[bodyStart:fr.off]...) // the locals
		body = append(body, in.check...)
		var err error
		if body, err = in.code(body, fr, false); err != nil {
			return nil, false, err
		}
		out = appendLEB(out, uint64(len(body)))
		out = append(out, body...)
	}
	if r.err != nil || r.off != len(r.b) {
		return nil, false, errScan
	}
	return out, true, nil
}

// code copies instructions from r to out, renumbering function indices and
// adding the check after every loop header. With expr it stops after the
// "end" that closes a constant expression; otherwise it reads to the end of
// r (a function body).
func (in *instrumenter) code(out []byte, r *wasmReader, expr bool) ([]byte, error) {
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
			out = appendLEB(out, in.fn(idx))
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
					return nil, errScan
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
			in.misc(r)
		case op == 0xfd:
			simd(r)
		case op == 0xfe:
			if sub := r.uleb(); sub == 3 {
				r.byte() // atomic.fence
			} else {
				r.memArg()
			}
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x", errUnsupported, op)
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.b[start:r.off]...)
	}
	if expr || depth != -1 || r.err != nil {
		return nil, errScan
	}
	return out, nil
}

func (in *instrumenter) misc(r *wasmReader) {
	switch sub := r.uleb(); {
	case sub <= 7:
	case sub == 8, sub == 10, sub == 12, sub == 14: // two indices
		r.uleb()
		r.uleb()
	case sub <= 17:
		r.uleb()
	default:
		r.err = fmt.Errorf("%w: 0xfc %d", errUnsupported, sub)
	}
}

func simd(r *wasmReader) {
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
		r.err = fmt.Errorf("%w: 0xfd %d", errUnsupported, sub)
	}
}

// names renumbers the function indices of a name section.
func (in *instrumenter) names(r *wasmReader) ([]byte, error) {
	out := appendLEB(nil, 4)
	out = append(out, "name"...)
	for r.off < len(r.b) {
		id := r.byte()
		size := r.uleb()
		if r.err != nil || size > uint64(len(r.b)-r.off) {
			return nil, errScan
		}
		sub := &wasmReader{b: r.b[:r.off+int(size)], off: r.off}
		r.off += int(size)
		var body []byte
		switch id {
		case 1: // function names
			n := sub.uleb()
			body = appendLEB(body, n)
			for i := uint64(0); i < n && sub.err == nil; i++ {
				body = appendLEB(body, in.fn(sub.uleb()))
				start := sub.off
				sub.name()
				body = append(body, sub.b[start:sub.off]...)
			}
		case 2, 3: // local names, label names: maps keyed by function
			n := sub.uleb()
			body = appendLEB(body, n)
			for i := uint64(0); i < n && sub.err == nil; i++ {
				body = appendLEB(body, in.fn(sub.uleb()))
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
			return nil, errScan
		}
		out = append(out, id)
		out = appendLEB(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, r.err
}

// countLen returns the length of the LEB128 count that starts p.
func countLen(p []byte) int {
	for i, c := range p {
		if c&0x80 == 0 {
			return i + 1
		}
	}
	return len(p)
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func (r *wasmReader) sleb() {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.err = errScan
}

func (r *wasmReader) skip(n int) {
	if r.err != nil || len(r.b)-r.off < n {
		r.err = errScan
		return
	}
	r.off += n
}

func (r *wasmReader) memArg() {
	if align := r.uleb(); align&0x40 != 0 { // multi-memory: memory index
		r.uleb()
	}
	r.uleb()
}

// blockType skips a block type: 0x40, a value type, or a type index (s33).
func (r *wasmReader) blockType() {
	if r.err != nil || r.off >= len(r.b) {
		r.err = errScan
		return
	}
	switch c := r.b[r.off]; {
	case c == 0x40 || c == 0x7f || c == 0x7e || c == 0x7d || c == 0x7c || c == 0x7b || c == 0x70 || c == 0x6f:
		r.off++
	case c == 0x63 || c == 0x64:
		r.err = fmt.Errorf("%w: typed reference", errUnsupported)
	default:
		r.sleb()
	}
}

func (r *wasmReader) valType() error {
	switch c := r.byte(); c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return r.err
	default:
		if r.err != nil {
			return r.err
		}
		return fmt.Errorf("%w: value type 0x%02x", errUnsupported, c)
	}
}

func (r *wasmReader) refType() error {
	switch c := r.byte(); c {
	case 0x70, 0x6f:
		return r.err
	default:
		if r.err != nil {
			return r.err
		}
		return fmt.Errorf("%w: reference type 0x%02x", errUnsupported, c)
	}
}
