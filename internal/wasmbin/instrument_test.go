package wasmbin

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	testModule = "guard"
	testFunc   = "yield"
)

// custom returns a custom section.
func custom(name string, content []byte) []byte {
	return AppendSection(nil, SectionCustom, append(AppendName(nil, name), content...))
}

// funcNames returns the content of a name section naming functions.
func funcNames(names ...string) []byte {
	items := make([][]byte, len(names))
	for i, n := range names {
		items[i] = AppendName(AppendULEB(nil, uint64(i)), n)
	}
	return AppendSection(nil, 1, AppendVec(nil, items...))
}

// richModule uses every kind of index Instrument renumbers: an imported
// function (0) and two defined ones (1, 2), calls, exports, a start
// function, an element segment, ref.func and a name section.
func richModule() []byte {
	return Module(
		Section(SectionType, FuncType(nil, nil)),
		Section(SectionImport, FuncImport("env", "f", 0)),
		FuncSection(0, 0),
		Section(SectionTable, []byte{FuncRef, 0x00, 2}),
		Section(SectionMemory, []byte{0x00, 1}),
		Section(SectionGlobal, []byte{I32, 0x00, 0x41, 7, 0x0b}),
		Section(SectionExport, Export("_start", KindFunc, 2), Export("memory", KindMemory, 0), Export("f", KindFunc, 0)),
		AppendSection(nil, SectionStart, []byte{1}),
		Section(SectionElement, []byte{0x00, 0x41, 0x00, 0x0b, 2, 1, 0}),
		Section(SectionCode,
			Body(0x10, 0x02),                         // call 2
			Body(0x03, 0x40, 0xd2, 0x01, 0x1a, 0x0b), // loop; ref.func 1; drop; end
		),
		custom("name", funcNames("f", "a", "b")),
		custom(".debug_info", []byte{1, 2, 3}),
		custom("other", []byte{4, 5}),
	)
}

func seedModules() [][]byte {
	return [][]byte{
		richModule(),
		Module( // bulk instructions, tables with and without an initializer
			Section(SectionType, FuncType([]byte{I32}, nil)),
			FuncSection(0),
			Section(SectionTable, []byte{FuncRef, 0x00, 1}, []byte{0x40, 0x00, FuncRef, 0x01, 1, 5, 0xd2, 0x00, 0x0b}),
			Section(SectionMemory, []byte{0x00, 1}),
			Section(SectionCode, Body(0x41, 0x00, 0x41, 0x00, 0x20, 0x00, 0xfc, 11, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x80, 0x10, 0xfc, 10, 0x00, 0x00)),
		),
		Module(),
		Module(
			Section(SectionType, FuncType([]byte{I32}, []byte{I64})),
			FuncSection(0),
			Section(SectionCode, Body(0x02, 0x40, 0x0e, 0x01, 0x00, 0x00, 0x0b, 0x42, 0x7f)), // block; br_table 0 0; end; i64.const -1
		),
	}
}

// TestInstrument compares the instrumentation of richModule with the
// module written out by hand.
func TestInstrument(t *testing.T) {
	got, err := Instrument(richModule(), Options{Interval: 100, Module: testModule, Func: testFunc})
	if err != nil {
		t.Fatal(err)
	}
	// The fuel is global 1; the guard function is function 1.
	check := []byte{
		0x23, 1, // global.get $fuel
		0x45,       // i32.eqz
		0x04, 0x40, // if
		0x41, 0xe4, 0x00, // i32.const 100
		0x24, 1, // global.set $fuel
		0x10, 1, // call $yield
		0x0b,    // end
		0x23, 1, // global.get $fuel
		0x41, 1, // i32.const 1
		0x6b,    // i32.sub
		0x24, 1, // global.set $fuel
	}
	code := func(c ...[]byte) []byte {
		b := append([]byte{0x00}, bytes.Join(c, nil)...) // no locals
		return append(AppendULEB(nil, uint64(len(b))), b...)
	}
	want := Module(
		Section(SectionType, FuncType(nil, nil), FuncType(nil, nil)),
		Section(SectionImport, FuncImport("env", "f", 0), FuncImport(testModule, testFunc, 1)),
		FuncSection(0, 0),
		Section(SectionTable, []byte{FuncRef, 0x00, 2}),
		Section(SectionMemory, []byte{0x00, 1}),
		Section(SectionGlobal, []byte{I32, 0x00, 0x41, 7, 0x0b}, []byte{I32, 0x01, 0x41, 0xe4, 0x00, 0x0b}),
		Section(SectionExport, Export("_start", KindFunc, 3), Export("memory", KindMemory, 0), Export("f", KindFunc, 0)),
		AppendSection(nil, SectionStart, []byte{2}),
		Section(SectionElement, []byte{0x00, 0x41, 0x00, 0x0b, 2, 2, 0}),
		Section(SectionCode,
			code(check, []byte{0x10, 0x03, 0x0b}),
			code(check, []byte{0x03, 0x40}, check, []byte{0xd2, 0x02, 0x1a, 0x0b, 0x0b}),
		),
		AppendSection(nil, SectionCustom, append(AppendName(nil, "name"),
			AppendSection(nil, 1, []byte{3, 0, 1, 'f', 2, 1, 'a', 3, 1, 'b'})...)),
		custom("other", []byte{4, 5}),
	)
	if !bytes.Equal(got, want) {
		t.Errorf("instrumented =\n% x\nwant\n% x", got, want)
	}
}

