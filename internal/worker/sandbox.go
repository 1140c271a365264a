package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/outbound"
)

// SandboxKey is the function.json property holding a function's limits and
// grants (README.md, "Limits and grants").
const SandboxKey = "wasmworker"

// sandbox is the "wasmworker" object of function.json. Zero fields take the
// app's defaults (app settings WASMWORKER_MEMORY_MB, WASMWORKER_MAX_OUTPUT_MB,
// WASMWORKER_MAX_LOG_KB, WASMWORKER_MAX_INSTANCES), then the runtime's.
type sandbox struct {
	MemoryMB     int        `json:"memoryMB"`     // linear memory limit
	Timeout      string     `json:"timeout"`      // "hh:mm:ss"; never beyond host.json functionTimeout
	MaxOutputMB  int        `json:"maxOutputMB"`  // stdout (command mode)
	MaxLogKB     int        `json:"maxLogKB"`     // stderr forwarded as logs per invocation (command mode)
	MaxInstances int        `json:"maxInstances"` // instances of this function at once
	Isolate      bool       `json:"isolate"`      // ABI modules: a fresh instance per invocation
	Env          []string   `json:"env"`          // app settings the guest may read
	Dirs         []dirGrant `json:"dirs"`         // directories the guest may use
	// AllowedHosts are the destinations of outbound HTTP requests
	// (abi/SPEC.md §5.7). Absent: the app setting WASMWORKER_ALLOWED_HOSTS;
	// an empty list allows nothing whatever the app setting says.
	AllowedHosts          []string `json:"allowedHosts"`
	MaxOutboundRequests   int      `json:"maxOutboundRequests"`   // per invocation
	MaxOutboundResponseMB int      `json:"maxOutboundResponseMB"` // response bodies per invocation
}

type dirGrant struct {
	Path     string `json:"path"`     // host directory, relative to the app root
	Mount    string `json:"mount"`    // absolute guest path, e.g. /data
	Writable bool   `json:"writable"` // read-only unless true
	// MaxWriteMB bounds the bytes written into a writable directory while
	// the function is loaded (default 1024).
	MaxWriteMB int `json:"maxWriteMB"`
}

// policy is what a function's sandbox settings resolve to.
type policy struct {
	limits engine.Limits
	grants engine.Grants
	env    []string // names of the environment variables passed to the guest
}

