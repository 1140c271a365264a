package wasmbin

import (
	"bytes"
	"errors"
	"testing"
)

// tablesModule is a module with the given table section entries and an
// element segment with ref.func 0, so that renumbering shows.
func tablesModule(imports [][]byte, tables ...[]byte) []byte {
	secs := [][]byte{Section(SectionType, FuncType(nil, nil))}
	if imports != nil {
		secs = append(secs, Section(SectionImport, imports...))
	}
	secs = append(secs, FuncSection(0))
	if tables != nil {
		secs = append(secs, Section(SectionTable, tables...))
	}
	secs = append(secs, Section(SectionCode, Body()))
	return Module(secs...)
}

func tableImport(min uint64) []byte {
	b := AppendName(AppendName(nil, "env"), "t")
	b = append(b, byte(KindTable), FuncRef, 0x00)
	return AppendULEB(b, min)
}

// tab returns a table section entry: funcref with min and, when max >= 0,
// max.
func tab(min uint64, max int64) []byte {
	if max < 0 {
		return AppendULEB([]byte{FuncRef, 0x00}, min)
	}
	return AppendULEB(AppendULEB([]byte{FuncRef, 0x01}, min), uint64(max))
}

func TestLimitTables(t *testing.T) {
	lim := TableLimits{MaxEntries: 1000, MaxTables: 3}
	// A table with an initializer: ref.func 0.
	initTable := func(min uint64, max int64) []byte {
		return append(append([]byte{0x40, 0x00}, tab(min, max)...), 0xd2, 0x00, 0x0b)
	}
	for _, c := range []struct {
		name    string
		imports [][]byte
		in, out [][]byte
	}{
		{"no max", nil, [][]byte{tab(10, -1)}, [][]byte{tab(10, 1000)}},
		{"max above", nil, [][]byte{tab(10, 5000)}, [][]byte{tab(10, 1000)}},
		{"max below", nil, [][]byte{tab(10, 20)}, [][]byte{tab(10, 20)}},
		{"fixed at the limit", nil, [][]byte{tab(1000, 1000)}, [][]byte{tab(1000, 1000)}},
		{"spare shared", nil, [][]byte{tab(100, -1), tab(200, 200), tab(0, 99999)}, [][]byte{tab(100, 450), tab(200, 200), tab(0, 350)}},
		{"small max keeps its share", nil, [][]byte{tab(0, 10), tab(0, -1)}, [][]byte{tab(0, 10), tab(0, 500)}},
		{"imported minimum counts", [][]byte{tableImport(600)}, [][]byte{tab(0, -1)}, [][]byte{tab(0, 400)}},
		{"initializer", nil, [][]byte{initTable(1, -1)}, [][]byte{initTable(1, 1000)}},
	} {
		in := tablesModule(c.imports, c.in...)
		got, err := LimitTables(in, lim)
		if want := tablesModule(c.imports, c.out...); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: LimitTables =\n% x, %v; want\n% x", c.name, got, err, want)
		}
		if got, err := LimitTables(in, TableLimits{}); err != nil || !bytes.Equal(got, in) {
			t.Errorf("%s: LimitTables without limits =\n% x, %v; want the module unchanged", c.name, got, err)
		}
		ins, err := Instrument(in, Options{Interval: 100, Module: testModule, Func: testFunc, Tables: lim})
		if err != nil {
			t.Fatalf("%s: Instrument: %v", c.name, err)
		}
		if !bytes.Contains(ins, Section(SectionTable, c.out...)) && !bytes.Contains(ins, Section(SectionTable, bytes.ReplaceAll(bytes.Join(c.out, nil), []byte{0xd2, 0x00}, []byte{0xd2, 0x01}))) {
			t.Errorf("%s: Instrument's tables are not bounded:\n% x", c.name, ins)
		}
	}
}

func TestLimitTablesErrors(t *testing.T) {
	lim := TableLimits{MaxEntries: 1_000_000, MaxTables: 3}
	for _, c := range []struct {
		name string
		bin  []byte
		want string
	}{
		{"table above", tablesModule(nil, tab(1, -1), tab(20_000_000, -1)),
			"table 1 declares 20000000 entries, above the limit of 1000000 entries per table"},
		{"imported table above", tablesModule([][]byte{tableImport(1_000_001)}),
			"table 0 declares 1000001 entries, above the limit of 1000000 entries per table"},
		{"all tables above", tablesModule([][]byte{tableImport(400_000)}, tab(400_000, -1), tab(400_000, 400_000)),
			"the module's tables declare 1200000 entries in all, above the limit of 1000000 table entries per module"},
		{"too many tables", tablesModule(nil, tab(0, -1), tab(0, -1), tab(0, -1), tab(0, -1)),
			"the module declares 4 tables, above the limit of 3 tables per module"},
	} {
		_, err := LimitTables(c.bin, lim)
		var tle *TableLimitError
		if !errors.As(err, &tle) || err.Error() != c.want {
			t.Errorf("%s: LimitTables error = %v, want %q", c.name, err, c.want)
		}
		_, err = Instrument(c.bin, Options{Interval: 100, Module: testModule, Func: testFunc, Tables: lim})
		if !errors.As(err, &tle) || err.Error() != c.want {
			t.Errorf("%s: Instrument error = %v, want %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		bin  []byte
		want error
	}{
		{"shared table", tablesModule(nil, []byte{FuncRef, 0x03, 1, 1}), ErrUnsupported},
		{"64-bit table", tablesModule(nil, []byte{FuncRef, 0x04, 1}), ErrUnsupported},
		{"unknown reference type", tablesModule(nil, []byte{0x60, 0x00, 1}), ErrUnsupported},
		{"min above 2^32", tablesModule(nil, AppendULEB([]byte{FuncRef, 0x00}, 1<<32)), ErrMalformed},
		{"truncated", tablesModule(nil, tab(1, 2))[:30], ErrMalformed},
	} {
		if _, err := LimitTables(c.bin, lim); !errors.Is(err, c.want) {
			t.Errorf("%s: LimitTables error = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestLimitTablesNeverPanics feeds LimitTables prefixes and corruptions of
// a module with tables.
func TestLimitTablesNeverPanics(t *testing.T) {
	bin := tablesModule([][]byte{tableImport(3)}, tab(1, -1), append([]byte{0x40, 0x00}, append(tab(1, 9), 0xd2, 0x00, 0x0b)...))
	for n := 0; n < len(bin); n++ {
		checkLimitTables(t, bin[:n])
	}
	for i := 8; i < len(bin); i++ {
		for _, x := range []byte{0x01, 0x40, 0x80, 0xff} {
			b := bytes.Clone(bin)
			b[i] ^= x
			checkLimitTables(t, b)
		}
	}
}

func checkLimitTables(t *testing.T, bin []byte) {
	lim := TableLimits{MaxEntries: 100, MaxTables: 2}
	_, err := LimitTables(bin, lim)
	var tle *TableLimitError
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.As(err, &tle) {
		t.Fatalf("LimitTables(% x) = %v, neither malformed, unsupported nor above the limits", bin, err)
	}
}
