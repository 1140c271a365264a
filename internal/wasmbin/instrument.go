package wasmbin

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrUnsupported reports a valid module that Instrument does not handle: a
// construct of a proposal it does not know (typed references, GC ...), or a
// module that already imports from the guard's module.
var ErrUnsupported = errors.New("unsupported wasm construct")

// Options configures Instrument.
type Options struct {
	// Interval is how many loop iterations and calls run between two calls
	// of the guard function; bulk memory and table instructions count by
	// their length (see Instrument).
	Interval uint32
	// Module and Func name the guard function the instrumented code
	// imports, of type () -> ().
	Module, Func string
	// Tables bounds the module's tables, as LimitTables does.
	Tables TableLimits
	// Code bounds what makes a function expensive to compile.
	Code CodeLimits
	// Mark, when not empty, prepares the module for being reset to its
	// state after instantiation (see Instrument): it names a second
	// import, Module.Mark of type () -> (), that the rewritten code calls
	// before every direct call of an import Tracked reports.
	Mark string
	// Tracked reports the imported functions whose calls change state
	// that resetting memory and globals does not restore (with Mark).
	Tracked func(module, name string) bool
	// MergeData joins the module's data segments where that changes no
	// byte of the initial memory (see mergeData): every instantiation
	// applies them one by one, and a Go module has tens of thousands.
	MergeData bool
}

// Names of the exports Instrument adds with Options.Mark, after
// Options.Module and a dot: ResettableExport (the fuel global) when the
// module can be reset, and GlobalExport followed by 0, 1, … for each
// mutable global the module defines, in index order.
const (
	ResettableExport = "resettable"
	GlobalExport     = "global"
)

// CodeLimits bounds the shapes of function bodies that make compiling a
// module take minutes and gigabytes although its file is small: huge
// bodies, many locals, deep nesting of blocks, huge br_tables. Zero fields
// are not checked.
type CodeLimits struct {
	MaxBodyBytes uint64 // bytes of one function body
	MaxLocals    uint64 // locals of one function, parameters included
	MaxDepth     uint64 // nesting of block, loop, if and try_table
	MaxBrTable   uint64 // targets of one br_table
}

// CodeLimitError reports a function above a CodeLimits: its message names
// the function, what is too large and the limit.
type CodeLimitError struct {
	Func         uint64 // index among the module's defined functions
	What         string // "bytes of code", "locals", "nested blocks", "br_table targets"
	Value, Limit uint64
}

func (e *CodeLimitError) Error() string {
	return fmt.Sprintf("function %d has %d %s, above the limit of %d (a module shaped this way can take minutes and gigabytes to compile)",
		e.Func, e.Value, e.What, e.Limit)
}

// Bulk instructions are charged by the length they are given: one unit of
// fuel per BulkBytesPerFuel bytes (memory.fill, memory.copy, memory.init)
// or BulkEntriesPerFuel entries (table.fill, table.copy, table.init). A
// caller that caches Instrument's output must change its cache's key when
// these change.
const (
	BulkBytesPerFuel   = 1 << bulkByteShift
	BulkEntriesPerFuel = 1 << bulkEntryShift

	bulkByteShift  = 6 // 64 bytes
	bulkEntryShift = 3 // 8 entries of 8 bytes each

	// bulkFreeFuel is the charge below which an instruction whose length
	// is a constant is not charged at all: 1 KiB or 128 entries, which cost
	// about as much as the tens of plain instructions that are not charged
	// either (straight-line code is bounded by the module's size).
	bulkFreeFuel = 16
)

