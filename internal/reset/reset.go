// Package reset returns a wasm instance to the state it had just after
// instantiation, so that one instance can serve many runs that must each
// start as a fresh instance would: WASI commands (a fresh instance per
// invocation) and ABI modules with "isolate": true.
//
// An instance can be reset only if its module was prepared by
// wasmbin.Instrument with Options.Mark: the rewrite exports the module's
// mutable globals and, when nothing else in the module changes state that
// restoring memory and globals misses (tables, dropped data segments), a
// marker export saying so. It also calls the mark import before every call
// of an import that changes such state (a WASI call that opens or closes a
// file, say); the engine's implementation of that import marks the run's
// Run (Run.Mark, or Touch for a Run carried by WithRun), and a run whose
// Run was marked must not be followed by a Restore.
//
// What instantiation computed is the same after every Restore, so an
// instance whose instantiation drew randomness must not be captured (a
// fresh instance would have drawn other values): Go's runtime seeds its
// map hashing and math/rand in _initialize. RandSource tells.
//
// A Point holds what Restore needs: the values of the mutable globals and
// an image of the linear memory (internal/linmem), taken right after
// instantiation. Restore puts both back; it refuses when the memory grew
// (wasm memories cannot shrink), and the caller then closes the instance
// and makes a fresh one, as without this package.
package reset

import (
	"context"
	crand "crypto/rand"
	"strconv"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/linmem"
	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

// MaxImage bounds the bytes of memory contents a Point keeps, counted in
// the 4 KiB pages that are not all zero (a page with one non-zero byte
// counts whole): an instance whose memory holds more such pages after
// instantiation is not kept for reuse (C, Rust and AssemblyScript guests keep a few KiB), so that the
// instances a module keeps cost little besides their memory.
const MaxImage = 1 << 20

// Point is the state of one instance just after instantiation.
type Point struct {
	mem     *linmem.Memory
	img     *linmem.Image
	globals []api.MutableGlobal
	values  []uint64
}

// Capture records mod's state, for Restore. prefix is the module name
// given to wasmbin.Instrument (Options.Module); mem is the allocator of
// mod's memory. It returns nil when mod cannot be reset: its module was not
// prepared, is not resettable, has no memory of its own, or holds more than
// MaxImage bytes of data. The guest must not run meanwhile.
func Capture(mod api.Module, mem *linmem.Memory, prefix string) *Point {
	if mod.ExportedGlobal(prefix+"."+wasmbin.ResettableExport) == nil {
		return nil
	}
	p := &Point{mem: mem}
	for i := 0; ; i++ {
		g := mod.ExportedGlobal(prefix + "." + wasmbin.GlobalExport + strconv.Itoa(i))
		if g == nil {
			break
		}
		mg, ok := g.(api.MutableGlobal)
		if !ok {
			return nil
		}
		p.globals = append(p.globals, mg)
		p.values = append(p.values, mg.Get())
	}
	if p.img = mem.Capture(MaxImage); p.img == nil {
		return nil
	}
	return p
}

// Restore puts the instance back in the state Capture recorded, and
// reports whether it could (not when its memory grew meanwhile, or was
// freed). The guest must not run meanwhile; after false, close the
// instance.
func (p *Point) Restore() bool {
	if !p.mem.Restore(p.img) {
		return false
	}
	for i, g := range p.globals {
		g.Set(p.values[i])
	}
	return true
}

// Bytes returns the memory a Point keeps beyond the instance itself.
func (p *Point) Bytes() int { return p.img.Bytes() + 16*len(p.globals) }

// RandSource is an instance's WASI randomness (crypto/rand) that records
// whether it was read: give it to the instance's configuration
// (WithRandSource) and check Drew after instantiation.
type RandSource struct{ drew bool }

// Read implements io.Reader with crypto/rand.
func (r *RandSource) Read(p []byte) (int, error) {
	r.drew = true
	return crand.Read(p)
}

// Drew reports whether the instance read randomness so far.
func (r *RandSource) Drew() bool { return r.drew }

// Run tells whether one run of an instance changed state that Restore
// does not restore. The zero Run is untouched.
type Run struct{ touched bool }

type runKey struct{}

// WithRun returns ctx carrying r, for the calls of one run.
func WithRun(ctx context.Context, r *Run) context.Context {
	return context.WithValue(ctx, runKey{}, r)
}

// Touch marks the Run WithRun put in ctx (the context of a guest's call),
// if any: the engine's mark import calls it for isolated ABI instances.
func Touch(ctx context.Context) {
	if r, ok := ctx.Value(runKey{}).(*Run); ok {
		r.Mark()
	}
}

// Mark marks r: the run changed state that Restore does not restore.
func (r *Run) Mark() { r.touched = true }

// Touched reports whether the run was marked since the last Clear.
func (r *Run) Touched() bool { return r.touched }

// Clear makes r untouched, for the next run.
func (r *Run) Clear() { r.touched = false }
