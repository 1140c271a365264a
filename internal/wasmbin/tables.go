package wasmbin

import "fmt"

// TableLimits bounds the tables of a module (see LimitTables).
type TableLimits struct {
	// MaxEntries bounds the entries of every table, and of all tables
	// together, declared and grown; 0 leaves the tables as they are.
	MaxEntries uint32
	// MaxTables bounds the number of tables, imported and defined; 0 means
	// no bound.
	MaxTables uint32
}

// TableLimitError reports a module whose tables are above a TableLimits:
// its message names the table and the limit.
type TableLimitError struct {
	// Table is the index of the table above the limit, or -1 when the limit
	// on all tables together is exceeded.
	Table int64
	// Declared is what the module declares: the minimum size of Table, the
	// sum of the minimum sizes of all tables, or the number of tables.
	Declared uint64
	// Limit is the limit exceeded, and Count whether it bounds the number of
	// tables (TableLimits.MaxTables) rather than entries.
	Limit uint32
	Count bool
}

func (e *TableLimitError) Error() string {
	switch {
	case e.Count:
		return fmt.Sprintf("the module declares %d tables, above the limit of %d tables per module", e.Declared, e.Limit)
	case e.Table < 0:
		return fmt.Sprintf("the module's tables declare %d entries in all, above the limit of %d table entries per module", e.Declared, e.Limit)
	}
	return fmt.Sprintf("table %d declares %d entries, above the limit of %d entries per table", e.Table, e.Declared, e.Limit)
}

// LimitTables returns bin with its tables bounded by lim, and nothing else
// changed: the tables of a module that Instrument cannot handle.
//
// A table (imported or defined) whose declared minimum size is above
// lim.MaxEntries, tables whose minimum sizes add up to more than
// lim.MaxEntries, or more than lim.MaxTables tables fail with a
// *TableLimitError. Otherwise the maximum size of every defined table is
// lowered so that all tables together can never hold more than
// lim.MaxEntries entries: the entries the minimum sizes leave are shared
// equally between the tables that may grow, and a table.grow beyond a
// table's maximum returns -1, as the wasm semantics say, without the
// runtime allocating anything. (An imported table keeps its type: its
// maximum is the exporter's business. The worker provides no tables, so a
// module importing one never instantiates.)
//
// It fails, without panicking, with an error wrapping ErrMalformed on a
// binary it cannot read and one wrapping ErrUnsupported on a table or
// section it does not know; it reads the import and table sections only.
func LimitTables(bin []byte, lim TableLimits) ([]byte, error) {
	in := &instrumenter{exportAt: -1}
	in.tables.lim = lim
	return in.run(bin)
}

// tableLimiter counts the tables of a module against its limits.
type tableLimiter struct {
	lim     TableLimits
	count   uint64 // tables so far
	entries uint64 // the sum of their minimum sizes
}

// add counts one more table of the given minimum size.
func (t *tableLimiter) add(min uint64) error {
	idx := t.count
	t.count++
	t.entries += min // min is below 2^64 / 2, see tableType
	switch {
	case t.lim.MaxTables > 0 && t.count > uint64(t.lim.MaxTables):
		return &TableLimitError{Table: -1, Declared: t.count, Limit: t.lim.MaxTables, Count: true}
	case t.lim.MaxEntries == 0:
	case min > uint64(t.lim.MaxEntries):
		return &TableLimitError{Table: int64(idx), Declared: min, Limit: t.lim.MaxEntries}
	case t.entries > uint64(t.lim.MaxEntries):
		return &TableLimitError{Table: -1, Declared: t.entries, Limit: t.lim.MaxEntries}
	}
	return nil
}

// imported reads the type of an imported table and counts it.
func (t *tableLimiter) imported(r *reader) error {
	_, _, min, _, err := tableType(r)
	if err != nil {
		return err
	}
	return t.add(min)
}

// tableType reads a table type: a reference type and limits. refEnd is
// the offset where the reference type ends.
func tableType(r *reader) (refEnd int, flags byte, min, max uint64, err error) {
	switch c := r.byte(); c {
	case FuncRef, ExternRef:
	case 0x63, 0x64: // (ref null ht), (ref ht)
		r.sleb()
	default:
		if r.err != nil {
			return 0, 0, 0, 0, ErrMalformed
		}
		return 0, 0, 0, 0, fmt.Errorf("%w: reference type 0x%02x", ErrUnsupported, c)
	}
	refEnd = r.off
	flags, min, max = r.limits()
	switch {
	case r.err != nil:
		return 0, 0, 0, 0, ErrMalformed
	case flags > 1: // shared (invalid) or 64-bit tables
		return 0, 0, 0, 0, fmt.Errorf("%w: table limits 0x%02x", ErrUnsupported, flags)
	case min >= 1<<32 || max >= 1<<32: // wasm32 tables; and no overflow in add
		return 0, 0, 0, 0, ErrMalformed
	}
	return refEnd, flags, min, max, nil
}

// table is one entry of the table section.
type table struct {
	prefix   []byte // 0x40 0x00 of a table with an initializer, then the reference type
	flags    byte
	min, max uint64
	init     []byte // the initializer, rewritten
}

// tableSection returns the table section read from r with every table's
// maximum lowered as LimitTables says.
func (in *instrumenter) tableSection(r *reader) ([]byte, error) {
	t := &in.tables
	n := r.uleb()
	if r.err != nil || n > uint64(len(r.b)) { // each takes three bytes or more
		return nil, ErrMalformed
	}
	tabs := make([]table, 0, n)
	for i := uint64(0); i < n; i++ {
		start := r.off
		init := false
		if r.off < len(r.b) && r.b[r.off] == 0x40 { // a table with an initializer
			r.off++
			if r.byte() != 0x00 {
				return nil, ErrMalformed
			}
			init = true
		}
		refEnd, flags, min, max, err := tableType(r)
		if err != nil {
			return nil, err
		}
		tab := table{prefix: r.b[start:refEnd], flags: flags, min: min, max: max}
		if init {
			if tab.init, err = in.code(nil, r, true); err != nil {
				return nil, err
			}
		}
		if err := t.add(min); err != nil {
			return nil, err
		}
		tabs = append(tabs, tab)
	}
	if r.err != nil || r.off != len(r.b) {
		return nil, ErrMalformed
	}
	if t.lim.MaxEntries > 0 {
		// Share what the minimum sizes leave between the tables that may
		// grow.
		spare := uint64(t.lim.MaxEntries) - t.entries
		growing := uint64(0)
		for _, tab := range tabs {
			if tab.flags == 0 || tab.max > tab.min {
				growing++
			}
		}
		for i := range tabs {
			tab := &tabs[i]
			if tab.flags == 0 || tab.max > tab.min {
				limit := tab.min + spare/growing
				if tab.flags == 0 || tab.max > limit {
					tab.flags, tab.max = 1, limit
				}
			}
		}
	}
	out := AppendULEB(nil, n)
	for _, tab := range tabs {
		out = append(out, tab.prefix...)
		out = append(out, tab.flags)
		out = AppendULEB(out, tab.min)
		if tab.flags == 1 {
			out = AppendULEB(out, tab.max)
		}
		out = append(out, tab.init...)
	}
	return out, nil
}
