// Package engine runs functions as WebAssembly modules in wazero: it
// compiles modules once (with an on-disk cache and the deadline guard's
// instrumentation), shares compiled code between functions of the same
// bytes, and runs invocations of both guest kinds through one Function:
// WASI commands speaking the custom-handler JSON on stdin/stdout
// (abi/COMMAND.md) in a fresh instance each, and ABI v1 modules
// (abi/SPEC.md) on warm instance pools. Limits (deadline, instances,
// memory, tables, output, logs) and grants (directories, environment) are
// enforced here. Every failure of an invocation is a *RunError whose Kind says why.
//
// The package knows nothing of the host's gRPC protocol: it reads and
// writes invocation.Request and invocation.Result.
package engine
