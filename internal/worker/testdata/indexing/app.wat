;; app.wat: an app module (abi/SPEC.md §2.3) declaring two functions that
;; share the entry point "run", which tells them apart by CONTEXT
;; function_name:
;;   Hello (httpTrigger, route "hello"): answers 200 "invoked Hello".
;;   Work (queueTrigger on "work", retry fixedDelay 2 × 3 s): writes the
;;     message to the queue output "out" and logs its function name.
;; Rebuild (byte-reproducible, wabt 1.0.32): wat2wasm app.wat -o app.wasm
(module
  (import "wasmworker" "get" (func $get (param i32 i32 i32 i32 i32) (result i64)))
  (import "wasmworker" "set_output" (func $set_output (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasmworker" "http_status" (func $http_status (param i32) (result i32)))
  (import "wasmworker" "http_body" (func $http_body (param i32 i32 i32) (result i32)))
  (import "wasmworker" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasmworker" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmworker_abi_version_1"))
  (func (export "_initialize"))

  (data (i32.const 256) "function_name")  ;; 13
  (data (i32.const 288) "msg")            ;; 3
  (data (i32.const 296) "out")            ;; 3
  (data (i32.const 8184) "invoked ")      ;; 8, followed by the function name
  (data (i32.const 1024) "{\"name\":\"Hello\",\"entryPoint\":\"run\",\"bindings\":[{\"type\":\"httpTrigger\",\"direction\":\"in\",\"name\":\"req\",\"authLevel\":\"anonymous\",\"methods\":[\"get\",\"post\"],\"route\":\"hello\"},{\"type\":\"http\",\"direction\":\"out\",\"name\":\"res\"}]}\00")
  (data (i32.const 2048) "{\"name\":\"Work\",\"entryPoint\":\"run\",\"bindings\":[{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"work\",\"connection\":\"AzureWebJobsStorage\"},{\"type\":\"queue\",\"direction\":\"out\",\"name\":\"out\",\"queueName\":\"work-done\",\"connection\":\"AzureWebJobsStorage\"}],\"retry\":{\"strategy\":\"fixedDelay\",\"maxRetryCount\":2,\"delayInterval\":\"00:00:03\"}}\00")

  ;; strlen of a NUL-terminated string.
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $n))
  (func $decl (param $p i32) (result i32)
    (call $declare (local.get $p) (call $strlen (local.get $p))))

  (func (export "wasmworker_functions") (result i32)
    (if (call $decl (i32.const 1024)) (then (return (i32.const 1))))
    (if (call $decl (i32.const 2048)) (then (return (i32.const 2))))
    (i32.const 0))

  (func (export "run") (result i32) (local $r i64) (local $n i32)
    ;; the function name, after "invoked " at 8192
    (local.set $r (call $get (i32.const 2) (i32.const 256) (i32.const 13) (i32.const 8192) (i32.const 256)))
    (if (i64.lt_s (local.get $r) (i64.const 0)) (then (return (i32.const 10))))
    (local.set $n (i32.wrap_i64 (local.get $r)))
    (drop (call $log (i32.const 2) (i32.const 8184) (i32.add (local.get $n) (i32.const 8))))
    ;; "Hello" starts with 'H' (72), "Work" with 'W' (87)
    (if (i32.eq (i32.load8_u (i32.const 8192)) (i32.const 72))
      (then
        (drop (call $http_status (i32.const 200)))
        (return (call $http_body (i32.const 1) (i32.const 8184) (i32.add (local.get $n) (i32.const 8))))))
    (if (i32.ne (i32.load8_u (i32.const 8192)) (i32.const 87)) (then (return (i32.const 11))))
    ;; Work: the message to "out"
    (local.set $r (call $get (i32.const 0) (i32.const 288) (i32.const 3) (i32.const 16384) (i32.const 4096)))
    (if (i64.lt_s (local.get $r) (i64.const 0)) (then (return (i32.const 12))))
    (call $set_output (i32.const 296) (i32.const 3) (i32.const 1) (i32.const 16384) (i32.wrap_i64 (local.get $r)))))
