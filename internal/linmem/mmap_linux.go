//go:build linux

package linmem

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on the systems the
// worker runs on (x86-64 and arm64 with 4 KiB pages).
const hugePage = 2 << 20

// reserve maps n bytes of address space, private and anonymous, with no
// access: nothing is resident or committed until commit. It returns the
// whole mapping (for release) and n bytes of it starting on a huge-page
// boundary, advised to be backed by transparent huge pages where the
// system allows them: a fresh memory then faults in 2 MiB at a time instead
// of 4 KiB (a guest writing 200 MiB of fresh memory: 0.65 s with 4 KiB
// pages, 25-45 ms with huge pages; BenchmarkFreshInstance in
// internal/engine).
func reserve(n uint64) (mapping, mem []byte, err error) {
	if n > uint64(^uint(0)>>1)-hugePage {
		return nil, nil, fmt.Errorf("reserve %d bytes: larger than the address space", n)
	}
	mapping, err = syscall.Mmap(-1, 0, int(n)+hugePage, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, nil, fmt.Errorf("reserve %d bytes: %w", n, err)
	}
	skip := (hugePage - uintptr(unsafe.Pointer(unsafe.SliceData(mapping)))%hugePage) % hugePage
	mem = mapping[skip : skip+uintptr(n) : skip+uintptr(n)]
	_ = syscall.Madvise(mem, syscall.MADV_HUGEPAGE) // where the system allows them; advice only
	return mapping, mem, nil
}

// commit makes b (page-aligned) readable and writable; its pages read as
// zero and become resident as they are touched.
func commit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		return fmt.Errorf("commit %d bytes: %w", len(b), err)
	}
	return nil
}

// release unmaps a mapping reserve returned.
func release(mapping []byte) {
	_ = syscall.Munmap(mapping)
}

// pagemap is /proc/self/pagemap, opened once: one 64-bit entry per virtual
// page of the process, bit 63 set when the page is present in memory, bit
// 62 when it is swapped out (or another swap-type entry, such as a page
// being migrated).
var pagemap struct {
	once sync.Once
	fd   int // -1 when unreadable
}

const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
)

// minSkipClear is the smallest memory clearTouched reads the pagemap for:
// reading it is a system call of some microseconds, about the time it
// takes to zero 256 KiB, so smaller memories are zeroed whole.
const minSkipClear = 512 << 10

// minSkipCompare is the smallest memory Capture and Restore read the
// pagemap for. They only read the pages they are given (Restore writes
// the few that differ), and reading a page costs less than zeroing it: a
// C guest's 128 KiB took 1.7 µs to compare whole, and 0.75 µs to read the
// pagemap (0.45 µs) and compare the five pages its run touched
// (BenchmarkRestoreSmallMemory; BENCHMARKS.md, "The same machine, an
// eleventh session").
// Below 64 KiB a whole compare costs about what the system call does.
const minSkipCompare = 64 << 10

// entryChunk is how many pagemap entries clearTouched reads at once.
const entryChunk = 512

var entryBufs = sync.Pool{New: func() any { return new([entryChunk * 8]byte) }}

// clearTouched zeroes b, a committed part of a reserved private anonymous
// mapping, skipping pages the kernel reports neither present nor swapped:
// such a page was never written since it was mapped (reading it gives
// zeroes), so there is nothing to clear. A guest with a 1 MiB stack of
// which it used some KiB leaves most of its memory untouched, and zeroing
// all of it was the largest cost of a fresh C instance. When the pagemap
// cannot be read, all of b is zeroed.
func clearTouched(b []byte) {
	touchedRuns(b, minSkipClear, func(run []byte) { clear(run) })
}

// touchedRuns calls f with each run of pages of b that may have been
// written (see clearTouched): all of b when b is smaller than minSkip, not
// page-aligned, or the pagemap cannot be read.
func touchedRuns(b []byte, minSkip int, f func(run []byte)) {
	pagemap.once.Do(func() {
		fd, err := syscall.Open("/proc/self/pagemap", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			fd = -1
		}
		pagemap.fd = fd
	})
	ps := syscall.Getpagesize()
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if pagemap.fd < 0 || len(b) < minSkip || addr%uintptr(ps) != 0 || len(b)%ps != 0 {
		f(b)
		return
	}
	buf := entryBufs.Get().(*[entryChunk * 8]byte)
	defer entryBufs.Put(buf)
	pages := len(b) / ps
	first := int64(addr / uintptr(ps))
	run := -1 // first page of the run of touched pages being gathered, or -1
	for p := 0; p < pages; p += entryChunk {
		n := min(entryChunk, pages-p)
		got, err := syscall.Pread(pagemap.fd, buf[:n*8], (first+int64(p))*8)
		if err != nil || got != n*8 {
			if run < 0 { // unknown: all of the rest
				run = p
			}
			f(b[run*ps:])
			return
		}
		for i := 0; i < n; i++ {
			e := *(*uint64)(unsafe.Pointer(&buf[i*8]))
			touched := e&(pmPresent|pmSwapped) != 0
			switch {
			case touched && run < 0:
				run = p + i
			case !touched && run >= 0:
				f(b[run*ps : (p+i)*ps])
				run = -1
			}
		}
	}
	if run >= 0 {
		f(b[run*ps:])
	}
}
