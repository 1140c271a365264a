;; declare_fail: wasmworker_functions declares one function, logs, sets an
;; error message and returns 7. Built by the engine tests with wat2wasm.
(module
  (import "wasmworker" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasmworker" "set_error" (func $set_error (param i32 i32) (result i32)))
  (import "wasmworker" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (data (i32.const 0) "{\"name\":\"A\"}")   ;; 12
  (data (i32.const 16) "no config found")  ;; 15
  (data (i32.const 32) "declaring")        ;; 9
  (func (export "wasmworker_functions") (result i32)
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 9)))
    (drop (call $declare (i32.const 0) (i32.const 12)))
    (drop (call $set_error (i32.const 16) (i32.const 15)))
    (i32.const 7))
  (func (export "run") (result i32) (i32.const 0)))