// Instrument returns bin with a deadline guard added: code that makes the
// guest call the host every opt.Interval loop iterations or function calls,
// or about as often when it runs bulk memory instructions, so that the host
// can stop it. Its tables are bounded as LimitTables(bin, opt.Tables) does.
//
// It adds a mutable i32 global, the fuel, set to the interval, and an
// imported function of type () -> (), opt.Module.opt.Func. At every function
// entry and loop header it inserts
//
//	global.get $fuel
//	i32.eqz
//	if
//	  i32.const interval
//	  global.set $fuel
//	  call $guard
//	end
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//
// Before every memory.fill, memory.copy, memory.init, table.fill,
// table.copy and table.init, whose last operand is a length, it inserts a
// charge of that length, so that straight-line code made of large bulk
// instructions is stopped as promptly as a loop:
//
//	local.tee $len          ;; an i32 local added to the function
//	global.get $fuel
//	local.get $len
//	i32.const shift         ;; 6: per 64 bytes; 3: per 8 table entries
//	i32.shr_u
//	i32.sub
//	global.set $fuel
//	global.get $fuel
//	i32.const 0
//	i32.lt_s
//	if
//	  i32.const interval
//	  global.set $fuel
//	  call $guard
//	end
//
// When the length is a constant (the instruction before is i32.const),
// the charge is that constant's, computed at instrumentation, and no local
// is added; a constant below 1 KiB (128 table entries) is not charged. The
// charge is made before the instruction runs: one instruction of any length
// runs to its end, but the guard is called before every large one.
//
// The added import shifts the index of every function defined by the
// module by one; calls, exports, the start function, element segments,
// ref.func and the name section are renumbered to match. DWARF custom
// sections (.debug_*) are dropped: their code offsets no longer hold.
//
// With opt.Mark, the module is also prepared for a reset to the state it
// has after instantiation: restoring its memory and its mutable globals. The
// rewrite adds the import opt.Module.opt.Mark and calls it before every
// direct call of an import that opt.Tracked reports (the caller learns that
// a run changed state a reset cannot restore, such as open files), exports
// every mutable global the module defines (GlobalExport), and exports the
// fuel as ResettableExport when nothing else can change state a reset
// misses: no instruction that changes a table or drops a data segment,
// no imported memory, table or mutable global, no tracked import called
// other than directly, only number-typed mutable globals, and no export
// already named after opt.Module.
//
// The caller names the import (the engine's guard.go defines the names and
// provides the function): this package only rewrites binaries. A module
// that itself imports anything from opt.Module is refused, so that the
// guest cannot call or shadow the host's function, and so that a module
// cannot be instrumented twice.
//
// Instrument fails, without panicking, with an error wrapping ErrMalformed
// on a binary it cannot read, one wrapping ErrUnsupported on constructs
// it does not know, and a *TableLimitError when the module's tables are
// above opt.Tables. Its output depends only on its arguments (and the
// constants above): a caller that caches it must change its cache's key
// when this function's output changes.
func Instrument(bin []byte, opt Options) ([]byte, error) {
	in := &instrumenter{guard: true, added: 1, interval: opt.Interval, module: opt.Module, name: opt.Func, opt: opt, exportAt: -1}
	if opt.Mark != "" {
		in.added, in.resettable = 2, true
	}
	in.tables.lim = opt.Tables
	return in.run(bin)
}

// MeasureCode returns the largest value of each CodeLimits measure over the
// module's functions: what limits it needs to pass.
func MeasureCode(bin []byte) (CodeLimits, error) {
	in := &instrumenter{guard: true, added: 1, interval: 1 << 14, module: "m", name: "f", exportAt: -1}
	_, err := in.run(bin)
	return in.maxSeen, err
}

// run rewrites bin section by section.
func (in *instrumenter) run(bin []byte) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != Magic || string(bin[4:8]) != Version {
		return nil, ErrMalformed
	}
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
		if id == SectionExport && in.opt.Mark != "" {
			// Written at the end, when the code has told whether the
			// module can be reset.
			in.exportAt, in.exports = len(out), body
			continue
		}
		if keep {
			out = AppendSection(out, id, body)
		}
	}
	out, err := in.addMissing(out, 100)
	if err != nil {
		return nil, err
	}
	if in.exportAt >= 0 {
		tail := append([]byte(nil), out[in.exportAt:]...)
		out = AppendSection(out[:in.exportAt], SectionExport, in.resetExports())
		out = append(out, tail...)
	}
	return out, nil
}

