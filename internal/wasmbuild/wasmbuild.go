// Package wasmbuild builds Go packages as WASI modules (GOOS=wasip1
// GOARCH=wasm) for tests and tools, caching results by a hash of the sources.
package wasmbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

var mu sync.Mutex

// Options change how a module is built.
type Options struct {
	// BuildMode is passed as -buildmode when set (e.g. "c-shared" for a
	// //go:wasmexport reactor).
	BuildMode string
}

// Go builds the Go main package in pkgDir (a directory path) as a wasip1
// module and returns the path of the .wasm file. Results are cached under
// CacheDir, keyed by the package's sources, so repeated calls are cheap.
func Go(pkgDir string, opt Options) (string, error) {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", err
	}
	key, err := sourceKey(abs, opt)
	if err != nil {
		return "", fmt.Errorf("hash sources of %s: %w", pkgDir, err)
	}
	dir := CacheDir()
	out := filepath.Join(dir, filepath.Base(abs)+"-"+key+".wasm")
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	args := []string{"build", "-trimpath", "-o", tmp}
	if opt.BuildMode != "" {
		args = append(args, "-buildmode="+opt.BuildMode)
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build %s: %w\n%s", pkgDir, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// CacheDir is where built modules are kept: $WASMBUILD_CACHE, or a folder
// under the user cache directory.
func CacheDir() string {
	if d := os.Getenv("WASMBUILD_CACHE"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "wasmworker", "wasmbuild")
}

// sourceKey hashes every file under dir (and the module's go.mod) so that
// any change to the guest's sources gives a new cache entry.
func sourceKey(dir string, opt Options) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "mode=%s\n", opt.BuildMode)
	if v, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		h.Write(v)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".wasm") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	// Packages of this module that a guest may import (for example an SDK).
	if root, err := moduleRoot(dir); err == nil {
		subs := []string{"go.mod", "abi"}
		if _, err := os.Stat(filepath.Join(root, "abi")); err != nil {
			// A module of its own, such as the Go SDK's (abi/sdk/go):
			// all of it may be imported.
			subs = []string{"."}
		}
		for _, sub := range subs {
			_ = filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "go.mod") {
					files = append(files, p)
				}
				return nil
			})
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", os.ErrNotExist
		}
	}
}
