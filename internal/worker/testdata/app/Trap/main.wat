;; Trap: a WASI command whose _start executes `unreachable` at once.
;; Rebuild: wat2wasm main.wat -o main.wasm
(module
  (func (export "_start")
    unreachable))
