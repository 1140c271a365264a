//go:build unix

package engine

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// mapFile maps the file at path read-only into memory and returns its
// bytes and the function that unmaps them, which the caller calls once
// nothing reads them any more.
//
// A module's instrumented copy is mapped rather than read for its compile
// at materialization: the bytes are then the page cache's own, where
// reading them into a new heap slice touches megabytes of fresh memory, a
// page fault per page (BENCHMARKS.md, "The wire codec, page faults and
// cold start"). The cache files are written whole and renamed into place,
// never changed after, so the mapping keeps the contents it was made with;
// a file truncated behind the engine's back makes a read fault, which the
// compile turns into an error (compileGuarded).
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size <= 0 || size != int64(int(size)) {
		return nil, nil, errors.New("empty or too large to map")
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", path, err)
	}
	return b, func() { _ = syscall.Munmap(b) }, nil
}
