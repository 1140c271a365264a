package fnhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// MaxMessageLength is the gRPC message limit the host puts on the command
// line and uses on its server (RpcWorkerConstants.DefaultMaxMessageLengthBytes, §1.5).
const MaxMessageLength = 2147483647

// NewInvocationID returns a fresh invocation id (a GUID, §2.7).
func NewInvocationID() string { return uuid.NewString() }

// CommandLine returns the argv the host would start the worker with (docs/host-contract.md §1.5),
// with the executable as argv[0] as written after expansion. It expands the
// environment of the current process and uses the current directory as the
// function app directory; StartProcess uses its options instead (see
// Process.Args for what was really run).
func CommandLine(cfg *WorkerConfig, port int, workerID, requestID string) ([]string, error) {
	appDir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	exe, argv, _, err := buildCommand(cfg, os.Environ(), appDir, port, workerID, requestID)
	if err != nil {
		return nil, err
	}
	return append([]string{exe}, argv...), nil
}

// processVars are the variables the host sets for the worker process on top
// of its own environment (docs/host-contract.md §1.4), in the order they are substituted.
func processVars(cfg *WorkerConfig, base []string, appDir string) [][2]string {
	vars := [][2]string{
		{"FUNCTIONS_WORKER_DIRECTORY", cfg.Dir},
		{"FUNCTIONS_APPLICATION_DIRECTORY", appDir},
	}
	// Copied from the host's environment; absent stays absent.
	if v, ok := lookupEnv(base, "FUNCTIONS_WORKER_RUNTIME_VERSION"); ok {
		vars = append(vars, [2]string{"FUNCTIONS_WORKER_RUNTIME_VERSION", v})
	}
	// DefaultWorkerProcessFactory.ApplyWorkerConcurrencyLimits.
	switch strings.ToLower(cfg.Language) {
	case "python":
		if _, ok := lookupEnv(base, "PYTHON_THREADPOOL_THREAD_COUNT"); !ok {
			vars = append(vars, [2]string{"PYTHON_THREADPOOL_THREAD_COUNT", "1000"})
		}
	case "powershell":
		if _, ok := lookupEnv(base, "PSWorkerInProcConcurrencyUpperBound"); !ok {
			vars = append(vars, [2]string{"PSWorkerInProcConcurrencyUpperBound", "1000"})
		}
	}
	return vars
}

// buildCommand mirrors DefaultWorkerProcessFactory (docs/host-contract.md §1.4, §1.5): it builds
// the host's single argument string, substitutes the per-process variables
// in it and in the file name, deletes leftover %X% tokens from the
// arguments, and splits the string the way .NET does on Unix. It returns the
// file name (argv[0]), the remaining argv and the child's environment.
func buildCommand(cfg *WorkerConfig, base []string, appDir string, port int, workerID, requestID string) (exe string, argv, env []string, err error) {
	if cfg == nil {
		return "", nil, nil, errors.New("no worker config")
	}
	if port <= 0 || port > 65535 {
		return "", nil, nil, fmt.Errorf("port %d out of range", port)
	}
	if workerID == "" || requestID == "" {
		return "", nil, nil, errors.New("worker id and request id must not be empty")
	}
	getenv := func(k string) (string, bool) { return lookupEnv(base, k) }

	// Config load: Environment.ExpandEnvironmentVariables on the executable.
	exe = expandEnvLookup(cfg.DefaultExecutablePath, getenv)

	var sb strings.Builder
	for _, a := range cfg.Arguments {
		sb.WriteString(" ")
		sb.WriteString(expandEnvLookup(a, getenv))
	}
	if cfg.DefaultWorkerPath != "" {
		sb.WriteString(` "`)
		sb.WriteString(cfg.DefaultWorkerPath)
		sb.WriteString(`"`)
	}
	p := strconv.Itoa(port)
	fmt.Fprintf(&sb, " --host 127.0.0.1 --port %s --workerId %s --requestId %s --grpcMaxMessageLength %d", p, workerID, requestID, MaxMessageLength)
	fmt.Fprintf(&sb, " --functions-uri http://127.0.0.1:%s/ --functions-worker-id %s --functions-request-id %s --functions-grpc-max-message-length %d", p, workerID, requestID, MaxMessageLength)
	args := sb.String()

	vars := processVars(cfg, base, appDir)
	for _, kv := range vars {
		exe = strings.ReplaceAll(exe, "%"+kv[0]+"%", kv[1])
		args = strings.ReplaceAll(args, "%"+kv[0]+"%", kv[1])
	}
	args = sanitizeExpandedArgument(args)

	env = append([]string{}, base...)
	for _, kv := range vars {
		env = setEnv(env, kv[0], kv[1])
	}
	return exe, splitArguments(args), env, nil
}