// TestInstrumentAddsMissingSections instruments modules without types,
// imports or globals.
func TestInstrumentAddsMissingSections(t *testing.T) {
	types := Section(SectionType, FuncType(nil, nil))
	imports := Section(SectionImport, FuncImport(testModule, testFunc, 0))
	globals := Section(SectionGlobal, []byte{I32, 0x01, 0x41, 0x80, 0x01, 0x0b}) // mutable i32 = 128
	memory := Section(SectionMemory, []byte{0x00, 1})
	for _, c := range []struct {
		name    string
		in, out []byte
	}{
		{"empty", Module(), Module(types, imports, globals)},
		{"memory only", Module(memory), Module(types, imports, memory, globals)},
		{"custom first", Module(custom("c", nil), memory), Module(custom("c", nil), types, imports, memory, globals)},
	} {
		got, err := Instrument(c.in, Options{Interval: 128, Module: testModule, Func: testFunc})
		if err != nil || !bytes.Equal(got, c.out) {
			t.Errorf("%s: Instrument =\n% x, %v; want\n% x", c.name, got, err, c.out)
		}
	}
}

func TestInstrumentErrors(t *testing.T) {
	spin := Body(0x03, 0x40, 0x0c, 0x00, 0x0b)
	twice, err := Instrument(richModule(), Options{Interval: 100, Module: testModule, Func: testFunc})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		bin  []byte
		want error
		msg  string
	}{
		{"not wasm", []byte("(module)"), ErrMalformed, ""},
		{"version 2", append([]byte(Magic), 2, 0, 0, 0), ErrMalformed, ""},
		{"truncated", richModule()[:len(richModule())-1], ErrMalformed, ""},
		{"imports the guard", Module(
			Section(SectionType, FuncType(nil, nil)),
			Section(SectionImport, FuncImport(testModule, "other", 0)),
		), ErrUnsupported, "the module imports from guard, a name reserved by the worker"},
		{"instrumented twice", twice, ErrUnsupported, "reserved"},
		{"sections out of order", Module(
			Section(SectionType, FuncType(nil, nil)),
			Section(SectionExport),
			FuncSection(0),
		), ErrUnsupported, "section 3 out of order or unknown"},
		{"unknown section", Module(AppendSection(nil, 14, nil)), ErrUnsupported, "section 14 out of order or unknown"},
		{"non-function type", Module(Section(SectionType, []byte{0x5f, 0})), ErrUnsupported, "non-function type"},
		{"typed reference", Module(Section(SectionType, FuncType([]byte{0x63}, nil))), ErrUnsupported, "value type 0x63"},
		{"unknown opcode", Module(
			Section(SectionType, FuncType(nil, nil)),
			FuncSection(0),
			Section(SectionCode, Body(0x06)),
		), ErrUnsupported, "opcode 0x06"},
		{"body without end", Module(
			Section(SectionType, FuncType(nil, nil)),
			FuncSection(0),
			Section(SectionCode, []byte{2, 0x00, 0x01}),
		), ErrMalformed, ""},
		{"loop without end", Module(
			Section(SectionType, FuncType(nil, nil)),
			FuncSection(0),
			Section(SectionCode, spin[:len(spin)-1]),
		), ErrMalformed, ""},
	} {
		out, err := Instrument(c.bin, Options{Interval: 100, Module: testModule, Func: testFunc})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Instrument = % x, %v; want %v containing %q", c.name, out, err, c.want, c.msg)
		}
	}
}

