package abi

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ErrNotABI is returned (wrapped) by Check for a module that declares no ABI
// version: it is not an ABI module, so run it in command mode if it can be.
var ErrNotABI = errors.New("the module declares no wasmworker ABI version (it exports no " + VersionExportPrefix + "<N> function)")

// Info describes a checked ABI module.
type Info struct {
	// Version is the ABI version the host will speak with the module.
	Version int
	// EntryPoints lists, sorted, the exports that can serve a function:
	// functions of type () -> i32 whose names do not start with "_" or
	// "wasmworker_".
	EntryPoints []string
	// Initialize reports whether the module exports _initialize (run once
	// per instance).
	Initialize bool
}

// Entry resolves function.json's entryPoint ("" means DefaultEntryPoint) to
// an export of the module, with an error naming the exports there are when it
// is missing.
func (i Info) Entry(entryPoint string) (string, error) {
	name := entryPoint
	if name == "" {
		name = DefaultEntryPoint
	}
	if slices.Contains(i.EntryPoints, name) {
		return name, nil
	}
	how := fmt.Sprintf("entryPoint %q in function.json", name)
	if entryPoint == "" {
		how = fmt.Sprintf("function.json sets no entryPoint, so the default %q is used", name)
	}
	if len(i.EntryPoints) == 0 {
		return "", fmt.Errorf("the module exports no ABI entry point (a function of type () -> i32); %s", how)
	}
	return "", fmt.Errorf("the module exports no entry point %q (%s); its entry points are: %s",
		name, how, strings.Join(i.EntryPoints, ", "))
}

// Check inspects a compiled module at load: it must declare ABI version 1
// (SPEC.md §2.1), export its memory, import from "wasmworker" only functions
// ABI v1 defines (with their exact signatures), and import nothing else but
// WASI preview1 and the host modules named in provided (for example a
// runtime's own instrumentation). The error wraps ErrNotABI when the module
// declares no version at all.
func Check(cm wazero.CompiledModule, provided ...string) (Info, error) {
	var info Info
	exports := cm.ExportedFunctions()
	var versions []int
	for name := range exports {
		if rest, ok := strings.CutPrefix(name, VersionExportPrefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				versions = append(versions, n)
			}
		}
	}
	if len(versions) == 0 {
		return info, ErrNotABI
	}
	slices.Sort(versions)
	if !slices.Contains(versions, Version) {
		return info, fmt.Errorf("the module speaks wasmworker ABI version %s; this worker supports version %d only (rebuild it with an SDK for ABI v%d)",
			joinInts(versions), Version, Version)
	}
	info.Version = Version

	var errs []string
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		errs = append(errs, `it exports no memory named "memory" (ABI guests share their linear memory with the host)`)
	}
	want := map[string]hostFunc{}
	for _, h := range hostFuncs {
		want[h.name] = h
	}
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		switch mod {
		case ImportModule:
			h, ok := want[name]
			if !ok {
				errs = append(errs, fmt.Sprintf("it imports %s.%s, which ABI v%d does not define", mod, name, Version))
				continue
			}
			if !slices.Equal(d.ParamTypes(), h.params) || !slices.Equal(d.ResultTypes(), h.results) {
				errs = append(errs, fmt.Sprintf("it imports %s.%s as %s, but ABI v%d defines it as %s",
					mod, name, signature(d.ParamTypes(), d.ResultTypes()), Version, signature(h.params, h.results)))
			}
		case "wasi_snapshot_preview1":
		default:
			if slices.Contains(provided, mod) {
				continue
			}
			errs = append(errs, fmt.Sprintf("it imports %s.%s; only wasi_snapshot_preview1 and %s are provided", mod, name, ImportModule))
		}
	}
	// A command's entry points run before its runtime started: Go's
	// wasmexport functions then trap ("wasmexport function called before
	// runtime initialization"), C's constructors never ran.
	_, hasStart := exports["_start"]
	if _, hasInit := exports["_initialize"]; hasStart && !hasInit {
		errs = append(errs, "it was built as a WASI command (it exports _start and no _initialize), but an ABI module is a reactor "+
			"whose runtime _initialize starts: rebuild it as one (Go: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared; "+
			"C: clang -mexec-model=reactor; Rust: --crate-type cdylib)")
	}
	if len(errs) > 0 {
		return info, fmt.Errorf("invalid wasmworker ABI v%d module: %s", Version, strings.Join(errs, "; "))
	}

	for name, d := range exports {
		switch {
		case name == "_initialize":
			info.Initialize = len(d.ParamTypes()) == 0 && len(d.ResultTypes()) == 0
		case strings.HasPrefix(name, "_"), strings.HasPrefix(name, "wasmworker_"):
		case len(d.ParamTypes()) == 0 && slices.Equal(d.ResultTypes(), []api.ValueType{i32}):
			info.EntryPoints = append(info.EntryPoints, name)
		}
	}
	slices.Sort(info.EntryPoints)
	return info, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func signature(params, results []api.ValueType) string {
	name := func(v []api.ValueType) string {
		s := make([]string, len(v))
		for i, t := range v {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}
