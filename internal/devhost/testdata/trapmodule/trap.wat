;; trap.wat: an app module whose wasmworker_functions traps, so the worker's
;; FunctionMetadataResponse has a failed result (abi/SPEC.md §2.3) while the
;; app's other modules are indexed. internal/devhost's
;; TestWorkerIndexingMixAndReload puts it next to testdata/codeapp/app.wasm.
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm trap.wat -o trap.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (func (export "wasmworker_functions") (result i32)
    unreachable))
