;; AbiV2: a module declaring wasmworker ABI version 2, which this worker does
;; not speak; loading it must fail and say so.
;; Rebuild: wat2wasm main.wat -o main.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_2"))
  (func (export "run") (result i32)
    i32.const 0))