var leftoverVar = regexp.MustCompile(`%(.+?)%`)

// sanitizeExpandedArgument deletes every %X% token that survived expansion
// (DefaultWorkerProcessFactory.SanitizeExpandedArgument, §1.4).
func sanitizeExpandedArgument(s string) string {
	for _, m := range leftoverVar.FindAllString(s, -1) {
		s = strings.ReplaceAll(s, m, "")
	}
	return s
}

// expandEnvLookup behaves like .NET's Environment.ExpandEnvironmentVariables:
// %NAME% is replaced when NAME is set; anything else is left as written.
func expandEnvLookup(s string, lookup func(string) (string, bool)) string {
	var out strings.Builder
	last := 0
	for last < len(s) {
		pos := strings.IndexByte(s[last+1:], '%')
		if pos < 0 {
			break
		}
		pos += last + 1
		if s[last] == '%' {
			if v, ok := lookup(s[last+1 : pos]); ok && pos > last+1 {
				out.WriteString(v)
				last = pos + 1
				continue
			}
		}
		out.WriteString(s[last:pos])
		last = pos
	}
	if last < len(s) {
		out.WriteString(s[last:])
	}
	return out.String()
}

// splitArguments splits an argument string into argv the way .NET's Process
// does on Unix: spaces and tabs separate, double quotes group, backslashes
// escape only before a double quote, and "" inside quotes is a literal quote.
func splitArguments(s string) []string {
	out := []string{}
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return out
		}
		var arg strings.Builder
		inQuotes := false
	loop:
		for i < len(s) {
			bs := 0
			for i < len(s) && s[i] == '\\' {
				bs++
				i++
			}
			if bs > 0 {
				if i >= len(s) || s[i] != '"' {
					arg.WriteString(strings.Repeat(`\`, bs))
				} else {
					arg.WriteString(strings.Repeat(`\`, bs/2))
					if bs%2 != 0 {
						arg.WriteByte('"')
						i++
					}
				}
				continue
			}
			c := s[i]
			switch {
			case c == '"':
				if inQuotes && i+1 < len(s) && s[i+1] == '"' {
					arg.WriteByte('"')
					i++
				} else {
					inQuotes = !inQuotes
				}
				i++
			case (c == ' ' || c == '\t') && !inQuotes:
				break loop
			default:
				arg.WriteByte(c)
				i++
			}
		}
		out = append(out, arg.String())
	}
}

// resolveExecutable finds the program like .NET's Process.Start on Unix: a
// rooted path is used as is, then the host's current directory, then PATH.
func resolveExecutable(name string, env []string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if wd, err := os.Getwd(); err == nil {
		p := filepath.Join(wd, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if !strings.ContainsRune(name, '/') {
		path, _ := lookupEnv(env, "PATH")
		for _, dir := range filepath.SplitList(path) {
			if dir == "" {
				continue
			}
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("worker executable %q not found (not an absolute path, not in the current directory, not on PATH)", name)
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

func setEnv(env []string, key, value string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
