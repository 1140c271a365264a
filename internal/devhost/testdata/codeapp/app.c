/*
 * app.c: an in-code app for internal/devhost's worker-indexing tests. The
 * module declares its functions (abi/SPEC.md §2.3) through the raw
 * `declare` import (declared here): an HTTP function Hello, a queue function Work, and
 * Broken, whose declaration has no trigger (the host reports it by name and
 * serves the others). It uses only the raw imports of wasmworker.h, so the
 * bytes do not depend on the C SDK's own code.
 *
 * Build (from this folder; reproducible byte for byte, checked by
 * TestCodeAppReproducible):
 *   clang --target=wasm32-wasi -O2 -s -mexec-model=reactor \
 *     -Wl,--stack-first -Wl,-z,stack-size=65536 \
 *     -I ../../../../abi/sdk/c -o app.wasm app.c
 */
#include <stdint.h>
#include <string.h>

#include "wasmworker.h"

/* The raw import of abi/SPEC.md §5.8. */
__attribute__((import_module("wasmworker"), import_name("declare"))) int32_t declare_function(const char *json,
                                                                                               size_t len);

__attribute__((export_name("wasmworker_abi_version_1"))) void wasmworker_abi_version_1(void) {}

static const char *const declarations[] = {
    "{\"name\":\"Hello\",\"entryPoint\":\"hello\",\"bindings\":["
    "{\"type\":\"httpTrigger\",\"direction\":\"in\",\"name\":\"req\",\"authLevel\":\"anonymous\","
    "\"methods\":[\"get\",\"post\"],\"route\":\"hello\"},"
    "{\"type\":\"http\",\"direction\":\"out\",\"name\":\"res\"}]}",

    "{\"name\":\"Work\",\"entryPoint\":\"work\",\"bindings\":["
    "{\"type\":\"queueTrigger\",\"direction\":\"in\",\"name\":\"msg\",\"queueName\":\"work\","
    "\"connection\":\"AzureWebJobsStorage\"},"
    "{\"type\":\"queue\",\"direction\":\"out\",\"name\":\"out\",\"queueName\":\"work-done\","
    "\"connection\":\"AzureWebJobsStorage\"}],"
    "\"retry\":{\"strategy\":\"fixedDelay\",\"maxRetryCount\":2,\"delayInterval\":\"00:00:01\"}}",

    "{\"name\":\"Broken\",\"entryPoint\":\"hello\",\"bindings\":["
    "{\"type\":\"http\",\"direction\":\"out\",\"name\":\"res\"}]}",
};

__attribute__((export_name("wasmworker_functions"))) int wasmworker_functions(void) {
  for (size_t i = 0; i < sizeof declarations / sizeof declarations[0]; i++) {
    if (declare_function(declarations[i], strlen(declarations[i])) != 0) {
      return 1;
    }
  }
  return 0;
}

static char buf[4096];

/* get reads a value into buf (cut to its size) and returns its length, or
 * -1 when it is absent. */
static int64_t get(int source, const char *name) {
  int64_t r = ww_abi_get(source, name, strlen(name), buf, sizeof buf - 1);
  if (r < 0) {
    return -1;
  }
  uint32_t n = (uint32_t)r;
  if (n > sizeof buf - 1) {
    n = sizeof buf - 1;
  }
  buf[n] = 0;
  return n;
}

static int fail(const char *msg) {
  ww_abi_set_error(msg, strlen(msg));
  return 1;
}

/* hello answers "Hello, <name>!" ("world" without ?name=), with the
 * declared name of the function in header x-function. */
__attribute__((export_name("hello"))) int hello(void) {
  char out[600];
  int64_t n = get(WW_SRC_CONTEXT, "function_name");
  if (n < 0 || ww_abi_http_header("x-function", 10, buf, (size_t)n) != 0) {
    return fail("no function_name");
  }
  n = get(WW_SRC_HTTP_QUERY, "name");
  const char *name = n > 0 ? buf : "world";
  size_t len = strlen(name);
  if (len > 512) {
    len = 512;
  }
  memcpy(out, "Hello, ", 7);
  memcpy(out + 7, name, len);
  out[7 + len] = '!';
  return ww_abi_http_body(WW_STRING, out, len + 8) == 0 ? 0 : fail("http_body failed");
}

/* work logs the message and writes it upper-cased to queue work-done. */
__attribute__((export_name("work"))) int work(void) {
  int64_t n = get(WW_SRC_INPUT, "msg");
  if (n < 0) {
    return fail("no message");
  }
  ww_abi_log(WW_INFO, buf, (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    if (buf[i] >= 'a' && buf[i] <= 'z') {
      buf[i] = (char)(buf[i] - 'a' + 'A');
    }
  }
  return ww_abi_set_output("out", 3, WW_STRING, buf, (size_t)n) == 0 ? 0 : fail("set_output failed");
}
