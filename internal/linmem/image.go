package linmem

import (
	"bytes"
	"unsafe"
)

// imagePage is the unit in which an Image keeps a memory's contents.
const imagePage = 4096

var zeroPage [imagePage]byte

// Image is a copy of a linear memory's contents at one moment, kept to
// restore them (Memory.Restore): its size and the pages that were not
// zero. A fresh instance of a C or Rust guest has a few KiB of data
// segments in a memory of 128 KiB or more, so an image is small where a
// copy of the memory would not be.
type Image struct {
	size  uint64   // bytes of the memory
	pages []uint32 // the index, in imagePage units, of each page kept
	data  []byte   // their contents, imagePage bytes each
}

// Size returns the memory's size in bytes (0 before Allocate or after
// Free).
func (m *Memory) Size() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return 0
	}
	return int64(m.size)
}

// Bytes returns how many bytes of contents img keeps.
func (img *Image) Bytes() int { return len(img.data) }

// Capture returns an image of the memory's current contents, or nil when
// the memory has no contents (before Allocate, after Free) or when more
// than maxBytes of it are not zero. Only pages that may have been written
// are read, so capturing a large memory mostly untouched costs little.
// The image's contents are allocated once, at their final size: a Go
// guest's image is megabytes, and growing it by appending touched about
// twice that in fresh memory (page faults at the first invocation of a
// module). The guest must not run meanwhile.
func (m *Memory) Capture(maxBytes int) *Image {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.contents()
	if b == nil {
		return nil
	}
	img := &Image{size: uint64(len(b))}
	base := uintptrOf(b)
	ok := true
	touchedRuns(b, minSkipCompare, func(run []byte) {
		first := int(uintptrOf(run) - base)
		for off := 0; ok && off < len(run); off += imagePage {
			p := run[off:min(off+imagePage, len(run))]
			if bytes.Equal(p, zeroPage[:len(p)]) {
				continue
			}
			if (len(img.pages)+1)*imagePage > maxBytes {
				ok = false
				return
			}
			img.pages = append(img.pages, uint32((first+off)/imagePage))
		}
	})
	if !ok {
		return nil
	}
	img.data = make([]byte, len(img.pages)*imagePage)
	for i, p := range img.pages {
		off := int(p) * imagePage
		copy(img.data[i*imagePage:], b[off:min(off+imagePage, len(b))]) // a short last page stays zero-padded
	}
	return img
}

// Restore makes the memory's contents those img captured, and reports
// whether it could: not when the memory has a size other than img's (a
// memory that grew cannot shrink) or no contents. The guest must not run
// meanwhile.
func (m *Memory) Restore(img *Image) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.contents()
	if b == nil || uint64(len(b)) != img.size {
		return false
	}
	// Only pages the run wrote differ from the image, and a guest writes
	// few (a C guest's stack top, its data, a little heap), so each page
	// the kernel reports touched is compared with its captured contents
	// (zeroes for a page not in the image) and written only if it
	// differs: reading a page costs less than writing it, and pages not
	// written stay clean in the cache. Under load this took 1.5 µs where
	// zeroing a C guest's 128 KiB and copying its image back took 3.6 µs
	// (BENCHMARKS.md, "Restoring by comparing").
	base := uintptrOf(b)
	next := 0 // the first image page not restored yet
	touchedRuns(b, minSkipCompare, func(run []byte) {
		first := int(uintptrOf(run) - base)
		next = img.restoreRun(b, first, first+len(run), next)
	})
	img.restoreRun(b, len(b), len(b), next)
	return true
}

// restoreRun restores b[from:to], a run of pages that may have been
// written, given that the image's pages before index next are restored
// already, and returns the index of the first image page at or after to.
// Image pages before from (outside any touched run, which only a kernel
// that misreports could give) are copied back unconditionally.
func (img *Image) restoreRun(b []byte, from, to, next int) int {
	for ; next < len(img.pages) && int(img.pages[next])*imagePage < from; next++ {
		off := int(img.pages[next]) * imagePage
		copy(b[off:min(off+imagePage, len(b))], img.data[next*imagePage:])
	}
	for off := from; off < to; off += imagePage {
		p := b[off:min(off+imagePage, to)]
		want := zeroPage[:len(p)]
		if next < len(img.pages) && int(img.pages[next])*imagePage == off {
			want = img.data[next*imagePage:][:len(p)]
			next++
		}
		if !bytes.Equal(p, want) {
			copy(p, want)
		}
	}
	return next
}

// contents returns the memory's bytes, nil before Allocate or after Free.
// m.mu is held.
func (m *Memory) contents() []byte {
	if !m.used || m.freed {
		return nil
	}
	if m.r == nil {
		return m.slice
	}
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	if m.r.buf == nil {
		return nil
	}
	return m.r.buf[:m.size]
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
