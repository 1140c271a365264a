// Package wasmbin reads, writes and instruments WebAssembly binaries; it
// knows nothing of wazero, nor of how a module is run.
//
// It has four parts, one a file, over the constants of the format
// (format.go): a reader that never panics on malformed input (read.go);
// Scan, which summarises the sections a loader needs before compiling a
// module (scan.go); the encoders of the binary format, the repository's only
// LEB128 encoder among them (write.go); Instrument, which adds a deadline
// guard to a module (instrument.go); and LimitTables, which bounds a
// module's tables, on its own or as part of Instrument (tables.go).
// build.go encodes whole entries
// and modules: Instrument uses FuncType and FuncImport, and tests, this
// package's and the engine's, build their hand-made modules with the rest
// (Module, Section, FuncSection, Export, Body).
//
// Scan, Instrument and LimitTables return an error wrapping ErrMalformed
// for a binary they cannot decode, Instrument and LimitTables one wrapping
// ErrUnsupported for a valid construct they do not handle, and a
// *TableLimitError for tables above the limits they are given.
package wasmbin
