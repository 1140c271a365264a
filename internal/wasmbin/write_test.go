package wasmbin

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestLEBKnownEncodings(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{624485, []byte{0xe5, 0x8e, 0x26}},
		{math.MaxUint64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	} {
		if got := AppendULEB(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("AppendULEB(%d) = % x, want % x", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0x00}},
		{63, []byte{0x3f}},
		{64, []byte{0xc0, 0x00}},
		{-1, []byte{0x7f}},
		{-64, []byte{0x40}},
		{-65, []byte{0xbf, 0x7f}},
		{-123456, []byte{0xc0, 0xbb, 0x78}},
	} {
		if got := AppendSLEB(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("AppendSLEB(%d) = % x, want % x", c.v, got, c.want)
		}
	}
}

// TestLEBRoundTrip reads back what the encoders write.
func TestLEBRoundTrip(t *testing.T) {
	var us []uint64
	var ss []int64
	for shift := 0; shift < 64; shift++ {
		v := uint64(1) << shift
		us = append(us, v-1, v, v+1)
		ss = append(ss, int64(v)-1, int64(v), -int64(v), -int64(v)-1)
	}
	us = append(us, math.MaxUint64)
	ss = append(ss, math.MaxInt64, math.MinInt64)
	for _, v := range us {
		r := &reader{b: AppendULEB([]byte{0xaa}, v), off: 1}
		if got := r.uleb(); got != v || r.err != nil || r.off != len(r.b) {
			t.Errorf("uleb(AppendULEB(%d)) = %d, err %v, %d of %d bytes read", v, got, r.err, r.off, len(r.b))
		}
	}
	for _, v := range ss {
		r := &reader{b: AppendSLEB(nil, v)}
		if got := r.sleb(); got != v || r.err != nil || r.off != len(r.b) {
			t.Errorf("sleb(AppendSLEB(%d)) = %d, err %v, %d of %d bytes read", v, got, r.err, r.off, len(r.b))
		}
	}
}

func TestReaderRejectsOverlongAndTruncatedLEB(t *testing.T) {
	for _, b := range [][]byte{
		bytes.Repeat([]byte{0x80}, 10), // 11 bytes at least
		{0x80, 0x80},                   // truncated
		{},
	} {
		r := &reader{b: b}
		if r.uleb(); !errors.Is(r.err, ErrMalformed) {
			t.Errorf("uleb(% x): err = %v", b, r.err)
		}
		r = &reader{b: b}
		if r.sleb(); !errors.Is(r.err, ErrMalformed) {
			t.Errorf("sleb(% x): err = %v", b, r.err)
		}
	}
}

func TestBuilders(t *testing.T) {
	got := Module(
		Section(SectionType, FuncType([]byte{I32, I64}, []byte{F64})),
		Section(SectionImport, FuncImport("m", "f", 0)),
		FuncSection(0),
		Section(SectionExport, Export("e", KindFunc, 1)),
		Section(SectionCode, Body(0x01)),
		AppendSection(nil, SectionCustom, AppendName(nil, "c")),
	)
	want := []byte{
		0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
		1, 7, 1, 0x60, 2, 0x7f, 0x7e, 1, 0x7c,
		2, 7, 1, 1, 'm', 1, 'f', 0, 0,
		3, 2, 1, 0,
		7, 5, 1, 1, 'e', 0, 1,
		10, 5, 1, 3, 0, 0x01, 0x0b,
		0, 2, 1, 'c',
	}
	if !bytes.Equal(got, want) {
		t.Errorf("module =\n% x, want\n% x", got, want)
	}
}
