package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wasmworker/wasmworker/internal/outbound"
)

// Grants are the capabilities a function's instances get beyond what every
// instance has. Nothing is ambient:
//
//   - Files: none, unless directories are granted in Dirs.
//   - Environment: only CommandInput.Env; the worker's own environment
//     (AzureWebJobsStorage and other app secrets) is never visible.
//   - Sockets: none. WASI preview1 as configured here has no way to open or
//     accept a connection, so net.Dial and friends fail in the guest.
//   - Outbound HTTP: only through the host's outbound functions, to the
//     destinations Outbound allows.
//
// Every instance does get stdin, stdout, stderr, argv, the real wall and
// monotonic clocks, sleeping (cut short when the run's context ends) and
// crypto/rand randomness.
type Grants struct {
	// Dirs are the host directories the guest may use, each mounted at a
	// path of the guest's filesystem.
	Dirs []DirGrant
	// Env is the environment of an ABI module's instances (set once per
	// instance). Command runs take theirs from CommandInput.Env instead.
	Env map[string]string
	// Outbound is where and how much the guest may send HTTP requests
	// (abi/SPEC.md §5.7); its zero value allows nothing. It applies to
	// modules that import the outbound functions, in both modes.
	Outbound outbound.Policy
}

// DirGrant mounts one host directory into the guest.
type DirGrant struct {
	// Host is the directory on the host. It must exist when the module is
	// loaded; a relative path is made absolute then.
	Host string
	// Guest is where the guest sees it: an absolute slash-separated path
	// such as "/data" ("/" mounts it as the guest's root).
	Guest string
	// Writable lets the guest create, change and delete files under the
	// directory. The zero value is read-only. Even then the guest cannot
	// make symbolic links: one pointing to "../.." would lead out of the
	// directory.
	Writable bool
	// MaxWriteBytes bounds the bytes the function's instances may write
	// into a writable directory while the module is loaded (writes and
	// truncations that grow a file count); past it a write fails with
	// EPERM ("operation not permitted"; wazero's WASI layer has no ENOSPC).
	// 0 means DefaultMaxWriteBytes.
	MaxWriteBytes int64
}

// Defaults of the per-grant bounds.
const (
	// DefaultMaxWriteBytes is DirGrant.MaxWriteBytes when zero: 1 GiB.
	DefaultMaxWriteBytes = 1 << 30
	// MaxOpenFiles bounds the files and directories the instances of one
	// module hold open in one granted directory; past it an open fails
	// with EAGAIN (wazero's WASI layer has no EMFILE), so that no function
	// can spend the worker's own file descriptors.
	MaxOpenFiles = 256
)

// check validates g and returns it with host paths made absolute and guest
// paths cleaned.
func (g Grants) check() (Grants, error) {
	if len(g.Dirs) == 0 {
		return g, nil
	}
	out := Grants{Dirs: make([]DirGrant, 0, len(g.Dirs)), Env: g.Env}
	seen := map[string]string{}
	for _, d := range g.Dirs {
		if d.Host == "" {
			return g, fmt.Errorf("directory grant for guest path %q has no host directory", d.Guest)
		}
		if !strings.HasPrefix(d.Guest, "/") || strings.ContainsRune(d.Guest, 0) {
			return g, fmt.Errorf("directory grant of %s: guest path %q must be an absolute path such as /data", d.Host, d.Guest)
		}
		guest := path.Clean(d.Guest)
		if prev, ok := seen[guest]; ok {
			return g, fmt.Errorf("directory grants of %s and %s both use guest path %s", prev, d.Host, guest)
		}
		host, err := filepath.Abs(d.Host)
		if err != nil {
			return g, fmt.Errorf("directory grant of %s: %w", d.Host, err)
		}
		st, err := os.Stat(host)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return g, fmt.Errorf("directory grant of %s (guest path %s): the host directory does not exist", host, guest)
		case err != nil:
			return g, fmt.Errorf("directory grant of %s (guest path %s): %w", host, guest, err)
		case !st.IsDir():
			return g, fmt.Errorf("directory grant of %s (guest path %s): not a directory", host, guest)
		}
		seen[guest] = host
		out.Dirs = append(out.Dirs, DirGrant{Host: host, Guest: guest, Writable: d.Writable, MaxWriteBytes: d.MaxWriteBytes})
	}
	return out, nil
}

