;; trap.wat: an app module whose wasmworker_functions declares one function
;; (Lost), sets an error message and traps: the whole module fails to index.
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm trap.wat -o trap.wasm
(module
  (import "wasmworker" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasmworker" "set_error" (func $set_error (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (data (i32.const 0) "{\"name\":\"Lost\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\"}]}")  ;; 82
  (data (i32.const 128) "config missing")  ;; 14
  (func (export "wasmworker_functions") (result i32)
    (drop (call $declare (i32.const 0) (i32.const 82)))
    (drop (call $set_error (i32.const 128) (i32.const 14)))
    unreachable)
  (func (export "run") (result i32) (i32.const 0)))
