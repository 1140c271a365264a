;; A WASI command whose code changes a table (table.set): resetting memory
;; and globals would not undo that, so its instances are never reused.
(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (global $count (mut i32) (i32.const 0))
  (func $f)
  (elem declare func $f)
  (func (export "_start")
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (table.set 0 (i32.const 0) (ref.func $f))))
