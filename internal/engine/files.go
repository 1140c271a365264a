package engine

import (
	"crypto/sha256"
	"os"
	"path/filepath"
)

// fileEntry is a module file as last read: the bytes and their hash, valid
// while the file's size, modification time and (where known) inode stay.
type fileEntry struct {
	size, mtime int64
	ino         uint64
	bin         []byte
	hash        [32]byte
}

// readModule reads the module at path and hashes it, remembering both for
// the next Load of the same unchanged file: functions that share one .wasm
// (one module, several entry points) read and hash it once.
func (e *Engine) readModule(path string) ([]byte, [32]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
		size, mtime, ino := st.Size(), st.ModTime().UnixNano(), inode(st)
		e.filesMu.Lock()
		f, ok := e.files[abs]
		e.filesMu.Unlock()
		if ok && f.size == size && f.mtime == mtime && f.ino == ino {
			return f.bin, f.hash, nil
		}
		bin, err := readModule(path)
		if err != nil {
			return nil, [32]byte{}, err
		}
		f = fileEntry{size: size, mtime: mtime, ino: ino, bin: bin, hash: sha256.Sum256(bin)}
		if int64(len(bin)) == size { // not changed while we read it
			e.filesMu.Lock()
			if e.files == nil {
				e.files = map[string]fileEntry{}
			}
			e.files[abs] = f
			e.filesMu.Unlock()
		}
		return f.bin, f.hash, nil
	}
	bin, err := readModule(path) // reports why the file cannot be used
	if err != nil {
		return nil, [32]byte{}, err
	}
	return bin, sha256.Sum256(bin), nil
}
