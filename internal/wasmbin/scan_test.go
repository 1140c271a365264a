package wasmbin

import (
	"errors"
	"reflect"
	"testing"
)

func TestScan(t *testing.T) {
	bin := Module(
		Section(SectionType, FuncType(nil, nil)),
		Section(SectionImport,
			FuncImport("wasi", "fd_write", 0),
			append(AppendName(AppendName(nil, "env"), "tab"), byte(KindTable), FuncRef, 0x00, 1),
			append(AppendName(AppendName(nil, "env"), "mem"), byte(KindMemory), 0x01, 2, 3),
			append(AppendName(AppendName(nil, "env"), "g"), byte(KindGlobal), I32, 0),
			append(AppendName(AppendName(nil, "env"), "\xff"), byte(KindTag), 0, 0),
		),
		FuncSection(0),
		Section(SectionMemory, []byte{0x00, 5}),
		Section(SectionExport, Export("_start", KindFunc, 5), Export("memory", KindMemory, 0)),
		Section(SectionCode, Body()),
	)
	s, err := Scan(bin)
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, imp := range s.Imports {
		imports = append(imports, imp.String())
	}
	wantImports := []string{"wasi.fd_write", "env.tab (table)", "env.mem (memory)", "env.g (global)", `env."\xff" (tag)`}
	if !reflect.DeepEqual(imports, wantImports) {
		t.Errorf("imports = %q, want %q", imports, wantImports)
	}
	if want := map[string]ExternKind{"_start": KindFunc, "memory": KindMemory}; !reflect.DeepEqual(s.Exports, want) {
		t.Errorf("exports = %v, want %v", s.Exports, want)
	}
	if !s.HasMemory || s.MemoryMinPages != 2 {
		t.Errorf("memory = %v, %d pages; want the imported one's 2 pages", s.HasMemory, s.MemoryMinPages)
	}

	s, err = Scan(Module(Section(SectionMemory, []byte{0x00, 17})))
	if err != nil || !s.HasMemory || s.MemoryMinPages != 17 {
		t.Errorf("defined memory: %+v, %v; want 17 pages", s, err)
	}
	s, err = Scan(Module())
	if err != nil || s.HasMemory || len(s.Imports) != 0 {
		t.Errorf("empty module: %+v, %v", s, err)
	}
}

func TestScanRejectsMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":            nil,
		"not wasm":         []byte("#!/bin/sh\necho hi\n"),
		"section too long": append(Module(), SectionType, 5, 0),
		"bad import kind":  Module(Section(SectionImport, append(AppendName(AppendName(nil, "a"), "b"), 9))),
		"truncated export": Module(AppendSection(nil, SectionExport, []byte{1, 3, 'a'})),
	} {
		if s, err := Scan(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Scan = %+v, %v; want ErrMalformed", name, s, err)
		}
	}
}

func TestDescribeStart(t *testing.T) {
	for _, c := range []struct {
		b    string
		want string
	}{
		{"", "is empty"},
		{"\x00as", "is only 3 bytes long (truncated?)"},
		{"\x7fELF\x02\x01\x01", "is an ELF executable (build with GOOS=wasip1 GOARCH=wasm or --target=wasm32-wasi)"},
		{"MZ\x90\x00", "is a Windows executable"},
		{"PK\x03\x04", "is a zip archive"},
		{"\x1f\x8b\x08\x00", "is gzip-compressed"},
		{"(module\n  (func))", "looks like WebAssembly text (.wat); compile it to binary first, e.g. with wat2wasm"},
		{"#!/bin/sh\necho hello\n", `looks like text (starts with "#!/bin/sh\necho h")`},
		{"abcdefghijklmn€", `looks like text (starts with "abcdefghijklmn\xe2\x82")`}, // a rune cut at 16 bytes
		{"\x01\x02\x03\x04", "starts with bytes 01 02 03 04"},
		{"\xc70", "starts with bytes c7 30"}, // found by FuzzScan: used to panic
		{"\xff", "starts with bytes ff"},
	} {
		if got := DescribeStart([]byte(c.b)); got != c.want {
			t.Errorf("DescribeStart(%q) = %q, want %q", c.b, got, c.want)
		}
	}
}

// FuzzScan checks that Scan and DescribeStart never panic.
func FuzzScan(f *testing.F) {
	for _, b := range seedModules() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := Scan(b); err == nil {
			for _, imp := range s.Imports {
				_ = imp.String()
			}
		}
		_ = DescribeStart(b)
	})
}
