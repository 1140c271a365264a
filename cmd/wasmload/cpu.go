package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTimes is the CPU time (user and system) the worker process and this
// process have used so far.
type cpuTimes struct {
	worker, client time.Duration
	ok             bool // both could be read
	// reads and writes are the worker's read and write system calls
	// (socket calls included) so far, from /proc/<pid>/io; -1 when it
	// cannot be read.
	reads, writes int64
}

// clockTick is the unit of /proc/<pid>/stat's times: USER_HZ, which is 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// readCPU reads the CPU time of the process pid (from /proc) and of this
// process (getrusage).
func readCPU(pid int) cpuTimes {
	var t cpuTimes
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return t
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return t
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return t
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	var ru syscall.Rusage
	if err1 != nil || err2 != nil || syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return t
	}
	t.worker = time.Duration(utime+stime) * clockTick
	t.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	t.ok = true
	t.reads, t.writes = -1, -1
	if io, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io"); err == nil {
		for _, line := range strings.Split(string(io), "\n") {
			if v, ok := strings.CutPrefix(line, "syscr: "); ok {
				t.reads, _ = strconv.ParseInt(v, 10, 64)
			} else if v, ok := strings.CutPrefix(line, "syscw: "); ok {
				t.writes, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return t
}

// since is the CPU time used between start and t.
func (t cpuTimes) since(start cpuTimes) cpuTimes {
	d := cpuTimes{worker: t.worker - start.worker, client: t.client - start.client, ok: t.ok && start.ok, reads: -1, writes: -1}
	if t.reads >= 0 && start.reads >= 0 {
		d.reads, d.writes = t.reads-start.reads, t.writes-start.writes
	}
	return d
}