// fsConfig returns the wazero filesystem configuration for g, or nil when
// nothing is granted (then the guest has no preopened directory at all).
func (g Grants) fsConfig() wazero.FSConfig {
	if len(g.Dirs) == 0 {
		return nil
	}
	c := wazero.NewFSConfig()
	for _, d := range g.Dirs {
		var mount experimentalsys.FS = noSymlinkFS{sysfs.DirFS(d.Host)}
		if !d.Writable {
			mount = readOnlyFS{&sysfs.ReadFS{FS: sysfs.DirFS(d.Host)}}
		}
		quota := d.MaxWriteBytes
		if quota <= 0 {
			quota = DefaultMaxWriteBytes
		}
		mount = &boundedFS{FS: mount, quota: quota}
		// wazero's FSConfig implements the experimental mount interface.
		c = c.(sysfs.FSConfig).WithSysFSMount(mount, d.Guest)
	}
	return c
}

// noSymlinkFS is a writable directory in which the guest may not create
// symbolic links, which the host would follow out of the directory, nor
// move one that exists: a relative link that points inside the directory
// from one level can point outside it from another, so a hard link to a
// symbolic link is refused, and so is renaming one into another directory.
type noSymlinkFS struct{ experimentalsys.FS }

// Symlink implements experimentalsys.FS.
func (noSymlinkFS) Symlink(_, _ string) experimentalsys.Errno { return experimentalsys.EPERM }

// Link implements experimentalsys.FS.
func (f noSymlinkFS) Link(oldPath, newPath string) experimentalsys.Errno {
	if f.isSymlink(oldPath) {
		return experimentalsys.EPERM
	}
	return f.FS.Link(oldPath, newPath)
}

// Rename implements experimentalsys.FS.
func (f noSymlinkFS) Rename(from, to string) experimentalsys.Errno {
	if f.isSymlink(from) && path.Dir(path.Clean("/"+from)) != path.Dir(path.Clean("/"+to)) {
		return experimentalsys.EPERM
	}
	return f.FS.Rename(from, to)
}

func (f noSymlinkFS) isSymlink(p string) bool {
	st, errno := f.FS.Lstat(p)
	return errno == 0 && st.Mode&fs.ModeSymlink != 0
}

// readOnlyFS is wazero's read-only directory, except that opening a file
// for writing fails with EROFS ("read-only file system") rather than
// ENOSYS, which guests report as "not implemented".
type readOnlyFS struct{ *sysfs.ReadFS }

const writeFlags = experimentalsys.O_WRONLY | experimentalsys.O_RDWR | experimentalsys.O_CREAT |
	experimentalsys.O_TRUNC | experimentalsys.O_APPEND | experimentalsys.O_EXCL

// OpenFile implements experimentalsys.FS.
func (r readOnlyFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if flag&writeFlags != 0 {
		return nil, experimentalsys.EROFS
	}
	return r.ReadFS.OpenFile(path, flag, perm)
}

// boundedFS counts what a module's instances hold and write in one granted
// directory: at most MaxOpenFiles open at once (EAGAIN past it) and quota
// bytes written in all (EPERM past it).
type boundedFS struct {
	experimentalsys.FS
	open    atomic.Int64
	written atomic.Int64
	quota   int64
}

// OpenFile implements experimentalsys.FS.
func (b *boundedFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if b.open.Add(1) > MaxOpenFiles {
		b.open.Add(-1)
		return nil, experimentalsys.EAGAIN
	}
	f, errno := b.FS.OpenFile(path, flag, perm)
	if errno != 0 {
		b.open.Add(-1)
		return nil, errno
	}
	return &boundedFile{File: f, fs: b}, 0
}

// charge takes n bytes of the write quota.
func (b *boundedFS) charge(n int64) bool {
	if n <= 0 {
		return true
	}
	if b.written.Add(n) > b.quota {
		b.written.Add(-n)
		return false
	}
	return true
}

type boundedFile struct {
	experimentalsys.File
	fs     *boundedFS
	closed atomic.Bool
}

func (f *boundedFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if !f.fs.charge(int64(len(buf))) {
		return 0, experimentalsys.EPERM
	}
	return f.File.Write(buf)
}

func (f *boundedFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if !f.fs.charge(int64(len(buf))) {
		return 0, experimentalsys.EPERM
	}
	return f.File.Pwrite(buf, off)
}

func (f *boundedFile) Truncate(size int64) experimentalsys.Errno {
	if st, errno := f.File.Stat(); errno == 0 && size > st.Size && !f.fs.charge(size-st.Size) {
		return experimentalsys.EPERM
	}
	return f.File.Truncate(size)
}

func (f *boundedFile) Close() experimentalsys.Errno {
	if !f.closed.Swap(true) {
		f.fs.open.Add(-1)
	}
	return f.File.Close()
}
