package engine

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runProbe runs the probe guest with args and returns its stdout, failing
// the test on error.
func runProbe(t *testing.T, m *Module, env map[string]string, args ...string) string {
	t.Helper()
	out, err := m.RunCommand(context.Background(), CommandInput{Args: append([]string{"probe"}, args...), Env: env})
	if err != nil {
		t.Fatalf("probe %q: %v", args, err)
	}
	return string(out.Stdout)
}

// probeFails runs the probe guest with args, expects exit code 1 and
// returns its stderr.
func probeFails(t *testing.T, m *Module, args ...string) string {
	t.Helper()
	_, err := m.RunCommand(context.Background(), CommandInput{Args: append([]string{"probe"}, args...)})
	re := runErr(t, err, Exit)
	if re.ExitCode != 1 {
		t.Fatalf("probe %q: exit code %d, want 1: %v", args, re.ExitCode, re)
	}
	return strings.Join(re.StderrTail, "\n")
}

func TestHostEnvironmentDoesNotLeak(t *testing.T) {
	t.Setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountKey=secret")
	t.Setenv("WASMWORKER_TEST_SECRET", "secret")
	m := loadGuest(t, "probe", Limits{})
	if got := runProbe(t, m, nil, "env"); got != "[]" && got != "null" {
		t.Errorf("environment with nil Env = %s, want none", got)
	}
	got := runProbe(t, m, map[string]string{"FUNCTION_SETTING": "1"}, "env")
	var env []string
	if err := json.Unmarshal([]byte(got), &env); err != nil {
		t.Fatal(err)
	}
	if len(env) != 1 || env[0] != "FUNCTION_SETTING=1" {
		t.Errorf("environment = %q, want only the listed variable", env)
	}
}

func TestNoFilesystemWithoutGrant(t *testing.T) {
	secret := writeFile(t, "secret.txt", []byte("host secret"))
	m := loadGuest(t, "probe", Limits{})
	for _, p := range []string{secret, "/etc/passwd", "secret.txt", "/"} {
		stderr := probeFails(t, m, "read", p)
		if strings.Contains(stderr, "host secret") || !strings.Contains(stderr, "probe: ") {
			t.Errorf("read %s: stderr %q", p, stderr)
		}
	}
	if stderr := probeFails(t, m, "write", "/tmp/x", "y"); !strings.Contains(stderr, "probe: ") {
		t.Errorf("write: stderr %q", stderr)
	}
}

func TestNoSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer ln.Close()
	m := loadGuest(t, "probe", Limits{})
	got := runProbe(t, m, nil, "dial", ln.Addr().String())
	if got == "connected" || got == "" {
		t.Fatalf("net.Dial from the guest: %q, want an error", got)
	}
	t.Logf("guest's net.Dial error: %s", got)
	// Nothing reached the listener.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Error("the guest opened a connection to the host")
	}
}

func TestRealClockAndCryptoRandomness(t *testing.T) {
	m := loadGuest(t, "probe", Limits{})
	type entropy struct {
		UnixNano int64  `json:"unixNano"`
		Random   string `json:"random"`
	}
	var runs [2]entropy
	for i := range runs {
		if err := json.Unmarshal([]byte(runProbe(t, m, nil, "entropy")), &runs[i]); err != nil {
			t.Fatal(err)
		}
		if len(runs[i].Random) != 64 || runs[i].Random == strings.Repeat("0", 64) {
			t.Errorf("random = %q, want 32 random bytes in hex", runs[i].Random)
		}
		if d := time.Since(time.Unix(0, runs[i].UnixNano)); d < -time.Minute || d > time.Hour {
			t.Errorf("guest clock is %v away from the host's; want real time", d)
		}
	}
	if runs[0].Random == runs[1].Random {
		t.Errorf("two instances drew the same random bytes %s", runs[0].Random)
	}
	if runs[0].UnixNano == runs[1].UnixNano {
		t.Errorf("two runs read the same time %d", runs[0].UnixNano)
	}
}

