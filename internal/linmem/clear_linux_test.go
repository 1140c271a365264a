//go:build linux

package linmem

import (
	"syscall"
	"testing"
	"unsafe"
)

// present reports whether the page holding b[off] is in memory or swapped
// out, as clearTouched reads it from /proc/self/pagemap.
func present(t *testing.T, b []byte, off int) bool {
	t.Helper()
	var e [8]byte
	addr := uintptr(unsafe.Pointer(&b[off]))
	if _, err := syscall.Pread(pagemap.fd, e[:], int64(addr/uintptr(syscall.Getpagesize()))*8); err != nil {
		t.Fatal(err)
	}
	return *(*uint64)(unsafe.Pointer(&e[0]))&(pmPresent|pmSwapped) != 0
}

// TestClearTouched writes bytes on scattered pages of a fresh mapping
// (first and last byte of the memory, page boundaries, a run of pages) and
// clears it: every byte is zero afterwards, and pages never written are
// still not in memory (clearTouched skipped them instead of zeroing them,
// which would have made them resident).
func TestClearTouched(t *testing.T) {
	ps := syscall.Getpagesize()
	for _, size := range []int{ps, 17 * wasmPage, 600 * ps} { // one page; the 1.1 MiB of a C ABI guest; more than one chunk of entries
		mapping, buf, err := reserve(uint64(size))
		if err != nil {
			t.Skip("no mappings:", err)
		}
		b := buf[:size]
		if err := commit(b); err != nil {
			t.Fatal(err)
		}
		clearTouched(b) // nothing touched: nothing to do
		if pagemap.fd < 0 {
			release(mapping)
			t.Skip("/proc/self/pagemap is not readable")
		}
		writes := []int{0, size - 1}
		if size > ps {
			writes = append(writes, ps-1, ps, 5*ps+7)
			for p := 10 * ps; p < 14*ps && p < size; p += ps {
				writes = append(writes, p+1)
			}
		}
		if size > 520*ps {
			writes = append(writes, 511*ps, 512*ps, 513*ps+3) // around the boundary of a chunk of entries
		}
		for _, off := range writes {
			b[off] = 0xa5
		}
		clearTouched(b)
		for i, c := range b {
			if c != 0 {
				t.Fatalf("size %d: byte %d is %#x after clearTouched", size, i, c)
			}
		}
		release(mapping)
	}

	// Untouched pages stay out of memory: check them before reading.
	const pages = minSkipClear/4096 + 64
	mapping, buf, err := reserve(uint64(pages * ps))
	if err != nil {
		t.Skip(err)
	}
	defer release(mapping)
	b := buf[:pages*ps]
	if err := commit(b); err != nil {
		t.Fatal(err)
	}
	b[2*ps] = 1
	b[40*ps+9] = 2
	b[pages/2*ps] = 3
	clearTouched(b)
	if b[2*ps] != 0 || b[40*ps+9] != 0 || b[pages/2*ps] != 0 {
		t.Fatal("written bytes not cleared")
	}
	for _, p := range []int{0, 1, 3, 39, 41, pages - 1} {
		if present(t, b, p*ps) {
			t.Errorf("page %d, never written, is in memory after clearTouched (it was zeroed needlessly)", p)
		}
	}
}

// BenchmarkClearSmallMemory compares, for a C guest's 128 KiB memory with
// 8 of its 32 pages touched, zeroing all of it with reading the pagemap
// and zeroing only the touched pages: why memories under minSkipClear are
// zeroed whole (BENCHMARKS.md, "The invocation path's own cost").
func BenchmarkClearSmallMemory(b *testing.B) {
	const size, touched = 2 * wasmPage, 8
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Munmap(mem)
	for p := range touched {
		mem[p*(size/touched)] = 1
	}
	clearTouched(mem[:ps]) // opens the pagemap
	if pagemap.fd < 0 {
		b.Skip("the pagemap cannot be read")
	}
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			clear(mem)
		}
	})
	b.Run("pagemap", func(b *testing.B) {
		entries := make([]byte, size/ps*8)
		first := int64(uintptr(unsafe.Pointer(&mem[0])) / uintptr(ps))
		for b.Loop() {
			if _, err := syscall.Pread(pagemap.fd, entries, first*8); err != nil {
				b.Fatal(err)
			}
			for i := range size / ps {
				if *(*uint64)(unsafe.Pointer(&entries[i*8]))&(pmPresent|pmSwapped) != 0 {
					clear(mem[i*ps : (i+1)*ps])
				}
			}
		}
	})
}
