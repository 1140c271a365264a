;; A WASI command whose wasm start function closes a descriptor (a tracked
;; WASI call, marked) and whose _start does nothing: the state a reset
;; restores is the one after instantiation, so its instances are reused.
(module
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $init (drop (call $fd_close (i32.const 100))))
  (start $init)
  (func (export "_start")))
