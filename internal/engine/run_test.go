package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmworker/wasmworker/internal/wasmbin"
)

func TestEchoStdinStdoutAndStderrLines(t *testing.T) {
	m := loadGuest(t, "echo", Limits{})
	var lines []string
	out, err := m.RunCommand(context.Background(), CommandInput{
		Stdin:  []byte(`{"name":"Azure"}`),
		Args:   []string{"echo", "lines=5", "partial"},
		Stderr: func(l string) { lines = append(lines, l) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out.Stdout); got != `{"name":"Azure"}` {
		t.Errorf("stdout = %q", got)
	}
	want := []string{"echo: line 1", "echo: line 2", "echo: line 3", "echo: line 4", "echo: line 5", "echo: no newline"}
	if !slices.Equal(lines, want) {
		t.Errorf("stderr lines = %q, want %q", lines, want)
	}
	if !slices.Equal(out.StderrTail, want) {
		t.Errorf("stderr tail = %q, want %q", out.StderrTail, want)
	}
}

func TestStderrTailKeepsLast20Lines(t *testing.T) {
	m := loadGuest(t, "echo", Limits{})
	out, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"echo", "lines=50"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.StderrTail) != 20 || out.StderrTail[0] != "echo: line 31" || out.StderrTail[19] != "echo: line 50" {
		t.Errorf("tail = %q", out.StderrTail)
	}
}

type guestInfo struct {
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Random   string   `json:"random"`
	UnixNano int64    `json:"unixNano"`
}

func runInfo(t *testing.T, m *Module, in CommandInput) guestInfo {
	t.Helper()
	out, err := m.RunCommand(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var info guestInfo
	if err := json.Unmarshal(out.Stdout, &info); err != nil {
		t.Fatalf("guest output %q: %v", out.Stdout, err)
	}
	return info
}

func TestArgsEnvClockAndRandomness(t *testing.T) {
	m := loadGuest(t, "echo", Limits{})
	base := filepath.Base(m.Path())

	// Default argv is the file's base name; no env at all.
	// (The guest needs "info" in argv, so check the default through a
	// module copy whose name is the argument.)
	info := runInfo(t, m, CommandInput{Args: []string{"prog", "info", "lines=0"}, Env: map[string]string{"B": "2", "A": "x=y"}})
	if want := []string{"prog", "info", "lines=0"}; !slices.Equal(info.Args, want) {
		t.Errorf("args = %q, want %q", info.Args, want)
	}
	if want := []string{"A=x=y", "B=2"}; !slices.Equal(info.Env, want) {
		t.Errorf("env = %q, want %q", info.Env, want)
	}
	if d := time.Since(time.Unix(0, info.UnixNano)); d < 0 || d > time.Hour {
		t.Errorf("guest clock is %v away from the host's; want real time", d)
	}
	info2 := runInfo(t, m, CommandInput{Args: []string{"prog", "info", "lines=0"}})
	if len(info2.Env) != 0 {
		t.Errorf("env with nil Env = %q, want none", info2.Env)
	}
	if info.Random == info2.Random || len(info.Random) != 32 {
		t.Errorf("random bytes %q and %q: want 16 bytes that differ per instance", info.Random, info2.Random)
	}

	// nil Args → [basename]: the guest then echoes stdin.
	out, err := m.RunCommand(context.Background(), CommandInput{Stdin: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Stdout) != "x" {
		t.Errorf("stdout = %q", out.Stdout)
	}
	// And argv[0] is the base name: use a copy named "info" so the guest
	// reports its argv.
	infoCopy := filepath.Join(t.TempDir(), "info")
	b, err := os.ReadFile(m.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(infoCopy, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m2, err := testEngine.Load(context.Background(), infoCopy, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close(context.Background())
	_ = base
	out, err = m2.RunCommand(context.Background(), CommandInput{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Stdout) != "" {
		t.Errorf("argv[0]=info is not an argument; stdout = %q", out.Stdout)
	}
}

func TestInvalidEnvAndArgs(t *testing.T) {
	m := loadGuest(t, "echo", Limits{})
	for _, in := range []CommandInput{
		{Env: map[string]string{"A=B": "1"}},
		{Env: map[string]string{"": "1"}},
		{Env: map[string]string{"A": "x\x00y"}},
		{Args: []string{"a\x00b"}},
	} {
		_, err := m.RunCommand(context.Background(), in)
		re := runErr(t, err, Instantiate)
		if re.Detail == "" {
			t.Errorf("%+v: no detail", in)
		}
	}
}

func TestExitCode(t *testing.T) {
	m := loadGuest(t, "exit", Limits{})
	_, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"exit", "7"}})
	re := runErr(t, err, Exit)
	if re.ExitCode != 7 {
		t.Errorf("exit code = %d, want 7", re.ExitCode)
	}
	if string(re.Stdout) != "partial output\n" {
		t.Errorf("stdout = %q", re.Stdout)
	}
	if !slices.Equal(re.StderrTail, []string{"exit: leaving with code 7"}) {
		t.Errorf("stderr tail = %q", re.StderrTail)
	}
	msg := re.Error()
	for _, s := range []string{"exited with code 7", "stderr (last 1 lines): exit: leaving with code 7", m.Path()} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}
	// Exit code 0 is success.
	out, err := m.RunCommand(context.Background(), CommandInput{Args: []string{"exit", "0"}})
	if err != nil || string(out.Stdout) != "partial output\n" {
		t.Errorf("exit 0: out=%v err=%v", out, err)
	}
}

func TestGoPanicExitsWithCode2(t *testing.T) {
	m := loadGuest(t, "panic", Limits{})
	_, err := m.RunCommand(context.Background(), CommandInput{})
	re := runErr(t, err, Exit)
	if re.ExitCode != 2 {
		t.Errorf("exit code = %d, want 2 (the Go runtime's panic exit)", re.ExitCode)
	}
	if !strings.Contains(strings.Join(re.StderrTail, "\n"), "panic: boom from the guest") {
		t.Errorf("stderr tail %q lacks the panic message", re.StderrTail)
	}
	if !strings.Contains(re.Error(), "panic: boom from the guest") {
		t.Errorf("message %q lacks the panic message", re.Error())
	}
}

func TestTrapThenNextRunIsFine(t *testing.T) {
	trap := voidModule([]string{"_start"}, wasmbin.Body(0x00)) // unreachable
	m, err := testEngine.Load(context.Background(), writeFile(t, "trap.wasm", trap), Limits{MemoryPages: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for i := 0; i < 3; i++ {
		_, err := m.RunCommand(context.Background(), CommandInput{})
		re := runErr(t, err, Trap)
		if !strings.Contains(re.Detail, "wasm error: unreachable") || !strings.Contains(re.Detail, "wasm stack trace") {
			t.Errorf("detail = %q", re.Detail)
		}
	}
	// A trap in one module does not affect a run of another.
	echo := loadGuest(t, "echo", Limits{})
	if _, err := echo.RunCommand(context.Background(), CommandInput{}); err != nil {
		t.Error(err)
	}
}

func TestStackOverflowIsTrap(t *testing.T) {
	// _start calls itself forever.
	rec := voidModule([]string{"_start"}, wasmbin.Body(0x10, 0x00))
	m, err := testEngine.Load(context.Background(), writeFile(t, "rec.wasm", rec), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	_, err = m.RunCommand(context.Background(), CommandInput{})
	re := runErr(t, err, Trap)
	if !strings.Contains(re.Detail, "stack overflow") {
		t.Errorf("detail = %q", re.Detail)
	}
}

func TestLoopStoppedByCancel(t *testing.T) {
	m := loadGuest(t, "loop", Limits{})
	for _, mode := range []string{"spin", "sleep"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			started := make(chan struct{})
			var once sync.Once
			go func() {
				<-started
				cancel()
			}()
			_, err := m.RunCommand(ctx, CommandInput{
				Args:   []string{"loop", mode},
				Stderr: func(string) { once.Do(func() { close(started) }) },
			})
			re := runErr(t, err, Canceled)
			if !slices.Equal(re.StderrTail, []string{"loop: started"}) {
				t.Errorf("stderr tail = %q", re.StderrTail)
			}
		})
	}
}

func TestLoopStoppedByDeadline(t *testing.T) {
	m := loadGuest(t, "loop", Limits{})
	for _, mode := range []string{"spin", "sleep"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := m.RunCommand(ctx, CommandInput{Args: []string{"loop", mode}})
			re := runErr(t, err, DeadlineExceeded)
			if !strings.Contains(re.Error(), "deadline") {
				t.Errorf("message = %q", re.Error())
			}
		})
	}
}

func TestCancelCauseInDetail(t *testing.T) {
	m := loadGuest(t, "loop", Limits{})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel(errors.New("host is shutting down"))
	}()
	_, err := m.RunCommand(ctx, CommandInput{})
	re := runErr(t, err, Canceled)
	if re.Detail != "host is shutting down" {
		t.Errorf("detail = %q", re.Detail)
	}
}

func TestMemoryBomb(t *testing.T) {
	const pages = 256 // 16 MiB
	m := loadGuest(t, "membomb", Limits{MemoryPages: pages})
	_, err := m.RunCommand(context.Background(), CommandInput{})
	re := runErr(t, err, MemoryLimit)
	if re.Limit != pages {
		t.Errorf("limit = %d", re.Limit)
	}
	msg := re.Error()
	if !strings.Contains(msg, "memory limit of 16 MiB (256 pages) exceeded") || !strings.Contains(msg, "out of memory") {
		t.Errorf("message = %q", msg)
	}
	t.Log(msg)
	// The module still runs (and fails the same way) afterwards.
	_, err = m.RunCommand(context.Background(), CommandInput{})
	runErr(t, err, MemoryLimit)
}

func TestStdoutFloodStopped(t *testing.T) {
	const limit = 1 << 20
	m := loadGuest(t, "flood", Limits{MaxStdoutBytes: limit})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := m.RunCommand(ctx, CommandInput{Args: []string{"flood", "stdout"}})
	re := runErr(t, err, StdoutLimit)
	if len(re.Stdout) != limit || re.Limit != limit {
		t.Errorf("kept %d bytes of stdout, limit %d; want %d", len(re.Stdout), re.Limit, limit)
	}
	if !strings.Contains(re.Error(), "stdout limit of 1 MiB (1048576 bytes) exceeded") {
		t.Errorf("message = %q", re.Error())
	}
}

// TestStderrWithoutNewlineFailsTheRun: a stderr stream that never ends its
// line is stopped by the log limit too, not by the deadline.
func TestStderrWithoutNewlineFailsTheRun(t *testing.T) {
	m := loadGuest(t, "flood", Limits{MaxStderrBytes: 10000})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := m.RunCommand(ctx, CommandInput{Args: []string{"flood", "stderrline"}})
	re := runErr(t, err, LogLimit)
	if !strings.Contains(re.Error(), "(10000 bytes of stderr)") {
		t.Errorf("error = %q", re.Error())
	}
}

func TestStderrFloodFailsTheRun(t *testing.T) {
	// The budget counts every stderr byte, the cut part of the first
	// (20,000-byte) line included.
	const maxBytes, maxLine = 30000, 100
	m := loadGuest(t, "flood", Limits{MaxStderrBytes: maxBytes, MaxStderrLine: maxLine})
	var lines []string
	total := 0
	_, err := m.RunCommand(context.Background(), CommandInput{
		Args:   []string{"flood", "stderr", "20000"},
		Stderr: func(l string) { lines = append(lines, l); total += len(l) + 1 },
	})
	re := runErr(t, err, LogLimit)
	if re.Limit != maxBytes || !strings.Contains(re.Error(), "log limit of 29.3 KiB (30000 bytes of stderr) per invocation exceeded") {
		t.Errorf("error = %q (limit %d)", re.Error(), re.Limit)
	}
	if len(lines) < 3 {
		t.Fatalf("only %d lines forwarded", len(lines))
	}
	if first := lines[0]; len(first) > maxLine+40 || !strings.HasPrefix(first, strings.Repeat("x", maxLine)) ||
		!strings.Contains(first, "[19900 bytes cut]") {
		t.Errorf("first (long) line = %q", first)
	}
	if lines[1] != "flood: stderr line 000001" {
		t.Errorf("second line = %q", lines[1])
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "... ") || !strings.Contains(last, "bytes of stderr dropped: stderr limit of 29.3 KiB (30000 bytes) per run reached") {
		t.Errorf("last line = %q", last)
	}
	if forwarded := total - len(last) - 1; forwarded > maxBytes {
		t.Errorf("forwarded %d bytes, limit %d", forwarded, maxBytes)
	}
}

func TestConcurrentRuns(t *testing.T) {
	m := loadGuest(t, "echo", Limits{})
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := fmt.Sprintf("input %d", i)
			var lines []string
			out, err := m.RunCommand(context.Background(), CommandInput{
				Stdin:  []byte(in),
				Args:   []string{"echo", fmt.Sprintf("lines=%d", i%5)},
				Stderr: func(l string) { lines = append(lines, l) },
			})
			switch {
			case err != nil:
				errs <- err
			case string(out.Stdout) != in:
				errs <- fmt.Errorf("run %d: stdout %q", i, out.Stdout)
			case len(lines) != i%5:
				errs <- fmt.Errorf("run %d: %d stderr lines, want %d", i, len(lines), i%5)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClosedModule(t *testing.T) {
	m, err := testEngine.Load(context.Background(), guestPath(t, "echo"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = m.RunCommand(context.Background(), CommandInput{})
	re := runErr(t, err, Instantiate)
	if !strings.Contains(re.Error(), "closed") {
		t.Errorf("message = %q", re.Error())
	}
}

func TestEngineCloseClosesModules(t *testing.T) {
	e, err := NewEngine(Config{CacheDir: CacheOff})
	if err != nil {
		t.Fatal(err)
	}
	trap := voidModule([]string{"_start"}, wasmbin.Body())
	m, err := e.Load(context.Background(), writeFile(t, "nop.wasm", trap), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.RunCommand(context.Background(), CommandInput{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = m.RunCommand(context.Background(), CommandInput{})
	runErr(t, err, Instantiate)
	if _, err := e.Load(context.Background(), writeFile(t, "nop.wasm", trap), Limits{}); err == nil || !strings.Contains(err.Error(), "engine is closed") {
		t.Errorf("Load after Close: %v", err)
	}
}
