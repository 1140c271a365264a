package fnhost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// StartOptions say how to start a worker process (docs/host-contract.md §1.4, §1.5).
type StartOptions struct {
	Config *WorkerConfig
	// AppDir is the function app root: the working directory and
	// FUNCTIONS_APPLICATION_DIRECTORY ("" → current directory; made absolute).
	AppDir string
	// Env is the host's environment the child inherits (nil → os.Environ());
	// FUNCTIONS_WORKER_DIRECTORY, FUNCTIONS_APPLICATION_DIRECTORY etc. are
	// added as docs/host-contract.md §1.4 says.
	Env  []string
	Port int
	// WorkerID and RequestID go on the command line ("" → fresh GUIDs).
	WorkerID, RequestID string
	// Stdout and Stderr receive the process output line by line (without
	// the line end); nil discards. Each is called from one goroutine.
	Stdout, Stderr func(line string)
}

// stderrTailLines is how many stderr lines a Process keeps for error messages.
const stderrTailLines = 20

// Process is a running worker process.
type Process struct {
	cmd       *exec.Cmd
	args      []string
	env       []string
	dir       string
	workerID  string
	requestID string
	done      chan struct{}
	exitCode  int
	waitErr   error

	mu   sync.Mutex
	tail []string
}

// StartProcess starts the worker the way the host does: the executable of
// the config with the argv of docs/host-contract.md §1.5, the host's environment plus the
// per-process variables of docs/host-contract.md §1.4, the app root as working directory, and
// stdout/stderr read line by line (docs/host-contract.md §1.6).
func StartProcess(o StartOptions) (*Process, error) {
	if o.Config == nil {
		return nil, errors.New("host: StartOptions.Config is nil")
	}
	appDir := o.AppDir
	if appDir == "" {
		appDir = "."
	}
	appDir, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("app directory %q: %w", o.AppDir, err)
	}
	base := o.Env
	if base == nil {
		base = os.Environ()
	}
	p := &Process{
		workerID:  o.WorkerID,
		requestID: o.RequestID,
		dir:       appDir,
		done:      make(chan struct{}),
	}
	if p.workerID == "" {
		p.workerID = uuid.NewString()
	}
	if p.requestID == "" {
		p.requestID = uuid.NewString()
	}
	exe, argv, env, err := buildCommand(o.Config, base, appDir, o.Port, p.workerID, p.requestID)
	if err != nil {
		return nil, err
	}
	path, err := resolveExecutable(exe, base)
	if err != nil {
		return nil, err
	}
	p.args = append([]string{exe}, argv...)
	p.env = env
	cmd := &exec.Cmd{
		Path: path,
		Args: p.args,
		Env:  env,
		Dir:  appDir,
		// Do not wait forever for output pipes held open by grandchildren.
		WaitDelay: 2 * time.Second,
	}
	outW := &lineWriter{fn: o.Stdout}
	errW := &lineWriter{fn: func(line string) {
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > stderrTailLines {
			p.tail = p.tail[len(p.tail)-stderrTailLines:]
		}
		p.mu.Unlock()
		if o.Stderr != nil {
			o.Stderr(line)
		}
	}}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", path, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		outW.flush()
		errW.flush()
		p.exitCode = exitCodeOf(cmd.ProcessState)
		close(p.done)
	}()
	return p, nil
}

// exitCodeOf reports the code as .NET's Process.ExitCode does on Unix:
// 128+signal for a process ended by a signal.
func exitCodeOf(st *os.ProcessState) int {
	if st == nil {
		return -1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// Args is the argv the process was started with (argv[0] is the executable
// as the host names it, after placeholder expansion).
func (p *Process) Args() []string { return append([]string{}, p.args...) }

// Env is the environment the process was started with.
func (p *Process) Env() []string { return append([]string{}, p.env...) }

// Dir is the working directory of the process (the app root).
func (p *Process) Dir() string { return p.dir }

// WorkerID is the worker id on the command line.
func (p *Process) WorkerID() string { return p.workerID }

// RequestID is the request id on the command line.
func (p *Process) RequestID() string { return p.requestID }

// Pid is the operating-system process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit code, valid after Done: 128+signal for a process
// ended by a signal (137 after Kill), like .NET reports it.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.exitCode
	default:
		return -1
	}
}

// Kill ends the process with SIGKILL, as .NET's Process.Kill does.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
}

// StderrTail returns the last stderr lines (at most 20), oldest first.
func (p *Process) StderrTail() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.tail...)
}

// StderrLevel grades a worker's stderr line as the host does (docs/host-contract.md §1.6):
// "Warning" if it contains "warn", else "Error" if it contains "error",
// "fail", "severe" or "unhandled exception", else "Information" (all
// case-insensitive). See StderrLevelFor for useStdErrorStreamForErrorsOnly.
func StderrLevel(line string) string { return StderrLevelFor(line, false) }

// StderrLevelFor is StderrLevel for a config's useStdErrorStreamForErrorsOnly:
// when set, every stderr line without "warn" is an Error.
func StderrLevelFor(line string, errorsOnly bool) string {
	l := strings.ToLower(line)
	switch {
	case strings.Contains(l, "warn"):
		return "Warning"
	case errorsOnly:
		return "Error"
	case strings.Contains(l, "error"), strings.Contains(l, "fail"),
		strings.Contains(l, "severe"), strings.Contains(l, "unhandled exception"):
		return "Error"
	default:
		return "Information"
	}
}

// ConsoleLogPrefix marks a worker output line the host logs as a system log (docs/host-contract.md §1.6).
const ConsoleLogPrefix = "LanguageWorkerConsoleLog"

// SystemConsoleLine reports whether an output line is a system log line
// (it starts with LanguageWorkerConsoleLog, ignoring case) and returns it
// with every occurrence of the prefix removed (docs/host-contract.md §1.6).
func SystemConsoleLine(line string) (msg string, ok bool) {
	if len(line) < len(ConsoleLogPrefix) || !strings.EqualFold(line[:len(ConsoleLogPrefix)], ConsoleLogPrefix) {
		return line, false
	}
	var b strings.Builder
	rest := line
	for {
		i := strings.Index(strings.ToLower(rest), strings.ToLower(ConsoleLogPrefix))
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+len(ConsoleLogPrefix):]
	}
	return b.String(), true
}

// lineWriter splits written bytes into lines like .NET's
// BeginOutputReadLine: "\n", "\r" and "\r\n" end a line.
type lineWriter struct {
	fn      func(string)
	buf     []byte
	afterCR bool
}

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if w.afterCR {
			w.afterCR = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			w.buf = append(w.buf, b...)
			if len(w.buf) > 1<<20 { // keep memory bounded on endless lines
				w.emit()
			}
			break
		}
		w.buf = append(w.buf, b[:i]...)
		w.afterCR = b[i] == '\r'
		b = b[i+1:]
		w.emit()
	}
	return n, nil
}

func (w *lineWriter) emit() {
	line := string(w.buf)
	w.buf = w.buf[:0]
	if w.fn != nil {
		w.fn(line)
	}
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit()
	}
}
