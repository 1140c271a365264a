package devhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/wasmworker/wasmworker/internal/appbuild"
)

// DefaultWatchDebounce is how long the watcher waits after the last change
// of a burst before it reloads (the host's own file watcher debounces its
// restarts too).
const DefaultWatchDebounce = 250 * time.Millisecond

// fileSigs maps the paths under the app folder that can change the app to
// a signature of each (see signature); an absent path has none.
type fileSigs map[string]string

// relevant reports whether a change to the file path (inside the app folder
// root) can change the app: host.json and local.settings.json at the root,
// a function.json, a .wasm, a .go, go.mod or go.sum anywhere, and the
// inputs of the build command of the app's wasmfunc.json (isInput, an
// appbuild.InputMatcher of root).
func relevant(root, path string, isInput func(string) bool) bool {
	if ignoredPath(root, path) {
		return false
	}
	if isInput(path) {
		return true
	}
	base := filepath.Base(path)
	if filepath.Dir(path) == filepath.Clean(root) && (base == "host.json" || base == "local.settings.json") {
		return true
	}
	switch {
	case base == "function.json", base == "go.mod", base == "go.sum",
		strings.HasSuffix(base, ".wasm"), strings.HasSuffix(base, ".go"):
		return true
	}
	return false
}

// ignoredPath reports whether path lies in a folder the watcher skips:
// hidden folders (.git, .vscode) and node_modules.
func ignoredPath(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." {
		return false
	}
	for _, part := range strings.Split(filepath.Dir(rel), string(filepath.Separator)) {
		if part != "." && ignoredDir(part) {
			return true
		}
	}
	return false
}

func ignoredDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "node_modules"
}

// signature describes path as fileSigs does, or "" when it does not exist:
// "d" for a folder, the SHA-256 of a file's content (modification times are
// too coarse: two writes in the same clock tick share one).
func signature(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if st.IsDir() {
		return "d"
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// snapshot records the signature of every folder and relevant file under root.
func snapshot(root string) fileSigs {
	sigs := fileSigs{}
	isInput := appbuild.InputMatcher(root) // wasmfunc.json read once per snapshot
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile: it has no signature
		}
		if d.IsDir() {
			if p != root && ignoredDir(d.Name()) {
				return filepath.SkipDir
			}
			sigs[p] = "d"
			return nil
		}
		if relevant(root, p, isInput) {
			sigs[p] = signature(p)
		}
		return nil
	})
	return sigs
}

// appWatcher receives file-system events for every folder of an app.
type appWatcher struct {
	root string
	fsw  *fsnotify.Watcher
	dirs map[string]bool // folders being watched
	// full is set once adding a watch failed for lack of resources; the
	// folders it could not watch are reported once.
	full bool
}

func newAppWatcher(root string) (*appWatcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting the file watcher: %w", err)
	}
	w := &appWatcher{root: filepath.Clean(root), fsw: fsw, dirs: map[string]bool{}}
	if err := w.addTree(w.root); err != nil {
		fsw.Close()
		return nil, err
	}
	return w, nil
}

// addTree watches dir and every folder below it that is not ignored.
func (w *appWatcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watching %s: %w", p, err)
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != w.root && ignoredDir(d.Name()) {
			return filepath.SkipDir
		}
		if w.dirs[p] {
			return nil
		}
		if err := w.fsw.Add(p); err != nil {
			if p == w.root {
				return fmt.Errorf("watching %s: %w", p, err)
			}
			// Most likely the inotify watch limit: keep what is watched.
			w.full = true
			return filepath.SkipDir
		}
		w.dirs[p] = true
		return nil
	})
}

