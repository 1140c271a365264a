;; declare_loop: wasmworker_functions never returns. Built by the engine
;; tests with wat2wasm.
(module
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (func (export "wasmworker_functions") (result i32)
    (loop $l (br $l))
    (i32.const 0))
  (func (export "run") (result i32) (i32.const 0)))