// resetExports returns the export section with the exports of opt.Mark
// added (see Instrument).
func (in *instrumenter) resetExports() []byte {
	r := &reader{b: in.exports}
	n := r.uleb()
	entries := in.exports[r.off:]
	prefix := in.module + "."
	if in.clash {
		in.resettable = false
	}
	var added []byte
	count := uint64(0)
	if !in.clash {
		for i, g := range in.mutGlobals {
			added = append(added, Export(fmt.Sprintf("%s%s%d", prefix, GlobalExport, i), KindGlobal, g)...)
			count++
		}
		if in.resettable {
			added = append(added, Export(prefix+ResettableExport, KindGlobal, in.fuel)...)
			count++
		}
	}
	out := AppendULEB(nil, n+count)
	out = append(out, entries...)
	return append(out, added...)
}

// sectionRank orders the non-custom sections as the binary format requires.
var sectionRank = map[byte]int{
	SectionType: 1, SectionImport: 2, SectionFunction: 3, SectionTable: 4, SectionMemory: 5, SectionTag: 6,
	SectionGlobal: 7, SectionExport: 8, SectionStart: 9, SectionElement: 10, SectionDataCount: 11,
	SectionCode: 12, SectionData: 13,
}

// instrumenter is the state of one Instrument (or LimitTables) call.
type instrumenter struct {
	opt     Options
	curFunc uint64     // the function being rewritten, for errors
	maxSeen CodeLimits // the largest of each measure so far (MeasureCode)
	// guard is set by Instrument; LimitTables only rewrites the tables and
	// copies every other section as it is.
	guard           bool
	added           uint64 // functions imported by the rewrite: 1, or 0 for LimitTables
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
	tables          tableLimiter

	params    []uint32 // the number of parameters of each type
	funcTypes []uint32 // the type of each defined function
	lenLocal  uint64   // in a function body: the i32 local that holds a bulk length
	usedLen   bool     // whether the body being rewritten charges a bulk length

	// With Options.Mark:
	tracked    []bool   // of each imported function: whether Options.Tracked reports it
	mutGlobals []uint32 // the mutable globals the module defines
	resettable bool     // nothing seen so far changes state a reset misses
	clash      bool     // an export is already named after Options.Module
	exportAt   int      // where the export section goes in the output, or -1
	exports    []byte   // the rewritten export section, without the added exports

	dataCount bool // the module has a data count section: segments are referred to by index
}

// ref notes a reference to function idx other than a direct call (an
// element, ref.func, an export, the start function): a tracked import
// called that way cannot be marked.
func (in *instrumenter) ref(idx uint64) uint64 {
	if idx < uint64(len(in.tracked)) && in.tracked[idx] {
		in.resettable = false
	}
	return in.fn(idx)
}

