;; A WASI command whose _start writes 64 KiB to stderr again and again,
;; forever, ignoring every error: only the worker's stderr limit stops it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    ;; iovec at 0: base 16, length 65536 of "x"
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 65536))
    (memory.fill (i32.const 16) (i32.const 120) (i32.const 65536))
    (loop $again
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $again))))