// TestInstrumentNeverPanics feeds Instrument every prefix and single-byte
// corruptions of richModule (the engine's tests do the same with a Go
// guest).
func TestInstrumentNeverPanics(t *testing.T) {
	bin := richModule()
	for n := 0; n < len(bin); n++ {
		checkInstrument(t, bin[:n])
	}
	for i := 8; i < len(bin); i++ {
		for _, x := range []byte{0x01, 0x40, 0x80, 0xff} {
			b := bytes.Clone(bin)
			b[i] ^= x
			checkInstrument(t, b)
		}
	}
}

// FuzzInstrument checks that Instrument never panics, and what it can of
// its output without compiling it.
func FuzzInstrument(f *testing.F) {
	for _, b := range seedModules() {
		f.Add(b)
	}
	f.Fuzz(checkInstrument)
}

// checkInstrument instruments bin; when that succeeds, it checks that the
// output scans like the input with the guard import added, and that it
// cannot be instrumented again.
func checkInstrument(t *testing.T, bin []byte) {
	checkLimitTables(t, bin)
	out, err := Instrument(bin, Options{Interval: 100, Module: testModule, Func: testFunc})
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Instrument(% x) = %v, neither malformed nor unsupported", bin, err)
		}
		return
	}
	if _, err := Instrument(out, Options{Interval: 100, Module: testModule, Func: testFunc}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("instrumenting % x twice: err = %v, want ErrUnsupported", bin, err)
	}
	in, err := Scan(bin)
	if err != nil {
		return // Instrument does not read every section Scan reads
	}
	sum, err := Scan(out)
	if err != nil {
		t.Fatalf("Scan(Instrument(% x)): %v", bin, err)
	}
	guard := Import{Module: testModule, Name: testFunc, Kind: KindFunc}
	if n := len(in.Imports); len(sum.Imports) != n+1 || sum.Imports[n] != guard {
		t.Fatalf("imports of % x: %v, then %v", bin, in.Imports, sum.Imports)
	}
	if len(sum.Exports) != len(in.Exports) || sum.HasMemory != in.HasMemory || sum.MemoryMinPages != in.MemoryMinPages {
		t.Fatalf("summary of % x: %+v, then %+v", bin, in, sum)
	}
}

