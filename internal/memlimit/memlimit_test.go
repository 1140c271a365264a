package memlimit

import (
	"testing"
	"testing/fstest"
)

func TestChoose(t *testing.T) {
	v2 := fstest.MapFS{
		"proc/self/cgroup":               {Data: []byte("0::/app\n")},
		"sys/fs/cgroup/app/memory.max":   {Data: []byte("1073741824\n")},
		"sys/fs/cgroup/memory.max":       {Data: []byte("max\n")},
		"sys/fs/cgroup/other/memory.max": {Data: []byte("1\n")},
	}
	v1 := fstest.MapFS{
		"proc/self/cgroup": {Data: []byte("9:name=systemd:/\n4:memory:/docker/abc\n0::/\n")},
		"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": {Data: []byte("536870912\n")},
	}
	v1NoLimit := fstest.MapFS{
		"proc/self/cgroup":                           {Data: []byte("4:cpu,memory:/\n")},
		"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
	}
	none := fstest.MapFS{}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		name string
		env  func(string) string
		fs   fstest.MapFS
		want int64
		err  bool
	}{
		{"cgroup v2", env(), v2, (1 << 30) * 8 / 10, false},
		{"cgroup v1", env(), v1, (512 << 20) * 8 / 10, false},
		{"v1 without a limit", env(), v1NoLimit, 0, false},
		{"no cgroup", env(), none, 0, false},
		{"setting wins", env(Setting, "300"), v2, 300 << 20, false},
		{"setting off", env(Setting, "off"), v2, 0, false},
		{"bad setting", env(Setting, "lots"), v2, 0, true},
	} {
		got, where, err := Choose(c.env, c.fs)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%s: %d (%s), %v; want %d", c.name, got, where, err, c.want)
		}
		if got > 0 && where == "" {
			t.Errorf("%s: no source given", c.name)
		}
	}
}

func TestGCPercent(t *testing.T) {
	if got := GCPercent(func(string) string { return "" }); got != DefaultGOGC {
		t.Errorf("GOGC unset: %d, want %d", got, DefaultGOGC)
	}
	if got := GCPercent(func(k string) string {
		if k == "GOGC" {
			return "off"
		}
		return ""
	}); got != -1 {
		t.Errorf("GOGC set: %d, want -1 (left to the runtime)", got)
	}
}