// handle updates the watched folders for ev and reports whether ev can
// change the app.
func (w *appWatcher) handle(ev fsnotify.Event) bool {
	if ignoredPath(w.root, ev.Name) || (ignoredDir(filepath.Base(ev.Name)) && ev.Name != w.root) {
		return false
	}
	if w.dirs[ev.Name] && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		// A folder went away (a function deleted or moved out): stop
		// watching it and everything below.
		for d := range w.dirs {
			if d == ev.Name || strings.HasPrefix(d, ev.Name+string(filepath.Separator)) {
				_ = w.fsw.Remove(d)
				delete(w.dirs, d)
			}
		}
		return true
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
			// A new folder (a new function): watch it. Files created in it
			// before the watch is in place produce no events, so the new
			// folder itself counts as a change.
			_ = w.addTree(ev.Name)
			return true
		}
	}
	return relevant(w.root, ev.Name, appbuild.InputMatcher(w.root))
}

func (w *appWatcher) close() { _ = w.fsw.Close() }

// watch reloads the app when a file that matters changes (see watchLoop).
// It returns when the host closes.
func (h *Host) watch() {
	w, err := newAppWatcher(h.opts.AppDir)
	if err != nil {
		h.con.hostf("Warning", "not watching the app for changes: %v", err)
		return
	}
	defer w.close()
	if w.full {
		h.con.hostf("Warning", "watching %s: some folders are not watched (the system's limit of watched folders was reached); changes in them are not seen", w.root)
	}
	debounce := h.opts.WatchDebounce
	if debounce <= 0 {
		debounce = DefaultWatchDebounce
	}
	watchLoop(h.ctx, w, debounce, h.loadedFiles(), func(paths []string) fileSigs {
		h.con.hostf("Information", "file change detected (%s); reloading the function app", describeChanges(w.root, paths))
		_ = h.Reload(h.ctx)
		return h.loadedFiles()
	}, func(format string, args ...any) { h.con.hostf("Warning", format, args...) })
}

// watchLoop turns the file-system events of w into reloads until ctx ends:
// a burst of changes is debounced into one call of reload (with the changed
// paths, sorted), which runs in its own goroutine, one at a time. reload
// returns what the load saw of the files (fileSigs) before it read them,
// as seen does for the load before the loop. A change reported while a
// reload runs leads to another reload once it is over, and a change
// reported later to a new one, unless the last load already saw the file as
// it is now (the same signature): so a change made during a reload is never
// lost, and a reload's own writes (a rebuild's .wasm files) cause no other.
func watchLoop(ctx context.Context, w *appWatcher, debounce time.Duration, seen fileSigs, reload func(paths []string) fileSigs, warn func(format string, args ...any)) {
	// unseen reports whether path changed since the last load read it.
	unseen := func(path string) bool { return seen == nil || seen[path] != signature(path) }
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	pending := map[string]bool{} // changed paths not yet reloaded ("" for lost events)
	var done chan fileSigs       // non-nil while a reload runs
	var running sync.WaitGroup
	defer running.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if !w.handle(ev) {
				continue
			}
			if done == nil && !unseen(ev.Name) {
				continue
			}
			pending[ev.Name] = true
			if done == nil {
				timer.Reset(debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: reload to be sure to see them.
				pending[""] = true
				if done == nil {
					timer.Reset(debounce)
				}
			}
			warn("watching %s: %v", w.root, err)
		case <-timer.C:
			paths := make([]string, 0, len(pending))
			for p := range pending {
				if p != "" {
					paths = append(paths, p)
				}
			}
			sort.Strings(paths)
			pending = map[string]bool{}
			done = make(chan fileSigs, 1)
			running.Add(1)
			go func(done chan<- fileSigs) {
				defer running.Done()
				done <- reload(paths)
			}(done)
		case seen = <-done:
			done = nil
			for p := range pending {
				if p != "" && !unseen(p) {
					delete(pending, p) // the reload read it as it is now
				}
			}
			if len(pending) > 0 {
				timer.Reset(debounce)
			}
		}
	}
}

// describeChanges names up to three changed paths relative to the app folder.
func describeChanges(root string, paths []string) string {
	if len(paths) == 0 {
		return "events were lost"
	}
	var names []string
	for i, p := range paths {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(paths)-3))
			break
		}
		if rel, err := filepath.Rel(root, p); err == nil {
			p = rel
		}
		names = append(names, p)
	}
	return strings.Join(names, ", ")
}
