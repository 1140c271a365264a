package fnhost

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSplitArguments(t *testing.T) {
	for in, want := range map[string][]string{
		``:                       {},
		`  a  b	c `:              {"a", "b", "c"},
		` "/x y/z.js" --port 5`:  {"/x y/z.js", "--port", "5"},
		`a"b c"d`:                {"ab cd"},
		`""`:                     {""},
		`"a""b"`:                 {`a"b`},
		`a\b \\"x y"`:            {`a\b`, `\x y`},
		`\"q\"`:                  {`"q"`},
		"line\nbreak":            {"line\nbreak"},
		`"unterminated arg here`: {"unterminated arg here"},
	} {
		got := splitArguments(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitArguments(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandEnvLookup(t *testing.T) {
	env := []string{"A=1", "B=two", "EMPTY="}
	lookup := func(k string) (string, bool) { return lookupEnv(env, k) }
	for in, want := range map[string]string{
		"%A%":        "1",
		"x%A%y%B%z":  "x1ytwoz",
		"%NOPE%":     "%NOPE%",
		"%NOPE%A%":   "%NOPE1", // .NET rescans from the unmatched closing %
		"%EMPTY%.":   ".",
		"100%":       "100%",
		"%%A%":       "%1",
		"no percent": "no percent",
	} {
		if got := expandEnvLookup(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitizeExpandedArgument(t *testing.T) {
	for in, want := range map[string]string{
		"%X%": "", "a%X%b": "ab", "%TestEnv2%%duh%": "", "50% off": "50% off", "%a%b%a%": "b",
	} {
		if got := sanitizeExpandedArgument(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// commandFixture is a worker folder whose config exercises every rule of
// docs/host-contract.md §1.4/§1.5: %FUNCTIONS_WORKER_DIRECTORY% in the executable and arguments,
// a host variable, a leftover %X%, an argument with a space, and a
// defaultWorkerPath with a space that must arrive as one argv item.
func commandFixture(t *testing.T) *WorkerConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(echoWorkerBin, filepath.Join(dir, "echoworker")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main script.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgJSON := `{"description":{"language":"echo","defaultExecutablePath":"%FUNCTIONS_WORKER_DIRECTORY%/echoworker",
	  "defaultWorkerPath":"main script.js",
	  "arguments":["--wd=%FUNCTIONS_WORKER_DIRECTORY%","--app=%FUNCTIONS_APPLICATION_DIRECTORY%","--v=%HOSTVAR_FOR_TEST%","--gone=%NOT_SET_ANYWHERE%!","two words","{workerDirectoryPath}/lib"]}}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWorkerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func wantArgv(cfg *WorkerConfig, appDir, hostVar string, port int, workerID, requestID string) []string {
	p := strconv.Itoa(port)
	return []string{
		cfg.Dir + "/echoworker",
		"--wd=" + cfg.Dir, "--app=" + appDir, "--v=" + hostVar, "--gone=!", "two", "words", cfg.Dir + "/lib",
		filepath.Join(cfg.Dir, "main script.js"),
		"--host", "127.0.0.1", "--port", p, "--workerId", workerID, "--requestId", requestID, "--grpcMaxMessageLength", "2147483647",
		"--functions-uri", "http://127.0.0.1:" + p + "/", "--functions-worker-id", workerID, "--functions-request-id", requestID,
		"--functions-grpc-max-message-length", "2147483647",
	}
}

func TestCommandLine(t *testing.T) {
	cfg := commandFixture(t)
	t.Setenv("HOSTVAR_FOR_TEST", "hv")
	wd, _ := os.Getwd()
	got, err := CommandLine(cfg, 51234, "w-id", "r-id")
	if err != nil {
		t.Fatal(err)
	}
	want := wantArgv(cfg, wd, "hv", 51234, "w-id", "r-id")
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv\n got %q\nwant %q", got, want)
	}
	if _, err := CommandLine(cfg, 0, "w", "r"); err == nil {
		t.Error("port 0: no error")
	}
}

func TestStartProcessArgvEnvCwd(t *testing.T) {
	srv := listen(t)
	cfg := commandFixture(t)
	appDir := t.TempDir()
	var mu sync.Mutex
	var stdout, stderr []string
	p, st := startEcho(t, srv, StartOptions{
		Config: cfg,
		AppDir: appDir,
		Env:    []string{"PATH=" + os.Getenv("PATH"), "HOSTVAR_FOR_TEST=from-base", "FUNCTIONS_WORKER_RUNTIME_VERSION=9.9"},
		Stdout: func(l string) { mu.Lock(); stdout = append(stdout, l); mu.Unlock() },
		Stderr: func(l string) { mu.Lock(); stderr = append(stderr, l); mu.Unlock() },
	})
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !guid.MatchString(p.WorkerID()) || !guid.MatchString(p.RequestID()) || p.WorkerID() == p.RequestID() {
		t.Errorf("ids %q %q are not two distinct lower-case GUIDs", p.WorkerID(), p.RequestID())
	}
	want := wantArgv(cfg, appDir, "from-base", srv.Port(), p.WorkerID(), p.RequestID())
	if strings.Join(p.Args(), "\x00") != strings.Join(want, "\x00") {
		t.Errorf("Args\n got %q\nwant %q", p.Args(), want)
	}
	if st.StartMessage().GetRequestId() != p.RequestID() || st.StartMessage().GetStartStream().GetWorkerId() != p.WorkerID() {
		t.Errorf("StartStream = %v", st.StartMessage())
	}

	r := readReport(t, st)
	if strings.Join(r.Args, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv seen by the worker\n got %q\nwant %q", r.Args, want)
	}
	realApp, _ := filepath.EvalSymlinks(appDir)
	if r.Cwd != appDir && r.Cwd != realApp {
		t.Errorf("cwd = %q, want %q", r.Cwd, appDir)
	}
	for k, v := range map[string]string{
		"FUNCTIONS_WORKER_DIRECTORY":       cfg.Dir,
		"FUNCTIONS_APPLICATION_DIRECTORY":  appDir,
		"FUNCTIONS_WORKER_RUNTIME_VERSION": "9.9",
		"HOSTVAR_FOR_TEST":                 "from-base",
	} {
		if r.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, r.Env[k], v)
		}
	}
	if _, ok := r.Env["HOME"]; ok && os.Getenv("HOME") != "" {
		t.Error("HOME leaked into the child although Env was given without it")
	}

	st.Close()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not exit after the host ended the stream")
	}
	if p.ExitCode() != 0 {
		t.Errorf("exit code %d, want 0", p.ExitCode())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stdout) == 0 || stdout[0] != "echoworker stdout line" {
		t.Errorf("stdout lines %q", stdout)
	}
	if len(stderr) == 0 || stderr[0] != "warn: echoworker stderr line" {
		t.Errorf("stderr lines %q", stderr)
	}
	if tail := p.StderrTail(); len(tail) == 0 || tail[0] != "warn: echoworker stderr line" {
		t.Errorf("StderrTail = %q", tail)
	}
}

func TestStartProcessDefaultsAndErrors(t *testing.T) {
	if _, err := StartProcess(StartOptions{}); err == nil {
		t.Error("no config: no error")
	}
	cfg := echoConfig(t)
	bad := *cfg
	bad.DefaultExecutablePath = "definitely-not-a-program-xyz"
	_, err := StartProcess(StartOptions{Config: &bad, Port: 1})
	if err == nil || !strings.Contains(err.Error(), "definitely-not-a-program-xyz") {
		t.Errorf("missing executable: err = %v", err)
	}
	// nil Env inherits the current environment.
	srv := listen(t)
	t.Setenv("HOST_TEST_INHERITED", "yes")
	_, st := startEcho(t, srv, StartOptions{Config: cfg})
	if r := readReport(t, st); r.Env["HOST_TEST_INHERITED"] != "yes" {
		t.Errorf("inherited env missing: %q", r.Env["HOST_TEST_INHERITED"])
	}
}

// The per-process variables replace same-named host variables in the child's
// environment (docs/host-contract.md §1.4). (Placeholders are expanded with the host's environment
// first, so a host that itself had FUNCTIONS_WORKER_DIRECTORY set would see
// that value in the command line — as the real host would.)
func TestStartProcessOverridesHostVars(t *testing.T) {
	srv := listen(t)
	cfg := echoConfig(t)
	appDir := t.TempDir()
	_, st := startEcho(t, srv, StartOptions{Config: cfg, AppDir: appDir,
		Env: echoEnv("FUNCTIONS_WORKER_DIRECTORY=/wrong", "FUNCTIONS_APPLICATION_DIRECTORY=/wrong2")})
	r := readReport(t, st)
	if r.Env["FUNCTIONS_WORKER_DIRECTORY"] != cfg.Dir || r.Env["FUNCTIONS_APPLICATION_DIRECTORY"] != appDir {
		t.Errorf("child env: worker dir %q, app dir %q", r.Env["FUNCTIONS_WORKER_DIRECTORY"], r.Env["FUNCTIONS_APPLICATION_DIRECTORY"])
	}
	if _, ok := r.Env["FUNCTIONS_WORKER_RUNTIME_VERSION"]; ok && os.Getenv("FUNCTIONS_WORKER_RUNTIME_VERSION") == "" {
		t.Error("FUNCTIONS_WORKER_RUNTIME_VERSION set although the host has none")
	}
}

func TestProcessKill(t *testing.T) {
	srv := listen(t)
	p, st := startEcho(t, srv, StartOptions{Env: echoEnv()})
	p.Kill()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done not closed after Kill")
	}
	if p.ExitCode() != 137 {
		t.Errorf("exit code after SIGKILL = %d, want 137 (128+9, as .NET reports it)", p.ExitCode())
	}
	select {
	case <-st.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("stream not ended after the process died")
	}
	for range st.Recv() {
	}
	if err := st.Send(msgInvocationRequest("i", "f", "x")); err != ErrStreamEnded {
		t.Errorf("Send after end = %v, want ErrStreamEnded", err)
	}
}

func TestProcessExitCode(t *testing.T) {
	srv := listen(t)
	p, st := startEcho(t, srv, StartOptions{Env: echoEnv()})
	if err := st.Send(msgInvocationRequest(NewInvocationID(), "f", "crash:7")); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if p.ExitCode() != 7 {
		t.Errorf("exit code %d, want 7", p.ExitCode())
	}
	if tail := p.StderrTail(); len(tail) == 0 || !strings.Contains(tail[len(tail)-1], "crashing on purpose") {
		t.Errorf("StderrTail = %q", tail)
	}
}

func TestStderrLevel(t *testing.T) {
	for line, want := range map[string]string{
		"WARNING: x": "Warning", "an Error occurred": "Error", "warn and error": "Warning", "Failed": "Error",
		"SEVERE": "Error", "Unhandled exception. boom": "Error", "hello": "Information", "": "Information",
	} {
		if got := StderrLevel(line); got != want {
			t.Errorf("StderrLevel(%q) = %s, want %s", line, got, want)
		}
	}
	if StderrLevelFor("hello", true) != "Error" || StderrLevelFor("warn", true) != "Warning" {
		t.Error("useStdErrorStreamForErrorsOnly not applied")
	}
}

func TestSystemConsoleLine(t *testing.T) {
	if msg, ok := SystemConsoleLine("languageworkerconsolelogStarting LanguageWorkerConsoleLog x"); !ok || msg != "Starting  x" {
		t.Errorf("got %q %v", msg, ok)
	}
	if msg, ok := SystemConsoleLine("user line"); ok || msg != "user line" {
		t.Errorf("got %q %v", msg, ok)
	}
}

func TestLineWriter(t *testing.T) {
	var lines []string
	w := &lineWriter{fn: func(l string) { lines = append(lines, l) }}
	for _, chunk := range []string{"a\r", "\nb\rc\n", "\n", "d", "e"} {
		fmt.Fprint(w, chunk)
	}
	w.flush()
	want := []string{"a", "b", "c", "", "de"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
}
