package runtime

import (
	"context"
	"time"

	"github.com/tetratelabs/wazero"
)

// This file holds the one choice of how a running guest is stopped when its
// context ends. Today it is wazero's WithCloseOnContextDone, which checks at
// every loop header and function entry and costs about 2x on command
// invocations and up to 100x on tight loops (guest-toolchains.md §5). A
// cheaper guard is issue #4: replace runtimeConfig (and, if needed, the way
// RunCommand derives its context) and nothing else has to change.

// runtimeConfig returns the configuration of one Module's wazero runtime.
func runtimeConfig(cache wazero.CompilationCache, memoryPages uint32) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		WithMemoryLimitPages(memoryPages).
		WithCloseOnContextDone(true)
}

// sleeper returns the guest's sleep (WASI poll_oneoff on a clock): real
// time, but it returns early when ctx ends, so that a guest blocked in a long
// sleep is stopped as promptly as one spinning in a loop.
func sleeper(ctx context.Context) func(ns int64) {
	return func(ns int64) {
		if ns <= 0 {
			return
		}
		t := time.NewTimer(time.Duration(ns))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
