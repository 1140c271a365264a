;; bad.wat: an app module whose declarations are wrong in every way the
;; worker must report, one function each, plus one good function, Fine:
;;   1bad        invalid function name
;;   NoTrigger   no trigger binding
;;   DupBinding  two bindings named msg/MSG
;;   ReturnIn    "$return" as an input
;;   UnknownKey  unknown key "entrypoint"
;;   NoEntry     entryPoint "missing", which the module does not export
;;   BadSandbox  unknown key "maxMemory" in the "wasmworker" settings
;;   hello       a name app.wasm (indexed first) declares too, as "Hello"
;;   Fine        valid: run writes "declare: UNSUPPORTED" to "out" when
;;               declare answered UNSUPPORTED (-12) in _initialize and in run
;; It also calls declare with text that is not JSON and traps unless the
;; answer is BAD_JSON (-6).
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm bad.wat -o bad.wasm
(module
  (import "wasmworker" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasmworker" "set_output" (func $set_output (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $init (mut i32) (i32.const 0))
  (func (export "wasmworker_abi_version_1"))
  (func (export "_initialize")
    (global.set $init (call $declare (i32.const 128) (i32.const 2))))
  (data (i32.const 128) "{}")
  (data (i32.const 160) "{\"name\": oops")  ;; 14
  (data (i32.const 192) "out")               ;; 3
  (data (i32.const 224) "declare: UNSUPPORTED")  ;; 20
  (data (i32.const 1024) "{\"name\":\"1bad\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"}]}\00")
  (data (i32.const 1536) "{\"name\":\"NoTrigger\",\"bindings\":[{\"type\":\"queue\",\"direction\":\"out\",\"name\":\"out\",\"queueName\":\"x\"}]}\00")
  (data (i32.const 2048) "{\"name\":\"DupBinding\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"},{\"type\":\"queue\",\"direction\":\"out\",\"name\":\"MSG\",\"queueName\":\"x\"}]}\00")
  (data (i32.const 2560) "{\"name\":\"ReturnIn\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"},{\"type\":\"blob\",\"direction\":\"in\",\"name\":\"$return\",\"path\":\"x/y\"}]}\00")
  (data (i32.const 3072) "{\"name\":\"UnknownKey\",\"entrypoint\":\"run\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"}]}\00")
  (data (i32.const 3584) "{\"name\":\"NoEntry\",\"entryPoint\":\"missing\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"}]}\00")
  (data (i32.const 4096) "{\"name\":\"BadSandbox\",\"wasmworker\":{\"maxMemory\":64},\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"}]}\00")
  (data (i32.const 4608) "{\"name\":\"hello\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"}]}\00")
  (data (i32.const 5120) "{\"name\":\"Fine\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"bad\"},{\"type\":\"queue\",\"direction\":\"out\",\"name\":\"out\",\"queueName\":\"fine-done\"}]}\00")

  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $n))
  (func $decl (param $p i32) (result i32)
    (call $declare (local.get $p) (call $strlen (local.get $p))))

  (func (export "wasmworker_functions") (result i32) (local $p i32)
    (if (i32.ne (call $declare (i32.const 160) (i32.const 14)) (i32.const -6)) (then unreachable))
    (local.set $p (i32.const 1024))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (i32.const 5632)))
      (if (call $decl (local.get $p)) (then (return (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 512)))
      (br $l)))
    (i32.const 0))

  (func (export "run") (result i32)
    (if (i32.ne (global.get $init) (i32.const -12)) (then (return (i32.const 2))))
    (if (i32.ne (call $declare (i32.const 128) (i32.const 2)) (i32.const -12)) (then (return (i32.const 3))))
    (call $set_output (i32.const 192) (i32.const 3) (i32.const 1) (i32.const 224) (i32.const 20))))
