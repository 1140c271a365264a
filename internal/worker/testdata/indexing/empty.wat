;; empty.wat: a module that can declare functions but declares none, as
;; every module built with the Go SDK whose functions are all in
;; function.json folders: the worker leaves the app to the host.
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm empty.wat -o empty.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (func (export "wasmworker_functions") (result i32) (i32.const 0))
  (func (export "run") (result i32) (i32.const 0)))
