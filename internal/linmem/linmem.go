// Package linmem gives each wasm instance's linear memory a mapping of its
// own, so that the memory an instance grew goes back to the operating system
// when the instance is closed.
//
// By default wazero allocates linear memory as Go slices: after an instance
// ends, its pages stay in the worker's heap (and resident) until the Go
// scavenger returns them, minutes later or never under a steady load (a
// guest that grew to its limit left its 256 MiB behind, per instance). A
// Memory reserves the instance's maximum as one private anonymous mapping
// without access and makes the pages the guest grows into readable and
// writable; when wazero frees the memory, the mapping is unmapped and its
// pages leave the resident set at once, by a system call, not by a timer.
//
// Touching fresh pages costs a page fault each, which made a fresh instance
// of a Go guest twice as slow as with Go slices (whose heap is already
// resident). So a freed mapping that grew to at most MaxKeep bytes is zeroed
// and kept for the next instance of the same maximum, as a small free list
// (at most MaxSpare bytes and 4 mappings per CPU in all); bigger ones are
// unmapped. The mappings are also advised to use transparent huge pages,
// which makes the first touch of a large memory cheaper still.
//
// A memory must not be unmapped while guest code may still touch it: wazero
// frees an instance's memory when the instance is closed, and a runtime
// closed from another goroutine closes instances that are still running. So
// the owner of an instance brackets the times its guest code runs with Hold
// and Release, and a Free that comes while a hold is taken (from another
// goroutine, or from the guest's own proc_exit) is carried out by the last
// Release.
//
// Only Linux has the mappings; on other systems (or if the reservation
// fails) the memory is a Go slice, as wazero's own.
package linmem

import (
	"context"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// Bounds of the free list of mappings kept for reuse.
const (
	// MaxKeep is the largest memory whose mapping is kept for reuse; a
	// memory that grew beyond it is unmapped when freed.
	MaxKeep = 16 << 20
	// MaxSpare bounds the memory of all mappings kept for reuse: the
	// resident memory the worker keeps after its instances ended.
	MaxSpare = 64 << 20
)

// Memory is the allocator of one instance's linear memory. Pass it to the
// instantiation with Context; wazero then calls Allocate once (a module has
// at most one memory) and Free when the instance is closed. A new Memory is
// held once, for the instantiation (start functions run in it): Release it
// when InstantiateModule returns. Its methods are safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	r       *region         // the mapping; nil until Allocate, or for a slice-backed memory
	cleanup runtime.Cleanup // unmaps r if the Memory is dropped without Free
	slice   []byte          // the memory when it is not mapped
	size    uint64          // bytes of the memory (the last Reallocate)
	max     uint64          // bytes the memory may grow to
	holds   int             // Hold calls not released yet
	freed   bool            // wazero called Free
	used    bool            // Allocate was called
}

// region is a reserved mapping. It is separate from Memory so that a
// cleanup can unmap it if a Memory is dropped without Free, and so that it
// can outlive its Memory in the free list.
type region struct {
	mu        sync.Mutex // for the cleanup, which runs on a goroutine of its own
	mapping   []byte     // the whole reservation, as mmap returned it
	buf       []byte     // the memory's part of it; nil once unmapped
	committed uint64     // bytes of buf readable and writable (grown into)
}

// New returns a Memory held once (see Memory).
func New() *Memory { return &Memory{holds: 1} }

// Context returns ctx with m as wazero's memory allocator, for
// Runtime.InstantiateModule.
func (m *Memory) Context(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, m)
}

// Allocate implements experimental.MemoryAllocator: it reserves max bytes,
// or takes a freed mapping of that size from the free list (its pages
// zeroed). wazero then makes the first capBytes usable with Reallocate. A
// second call (which wazero does not make) gets a slice-backed memory.
func (m *Memory) Allocate(capBytes, max uint64) experimental.LinearMemory {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used {
		return &Memory{used: true, max: max, slice: make([]byte, 0, capBytes)}
	}
	m.used, m.max = true, max
	if max > 0 {
		r := takeSpare(max)
		if r == nil {
			if mapping, buf, err := reserve(max); err == nil {
				r = &region{mapping: mapping, buf: buf}
			}
		}
		if r != nil {
			m.r = r
			m.cleanup = runtime.AddCleanup(m, (*region).unmap, r)
			return m
		}
	}
	m.slice = make([]byte, 0, capBytes)
	return m
}

