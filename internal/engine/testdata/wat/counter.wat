;; A WASI command that counts its runs in a mutable global and in a byte of
;; memory and prints both ("g=1 m=1" in a fresh instance), then does what
;; the first byte of its stdin asks: "c" closes a descriptor (a tracked WASI
;; call), "g" grows its memory, "x" exits through proc_exit, "t" traps.
;; Anything else (or nothing) just returns. Used by TestReusedCommandStartsFresh.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (data (i32.const 64) "g=0 m=0\n")
  (func (export "_start")
    ;; stdin into 200..215 (iovec at 32, count at 40)
    (i32.store (i32.const 32) (i32.const 200))
    (i32.store (i32.const 36) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.const 100)) (i32.const 1)))
    (i32.store8 (i32.const 66) (i32.add (i32.const 48) (global.get $count)))
    (i32.store8 (i32.const 70) (i32.add (i32.const 48) (i32.load8_u (i32.const 100))))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 99))  ;; c
      (then (drop (call $fd_close (i32.const 99)))))
    (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 103)) ;; g
      (then (drop (memory.grow (i32.const 1)))))
    (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 120)) ;; x
      (then (call $proc_exit (i32.const 0))))
    (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 116)) ;; t
      (then unreachable))))