// TestInstrumentBulk checks the charges added before bulk instructions: of
// a length computed at run time, with the i32 local it adds after the
// parameters and the locals; of a constant length, computed at
// instrumentation; and none for a small constant length.
func TestInstrumentBulk(t *testing.T) {
	bin := Module(
		Section(SectionType, FuncType([]byte{I32}, nil)),
		FuncSection(0, 0, 0, 0),
		Section(SectionTable, []byte{FuncRef, 0x01, 2, 2}),
		Section(SectionMemory, []byte{0x00, 1}),
		Section(SectionCode,
			// (local i64) local.get 0; i32.const 7; local.get 0; memory.fill 0
			append([]byte{13, 0x01, 0x01, I64, 0x20, 0x00, 0x41, 0x07, 0x20, 0x00, 0xfc, 11, 0x00}, 0x0b),
			Body(0x41, 0x00, 0x41, 0x01, 0x41, 0xf0, 0xa2, 0x04, 0xfc, 10, 0x00, 0x00), // memory.copy of 70000 bytes
			Body(0x41, 0x00, 0x41, 0x01, 0x41, 0xff, 0x00, 0xfc, 14, 0x00, 0x00),       // table.copy of 127 entries
			Body(0x41, 0x00, 0x41, 0x01, 0x41, 0x80, 0x01, 0xfc, 14, 0x00, 0x00),       // table.copy of 128 entries
		),
	)
	got, err := Instrument(bin, Options{Interval: 100, Module: testModule, Func: testFunc})
	if err != nil {
		t.Fatal(err)
	}
	// The fuel is global 0; the guard function is function 0.
	check := []byte{0x23, 0, 0x45, 0x04, 0x40, 0x41, 0xe4, 0x00, 0x24, 0, 0x10, 0, 0x0b, 0x23, 0, 0x41, 1, 0x6b, 0x24, 0}
	refuel := []byte{
		0x6b, 0x24, 0, // i32.sub; global.set $fuel
		0x23, 0, 0x41, 0, 0x48, 0x04, 0x40, // if fuel < 0
		0x41, 0xe4, 0x00, 0x24, 0, 0x10, 0, 0x0b, // fuel = 100; call $guard; end
	}
	dynamic := func(local, shift byte) []byte {
		b := []byte{0x22, local, 0x23, 0, 0x20, local, 0x41, shift, 0x76} // local.tee $len; fuel; len >> shift
		return append(b, refuel...)
	}
	static := func(cost int64) []byte {
		return append(AppendSLEB([]byte{0x23, 0, 0x41}, cost), refuel...)
	}
	code := func(c ...[]byte) []byte {
		b := bytes.Join(c, nil)
		return append(AppendULEB(nil, uint64(len(b))), b...)
	}
	want := Module(
		Section(SectionType, FuncType([]byte{I32}, nil), FuncType(nil, nil)),
		Section(SectionImport, FuncImport(testModule, testFunc, 1)),
		FuncSection(0, 0, 0, 0),
		Section(SectionTable, []byte{FuncRef, 0x01, 2, 2}),
		Section(SectionMemory, []byte{0x00, 1}),
		Section(SectionGlobal, []byte{I32, 0x01, 0x41, 0xe4, 0x00, 0x0b}),
		Section(SectionCode,
			code([]byte{0x02, 0x01, I64, 0x01, I32}, check, []byte{0x20, 0x00, 0x41, 0x07, 0x20, 0x00},
				dynamic(2, 6), []byte{0xfc, 11, 0x00, 0x0b}),
			code([]byte{0x00}, check, []byte{0x41, 0x00, 0x41, 0x01, 0x41, 0xf0, 0xa2, 0x04},
				static(70000>>6), []byte{0xfc, 10, 0x00, 0x00, 0x0b}),
			code([]byte{0x00}, check, []byte{0x41, 0x00, 0x41, 0x01, 0x41, 0xff, 0x00, 0xfc, 14, 0x00, 0x00, 0x0b}),
			code([]byte{0x00}, check, []byte{0x41, 0x00, 0x41, 0x01, 0x41, 0x80, 0x01},
				static(16), []byte{0xfc, 14, 0x00, 0x00, 0x0b}),
		),
	)
	if !bytes.Equal(got, want) {
		t.Errorf("instrumented =\n% x\nwant\n% x", got, want)
	}
}