// Reallocate implements experimental.LinearMemory: it makes the memory size
// bytes long, committing the new pages. It returns nil (memory.grow fails)
// beyond the maximum, after Free, or when the pages cannot be committed.
func (m *Memory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size > m.max || m.freed {
		return nil
	}
	if m.r == nil {
		if size > uint64(len(m.slice)) {
			m.slice = append(m.slice, make([]byte, size-uint64(len(m.slice)))...)
		}
		m.size = size
		return m.slice[:size:size]
	}
	b := m.r.grow(size)
	if b != nil {
		m.size = size
	}
	return b
}

// Free implements experimental.LinearMemory: wazero calls it when the
// instance is closed. Without a hold the mapping is zeroed and kept for
// reuse, or unmapped, at once; otherwise the last Release does that.
func (m *Memory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return
	}
	m.freed = true
	m.slice = nil
	if m.r != nil && m.holds == 0 {
		m.giveBack()
	}
}

// giveBack puts the mapping in the free list (or unmaps it), once: the
// Memory no longer has it. m.mu is held.
func (m *Memory) giveBack() {
	m.cleanup.Stop()
	putSpare(m.r)
	m.r = nil
}

// Hold marks guest code of the instance as running: until the matching
// Release, Free leaves the memory as it is.
func (m *Memory) Hold() {
	m.mu.Lock()
	m.holds++
	m.mu.Unlock()
}

// TryHold is Hold for an instance that may have been closed meanwhile (a
// kept instance whose runtime was closed): it takes no hold and reports
// false once wazero freed the memory.
func (m *Memory) TryHold() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return false
	}
	m.holds++
	return true
}

// Release ends a Hold (or New's own); the last one gives back a memory
// that was freed meanwhile.
func (m *Memory) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holds == 0 {
		panic("linmem: Release without Hold")
	}
	m.holds--
	if m.holds == 0 && m.freed && m.r != nil {
		m.giveBack()
	}
}

// Mapped reports whether the memory is backed by a mapping of its own (and
// still has it): false before Allocate, on systems without mappings, and
// once the memory was freed and its mapping unmapped or kept for reuse.
func (m *Memory) Mapped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.r != nil && !(m.freed && m.holds == 0) && m.r.mapped()
}

func (r *region) mapped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf != nil
}

// grow makes the first size bytes readable and writable (they are zero
// where not written yet) and returns them; nil once unmapped or when the
// pages cannot be committed. Sizes are multiples of the 64 KiB wasm page,
// hence of the system's page size.
func (r *region) grow(size uint64) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		return nil
	}
	if size > r.committed {
		if err := commit(r.buf[r.committed:size]); err != nil {
			return nil
		}
		r.committed = size
	}
	return r.buf[:size:size]
}

func (r *region) unmap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf != nil {
		release(r.mapping)
		r.mapping, r.buf, r.committed = nil, nil, 0
	}
}

// spare is the free list: mappings of freed memories, zeroed, most recently
// freed last.
var spare struct {
	sync.Mutex
	regions []*region
	bytes   uint64 // their committed bytes
}

// maxSpareCount bounds the number of mappings in the free list: four per
// CPU, the worker's default number of guests running at once.
func maxSpareCount() int { return 4 * max(runtime.GOMAXPROCS(0), 1) }

// takeSpare returns a mapping of max bytes from the free list, or nil.
func takeSpare(max uint64) *region {
	spare.Lock()
	defer spare.Unlock()
	for i := len(spare.regions) - 1; i >= 0; i-- {
		if r := spare.regions[i]; uint64(len(r.buf)) == max {
			spare.regions = append(spare.regions[:i], spare.regions[i+1:]...)
			spare.bytes -= r.committed
			return r
		}
	}
	return nil
}

// putSpare zeroes r and keeps it for reuse, evicting the oldest mappings
// beyond the free list's bounds; a mapping that grew beyond MaxKeep is
// unmapped instead.
func putSpare(r *region) {
	if r.committed > MaxKeep {
		r.unmap()
		return
	}
	clearTouched(r.buf[:r.committed]) // no byte of one instance reaches the next
	var evict []*region
	spare.Lock()
	spare.regions = append(spare.regions, r)
	spare.bytes += r.committed
	for len(spare.regions) > maxSpareCount() || spare.bytes > MaxSpare {
		old := spare.regions[0]
		spare.regions = spare.regions[1:]
		spare.bytes -= old.committed
		evict = append(evict, old)
	}
	spare.Unlock()
	for _, old := range evict {
		old.unmap()
	}
}

// Spare returns the number of mappings in the free list and their
// committed bytes: the resident memory kept after instances ended.
func Spare() (count int, bytes uint64) {
	spare.Lock()
	defer spare.Unlock()
	return len(spare.regions), spare.bytes
}