// addMissing adds the type, import and global sections, if not seen yet,
// before a section of the given rank.
func (in *instrumenter) addMissing(out []byte, rank int) ([]byte, error) {
	if !in.guard {
		return out, nil
	}
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
	if !in.guard && id != SectionImport && id != SectionTable {
		return p, true, nil
	}
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
				if k == 0 && r.err == nil {
					if m > uint64(len(r.b)) { // each takes a byte
						return nil, false, ErrMalformed
					}
					in.params = append(in.params, uint32(m))
				}
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
			mod, name := r.name(), r.name()
			if in.guard && mod == in.module {
				return nil, false, fmt.Errorf("%w: the module imports from %s, a name reserved by the worker", ErrUnsupported, in.module)
			}
			switch ExternKind(r.byte()) {
			case KindFunc:
				r.uleb()
				in.importedFuncs++
				if in.opt.Mark != "" {
					in.tracked = append(in.tracked, in.opt.Tracked != nil && in.opt.Tracked(mod, name))
				}
			case KindTable:
				if err := in.tables.imported(r); err != nil {
					return nil, false, err
				}
				in.resettable = false
			case KindMemory:
				r.limits()
				in.resettable = false
			case KindGlobal:
				if err := r.valType(); err != nil {
					return nil, false, err
				}
				if r.byte() != 0 { // mutable
					in.resettable = false
				}
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
		if !in.guard {
			return p, true, nil
		}
		out = AppendULEB(out, n+in.added)
		out = append(out, r.b[countLen(p):]...)
		out = append(out, FuncImport(in.module, in.name, in.yieldType)...)
		if in.opt.Mark != "" {
			out = append(out, FuncImport(in.module, in.opt.Mark, in.yieldType)...)
		}
		return out, true, nil
	case SectionTable:
		out, err := in.tableSection(r)
		return out, err == nil, err
	case SectionFunction:
		n := r.uleb()
		if r.err != nil || n > uint64(len(r.b)) { // each takes a byte
			return nil, false, ErrMalformed
		}
		in.funcTypes = make([]uint32, 0, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			t := r.uleb()
			if t >= uint64(len(in.params)) {
				return nil, false, ErrMalformed
			}
			in.funcTypes = append(in.funcTypes, uint32(t))
		}
		if r.err != nil || r.off != len(r.b) {
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
			if r.byte() != 0 && r.err == nil { // mutable
				switch r.b[start] {
				case I32, I64, F32, F64:
				default:
					in.resettable = false
				}
				in.mutGlobals = append(in.mutGlobals, in.importedGlobals+uint32(i))
			}
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
			if name := r.name(); strings.HasPrefix(name, in.module+".") {
				in.clash = true
			}
			kind := ExternKind(r.byte())
			out = append(out, r.b[start:r.off]...)
			idx := r.uleb()
			if kind == KindFunc {
				idx = in.ref(idx)
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
		return AppendULEB(nil, in.ref(idx)), true, nil
	case SectionElement:
		return in.elements(r)
	case SectionCode:
		return in.codeSection(r)
	case SectionDataCount:
		in.dataCount = true
		return p, true, nil
	case SectionData:
		if in.opt.MergeData && !in.dataCount {
			return mergeData(p), true, nil
		}
		return p, true, nil
	case SectionMemory, SectionTag:
		return p, true, nil
	}
	return nil, false, fmt.Errorf("%w: section %d", ErrUnsupported, id)
}

// fn maps a function index of the original module to the rewritten one.
func (in *instrumenter) fn(idx uint64) uint64 {
	if idx >= uint64(in.importedFuncs) {
		return idx + in.added
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
				out = AppendULEB(out, in.ref(r.uleb()))
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
	if r.err != nil || n != uint64(len(in.funcTypes)) {
		return nil, false, ErrMalformed
	}
	out := AppendULEB(nil, n)
	var body, code []byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		fr := r.sized()
		if r.err != nil {
			return nil, false, ErrMalformed
		}
		size := uint64(len(fr.b) - fr.off)
		in.maxSeen.MaxBodyBytes = max(in.maxSeen.MaxBodyBytes, size)
		if lim := in.opt.Code.MaxBodyBytes; lim > 0 && size > lim {
			return nil, false, &CodeLimitError{Func: i, What: "bytes of code", Value: size, Limit: lim}
		}
		bodyStart := fr.off
		groups := fr.uleb()
		locals := uint64(in.params[in.funcTypes[i]])
		for j := uint64(0); j < groups && fr.err == nil; j++ {
			if locals += fr.uleb(); locals >= 1<<32-1 { // no room for one more
				return nil, false, fmt.Errorf("%w: a function with %d locals or more", ErrUnsupported, locals)
			}
			if err := fr.valType(); err != nil {
				return nil, false, err
			}
		}
		if fr.err != nil {
			return nil, false, ErrMalformed
		}
		in.maxSeen.MaxLocals = max(in.maxSeen.MaxLocals, locals)
		if lim := in.opt.Code.MaxLocals; lim > 0 && locals > lim {
			return nil, false, &CodeLimitError{Func: i, What: "locals", Value: locals, Limit: lim}
		}
		localsEnd := fr.off
		in.curFunc = i
		in.lenLocal, in.usedLen = locals, false // the local a bulk charge adds, if any
		code = append(code[:0], in.check...)
		var err error
		if code, err = in.code(code, fr, false); err != nil {
			return nil, false, err
		}
		body = body[:0]
		if in.usedLen { // one more group of locals: (1 i32)
			body = AppendULEB(body, groups+1)
			body = append(body, fr.b[bodyStart+countLen(fr.b[bodyStart:]):localsEnd]...)
			body = append(body, 0x01, I32)
		} else {
			body = append(body, fr.b[bodyStart:localsEnd]...)
		}
		body = append(body, code...)
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
	var konst int64  // the value of the last instruction, when it is i32.const
	isConst := false // whether it is
	for r.off < len(r.b) {
		start := r.off
		op := r.byte()
		prevConst, prevIsConst := konst, isConst
		isConst = false
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.blockType()
			depth++
			in.maxSeen.MaxDepth = max(in.maxSeen.MaxDepth, uint64(depth))
			if lim := in.opt.Code.MaxDepth; lim > 0 && uint64(depth) > lim {
				return nil, &CodeLimitError{Func: in.curFunc, What: "nested blocks", Value: uint64(depth), Limit: lim}
			}
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
			if op == 0xd2 {
				idx = in.ref(idx)
			} else {
				if idx < uint64(len(in.tracked)) && in.tracked[idx] && !expr {
					out = append(out, 0x10)
					out = AppendULEB(out, uint64(in.importedFuncs)+1) // the mark
				}
				idx = in.fn(idx)
			}
			out = append(out, op)
			out = AppendULEB(out, idx)
			continue
		case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0a || op == 0x0f || op == 0x1a || op == 0x1b ||
			op == 0xd1 || (op >= 0x45 && op <= 0xc4):
			// no immediates
		case op == 0x08 || op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x26): // throw, br, br_if, locals, globals, tables
			r.uleb()
			if op == 0x26 { // table.set
				in.resettable = false
			}
		case op == 0x0e: // br_table
			m := r.uleb()
			in.maxSeen.MaxBrTable = max(in.maxSeen.MaxBrTable, m)
			if lim := in.opt.Code.MaxBrTable; lim > 0 && m > lim {
				return nil, &CodeLimitError{Func: in.curFunc, What: "br_table targets", Value: m, Limit: lim}
			}
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
		case op == 0x41:
			konst, isConst = r.sleb(), true
		case op == 0x42:
			r.sleb()
		case op == 0x43:
			r.skip(4)
		case op == 0x44:
			r.skip(8)
		case op == 0xd0:
			r.sleb() // heap type
		case op == 0xfc:
			sub := misc(r)
			switch sub {
			case 9, 12, 13, 14, 15, 17: // data.drop, table.init, elem.drop, table.copy, table.grow, table.fill
				in.resettable = false
			}
			if !expr && r.err == nil {
				if shift, ok := bulkShift(sub); ok {
					out = in.charge(out, shift, prevConst, prevIsConst)
				}
			}
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

// bulkShift returns, for the 0xfc instruction sub, whether it is a bulk
// instruction whose last operand is a length, and the shift that turns the
// length into fuel.
func bulkShift(sub uint64) (byte, bool) {
	switch sub {
	case 8, 10, 11: // memory.init, memory.copy, memory.fill
		return bulkByteShift, true
	case 12, 14, 17: // table.init, table.copy, table.fill
		return bulkEntryShift, true
	}
	return 0, false
}

// charge appends the code that charges the length on top of the stack (an
// i32, kept there) to the fuel, calling the guard when the fuel runs out
// (see Instrument). When the length is the constant konst (the instruction
// before was i32.const), the charge is computed here: none at all below
// bulkFreeFuel.
func (in *instrumenter) charge(out []byte, shift byte, konst int64, isConst bool) []byte {
	fuel := uint64(in.fuel)
	if isConst {
		cost := int64(uint32(konst) >> shift)
		if cost < bulkFreeFuel {
			return out
		}
		out = append(out, 0x23) // global.get $fuel
		out = AppendULEB(out, fuel)
		out = append(out, 0x41) // i32.const cost
		out = AppendSLEB(out, cost)
	} else {
		in.usedLen = true
		out = append(out, 0x22) // local.tee $len
		out = AppendULEB(out, in.lenLocal)
		out = append(out, 0x23) // global.get $fuel
		out = AppendULEB(out, fuel)
		out = append(out, 0x20) // local.get $len
		out = AppendULEB(out, in.lenLocal)
		out = append(out, 0x41, shift, 0x76) // i32.const shift; i32.shr_u
	}
	out = append(out, 0x6b, 0x24) // i32.sub; global.set $fuel
	out = AppendULEB(out, fuel)
	out = append(out, 0x23) // global.get $fuel
	out = AppendULEB(out, fuel)
	out = append(out, 0x41, 0x00, 0x48, 0x04, 0x40, 0x41) // i32.const 0; i32.lt_s; if; i32.const interval
	out = AppendSLEB(out, int64(in.interval))
	out = append(out, 0x24) // global.set $fuel
	out = AppendULEB(out, fuel)
	out = append(out, 0x10) // call $guard
	out = AppendULEB(out, uint64(in.importedFuncs))
	return append(out, 0x0b) // end
}

// misc skips the immediates of a 0xfc instruction (saturating truncation,
// bulk memory and table instructions) and returns its number.
func misc(r *reader) uint64 {
	sub := r.uleb()
	switch {
	case sub <= 7:
	case sub == 8, sub == 10, sub == 12, sub == 14: // two indices
		r.uleb()
		r.uleb()
	case sub <= 17:
		r.uleb()
	default:
		r.err = fmt.Errorf("%w: 0xfc %d", ErrUnsupported, sub)
	}
	return sub
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

// dataGap is the largest run of zero bytes mergeData writes to join two
// data segments.
const dataGap = 1024

// mergeData returns the data section p with runs of consecutive active
// segments of memory 0 joined into one where each starts at most dataGap
// bytes after the end of the one before, the gap written as zeros. A gap
// is only filled when no segment of the module writes any byte of it, so
// the initial memory is the same byte for byte (it is zero there before
// instantiation), and segments stay in their order. It merges nothing
// unless every segment is active on memory 0 at an i32.const offset, and
// returns p unchanged when it cannot read it. A segment out of bounds
// still fails the instantiation: the merged segment ends where its last
// part did.
func mergeData(p []byte) []byte {
	type segment struct {
		off, end uint64
		data     []byte
	}
	r := &reader{b: p}
	n := r.uleb()
	if r.err != nil || n > uint64(len(p)) {
		return p
	}
	segs := make([]segment, 0, n)
	for i := uint64(0); i < n; i++ {
		if r.uleb() != 0 || r.byte() != 0x41 { // active, memory 0, i32.const
			return p
		}
		off := r.sleb()
		// Offsets of 2^31 and more (negative i32 constants) are left
		// alone; above the i32 range the module is invalid, and wazero
		// must see it as it is, not re-encoded into a valid one.
		if r.byte() != 0x0b || off < 0 || off > math.MaxInt32 {
			return p
		}
		size := r.uleb()
		if r.err != nil || size > uint64(len(r.b)-r.off) {
			return p
		}
		segs = append(segs, segment{off: uint64(off), end: uint64(off) + size, data: r.b[r.off : r.off+int(size)]})
		r.skip(int(size))
	}
	if r.err != nil || r.off != len(r.b) {
		return p
	}
	// written reports whether any segment writes a byte of [a, b): the
	// segments sorted by offset, with the largest end up to each.
	byOff := slices.Clone(segs)
	slices.SortFunc(byOff, func(x, y segment) int { return cmp.Compare(x.off, y.off) })
	maxEnd := make([]uint64, len(byOff))
	for i, sg := range byOff {
		maxEnd[i] = sg.end
		if i > 0 {
			maxEnd[i] = max(maxEnd[i], maxEnd[i-1])
		}
	}
	written := func(a, b uint64) bool {
		k, _ := slices.BinarySearchFunc(byOff, b, func(x segment, t uint64) int { return cmp.Compare(x.off, t) })
		return k > 0 && maxEnd[k-1] > a // some segment starting before b ends after a
	}
	var merged []segment
	for _, sg := range segs {
		if k := len(merged) - 1; k >= 0 {
			last := &merged[k]
			if sg.off >= last.end && sg.off-last.end <= dataGap && (sg.off == last.end || !written(last.end, sg.off)) {
				last.data = append(last.data, make([]byte, sg.off-last.end)...)
				last.data = append(last.data, sg.data...)
				last.end = sg.end
				continue
			}
		}
		merged = append(merged, segment{off: sg.off, end: sg.end, data: append([]byte(nil), sg.data...)})
	}
	if len(merged) == len(segs) {
		return p
	}
	out := AppendULEB(make([]byte, 0, len(p)), uint64(len(merged)))
	for _, sg := range merged {
		out = append(out, 0x00, 0x41)
		out = AppendSLEB(out, int64(sg.off))
		out = append(out, 0x0b)
		out = AppendULEB(out, uint64(len(sg.data)))
		out = append(out, sg.data...)
	}
	return out
}
