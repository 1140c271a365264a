package devhost

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// watchFixture runs watchLoop on a temporary app folder with a reload that
// the test controls.
type watchFixture struct {
	t     *testing.T
	root  string
	calls chan []string // the paths of each reload, as it starts
	ended chan int      // the number of each reload, as it returns
}

// startWatch starts watchLoop on root. Each reload (call 1, 2, …) sends its
// paths on calls, runs build (which may write files, as a rebuild does),
// takes its snapshot, as a load does before it reads the app, then runs
// after (which may block or write files while the load goes on) and
// returns the snapshot.
func startWatch(t *testing.T, root string, build, after func(call int)) *watchFixture {
	t.Helper()
	w, err := newAppWatcher(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &watchFixture{t: t, root: root, calls: make(chan []string, 100), ended: make(chan int, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n := 0
	initial := snapshot(root) // what the load before the loop saw
	go func() {
		defer close(done)
		watchLoop(ctx, w, 20*time.Millisecond, initial, func(paths []string) fileSigs {
			n++
			f.calls <- paths
			if build != nil {
				build(n)
			}
			seen := snapshot(root)
			if after != nil {
				after(n)
			}
			f.ended <- n
			return seen
		}, func(format string, args ...any) { t.Logf("warning: "+format, args...) })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.close()
	})
	return f
}

// write writes a file under the app folder.
func (f *watchFixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// next waits for the next reload and returns its paths, relative to the app.
func (f *watchFixture) next(what string) []string {
	f.t.Helper()
	select {
	case paths := <-f.calls:
		var rel []string
		for _, p := range paths {
			r, err := filepath.Rel(f.root, p)
			if err != nil {
				f.t.Fatal(err)
			}
			rel = append(rel, r)
		}
		return rel
	case <-time.After(waitLong):
		f.t.Fatalf("no reload for %s within %s", what, waitLong)
		return nil
	}
}

// settle waits until the reload that last started has returned, so that
// a change made next is one that reload did not see.
func (f *watchFixture) settle() {
	f.t.Helper()
	select {
	case <-f.ended:
	case <-time.After(waitLong):
		f.t.Fatalf("a reload did not return within %s", waitLong)
	}
}

func newWatchApp(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range map[string]string{
		"host.json":           `{"version":"2.0"}`,
		"Fn/function.json":    `{}`,
		"Fn/main.wasm":        "v1",
		".git/HEAD":           "ref",
		"node_modules/x/a.go": "package x",
	} {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestWatchChangeDuringReload: a .wasm written while a reload runs, after
// the reload has read the files, is picked up by the next reload (the
// polling watcher missed it: it took its fingerprint after the reload).
func TestWatchChangeDuringReload(t *testing.T) {
	root := newWatchApp(t)
	inReload, release := make(chan struct{}), make(chan struct{})
	f := startWatch(t, root, nil, func(call int) {
		if call == 1 {
			close(inReload)
			<-release
		}
	})
	f.write("Fn/main.wasm", "v2")
	if got := f.next("the first change"); !slices.Equal(got, []string{"Fn/main.wasm"}) {
		t.Fatalf("first reload for %v, want Fn/main.wasm", got)
	}
	<-inReload
	// The reload has read the app; a change now must not be lost.
	f.write("Fn/main.wasm", "version three")
	close(release)
	f.settle()
	if got := f.next("the change made during the reload"); !slices.Contains(got, "Fn/main.wasm") {
		t.Errorf("second reload for %v, want Fn/main.wasm", got)
	}
}

// TestWatchIgnoresOwnWrites: files a reload writes before it reads the app
// (a rebuild's .wasm) cause no other reload.
func TestWatchIgnoresOwnWrites(t *testing.T) {
	root := newWatchApp(t)
	rebuilt := make(chan struct{})
	f := startWatch(t, root, func(call int) {
		if call == 1 {
			if err := os.WriteFile(filepath.Join(root, "Fn", "main.wasm"), []byte("built"), 0o644); err != nil {
				t.Error(err)
			}
			close(rebuilt)
		}
	}, nil)
	f.write("Fn/main.go", "package main")
	if got := f.next("the source change"); !slices.Equal(got, []string{"Fn/main.go"}) {
		t.Fatalf("first reload for %v, want Fn/main.go", got)
	}
	<-rebuilt
	f.settle()
	f.write("host.json", `{"version":"2.0","x":1}`)
	if got := f.next("the host.json change"); !slices.Equal(got, []string{"host.json"}) {
		t.Errorf("next reload for %v, want host.json alone (the rebuilt .wasm was read by the first)", got)
	}
	f.settle()
	// Hidden folders and node_modules are not watched.
	f.write(".git/HEAD", "other")
	f.write("node_modules/x/a.go", "package y")
	f.write("Fn/function.json", `{"x":1}`)
	if got := f.next("the function.json change"); !slices.Equal(got, []string{"Fn/function.json"}) {
		t.Errorf("reload for %v, want Fn/function.json alone", got)
	}
}

// TestWatchNewFolder: a new function folder is seen, and so are later
// changes inside it (it is watched too); removing it is a change.
func TestWatchNewFolder(t *testing.T) {
	root := newWatchApp(t)
	f := startWatch(t, root, nil, nil)
	f.write("New/function.json", `{}`)
	if got := f.next("the new folder"); !slices.Contains(got, "New") && !slices.Contains(got, "New/function.json") {
		t.Fatalf("reload for %v, want the new folder", got)
	}
	f.settle()
	f.write("New/main.wasm", "w")
	if got := f.next("a file in the new folder"); !slices.Equal(got, []string{"New/main.wasm"}) {
		t.Fatalf("reload for %v, want New/main.wasm", got)
	}
	f.settle()
	if err := os.RemoveAll(filepath.Join(root, "New")); err != nil {
		t.Fatal(err)
	}
	if got := f.next("the removed folder"); !slices.Contains(got, "New") {
		t.Errorf("reload for %v, want the removed folder", got)
	}
}
