;; declare_trap: wasmworker_functions sets an error message and traps.
;; Built by the engine tests with wat2wasm.
(module
  (import "wasmworker" "set_error" (func $set_error (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (data (i32.const 0) "about to trap")  ;; 13
  (func (export "wasmworker_functions") (result i32)
    (drop (call $set_error (i32.const 0) (i32.const 13)))
    unreachable)
  (func (export "run") (result i32) (i32.const 0)))
