package linmem

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

const (
	wasmPage = 64 << 10
	grown    = 200 << 20
)

// resident returns this process's resident set size (/proc/self/statm).
func resident(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// touch writes one byte in every system page of b.
func touch(b []byte) {
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
}

func needMapping(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("linear memories are mapped on Linux only")
	}
}

// TestFreeReturnsMemory grows a memory to 200 MiB, writes all of it, and
// frees it: the resident set drops by (nearly) all of it, synchronously.
func TestFreeReturnsMemory(t *testing.T) {
	needMapping(t)
	m := New()
	lm := m.Allocate(wasmPage, 256<<20)
	m.Release() // the instantiation is over
	if !m.Mapped() {
		t.Fatal("the memory is not mapped")
	}
	before := resident(t)
	b := lm.Reallocate(grown)
	if len(b) != grown {
		t.Fatalf("Reallocate(%d) returned %d bytes", grown, len(b))
	}
	touch(b)
	peak := resident(t)
	lm.Free()
	after := resident(t)
	t.Logf("RSS before %d MiB, written %d MiB, after Free %d MiB", before>>20, peak>>20, after>>20)
	if peak-before < grown*9/10 {
		t.Fatalf("writing 200 MiB raised the RSS by only %d MiB", (peak-before)>>20)
	}
	if peak-after < grown*9/10 {
		t.Errorf("Free gave back only %d MiB of 200", (peak-after)>>20)
	}
	if m.Mapped() {
		t.Error("still mapped after Free")
	}
	if lm.Reallocate(wasmPage) != nil {
		t.Error("Reallocate after Free did not fail")
	}
}

// TestFreeWhileHeld frees a memory while its guest is (as far as it
// knows) running, as a runtime closed from another goroutine or the guest's
// own proc_exit does: the memory stays as it is, readable and writable,
// until the last Release gives it back.
func TestFreeWhileHeld(t *testing.T) {
	needMapping(t)
	m := New()
	lm := m.Allocate(wasmPage, 256<<20)
	b := lm.Reallocate(grown)
	touch(b)
	lm.Free() // held by New
	if !m.Mapped() {
		t.Fatal("unmapped while held")
	}
	b[0] = 2 // a guest still running writes: no fault
	m.Hold()
	m.Release()
	if !m.Mapped() {
		t.Fatal("unmapped while still held once")
	}
	peak := resident(t)
	m.Release()
	after := resident(t)
	if m.Mapped() {
		t.Error("still mapped after the last Release")
	}
	if peak-after < grown*9/10 {
		t.Errorf("the last Release gave back only %d MiB of 200", (peak-after)>>20)
	}
}

// TestSmallMemoriesAreReused: a freed memory of at most MaxKeep bytes is
// zeroed and given to the next memory of the same maximum; the free list
// stays within its bounds.
func TestSmallMemoriesAreReused(t *testing.T) {
	needMapping(t)
	const max = 64 << 20
	alloc := func(size uint64) (*Memory, []byte) {
		m := New()
		lm := m.Allocate(wasmPage, max)
		m.Release()
		return m, lm.Reallocate(size)
	}
	m, b := alloc(1 << 20)
	for i := range b {
		b[i] = 0xff
	}
	first := &b[0]
	m.Free()
	if n, bytes := Spare(); n == 0 || bytes < 1<<20 {
		t.Fatalf("the freed memory is not kept: %d mappings, %d bytes", n, bytes)
	}
	m2, b2 := alloc(2 << 20)
	if &b2[0] != first {
		t.Fatal("a memory of the same maximum did not reuse the freed mapping")
	}
	for i, c := range b2 {
		if c != 0 {
			t.Fatalf("byte %d of the reused memory is %#x, not zero", i, c)
		}
	}
	touch(b2)
	m2.Free()

	// A different maximum gets a mapping of its own.
	m3 := New()
	lm3 := m3.Allocate(wasmPage, 2*max)
	m3.Release()
	if b3 := lm3.Reallocate(wasmPage); &b3[0] == first {
		t.Error("a memory of another maximum got the freed mapping")
	}
	lm3.Free()

	// Many small memories freed: the list keeps at most its bounds.
	var ms []*Memory
	for range 4*runtime.GOMAXPROCS(0) + 10 {
		m, b := alloc(MaxKeep)
		touch(b)
		ms = append(ms, m)
	}
	for _, m := range ms {
		m.Free()
	}
	if n, bytes := Spare(); n > 4*runtime.GOMAXPROCS(0) || bytes > MaxSpare {
		t.Errorf("the free list holds %d mappings of %d bytes, above its bounds", n, bytes)
	}
}

// TestReallocateBounds: the memory grows up to its maximum and no further,
// and a memory without a maximum of bytes needs no mapping.
func TestReallocateBounds(t *testing.T) {
	m := New()
	defer m.Release()
	lm := m.Allocate(wasmPage, 4*wasmPage)
	defer lm.Free()
	if b := lm.Reallocate(wasmPage); len(b) != wasmPage || cap(b) != wasmPage {
		t.Fatalf("1 page: len %d cap %d", len(b), cap(b))
	}
	b := lm.Reallocate(4 * wasmPage)
	if len(b) != 4*wasmPage {
		t.Fatalf("4 pages: len %d", len(b))
	}
	touch(b)
	if lm.Reallocate(5*wasmPage) != nil {
		t.Error("grew beyond the maximum")
	}
	if second := m.Allocate(0, wasmPage); second == lm {
		t.Error("a second Allocate returned the same memory")
	}

	z := New()
	defer z.Release()
	zm := z.Allocate(0, 0)
	if b := zm.Reallocate(0); b == nil || len(b) != 0 {
		t.Errorf("empty memory: %v", b)
	}
	zm.Free()
}

// TestWithWazero instantiates a module with a memory through wazero with a
// Memory as allocator: the instance's memory is the mapping, grows through
// it, and is unmapped when the instance is closed.
func TestWithWazero(t *testing.T) {
	needMapping(t)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(4096))
	defer rt.Close(ctx)
	// (module (memory (export "memory") 1))
	bin := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0}
	m := New()
	mod, err := rt.InstantiateWithConfig(m.Context(ctx), bin, wazero.NewModuleConfig().WithName(""))
	m.Release()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Mapped() {
		t.Fatal("the instance's memory is not the mapping")
	}
	mem := mod.Memory()
	if _, ok := mem.Grow(3199); !ok {
		t.Fatal("memory.grow failed")
	}
	if !mem.WriteByte(grown-1, 7) {
		t.Fatal("write at the end failed")
	}
	if v, _ := mem.ReadByte(grown - 1); v != 7 {
		t.Fatalf("read %d", v)
	}
	if _, ok := mem.Grow(1000); ok {
		t.Error("grew past the runtime's limit of 4096 pages")
	}
	if err := mod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Mapped() {
		t.Error("still mapped after the instance was closed")
	}
}
