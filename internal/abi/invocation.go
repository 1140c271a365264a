package abi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wasmworker/wasmworker/internal/invocation"
)

// Invocation is the state of one invocation as a guest sees it: the request
// it reads and the outputs, HTTP response, logs and error message it writes.
// Build it with NewInvocation, run it with Call (or Pool.Invoke), and read
// the results with Result. It is used by one goroutine at a time.
type Invocation struct {
	req       *invocation.Request
	fnName    string // the function's name (CONTEXT function_name)
	bindings  []invocation.Binding
	httpOut   string // name of the function's http output binding, "" if none
	hasReturn bool   // the function declares a $return binding
	keys      map[Source][]string

	outputs  []invocation.Output
	ret      *invocation.Value
	resp     *invocation.HTTPResponse // the HTTP response being built, nil before the first http_* call
	hdrs     map[string][]string      // response header values by lower-case name, joined by joinHeaders
	outBytes int

	logs        []invocation.Log
	logBytes    int
	logsDropped int

	errMsg string
	status int32
	err    error // the outcome, set by Call; errNotRun before
	done   bool
}

var errNotRun = errors.New("the invocation has not run")

// NewInvocation returns the state for running req on the function fn: its
// bindings (from function.json or its declaration) and its name, which the
// guest reads as CONTEXT function_name.
func NewInvocation(req *invocation.Request, fn invocation.Function) *Invocation {
	inv := &Invocation{req: req, fnName: fn.Name, bindings: fn.Bindings, err: errNotRun}
	for _, b := range fn.Bindings {
		if !b.IsOutput() {
			continue
		}
		if b.Name == "$return" {
			inv.hasReturn = true
		}
		if inv.httpOut == "" && strings.EqualFold(b.Type, "http") {
			inv.httpOut = b.Name
		}
	}
	return inv
}

// Request returns the request the invocation was built from.
func (inv *Invocation) Request() *invocation.Request { return inv.req }

// Result returns what the guest produced. outputs and ret are only set when
// the invocation succeeded; logs are always returned (send them before the
// response, also on failure). err is nil on success, a *FunctionError when
// the guest returned a non-zero status, or the error that stopped the guest
// (a trap, the deadline, a cancellation).
func (inv *Invocation) Result() (outputs []invocation.Output, ret *invocation.Value, logs []invocation.Log, err error) {
	logs = inv.logs
	if inv.logsDropped > 0 {
		logs = append(logs[:len(logs):len(logs)], invocation.Log{Level: invocation.LevelWarning,
			Message: fmt.Sprintf("%d log messages dropped (limit: %d messages, %d bytes per invocation)", inv.logsDropped, MaxLogEntries, MaxLogBytes)})
	}
	if inv.err != nil {
		return nil, nil, logs, inv.err
	}
	inv.joinHeaders()
	return inv.outputs, inv.ret, logs, nil
}

// finish records the outcome of the entry point: err from the call, or the
// status it returned.
func (inv *Invocation) finish(status int32, err error) {
	inv.done = true
	switch {
	case err != nil:
		inv.err = err
	case status != 0:
		msg := inv.errMsg
		if msg == "" {
			msg = fmt.Sprintf("function returned status %d", status)
		}
		inv.err = &FunctionError{Status: status, Message: msg}
	default:
		inv.err = nil
	}
}

// FunctionError reports that a guest's entry point returned a non-zero
// status: a failure the guest handled. The instance stays usable.
type FunctionError struct {
	Status  int32
	Message string // from set_error, or "function returned status N"
}

func (e *FunctionError) Error() string { return e.Message }
