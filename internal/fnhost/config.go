package fnhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/wasmworker/wasmworker/internal/funcapp"
	"github.com/wasmworker/wasmworker/internal/jsonc"
)

// ConfigFileName is the file the host looks for in each worker folder (docs/host-contract.md §1.1).
const ConfigFileName = "worker.config.json"

// WorkerConfig is a parsed worker.config.json (docs/host-contract.md §1.2).
type WorkerConfig struct {
	// Dir is the absolute folder that holds worker.config.json; it becomes
	// FUNCTIONS_WORKER_DIRECTORY and WorkerInitRequest.worker_directory.
	Dir        string
	Language   string
	Extensions []string
	// DefaultExecutablePath is the program to start, as written: environment
	// variables and %FUNCTIONS_WORKER_DIRECTORY%-style placeholders are
	// expanded when the process is built (docs/host-contract.md §1.4), not here.
	DefaultExecutablePath string
	// DefaultWorkerPath is "" or the resolved absolute script path: joined
	// with Dir when relative, {os}/{architecture}/
	// %FUNCTIONS_WORKER_RUNTIME_VERSION% substituted, environment expanded.
	// LoadWorkerConfig checks that it exists, as the host does.
	DefaultWorkerPath string
	// Arguments are description.arguments with {workerDirectoryPath}
	// replaced by Dir; environment expansion happens at process creation.
	Arguments []string
	// WorkerIndexing is description.workerIndexing == "true" (case-insensitive).
	WorkerIndexing bool
	// DefaultRuntimeVersion is description.defaultRuntimeVersion.
	DefaultRuntimeVersion string
	// UseStdErrorStreamForErrorsOnly changes how stderr lines are graded (docs/host-contract.md §1.6).
	UseStdErrorStreamForErrorsOnly bool
	Process                        ProcessOptions
}

// ProcessOptions is the processOptions object of worker.config.json, with the
// host's defaults for absent keys (docs/host-contract.md §1.2).
type ProcessOptions struct {
	ProcessCount, MaxProcessCount     int
	SetProcessCountToNumberOfCpuCores bool
	ProcessStartupInterval            time.Duration
	ProcessStartupTimeout             time.Duration
	InitializationTimeout             time.Duration
	EnvironmentReloadTimeout          time.Duration
	ProcessRestartInterval            time.Duration
	ProcessShutdownTimeout            time.Duration
}

// DefaultProcessOptions returns the host's defaults (docs/host-contract.md §1.2 processOptions table).
func DefaultProcessOptions() ProcessOptions {
	return ProcessOptions{
		ProcessCount:             1,
		MaxProcessCount:          10,
		ProcessStartupInterval:   10 * time.Second,
		ProcessStartupTimeout:    time.Minute,
		InitializationTimeout:    10 * time.Second,
		EnvironmentReloadTimeout: 30 * time.Second,
		ProcessRestartInterval:   10 * time.Second,
		ProcessShutdownTimeout:   10 * time.Second,
	}
}

// rawDescription mirrors the description fields the host reads. Go's
// encoding/json matches field names case-insensitively, like Newtonsoft's
// default binding that the host uses for "description" (docs/host-contract.md §1.2).
type rawDescription struct {
	Language                       *string         `json:"language"`
	Extensions                     []string        `json:"extensions"`
	DefaultExecutablePath          *string         `json:"defaultExecutablePath"`
	DefaultWorkerPath              *string         `json:"defaultWorkerPath"`
	Arguments                      []string        `json:"arguments"`
	WorkerIndexing                 json.RawMessage `json:"workerIndexing"`
	DefaultRuntimeVersion          *string         `json:"defaultRuntimeVersion"`
	SupportedRuntimeVersions       []string        `json:"supportedRuntimeVersions"`
	SupportedOperatingSystems      []string        `json:"supportedOperatingSystems"`
	SupportedArchitectures         []string        `json:"supportedArchitectures"`
	IsDisabled                     *bool           `json:"isDisabled"`
	UseStdErrorStreamForErrorsOnly *bool           `json:"useStdErrorStreamForErrorsOnly"`
}

type rawProcessOptions struct {
	ProcessCount                      *int    `json:"processCount"`
	MaxProcessCount                   *int    `json:"maxProcessCount"`
	SetProcessCountToNumberOfCpuCores *bool   `json:"setProcessCountToNumberOfCpuCores"`
	ProcessStartupInterval            *string `json:"processStartupInterval"`
	ProcessStartupTimeout             *string `json:"processStartupTimeout"`
	InitializationTimeout             *string `json:"initializationTimeout"`
	EnvironmentReloadTimeout          *string `json:"environmentReloadTimeout"`
	ProcessRestartInterval            *string `json:"processRestartInterval"`
	ProcessShutdownTimeout            *string `json:"processShutdownTimeout"`
}

// ErrDisabled is returned (wrapped) by LoadWorkerConfig for a config with
// "isDisabled": true, which the host skips (docs/host-contract.md §1.2).
var ErrDisabled = errors.New("worker config is disabled (isDisabled: true)")

