package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
)

// fileEntry is a module file as last hashed: its hash, valid while the
// file's size, modification time and (where known) inode stay. The bytes
// are not kept: they are on disk.
type fileEntry struct {
	size, mtime int64
	ino         uint64
	hash        [32]byte
}

// readModule hashes the module at path and returns its bytes too when it
// had to read them, or when needBytes. The hash is remembered for the next
// Load of the same unchanged file: functions that share one .wasm (one
// module, several entry points) hash it once, and a lazy load (lazy.go)
// of a remembered file reads nothing.
func (e *Engine) readModule(path string, needBytes bool) ([]byte, [32]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
		size, mtime, ino := st.Size(), st.ModTime().UnixNano(), inode(st)
		e.filesMu.Lock()
		f, ok := e.files[abs]
		e.filesMu.Unlock()
		ok = ok && f.size == size && f.mtime == mtime && f.ino == ino
		if !ok && !needBytes { // a file hashed by an earlier process
			if h, found := e.indexedHash(abs, size, mtime, ino); found {
				f, ok = fileEntry{size: size, mtime: mtime, ino: ino, hash: h}, true
				e.filesMu.Lock()
				if e.files == nil {
					e.files = map[string]fileEntry{}
				}
				e.files[abs] = f
				e.filesMu.Unlock()
			}
		}
		if ok && !needBytes {
			return nil, f.hash, nil
		}
		bin, err := readModule(path)
		if err != nil {
			return nil, [32]byte{}, err
		}
		if ok && int64(len(bin)) == size {
			return bin, f.hash, nil
		}
		e.fileHashes.Add(1)
		f = fileEntry{size: size, mtime: mtime, ino: ino, hash: sha256.Sum256(bin)}
		if int64(len(bin)) == size { // not changed while we read it
			e.filesMu.Lock()
			if e.files == nil {
				e.files = map[string]fileEntry{}
			}
			e.files[abs] = f
			e.filesMu.Unlock()
			e.indexHash(abs, f)
		}
		return bin, f.hash, nil
	}
	bin, err := readModule(path) // reports why the file cannot be used
	if err != nil {
		return nil, [32]byte{}, err
	}
	return bin, sha256.Sum256(bin), nil
}

// fileIndex is a module file's hash as an earlier worker process computed
// it, with the file's size, modification time and inode then: a lazy load
// (lazy.go) of an unchanged file neither reads nor hashes it.
type fileIndex struct {
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ino   uint64 `json:"ino"`
	Hash  string `json:"sha256"`
}

// indexFile returns the file of abs's index entry, or "" without a disk cache.
func (e *Engine) indexFile(abs string) string {
	if e.recordDir == "" {
		return ""
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(e.recordDir, "files", hex.EncodeToString(h[:]))
}

// indexedHash returns the hash of abs from its index entry when the entry
// matches the file's size, modification time and inode.
func (e *Engine) indexedHash(abs string, size, mtime int64, ino uint64) (sum [32]byte, ok bool) {
	file := e.indexFile(abs)
	if file == "" {
		return sum, false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return sum, false
	}
	var x fileIndex
	if json.Unmarshal(b, &x) != nil || x.Size != size || x.Mtime != mtime || x.Ino != ino {
		return sum, false
	}
	h, err := hex.DecodeString(x.Hash)
	if err != nil || len(h) != len(sum) {
		return sum, false
	}
	copy(sum[:], h)
	return sum, true
}

// indexHash writes abs's index entry (atomically; failures are ignored).
func (e *Engine) indexHash(abs string, f fileEntry) {
	file := e.indexFile(abs)
	if file == "" {
		return
	}
	if x, ok := e.indexedHash(abs, f.size, f.mtime, f.ino); ok && x == f.hash {
		return
	}
	b, err := json.Marshal(fileIndex{Size: f.size, Mtime: f.mtime, Ino: f.ino, Hash: hex.EncodeToString(f.hash[:])})
	if err == nil {
		e.store(file, b)
	}
}
