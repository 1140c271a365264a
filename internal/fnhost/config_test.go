package fnhost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadWorkerConfigDefaults(t *testing.T) {
	dir := writeConfig(t, `{"description":{"language":"wasm","extensions":[".wasm"],"defaultExecutablePath":"%FUNCTIONS_WORKER_DIRECTORY%/wasm-worker"}}`)
	cfg, err := LoadWorkerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != dir || cfg.Language != "wasm" || len(cfg.Extensions) != 1 || cfg.Extensions[0] != ".wasm" {
		t.Errorf("got %+v", cfg)
	}
	if cfg.DefaultExecutablePath != "%FUNCTIONS_WORKER_DIRECTORY%/wasm-worker" {
		t.Errorf("DefaultExecutablePath = %q, want as written", cfg.DefaultExecutablePath)
	}
	if cfg.WorkerIndexing || cfg.DefaultWorkerPath != "" || len(cfg.Arguments) != 0 {
		t.Errorf("got %+v", cfg)
	}
	if cfg.Process != DefaultProcessOptions() {
		t.Errorf("Process = %+v, want defaults", cfg.Process)
	}
	want := ProcessOptions{ProcessCount: 1, MaxProcessCount: 10, ProcessStartupInterval: 10 * time.Second,
		ProcessStartupTimeout: time.Minute, InitializationTimeout: 10 * time.Second, EnvironmentReloadTimeout: 30 * time.Second,
		ProcessRestartInterval: 10 * time.Second, ProcessShutdownTimeout: 10 * time.Second}
	if DefaultProcessOptions() != want {
		t.Errorf("defaults = %+v, want %+v", DefaultProcessOptions(), want)
	}
}

func TestLoadWorkerConfigKeys(t *testing.T) {
	dir := writeConfig(t, `// comment
	{
	  "description": {
	    "LANGUAGE": "wasm", /* inner keys are case-insensitive */
	    "Extensions": [".wasm"],
	    "defaultexecutablepath": "bin/worker",
	    "arguments": ["--dir", "{workerDirectoryPath}/x", "//not a comment"],
	    "workerIndexing": "TRUE",
	    "useStdErrorStreamForErrorsOnly": true
	  },
	  "processOptions": {"initializationTimeout": "00:02:00", "ProcessStartupTimeout": "1.00:00:30.5", "processCount": 2, "maxProcessCount": 3}
	}`)
	cfg, err := LoadWorkerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Language != "wasm" || cfg.DefaultExecutablePath != "bin/worker" || !cfg.WorkerIndexing || !cfg.UseStdErrorStreamForErrorsOnly {
		t.Errorf("got %+v", cfg)
	}
	wantArgs := []string{"--dir", dir + "/x", "//not a comment"}
	if strings.Join(cfg.Arguments, "|") != strings.Join(wantArgs, "|") {
		t.Errorf("Arguments = %q, want %q", cfg.Arguments, wantArgs)
	}
	if cfg.Process.InitializationTimeout != 2*time.Minute ||
		cfg.Process.ProcessStartupTimeout != 24*time.Hour+30*time.Second+500*time.Millisecond ||
		cfg.Process.ProcessCount != 2 || cfg.Process.MaxProcessCount != 3 ||
		cfg.Process.EnvironmentReloadTimeout != 30*time.Second {
		t.Errorf("Process = %+v", cfg.Process)
	}
}

func TestLoadWorkerConfigWorkerIndexingValues(t *testing.T) {
	for raw, want := range map[string]bool{`"true"`: true, `"True"`: true, `" true "`: true, `true`: true, `"false"`: false, `"yes"`: false, `null`: false} {
		dir := writeConfig(t, `{"description":{"language":"x","defaultExecutablePath":"x","workerIndexing":`+raw+`}}`)
		cfg, err := LoadWorkerConfig(dir)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if cfg.WorkerIndexing != want {
			t.Errorf("workerIndexing %s → %v, want %v", raw, cfg.WorkerIndexing, want)
		}
	}
}

func TestLoadWorkerConfigWorkerPath(t *testing.T) {
	dir := writeConfig(t, `{"description":{"language":"x","defaultExecutablePath":"node","defaultWorkerPath":"dist/{os}/worker.js","supportedOperatingSystems":["linux","windows","osx"]}}`)
	if _, err := LoadWorkerConfig(dir); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing defaultWorkerPath: err = %v", err)
	}
	p := filepath.Join(dir, "dist", hostOSName(), "worker.js")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWorkerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultWorkerPath != p {
		t.Errorf("DefaultWorkerPath = %q, want %q", cfg.DefaultWorkerPath, p)
	}
	bad := writeConfig(t, `{"description":{"language":"x","defaultExecutablePath":"node","defaultWorkerPath":"{architecture}/w.js","supportedArchitectures":["Sparc"]}}`)
	if _, err := LoadWorkerConfig(bad); err == nil || !strings.Contains(err.Error(), "supportedArchitectures") {
		t.Errorf("unsupported architecture: err = %v", err)
	}
}

func TestLoadWorkerConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"top-level key is case-sensitive": {`{"Description":{"language":"x","defaultExecutablePath":"x"}}`, `missing top-level "description"`},
		"no language":                     {`{"description":{"defaultExecutablePath":"x"}}`, "language"},
		"empty executable":                {`{"description":{"language":"x","defaultExecutablePath":""}}`, "defaultExecutablePath"},
		"not JSON":                        {`{"description":`, "not a JSON object"},
		"bad timespan":                    {`{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"initializationTimeout":"10s"}}`, "initializationTimeout"},
		"count above max":                 {`{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processCount":11}}`, "maxProcessCount"},
		"disabled":                        {`{"description":{"language":"x","defaultExecutablePath":"x","isDisabled":true}}`, "disabled"},
	} {
		_, err := LoadWorkerConfig(writeConfig(t, tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
	_, err := LoadWorkerConfig(writeConfig(t, `{"description":{"language":"x","defaultExecutablePath":"x","isDisabled":true}}`))
	if !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled: err = %v, want ErrDisabled", err)
	}
	if _, err := LoadWorkerConfig(t.TempDir()); err == nil {
		t.Error("folder without worker.config.json: no error")
	}
}

func TestFindWorker(t *testing.T) {
	root := t.TempDir()
	write := func(sub, json string) {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if json != "" {
			if err := os.WriteFile(filepath.Join(root, sub, ConfigFileName), []byte(json), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("node", `{"description":{"language":"node","defaultExecutablePath":"node"}}`)
	write("broken", `{"description":{"language":"wasm"}}`)
	write("off", `{"description":{"language":"wasm","defaultExecutablePath":"x","isDisabled":true}}`)
	write("empty", "")
	write("anything", `{"description":{"language":"WASM","defaultExecutablePath":"w"}}`)
	cfg, err := FindWorker(root, "wasm")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != filepath.Join(root, "anything") || cfg.Language != "WASM" {
		t.Errorf("got %+v", cfg)
	}
	_, err = FindWorker(root, "python")
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), `"node"`) {
		t.Errorf("no match: err = %v, want it to list the broken config and the languages found", err)
	}
	write("second", `{"description":{"language":"wasm","defaultExecutablePath":"w"}}`)
	if _, err := FindWorker(root, "wasm"); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("two matches: err = %v", err)
	}
	if _, err := FindWorker(filepath.Join(root, "nope"), "wasm"); err == nil {
		t.Error("missing workers directory: no error")
	}
}
