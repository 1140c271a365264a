package wasmbin

import (
	"errors"
	"strings"
	"testing"
)

// oneFunc returns a module whose only function has the given locals
// declaration and code (without the final end).
func oneFunc(locals []byte, code ...byte) []byte {
	body := append(append([]byte{}, locals...), code...)
	body = append(body, 0x0b)
	fn := AppendULEB(nil, uint64(len(body)))
	fn = append(fn, body...)
	return Module(
		Section(SectionType, FuncType(nil, nil)),
		FuncSection(0),
		Section(SectionCode, fn),
	)
}

func nested(depth int) []byte {
	var code []byte
	for range depth {
		code = append(code, 0x02, 0x40)
	}
	for range depth {
		code = append(code, 0x0b)
	}
	return code
}

func TestCodeLimits(t *testing.T) {
	lim := CodeLimits{MaxBodyBytes: 1000, MaxLocals: 100, MaxDepth: 50, MaxBrTable: 20}
	brTable := func(n int) []byte {
		code := []byte{0x02, 0x40, 0x41, 0x00, 0x0e}
		code = AppendULEB(code, uint64(n))
		for range n + 1 {
			code = append(code, 0x00)
		}
		return append(code, 0x0b)
	}
	locals := func(n uint64) []byte { return append(AppendULEB([]byte{0x01}, n), I32) }
	for _, c := range []struct {
		name string
		bin  []byte
		what string // "" when within the limits
	}{
		{"within", oneFunc(locals(100), append(nested(50), brTable(20)...)...), ""},
		{"deep", oneFunc([]byte{0x00}, nested(51)...), "nested blocks"},
		{"locals", oneFunc(locals(101)), "locals"},
		{"br_table", oneFunc([]byte{0x00}, brTable(21)...), "br_table targets"},
		{"body", oneFunc([]byte{0x00}, make([]byte, 1000)...), "bytes of code"}, // 1000 nops
	} {
		_, err := Instrument(c.bin, Options{Interval: 100, Module: "g", Func: "y", Code: lim})
		var cle *CodeLimitError
		switch {
		case c.what == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.what != "" && (!errors.As(err, &cle) || cle.What != c.what || !strings.Contains(err.Error(), "above the limit of")):
			t.Errorf("%s: error %v, want a CodeLimitError about %s", c.name, err, c.what)
		}
		if _, err := Instrument(c.bin, Options{Interval: 100, Module: "g", Func: "y"}); err != nil {
			t.Errorf("%s without limits: %v", c.name, err)
		}
	}
	m, err := MeasureCode(oneFunc(locals(7), append(nested(9), brTable(5)...)...))
	if err != nil || m.MaxLocals != 7 || m.MaxDepth != 9 || m.MaxBrTable != 5 || m.MaxBodyBytes == 0 {
		t.Errorf("MeasureCode = %+v, %v", m, err)
	}
}