// sandboxPolicy reads fn's "wasmworker" settings (unknown keys are an error,
// so a typo does not silently drop a limit) and resolves them against the
// app defaults. maxMessage is the gRPC message limit: outputs must fit in it.
func sandboxPolicy(fn *funcapp.Function, appDir string, maxMessage int) (policy, error) {
	var s sandbox
	if raw, ok := fn.Raw[SandboxKey]; ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return policy{}, fmt.Errorf("the %q settings: %w (known: memoryMB, timeout, maxOutputMB, maxLogKB, maxInstances, isolate, env, dirs, allowedHosts, maxOutboundRequests, maxOutboundResponseMB)", SandboxKey, err)
		}
	}
	var p policy
	var err error
	mb := func(name string, v int, env string) (int, error) {
		if v < 0 {
			return 0, fmt.Errorf("the %q settings: %s must not be negative (got %d)", SandboxKey, name, v)
		}
		if v == 0 {
			return envInt(env)
		}
		return v, nil
	}
	memMB, err := mb("memoryMB", s.MemoryMB, "WASMWORKER_MEMORY_MB")
	if err != nil {
		return p, err
	}
	if memMB > 0 {
		if memMB > 4096 {
			return p, fmt.Errorf("memory limit of %d MB is above the 4096 MB a wasm32 module can address", memMB)
		}
		p.limits.MemoryPages = uint32(memMB * 16) // 16 pages of 64 KiB per MiB
	}
	outMB, err := mb("maxOutputMB", s.MaxOutputMB, "WASMWORKER_MAX_OUTPUT_MB")
	if err != nil {
		return p, err
	}
	if outMB > 0 {
		p.limits.MaxStdoutBytes = outMB << 20
	}
	// Outputs travel in one InvocationResponse: keep them below the message
	// limit, with room for the rest of the message.
	if limit := maxMessage - 64<<10; limit > 0 {
		cur := p.limits.MaxStdoutBytes
		if cur == 0 {
			cur = engine.DefaultMaxStdoutBytes
		}
		p.limits.MaxStdoutBytes = min(cur, limit)
	}
	logKB, err := mb("maxLogKB", s.MaxLogKB, "WASMWORKER_MAX_LOG_KB")
	if err != nil {
		return p, err
	}
	if logKB > 0 {
		p.limits.MaxStderrBytes = logKB << 10
	}
	if p.limits.MaxInstances, err = mb("maxInstances", s.MaxInstances, "WASMWORKER_MAX_INSTANCES"); err != nil {
		return p, err
	}
	if s.Timeout != "" {
		d, err := funcapp.ParseTimeSpan(s.Timeout)
		if err != nil || d <= 0 {
			return p, fmt.Errorf("the %q settings: timeout %q is not a positive hh:mm:ss time span", SandboxKey, s.Timeout)
		}
		p.limits.Timeout = d
	}
	p.limits.Isolate = s.Isolate
	p.env = s.Env
	for _, d := range s.Dirs {
		host := d.Path
		if host == "" {
			return p, fmt.Errorf("the %q settings: a directory grant needs a \"path\" (relative to the app root)", SandboxKey)
		}
		if !filepath.IsAbs(host) {
			host = filepath.Join(appDir, host)
		}
		if d.MaxWriteMB < 0 {
			return p, fmt.Errorf("the %q settings: dirs %q: maxWriteMB %d is negative", SandboxKey, d.Path, d.MaxWriteMB)
		}
		p.grants.Dirs = append(p.grants.Dirs, engine.DirGrant{Host: host, Guest: d.Mount, Writable: d.Writable, MaxWriteBytes: int64(d.MaxWriteMB) << 20})
	}
	if len(p.env) > 0 {
		p.grants.Env = p.envValues()
	}
	if p.grants.Outbound, err = outboundPolicy(s, appDir, mb); err != nil {
		return p, err
	}
	return p, nil
}

// Where the outbound grant comes from, for the messages guests get.
const (
	allowedHostsKey     = `function.json "` + SandboxKey + `": "allowedHosts"`
	allowedHostsSetting = "WASMWORKER_ALLOWED_HOSTS"
)

// outboundPolicy resolves the outbound HTTP grant and limits of s against
// the app settings (abi/SPEC.md §5.7, §7).
func outboundPolicy(s sandbox, appDir string, mb func(string, int, string) (int, error)) (outbound.Policy, error) {
	var pol outbound.Policy
	entries, from := s.AllowedHosts, allowedHostsKey
	if entries == nil {
		from = "app setting " + allowedHostsSetting
		for _, e := range strings.Split(os.Getenv(allowedHostsSetting), ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	allowed, err := outbound.ParseAllowlist(entries)
	if err != nil {
		return pol, fmt.Errorf("%s: %w", from, err)
	}
	pol.Allowed, pol.AllowedFrom = allowed, from
	if pol.MaxRequests, err = mb("maxOutboundRequests", s.MaxOutboundRequests, "WASMWORKER_MAX_OUTBOUND_REQUESTS"); err != nil {
		return pol, err
	}
	respMB, err := mb("maxOutboundResponseMB", s.MaxOutboundResponseMB, "WASMWORKER_MAX_OUTBOUND_RESPONSE_MB")
	if err != nil {
		return pol, err
	}
	pol.MaxResponseBytes = int64(respMB) << 20
	if ca := os.Getenv("WASMWORKER_OUTBOUND_CA_FILE"); ca != "" {
		if !filepath.IsAbs(ca) {
			ca = filepath.Join(appDir, ca)
		}
		pol.CAFile = ca
	}
	return pol, nil
}

// envValues returns the listed variables that are set in the worker's
// environment now (it changes with FunctionEnvironmentReloadRequest).
func (p policy) envValues() map[string]string {
	if len(p.env) == 0 {
		return nil
	}
	m := make(map[string]string, len(p.env))
	for _, k := range p.env {
		if v, ok := os.LookupEnv(k); ok {
			m[k] = v
		}
	}
	return m
}

// envInt reads a non-negative integer app setting; unset is 0.
func envInt(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("app setting %s=%q is not a non-negative integer", name, v)
	}
	return n, nil
}
