;; declare_codes: wasmworker_functions checks declare's error codes and
;; limits (abi/SPEC.md §5.8) and declares 1,000 functions. On a wrong code
;; it calls set_error naming the check and returns the check's number.
;; Built by the engine tests with wat2wasm.
(module
  (import "wasmworker" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasmworker" "set_error" (func $set_error (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $init (mut i32) (i32.const 1))
  (func (export "wasmworker_abi_version_1"))
  ;; declare answers UNSUPPORTED (-12) in _initialize.
  (func (export "_initialize")
    (global.set $init (call $declare (i32.const 0) (i32.const 2))))
  (data (i32.const 0) "{}")
  (data (i32.const 16) "{\"name\":\"F\"}")      ;; 12 bytes
  (data (i32.const 32) "[1]")                  ;; 3
  (data (i32.const 48) "{\"a\":")              ;; 5
  (data (i32.const 64) "{\"a\":\"\ff\"}")     ;; 8, not UTF-8
  (data (i32.const 80) "  ")                   ;; 2
  (data (i32.const 96) " {\"b\":1} ")          ;; 9
  (data (i32.const 256) "check failed")        ;; 12
  ;; expect fails with set_error and returns n unless got == want.
  (func $expect (param $n i32) (param $got i32) (param $want i32) (result i32)
    (if (result i32) (i32.eq (local.get $got) (local.get $want))
      (then (i32.const 0))
      (else (drop (call $set_error (i32.const 256) (i32.const 12))) (local.get $n))))
  (func (export "wasmworker_functions") (result i32) (local $r i32) (local $i i32)
    (if (local.tee $r (call $expect (i32.const 1) (global.get $init) (i32.const -12))) (then (return (local.get $r))))
    (if (local.tee $r (call $expect (i32.const 2) (call $declare (i32.const 32) (i32.const 3)) (i32.const -6))) (then (return (local.get $r))))
    (if (local.tee $r (call $expect (i32.const 3) (call $declare (i32.const 48) (i32.const 5)) (i32.const -6))) (then (return (local.get $r))))
    (if (local.tee $r (call $expect (i32.const 4) (call $declare (i32.const 64) (i32.const 8)) (i32.const -5))) (then (return (local.get $r))))
    (if (local.tee $r (call $expect (i32.const 5) (call $declare (i32.const 80) (i32.const 2)) (i32.const -6))) (then (return (local.get $r))))
    ;; past the end of memory: MEMORY (-3)
    (if (local.tee $r (call $expect (i32.const 6) (call $declare (i32.const 131070) (i32.const 16)) (i32.const -3))) (then (return (local.get $r))))
    ;; 64 KiB + 1 bytes: LIMIT (-9), before anything else is looked at
    (if (local.tee $r (call $expect (i32.const 7) (call $declare (i32.const 0) (i32.const 65537)) (i32.const -9))) (then (return (local.get $r))))
    ;; blanks around an object are fine
    (if (local.tee $r (call $expect (i32.const 8) (call $declare (i32.const 96) (i32.const 9)) (i32.const 0))) (then (return (local.get $r))))
    ;; 999 more: 1,000 in all
    (local.set $i (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1000)))
      (if (local.tee $r (call $expect (i32.const 9) (call $declare (i32.const 16) (i32.const 12)) (i32.const 0))) (then (return (local.get $r))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    ;; the 1,001st: LIMIT
    (if (local.tee $r (call $expect (i32.const 10) (call $declare (i32.const 16) (i32.const 12)) (i32.const -9))) (then (return (local.get $r))))
    (i32.const 0))
  ;; declare answers UNSUPPORTED in an entry point too.
  (func (export "run") (result i32)
    (i32.add (call $declare (i32.const 16) (i32.const 12)) (i32.const 12))))
