;; Ping: a function folder (function.json) next to app modules: an ABI
;; module answering 200 "pong".
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm ping.wat -o ping.wasm
(module
  (import "wasmworker" "http_status" (func $http_status (param i32) (result i32)))
  (import "wasmworker" "http_body" (func $http_body (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (data (i32.const 0) "pong")
  (func (export "run") (result i32)
    (drop (call $http_status (i32.const 200)))
    (call $http_body (i32.const 1) (i32.const 0) (i32.const 4))))
