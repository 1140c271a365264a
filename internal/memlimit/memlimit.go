// Package memlimit chooses the worker's soft memory limit (the Go runtime's
// GOMEMLIMIT): the setting WASMWORKER_MEMORY_LIMIT_MB when set, else a share
// of the memory limit of the container (cgroup v2 or v1) the worker runs in.
//
// The worker runs with GOGC=DefaultGOGC unless GOGC is set (GCPercent), and
// the soft limit bounds a large heap: near the limit the runtime collects as
// often as it needs to, so that the worker stays inside its container
// instead of being killed by it.
package memlimit

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// DefaultGOGC is the worker's GOGC when the environment sets none. Linear
// memories live outside the Go heap (internal/linmem), so instantiating a
// guest per invocation no longer churns the heap by its memory; the heap
// holds requests, responses and wazero's per-instance records, and GOGC
// mostly sets its floor (4 MiB × GOGC/100). 200 keeps a C function at c=64
// within 1.5× the idle RSS (8 MB less than 400). Since command instances
// are reset and reused, 300 and 400 make the worker no faster (the 13-17 %
// once measured came from the load generator inheriting GOGC; BENCHMARKS.md,
// "Running slots, released code and the invocation path"); 100 costs the
// worker alone about 25 % of its CPU per command invocation, as the
// collector runs about three times as often ("The generated encoder").
const DefaultGOGC = 200

// GCPercent returns the GOGC the worker sets, or -1 when GOGC is set in the
// environment (the Go runtime already applied it).
func GCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		return -1
	}
	return DefaultGOGC
}

// Setting is the environment variable that sets the limit in MiB; "0" or
// "off" turns it off.
const Setting = "WASMWORKER_MEMORY_LIMIT_MB"

// Share is the part of a container's memory limit the worker aims to stay
// under, leaving room for what the Go runtime does not count (stacks of
// threads, wazero's compiled code mapped outside the heap).
const Share = 0.8

// Choose returns the soft limit in bytes and where it came from, or 0 when
// there is none. getenv reads the environment and fsys is the file system
// root holding /proc and /sys (os.DirFS("/") in the worker).
func Choose(getenv func(string) string, fsys fs.FS) (int64, string, error) {
	if v := strings.TrimSpace(getenv(Setting)); v != "" {
		if v == "off" || v == "0" {
			return 0, Setting + "=" + v, nil
		}
		mb, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mb < 0 {
			return 0, "", fmt.Errorf("%s=%q is not a whole number of MiB (or off)", Setting, v)
		}
		return mb << 20, Setting, nil
	}
	limit, where := cgroupLimit(fsys)
	if limit <= 0 {
		return 0, "", nil
	}
	return int64(float64(limit) * Share), fmt.Sprintf("%.0f %% of the container's limit of %d MiB (%s)", Share*100, limit>>20, where), nil
}

// cgroupLimit returns the smallest memory limit set on the worker's cgroup,
// v2 (memory.max) or v1 (memory.limit_in_bytes), and the file it came from.
func cgroupLimit(fsys fs.FS) (int64, string) {
	f, err := fsys.Open("proc/self/cgroup")
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	var candidates []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "hierarchy-ID:controller-list:cgroup-path"
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		p := strings.TrimPrefix(path.Clean("/"+parts[2]), "/")
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = append(candidates, path.Join("sys/fs/cgroup", p, "memory.max"), "sys/fs/cgroup/memory.max")
		case hasController(parts[1], "memory"):
			candidates = append(candidates, path.Join("sys/fs/cgroup/memory", p, "memory.limit_in_bytes"), "sys/fs/cgroup/memory/memory.limit_in_bytes")
		}
	}
	var best int64
	var where string
	for _, c := range candidates {
		b, err := fs.ReadFile(fsys, c)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		// v1 writes a huge number (about 2^63) for "no limit".
		if err != nil || n <= 0 || n >= 1<<60 {
			continue
		}
		if best == 0 || n < best {
			best, where = n, "/"+c
		}
	}
	return best, where
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// OS is Choose for the running process.
func OS() (int64, string, error) { return Choose(os.Getenv, os.DirFS("/")) }
