package worker

import (
	"context"
	"sync"

	"github.com/wasmworker/wasmworker/internal/engine"
	"github.com/wasmworker/wasmworker/internal/funcapp"
)

// function is one loaded function: its metadata, its compiled module, or
// the reason it failed to load.
type function struct {
	id   string
	name string // as the host named it, for messages
	meta *funcapp.Function
	run  *engine.Function // runs invocations; nil when the load failed
	err  error            // load failure, without the function's name; invocations fail with it

	pol policy // limits and grants from function.json

	warnReturn sync.Once // the "return value ignored" warning, once per load

	active sync.WaitGroup // invocations running on run
}

// acquire returns the function registered under id and marks one
// invocation active on it; the caller must call release.
func (w *Worker) acquire(id string) *function {
	w.mu.RLock()
	defer w.mu.RUnlock()
	fn := w.functions[id]
	if fn != nil {
		fn.active.Add(1)
	}
	return fn
}

func (fn *function) release() { fn.active.Done() }

// hostConfig returns the app's host.json settings, reading them on first use.
// A missing or broken host.json gives defaults (the host itself would have
// refused to start on a broken one).
func (w *Worker) hostConfig() *funcapp.HostConfig {
	w.mu.RLock()
	cfg, dir := w.hostCfg, w.appDir
	w.mu.RUnlock()
	if cfg != nil {
		return cfg
	}
	cfg, err := funcapp.LoadHostConfig(dir)
	if err != nil || cfg == nil {
		w.log.Debug("no usable host.json; using defaults", "appDir", dir, "err", err)
		cfg = &funcapp.HostConfig{}
	}
	w.mu.Lock()
	w.hostCfg = cfg
	w.mu.Unlock()
	return cfg
}

func (w *Worker) closeFunctions(ctx context.Context) {
	w.mu.Lock()
	fns := w.functions
	w.functions = map[string]*function{}
	w.mu.Unlock()
	for _, fn := range fns {
		if fn.run != nil {
			_ = fn.run.Close(ctx)
		}
	}
}

// appDirectory is the function app root (the host's FunctionAppDirectory, or
// the working directory).
func (w *Worker) appDirectory() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.appDir
}
