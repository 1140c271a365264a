package abi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// Limits of a module's declarations (SPEC.md §2.3).
const (
	MaxDeclarations     = 1000
	MaxDeclarationBytes = 64 << 10
	// MaxDeclarationsBytes bounds a module's declarations together: what
	// the worker holds (and sends to the host) for one module.
	MaxDeclarationsBytes = 4 << 20
)

// FunctionsExport is the export a module declares its functions with
// (SPEC.md §2.3): type () -> i32, called when the app is indexed (its
// result is kept per module bytes: engine.Declarations).
const FunctionsExport = "wasmworker_functions"

// importDeclare is the import that declares one function (SPEC.md §5.8).
const importDeclare = "declare"

// Declarations collects what a guest declares through the declare import
// while its FunctionsExport runs (SPEC.md §5.8), with the message it gives
// set_error and what it logs meanwhile. Attach it to the call's context with
// WithDeclarations (CallFunctions does). It is used by one goroutine at a
// time.
type Declarations struct {
	list     [][]byte
	bytes    int // of list
	errMsg   string
	logs     []invocation.Log
	logBytes int
	done     bool
}

// List returns the declarations in the order the guest made them: each a
// copy of the JSON object it passed, valid UTF-8 and JSON.
func (d *Declarations) List() [][]byte { return d.list }

// ErrorMessage returns what the guest last passed to set_error, or "".
func (d *Declarations) ErrorMessage() string { return d.errMsg }

// Logs returns what the guest logged while declaring (at most MaxLogEntries
// entries and MaxLogBytes bytes; log answers LIMIT beyond).
func (d *Declarations) Logs() []invocation.Log { return d.logs }

type declarationsKey struct{}

// WithDeclarations returns a context whose guest calls of declare add to d.
// set_error and log work in that context too; the other imports answer as
// outside an invocation.
func WithDeclarations(ctx context.Context, d *Declarations) context.Context {
	return context.WithValue(ctx, declarationsKey{}, d)
}

func currentDeclarations(ctx context.Context) *Declarations {
	d, _ := ctx.Value(declarationsKey{}).(*Declarations)
	if d == nil || d.done {
		return nil
	}
	return d
}

// declare adds one declaration: it must be UTF-8 text holding one JSON
// object, at most MaxDeclarationBytes long, the MaxDeclarations-th at most,
// and within MaxDeclarationsBytes with the others.
func (d *Declarations) declare(b []byte) int32 {
	switch {
	case len(b) > MaxDeclarationBytes || len(d.list) >= MaxDeclarations || d.bytes+len(b) > MaxDeclarationsBytes:
		return ErrLimit
	case !utf8.Valid(b):
		return ErrBadUTF8
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return ErrBadJSON
	}
	d.list = append(d.list, bytes.Clone(t))
	d.bytes += len(t)
	return 0
}

func (d *Declarations) setError(msg []byte) int32 {
	d.errMsg = message(msg)
	return 0
}

func (d *Declarations) log(level int32, msg []byte) int32 {
	if level < int32(invocation.LevelTrace) || level > int32(invocation.LevelCritical) {
		return ErrBadValue
	}
	if len(d.logs) >= MaxLogEntries || d.logBytes+min(len(msg), MaxMessageBytes) > MaxLogBytes {
		return ErrLimit
	}
	s := message(msg)
	d.logBytes += len(s)
	d.logs = append(d.logs, invocation.Log{Level: invocation.Level(level), Message: s})
	return 0
}

func hostDeclare(ctx context.Context, mod api.Module, s []uint64) {
	d := currentDeclarations(ctx)
	if d == nil {
		ret32(s, ErrUnsupported)
		return
	}
	b, ok := view(mod.Memory(), api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if !ok {
		ret32(s, ErrMemory)
		return
	}
	ret32(s, d.declare(b))
}

// DeclarationsError reports that a module's FunctionsExport failed: it
// returned a non-zero status (Status, with the set_error message) or did not
// return normally (Err: a trap, an exit, the deadline).
type DeclarationsError struct {
	Status  int32
	Message string // from set_error; "" when the guest gave none
	Err     error  // set when the guest did not return normally
}

func (e *DeclarationsError) Error() string {
	var s string
	if e.Err != nil {
		msg, _, _ := strings.Cut(e.Err.Error(), "\nwasm stack trace:") // the trace goes to no user
		s = fmt.Sprintf("%s failed: %s", FunctionsExport, msg)
	} else {
		s = fmt.Sprintf("%s returned status %d", FunctionsExport, e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *DeclarationsError) Unwrap() error { return e.Err }

// CallFunctions calls mod's FunctionsExport once with d attached, so that
// the guest's declare calls fill d. mod must be a fresh instance whose
// _initialize ran (outside d: declare answers UNSUPPORTED there). It returns
// nil when the guest returned 0, else a *DeclarationsError; after an error
// that is not a non-zero status, close mod. Cancelling ctx stops the guest
// only if the runtime stops guests on its context.
func CallFunctions(ctx context.Context, mod api.Module, d *Declarations) (err error) {
	defer func() {
		d.done = true
		if p := recover(); p != nil {
			err = &DeclarationsError{Err: fmt.Errorf("internal error: %v", p), Message: d.errMsg}
		}
	}()
	fn := mod.ExportedFunction(FunctionsExport)
	if fn == nil {
		return &DeclarationsError{Err: fmt.Errorf("the module does not export %s", FunctionsExport)}
	}
	if def := fn.Definition(); len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 1 || def.ResultTypes()[0] != i32 {
		return &DeclarationsError{Err: fmt.Errorf("it has type %s; it must have type () -> (i32)", signature(def.ParamTypes(), def.ResultTypes()))}
	}
	var stack [1]uint64
	if cerr := fn.CallWithStack(WithDeclarations(ctx, d), stack[:]); cerr != nil {
		if ctx.Err() != nil {
			cerr = fmt.Errorf("%w (%w)", context.Cause(ctx), cerr)
		}
		return &DeclarationsError{Err: cerr, Message: d.errMsg}
	}
	if status := api.DecodeI32(stack[0]); status != 0 {
		return &DeclarationsError{Status: status, Message: d.errMsg}
	}
	return nil
}

// Declare runs FunctionsExport on a fresh instance of the pool's module
// (its _initialize runs first, outside d) with d attached, then closes the
// instance; stdout and stderr lines go to d's logs. It returns what
// CallFunctions returns; an instantiation failure (a trap in _initialize)
// is a *DeclarationsError too. It waits while MaxInstances instances are
// busy.
func (p *Pool) Declare(ctx context.Context, d *Declarations) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		d.done = true
		return &DeclarationsError{Err: fmt.Errorf("waiting for a free instance: %w", context.Cause(ctx))}
	}
	defer func() { <-p.slots }()
	in, err := p.instantiate(ctx)
	if err != nil {
		d.done = true
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return &DeclarationsError{Err: err}
	}
	defer in.close(context.WithoutCancel(ctx))
	in.decl, in.ctx = d, ctx
	in.mem.Hold()
	err = CallFunctions(ctx, in.mod, d)
	in.mem.Release()
	d.done = false // the last lines still go to d
	in.stdout.flush()
	in.stderr.flush()
	d.done = true
	in.decl, in.ctx = nil, nil
	return err
}