func TestReadOnlyDirGrant(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("granted"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := writeFile(t, "outside.txt", []byte("host secret"))
	m, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{},
		Grants{Dirs: []DirGrant{{Host: dir, Guest: "/data/"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if g := m.Grants().Dirs; len(g) != 1 || g[0].Guest != "/data" || g[0].Writable {
		t.Errorf("grants = %+v", g)
	}
	if got := runProbe(t, m, nil, "read", "/data/in.txt"); got != "granted" {
		t.Errorf("read = %q", got)
	}
	if stderr := probeFails(t, m, "write", "/data/new.txt", "x"); !strings.Contains(strings.ToLower(stderr), "read-only file system") {
		t.Errorf("write to a read-only grant: stderr %q, want a read-only error", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); err == nil {
		t.Error("the guest created a file in a read-only grant")
	}
	for _, p := range []string{"/data/../" + filepath.Base(filepath.Dir(outside)) + "/outside.txt", "/data/../../" + outside, outside} {
		if stderr := probeFails(t, m, "read", p); strings.Contains(stderr, "host secret") {
			t.Errorf("read %s escaped the grant: %q", p, stderr)
		}
	}
}

func TestWritableDirGrant(t *testing.T) {
	dir := t.TempDir()
	outside := writeFile(t, "outside.txt", []byte("host secret"))
	m, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{},
		Grants{Dirs: []DirGrant{{Host: dir, Guest: "/out", Writable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if got := runProbe(t, m, nil, "write", "/out/result.txt", "written by the guest"); got != "ok" {
		t.Errorf("write = %q", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.txt"))
	if err != nil || string(b) != "written by the guest" {
		t.Errorf("host file: %q, %v", b, err)
	}
	// A symlink the guest makes cannot lead out of the grant.
	for i, target := range []string{outside, "../" + filepath.Base(filepath.Dir(outside)) + "/outside.txt"} {
		link := "/out/link" + string(rune('0'+i))
		_, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"probe", "symlink", target, link}})
		if err == nil {
			t.Errorf("symlink to %s: the guest read through it", target)
			continue
		}
		re := runErr(t, err, Exit)
		if strings.Contains(string(re.Stdout), "host secret") || !strings.Contains(strings.Join(re.StderrTail, "\n"), "not permitted") {
			t.Errorf("symlink to %s: stdout %q, stderr %q; want the link refused", target, re.Stdout, re.StderrTail)
		}
	}
}

func TestDirGrantErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "f.txt", nil)
	for _, c := range []struct {
		g    DirGrant
		want string
	}{
		{DirGrant{Host: filepath.Join(dir, "missing"), Guest: "/data"}, "the host directory does not exist"},
		{DirGrant{Host: file, Guest: "/data"}, "not a directory"},
		{DirGrant{Host: dir, Guest: "data"}, `guest path "data" must be an absolute path`},
		{DirGrant{Host: "", Guest: "/data"}, "has no host directory"},
	} {
		_, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{}, Grants{Dirs: []DirGrant{c.g}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "probe") {
			t.Errorf("grant %+v: error %v, want it to name the module and say %q", c.g, err, c.want)
		}
	}
	_, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{},
		Grants{Dirs: []DirGrant{{Host: dir, Guest: "/a"}, {Host: dir, Guest: "/a/"}}})
	if err == nil || !strings.Contains(err.Error(), "both use guest path /a") {
		t.Errorf("duplicate guest path: %v", err)
	}
}

// TestGrantLinksCannotMoveSymlinks: a relative symbolic link that points
// inside a writable grant from a subdirectory points outside it from the
// grant's root. Hard-linking it, or renaming it to another level, would be
// a way out; both are refused, and renaming it within its directory still
// works.
func TestGrantLinksCannotMoveSymlinks(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "grant")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inside.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "inside.txt"), []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Made by the operator: sub/inner -> ../inside.txt (the grant's own file).
	if err := os.Symlink("../inside.txt", filepath.Join(dir, "sub", "inner")); err != nil {
		t.Fatal(err)
	}
	m, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{},
		Grants{Dirs: []DirGrant{{Host: dir, Guest: "/out", Writable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for _, op := range []string{"link", "rename"} {
		_, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"probe", op, "/out/sub/inner", "/out/moved-" + op}})
		if err == nil {
			t.Errorf("%s of a symlink to another level: allowed", op)
			continue
		}
		re := runErr(t, err, Exit)
		if strings.Contains(string(re.Stdout), "host secret") || !strings.Contains(strings.Join(re.StderrTail, "\n"), "not permitted") {
			t.Errorf("%s: stdout %q, stderr %q; want it refused", op, re.Stdout, re.StderrTail)
		}
	}
	// Within its own directory the link keeps its meaning: allowed.
	if got := runProbe(t, m, nil, "rename", "/out/sub/inner", "/out/sub/renamed"); got != "inside" {
		t.Errorf("rename within the directory: %q", got)
	}
	// Hard links of ordinary files still work.
	if got := runProbe(t, m, nil, "link", "/out/inside.txt", "/out/sub/hard"); got != "inside" {
		t.Errorf("hard link of a file: %q", got)
	}
}

// TestGrantBounds: a guest cannot hold more than MaxOpenFiles files open in
// a granted directory, nor write more than its grant's MaxWriteBytes.
func TestGrantBounds(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := testEngine.LoadWithGrants(context.Background(), guestPath(t, "probe"), Limits{},
		Grants{Dirs: []DirGrant{{Host: dir, Guest: "/out", Writable: true, MaxWriteBytes: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	// The preopened directory itself holds one of the MaxOpenFiles.
	if got := runProbe(t, m, nil, "openmany", "/out/f.txt", "5000"); got != strconv.Itoa(MaxOpenFiles-1) {
		t.Errorf("opened %s files, want the cap of %d less the preopen", got, MaxOpenFiles)
	}
	// The instance that held them is gone: its files were closed.
	if got := runProbe(t, m, nil, "openmany", "/out/f.txt", "10"); got != "10" {
		t.Errorf("after the previous run: %s files, want 10", got)
	}
	if got := runProbe(t, m, nil, "fill", "/out/big", strconv.Itoa(4<<20)); got != strconv.Itoa(1<<20) {
		t.Errorf("wrote %s bytes, want the quota of %d", got, 1<<20)
	}
	if st, err := os.Stat(filepath.Join(dir, "big")); err != nil || st.Size() != 1<<20 {
		t.Errorf("host file: %v, %v", st, err)
	}
}
