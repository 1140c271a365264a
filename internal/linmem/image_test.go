package linmem

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestCaptureRestore captures a memory holding data on a few pages, lets a
// "run" scribble over it (data pages, zero pages, the last byte), restores
// it and compares with the captured contents; a memory that grew is not
// restored, and one with more data than allowed is not captured.
func TestCaptureRestore(t *testing.T) {
	for _, pages := range []uint64{1, 2, 17} { // each reads the pagemap (minSkipCompare), where it is readable
		m := New()
		m.Allocate(pages*wasmPage, 64*wasmPage)
		b := m.Reallocate(pages * wasmPage)
		if b == nil {
			t.Fatal("Reallocate failed")
		}
		copy(b[1024:], "data segment")
		copy(b[3*imagePage-4:], "straddles two pages")
		want := bytes.Clone(b)

		img := m.Capture(MaxKeep)
		if img == nil {
			t.Fatal("Capture returned nil")
		}
		if img.Bytes() != 3*imagePage {
			t.Errorf("%d pages: image keeps %d bytes, want the 3 pages that are not zero", pages, img.Bytes())
		}
		copy(b[1024:], "overwritten!")
		copy(b[5*imagePage:], "a page that was zero")
		clear(b[2*imagePage : 3*imagePage]) // half of the straddling data
		b[len(b)-1] = 1
		if !m.Restore(img) {
			t.Fatal("Restore failed")
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%d pages: contents after Restore differ from the captured ones", pages)
		}

		if m.Capture(2*imagePage) != nil {
			t.Errorf("%d pages: Capture kept more than its bound", pages)
		}
		if m.Reallocate((pages+1)*wasmPage) == nil {
			t.Fatal("grow failed")
		}
		if m.Restore(img) {
			t.Errorf("%d pages: a memory that grew was restored", pages)
		}
		m.Release()
		m.Free()
		if m.Restore(img) || m.Capture(MaxKeep) != nil {
			t.Errorf("%d pages: a freed memory was captured or restored", pages)
		}
	}
}

// TestRestoreManyRuns restores one memory after each of many runs that
// write at random places, so that the pages the kernel reports present
// (which Restore compares) change from run to run: a page first written
// by the tenth run must be restored as well as one written by every run.
func TestRestoreManyRuns(t *testing.T) {
	for _, pages := range []uint64{1, 2, 17} {
		m := New()
		m.Allocate(pages*wasmPage, pages*wasmPage)
		b := m.Reallocate(pages * wasmPage)
		copy(b[1024:], "data segment")
		copy(b[len(b)-imagePage-3:], "the last pages")
		want := bytes.Clone(b)
		img := m.Capture(MaxKeep)
		rng := rand.New(rand.NewPCG(pages, 7))
		for run := range 300 {
			for range rng.IntN(8) {
				b[rng.IntN(len(b))] = byte(rng.IntN(255) + 1)
			}
			if run%50 == 0 { // a run that reads a page it never writes (mapping the zero page)
				_ = b[rng.IntN(len(b))]
			}
			if !m.Restore(img) {
				t.Fatal("Restore failed")
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("%d pages, run %d: contents after Restore differ from the captured ones", pages, run)
			}
		}
		m.Release()
		m.Free()
	}
}

// TestFreedMemoryIsGivenBackOnce: a memory freed goes to the free list
// once, however holds and releases come around the Free (an instance
// taken just as its runtime closed), and cannot be held again with
// TryHold: otherwise two later instances would share one mapping.
func TestFreedMemoryIsGivenBackOnce(t *testing.T) {
	const max = 3*wasmPage + 4096 // a maximum no other test uses
	newMem := func() *Memory {
		m := New()
		m.Allocate(wasmPage, max)
		if m.Reallocate(wasmPage) == nil {
			t.Fatal("Reallocate failed")
		}
		m.Release() // the instantiation's hold
		return m
	}
	if !newMem().Mapped() {
		t.Skip("no mappings on this system")
	}
	held := newMem()
	if !held.TryHold() {
		t.Fatal("TryHold failed on a live memory")
	}
	held.Free() // its runtime closed while held: deferred
	if held.TryHold() {
		t.Fatal("TryHold succeeded on a freed memory")
	}
	held.Release() // gives it back

	late := newMem()
	late.Free() // given back at once
	late.Hold() // then held and released, as by a caller that did not check
	late.Release()

	seen := map[*region]bool{}
	for range 4 {
		m := New()
		m.Allocate(wasmPage, max)
		if m.r != nil && seen[m.r] {
			t.Fatal("two memories got the same mapping: a freed one was given back twice")
		}
		seen[m.r] = true
	}
}

// BenchmarkRestoreSmallMemory restores a C guest's 128 KiB memory with one
// page of data after a run that wrote 4 pages (its stack top, data, heap),
// by comparing each page (Restore) and, for comparison, by zeroing all of
// it and copying the image back (what Restore did before; BENCHMARKS.md,
// "Restoring by comparing").
func BenchmarkRestoreSmallMemory(b *testing.B) {
	m := New()
	m.Allocate(2*wasmPage, 2*wasmPage)
	mem := m.Reallocate(2 * wasmPage)
	copy(mem[1024:], "data segment")
	img := m.Capture(MaxKeep)
	run := func() {
		for _, off := range []int{1000, 9 * imagePage, 12 * imagePage, wasmPage - 64} {
			mem[off]++
		}
	}
	b.Run("compare", func(b *testing.B) {
		for b.Loop() {
			run()
			if !m.Restore(img) {
				b.Fatal("Restore failed")
			}
		}
	})
	b.Run("zero-and-copy", func(b *testing.B) {
		for b.Loop() {
			run()
			clear(mem)
			for i, p := range img.pages {
				copy(mem[int(p)*imagePage:], img.data[i*imagePage:(i+1)*imagePage])
			}
		}
	})
	m.Release()
	m.Free()
}