// TestInstrumentMark checks what Options.Mark adds: the mark import, a call
// of it before each direct call of a tracked import, an export of every
// mutable global, and the resettable export only when nothing in the
// module changes state a reset misses.
func TestInstrumentMark(t *testing.T) {
	const i32i32 = 1 // type index of (i32) -> (i32)
	module := func(extra ...byte) []byte {
		body := []byte{0x41, 0x00, 0x10, 0x00, 0x1a, 0x41, 0x00, 0x10, 0x01, 0x1a} // fd_close(0); fd_write(0)
		return Module(
			Section(SectionType, FuncType(nil, nil), FuncType([]byte{I32}, []byte{I32})),
			Section(SectionImport, FuncImport("wasi", "fd_close", i32i32), FuncImport("wasi", "fd_write", i32i32)),
			FuncSection(0),
			Section(SectionTable, []byte{FuncRef, 0x00, 1}),
			Section(SectionMemory, []byte{0x00, 1}),
			Section(SectionGlobal, []byte{I32, 0x01, 0x41, 0x00, 0x0b}, []byte{I64, 0x00, 0x42, 0x00, 0x0b}, []byte{I64, 0x01, 0x42, 0x00, 0x0b}),
			Section(SectionExport, Export("_start", KindFunc, 2), Export("memory", KindMemory, 0)),
			Section(SectionCode, Body(append(body, extra...)...)),
		)
	}
	opt := Options{Interval: 100, Module: testModule, Func: testFunc, Mark: "mark",
		Tracked: func(module, name string) bool { return module == "wasi" && name == "fd_close" }}
	// Imports 0, 1 are the module's, 2 the guard, 3 the mark; the fuel is
	// global 3.
	markThenClose := []byte{0x41, 0x00, 0x10, 0x03, 0x10, 0x00}
	plainWrite := []byte{0x1a, 0x41, 0x00, 0x10, 0x01}
	globals := [][]byte{Export(testModule+".global0", KindGlobal, 0), Export(testModule+".global1", KindGlobal, 2)}
	resettable := Export(testModule+".resettable", KindGlobal, 3)
	for _, c := range []struct {
		name      string
		extra     []byte
		resetting bool
	}{
		{"plain", nil, true},
		{"table.set", []byte{0x41, 0x00, 0xd0, 0x70, 0x26, 0x00}, false}, // table.set 0 (i32.const 0) (ref.null func)
		{"ref.func of a tracked import", []byte{0xd2, 0x00, 0x1a}, false},
		{"data.drop", []byte{0xfc, 0x09, 0x00}, false},
	} {
		got, err := Instrument(module(c.extra...), opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Contains(got, markThenClose) {
			t.Errorf("%s: no call of the mark before the tracked import:\n% x", c.name, got)
		}
		if !bytes.Contains(got, plainWrite) {
			t.Errorf("%s: the untracked import's call changed:\n% x", c.name, got)
		}
		if !bytes.Contains(got, FuncImport(testModule, "mark", 2)) {
			t.Errorf("%s: no mark import:\n% x", c.name, got)
		}
		for _, g := range globals {
			if !bytes.Contains(got, g) {
				t.Errorf("%s: mutable global not exported (% x):\n% x", c.name, g, got)
			}
		}
		if bytes.Contains(got, resettable) != c.resetting {
			t.Errorf("%s: resettable export present = %v, want %v:\n% x", c.name, !c.resetting, c.resetting, got)
		}
	}
}

// TestMergeData checks which data sections Options.MergeData joins: runs
// of ascending active segments with gaps of at most dataGap bytes become
// one segment with the gaps zeroed; anything else is left as it is.
func TestMergeData(t *testing.T) {
	seg := func(off int64, data string) []byte {
		b := []byte{0x00, 0x41}
		b = AppendSLEB(b, off)
		b = append(b, 0x0b)
		b = AppendULEB(b, uint64(len(data)))
		return append(b, data...)
	}
	mod := func(data []byte, extra ...[]byte) []byte {
		secs := [][]byte{Section(SectionMemory, []byte{0x00, 1})}
		secs = append(secs, extra...)
		return Module(append(secs, AppendSection(nil, SectionData, data))...)
	}
	opt := Options{Interval: 100, Module: testModule, Func: testFunc, MergeData: true}
	for _, c := range []struct {
		name     string
		in, want []byte
	}{
		{"joined", append([]byte{3}, append(append(seg(0, "ab"), seg(4, "cd")...), seg(5000, "ef")...)...),
			append([]byte{2}, append(seg(0, "ab\x00\x00cd"), seg(5000, "ef")...)...)},
		{"descending", append([]byte{2}, append(seg(8, "ab"), seg(0, "cd")...)...), nil},
		// The gap between the last two holds the first segment's bytes: not filled.
		{"gap written by another", append([]byte{3}, append(append(seg(4, "xy"), seg(0, "ab")...), seg(8, "cd")...)...), nil},
		{"after a descent", append([]byte{4}, append(append(append(seg(100, "xy"), seg(0, "ab")...), seg(4, "cd")...), seg(7, "e")...)...),
			append([]byte{2}, append(seg(100, "xy"), seg(0, "ab\x00\x00cd\x00e")...)...)},
		{"passive", append([]byte{2}, append(seg(0, "ab"), 0x01, 2, 'c', 'd')...), nil},
		{"far apart", append([]byte{2}, append(seg(0, "ab"), seg(4096, "cd")...)...), nil},
		// Offsets outside the i32 range make the module invalid: left for
		// wazero to refuse, not merged into a valid segment at offset 0.
		{"beyond i32", append([]byte{2}, append(seg(1<<32, "ab"), seg(1<<32+4, "cd")...)...), nil},
	} {
		got, err := Instrument(mod(c.in), opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := c.want
		if want == nil {
			want = c.in
		}
		if !bytes.HasSuffix(got, AppendSection(nil, SectionData, want)) {
			t.Errorf("%s: data section of\n% x\nwant\n% x", c.name, got, want)
		}
	}
}