// LoadWorkerConfig reads dir/worker.config.json with the host's rules (docs/host-contract.md §1.2):
// the top-level keys description, processOptions are matched
// case-sensitively, the fields inside them case-insensitively; language and
// defaultExecutablePath must be non-empty; a defaultWorkerPath must exist.
// Comments in the JSON are allowed, as Newtonsoft allows them.
func LoadWorkerConfig(dir string) (*WorkerConfig, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("worker directory %q: %w", dir, err)
	}
	path := filepath.Join(abs, ConfigFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read worker config: %w", err)
	}
	cfg, err := parseWorkerConfig(abs, data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func parseWorkerConfig(dir string, data []byte, lookup func(string) (string, bool)) (*WorkerConfig, error) {
	clean, err := jsonc.Strip(data)
	if err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(clean, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	descRaw, ok := top["description"] // case-sensitive, like JObject.Property
	if !ok || isJSONNull(descRaw) {
		return nil, errors.New(`missing top-level "description" object (the key is case-sensitive)`)
	}
	var d rawDescription
	if err := json.Unmarshal(descRaw, &d); err != nil {
		return nil, fmt.Errorf(`"description": %w`, err)
	}
	if d.IsDisabled != nil && *d.IsDisabled {
		return nil, ErrDisabled
	}
	cfg := &WorkerConfig{Dir: dir, Process: DefaultProcessOptions()}
	if d.Language == nil || *d.Language == "" {
		return nil, errors.New(`"description.language" must be a non-empty string`)
	}
	cfg.Language = *d.Language
	if d.DefaultExecutablePath == nil || *d.DefaultExecutablePath == "" {
		return nil, errors.New(`"description.defaultExecutablePath" must be a non-empty string`)
	}
	cfg.DefaultExecutablePath = *d.DefaultExecutablePath
	cfg.Extensions = append([]string{}, d.Extensions...)
	for _, a := range d.Arguments {
		// RpcWorkerDescription.FormatArgumentsIfNeeded.
		cfg.Arguments = append(cfg.Arguments, strings.ReplaceAll(a, "{workerDirectoryPath}", dir))
	}
	if cfg.Arguments == nil {
		cfg.Arguments = []string{}
	}
	wi, err := jsonLooseString(d.WorkerIndexing)
	if err != nil {
		return nil, fmt.Errorf(`"description.workerIndexing": %w`, err)
	}
	cfg.WorkerIndexing = strings.EqualFold(strings.TrimSpace(wi), "true")
	if d.DefaultRuntimeVersion != nil {
		cfg.DefaultRuntimeVersion = *d.DefaultRuntimeVersion
	}
	if d.UseStdErrorStreamForErrorsOnly != nil {
		cfg.UseStdErrorStreamForErrorsOnly = *d.UseStdErrorStreamForErrorsOnly
	}
	if d.DefaultWorkerPath != nil && *d.DefaultWorkerPath != "" {
		p, err := resolveWorkerPath(cfg, &d, *d.DefaultWorkerPath, lookup)
		if err != nil {
			return nil, err
		}
		cfg.DefaultWorkerPath = p
	}
	if raw, ok := top["processOptions"]; ok && !isJSONNull(raw) {
		if err := parseProcessOptions(raw, &cfg.Process); err != nil {
			return nil, fmt.Errorf(`"processOptions": %w`, err)
		}
	}
	return cfg, nil
}

// resolveWorkerPath applies RpcWorkerDescription's rules to defaultWorkerPath:
// join with the worker directory when relative, substitute {os},
// {architecture}, %FUNCTIONS_WORKER_RUNTIME_VERSION% (validated against the
// supported* lists), expand the environment, and require the file (docs/host-contract.md §1.2).
func resolveWorkerPath(cfg *WorkerConfig, d *rawDescription, p string, lookup func(string) (string, bool)) (string, error) {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	if !filepath.IsAbs(p) {
		p = filepath.Join(cfg.Dir, p)
	}
	version := cfg.DefaultRuntimeVersion
	if rt := getenv("FUNCTIONS_WORKER_RUNTIME"); strings.EqualFold(rt, cfg.Language) {
		if v := getenv("FUNCTIONS_WORKER_RUNTIME_VERSION"); v != "" {
			version = v
		}
	}
	if strings.Contains(p, "{os}") {
		if !containsFold(d.SupportedOperatingSystems, hostOSName()) {
			return "", fmt.Errorf("defaultWorkerPath uses {os} but %s is not in supportedOperatingSystems %q", hostOSName(), d.SupportedOperatingSystems)
		}
		p = strings.ReplaceAll(p, "{os}", hostOSName())
	}
	if strings.Contains(p, "{architecture}") {
		if !containsFold(d.SupportedArchitectures, hostArchName()) {
			return "", fmt.Errorf("defaultWorkerPath uses {architecture} but %s is not in supportedArchitectures %q", hostArchName(), d.SupportedArchitectures)
		}
		p = strings.ReplaceAll(p, "{architecture}", hostArchName())
	}
	if strings.Contains(p, "%FUNCTIONS_WORKER_RUNTIME_VERSION%") {
		if version != "" && !containsFold(d.SupportedRuntimeVersions, version) {
			return "", fmt.Errorf("runtime version %q is not in supportedRuntimeVersions %q", version, d.SupportedRuntimeVersions)
		}
		p = strings.ReplaceAll(p, "%FUNCTIONS_WORKER_RUNTIME_VERSION%", version)
	}
	p = expandEnvLookup(p, lookup)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("defaultWorkerPath %s does not exist (the host rejects such a config): %w", p, err)
	}
	return p, nil
}

// hostOSName is .NET's OSPlatform.ToString() for this OS.
func hostOSName() string {
	switch runtime.GOOS {
	case "windows":
		return "WINDOWS"
	case "darwin":
		return "OSX"
	case "freebsd":
		return "FREEBSD"
	default:
		return "LINUX"
	}
}

// hostArchName is .NET's Architecture.ToString() for this machine.
func hostArchName() string {
	switch runtime.GOARCH {
	case "amd64":
		return "X64"
	case "386":
		return "X86"
	case "arm64":
		return "Arm64"
	case "arm":
		return "Arm"
	case "wasm":
		return "Wasm"
	case "s390x":
		return "S390x"
	case "loong64":
		return "LoongArch64"
	case "ppc64le":
		return "Ppc64le"
	case "riscv64":
		return "RiscV64"
	default:
		return runtime.GOARCH
	}
}

func parseProcessOptions(raw json.RawMessage, po *ProcessOptions) error {
	var r rawProcessOptions
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if r.ProcessCount != nil {
		po.ProcessCount = *r.ProcessCount
	}
	if r.MaxProcessCount != nil {
		po.MaxProcessCount = *r.MaxProcessCount
	}
	if r.SetProcessCountToNumberOfCpuCores != nil {
		po.SetProcessCountToNumberOfCpuCores = *r.SetProcessCountToNumberOfCpuCores
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  *time.Duration
	}{
		{"processStartupInterval", r.ProcessStartupInterval, &po.ProcessStartupInterval},
		{"processStartupTimeout", r.ProcessStartupTimeout, &po.ProcessStartupTimeout},
		{"initializationTimeout", r.InitializationTimeout, &po.InitializationTimeout},
		{"environmentReloadTimeout", r.EnvironmentReloadTimeout, &po.EnvironmentReloadTimeout},
		{"processRestartInterval", r.ProcessRestartInterval, &po.ProcessRestartInterval},
		{"processShutdownTimeout", r.ProcessShutdownTimeout, &po.ProcessShutdownTimeout},
	} {
		if f.src == nil {
			continue
		}
		d, err := funcapp.ParseTimeSpan(*f.src)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = d
	}
	if po.ProcessCount > po.MaxProcessCount {
		return fmt.Errorf("processCount %d is greater than maxProcessCount %d", po.ProcessCount, po.MaxProcessCount)
	}
	return nil
}

// FindWorker scans the immediate sub-folders of workersDir for
// worker.config.json files (docs/host-contract.md §1.1) and returns the one whose language equals
// language, ignoring case. Broken or disabled configs are skipped, as the
// host skips them; when nothing matches, the error lists what was skipped.
// Two configs for the same language are an error (the host would silently
// keep whichever it enumerated last).
func FindWorker(workersDir, language string) (*WorkerConfig, error) {
	entries, err := os.ReadDir(workersDir)
	if err != nil {
		return nil, fmt.Errorf("workers directory: %w", err)
	}
	var found []*WorkerConfig
	var skipped, others []string
	for _, e := range entries {
		sub := filepath.Join(workersDir, e.Name())
		if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(sub, ConfigFileName)); err != nil {
			continue
		}
		cfg, err := LoadWorkerConfig(sub)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		if strings.EqualFold(cfg.Language, language) {
			found = append(found, cfg)
		} else {
			others = append(others, fmt.Sprintf("%q (%s)", cfg.Language, cfg.Dir))
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		msg := fmt.Sprintf("no worker for language %q in %s", language, workersDir)
		if len(others) > 0 {
			sort.Strings(others)
			msg += "; found languages " + strings.Join(others, ", ")
		}
		if len(skipped) > 0 {
			msg += "; skipped broken configs: " + strings.Join(skipped, "; ")
		}
		return nil, errors.New(msg)
	default:
		dirs := make([]string, len(found))
		for i, c := range found {
			dirs[i] = c.Dir
		}
		return nil, fmt.Errorf("more than one worker for language %q: %s", language, strings.Join(dirs, ", "))
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func isJSONNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// jsonLooseString reads a JSON string, bool or number as its text (Newtonsoft
// converts such tokens when binding a string property).
func jsonLooseString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isJSONNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		if b {
			return "True", nil
		}
		return "False", nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("expected a string, got %s", raw)
}
