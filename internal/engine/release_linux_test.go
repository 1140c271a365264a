//go:build linux

package engine

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// execAnonKiB sums the anonymous executable mappings of this process
// (/proc/self/smaps, in kB): where wazero keeps compiled code. Go's own
// code is mapped from its file.
func execAnonKiB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	defer f.Close()
	var total int64
	exec := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			exec = fields[1][2] == 'x' && len(fields) == 5 // no pathname: anonymous
			continue
		}
		if exec && len(fields) == 3 && fields[0] == "Size:" {
			n, _ := strconv.ParseInt(fields[1], 10, 64)
			total += n
		}
	}
	return total
}

// settledExecKiB collects garbage until wazero's finalizers have unmapped
// what is no longer reachable, and returns execAnonKiB then: the smallest
// of a few rounds, which stops falling once nothing more is released.
func settledExecKiB(t *testing.T) int64 {
	t.Helper()
	low := execAnonKiB(t)
	for range 20 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond) // finalizers run on their own goroutine
		low = min(low, execAnonKiB(t))
	}
	return low
}

// TestReleaseUnmapsCompiledCode materializes a Go module (megabytes of
// machine code) and releases it: its code must leave memory. Closing the
// module's runtime alone does not do it, since the compiled code belongs
// to the engine's compilation cache, shared by every runtime.
func TestReleaseUnmapsCompiledCode(t *testing.T) {
	path := guestPath(t, "echo")
	before := settledExecKiB(t)
	e := lazyEngine(t, t.TempDir(), time.Hour) // released only by the explicit call below
	m, err := e.Load(context.Background(), path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	echoRun(t, m, "materialized")
	live := execAnonKiB(t)
	if live-before < 1024 {
		t.Fatalf("loading and materializing mapped %d KiB of code; expected megabytes", live-before)
	}
	if n := e.releaseIdle(time.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("released %d modules, want 1", n)
	}
	if after := settledExecKiB(t); after-before > (live-before)/4 {
		t.Errorf("after the release %d KiB of compiled code are still mapped (%d KiB before the load, %d KiB while live)", after, before, live)
	}
}

// TestFirstLoadIsLazyAfterwards: a module compiled to be checked at its
// first load, with a disk cache and the idle release on, does not keep its
// code in memory until its first invocation (an app's first start would
// otherwise hold every module's code); with the idle release off it does.
func TestFirstLoadIsLazyAfterwards(t *testing.T) {
	for _, tc := range []struct {
		idle time.Duration
		live bool
	}{{time.Hour, false}, {-1, true}} {
		e := lazyEngine(t, t.TempDir(), tc.idle)
		m, err := e.Load(context.Background(), guestPath(t, "echo"), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if e.compileCount.Load() == 0 {
			t.Fatal("the first load compiled nothing")
		}
		if live := m.live.Load() != nil; live != tc.live {
			t.Fatalf("idle release %v: live after the first load = %v, want %v", tc.idle, live, tc.live)
		}
		echoRun(t, m, "first")
		if m.live.Load() == nil {
			t.Fatal("not live after an invocation")
		}
	}
}

// TestConcurrentFirstLoadsCompileOnce: two first loads of one module at
// once compile it once, although the first releases it (lazy afterwards)
// before the second, which waited for it, goes on: the second finds the
// record the first wrote.
func TestConcurrentFirstLoadsCompileOnce(t *testing.T) {
	e := lazyEngine(t, t.TempDir(), time.Hour)
	path := guestPath(t, "echo")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := e.Load(context.Background(), path, Limits{})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := e.compileCount.Load(); n != 1 {
		t.Errorf("two concurrent first loads compiled %d times; want 1", n)
	}
}
