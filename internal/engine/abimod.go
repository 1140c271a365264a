package engine

import (
	"context"
	"fmt"

	"github.com/wasmworker/wasmworker/internal/abi"
)

// Mode is how a module's invocations run.
type Mode int

const (
	// Command: a WASI command run in a fresh instance per invocation, JSON
	// on stdin and stdout (RunCommand).
	Command Mode = iota
	// ABI: a module speaking wasmworker ABI v1, whose entry points run on
	// warm instances from a pool (Invoke).
	ABI
)

func (m Mode) String() string {
	if m == ABI {
		return "abi"
	}
	return "command"
}

// abiModule is the ABI side of a Module: its entry points (its pool of
// warm instances is part of the live module, lazy.go).
type abiModule struct {
	info abi.Info
}

// Mode reports whether m is a WASI command or an ABI module.
func (m *Module) Mode() Mode {
	if m.abi != nil {
		return ABI
	}
	return Command
}

// Entry resolves function.json's entryPoint to an entry point of an ABI
// module ("" means abi.DefaultEntryPoint); the error names the entry points
// the module has.
func (m *Module) Entry(entryPoint string) (string, error) {
	if m.abi == nil {
		return "", fmt.Errorf("wasm module %s is a WASI command, not a wasmworker ABI module: it has no entry points", m.path)
	}
	e, err := m.abi.info.Entry(entryPoint)
	if err != nil {
		return "", fmt.Errorf("wasm module %s: %w", m.path, err)
	}
	return e, nil
}

// Invoke runs inv on entry point entry of an ABI module, on a warm instance
// unless the module was loaded with Limits.Isolate. Limits.Timeout applies
// on top of ctx's deadline; an instance that trapped, exited or was stopped
// is discarded. It returns what abi.Call returns: nil, an *abi.FunctionError
// (the guest reported a failure) or an *abi.CallError (the guest did not
// return normally; for a stopped guest it wraps the context's cause); or a
// *RunError when no instance was had in time, or when the guest returned
// normally only after ctx ended (then inv's outputs are to be ignored).
func (m *Module) Invoke(ctx context.Context, entry string, inv *abi.Invocation) error {
	if m.abi == nil {
		return fmt.Errorf("wasm module %s is a WASI command, not a wasmworker ABI module", m.path)
	}
	ctx, adm, rerr := m.admit(ctx)
	budget := adm.budget
	if rerr != nil {
		return rerr
	}
	defer adm.release()
	err := adm.live.pool.Invoke(ctx, entry, inv)
	if err == nil {
		if re := m.overdue(ctx, budget); re != nil {
			re.Detail = "entry point " + entry + ": " + re.Detail
			return re
		}
	}
	return err
}
