/* app.c: an in-code app in C. The module declares its two functions itself
 * (wasmworker_functions below), so the app is host.json plus app.wasm, with
 * no function folders. Build: see wasmfunc.json (`wasmfunc start` runs it). */
#include <stdio.h>
#include <string.h>

#include "wasmworker.h"

/* hello greets the name given in the query, the route or the body. */
static int hello(void) {
  const char *name = ww_query("name");
  ww_value body;
  if (!*name) name = ww_param("name");
  if (!*name && ww_body(&body) == 0 && body.len > 0) name = body.data;
  if (!*name) name = "world";
  ww_logf(WW_INFO, "%s greets %s", ww_function_name(), name);
  size_t n = strlen(name) + 16;
  char *text = ww_alloc(n); /* freed when the invocation ends */
  if (!text) return 1;
  snprintf(text, n, "Hello, %s!", name);
  ww_http_header("content-type", "text/plain; charset=utf-8");
  return ww_http_body_str(text);
}
WW_FUNCTION(hello, hello)

/* process_job handles a queue message and writes a result message to the
 * "result" output binding. An empty message fails, so the queue retries. */
static int process_job(void) {
  ww_value msg;
  if (ww_input("msg", &msg) != 0 || msg.len == 0) {
    ww_set_error("empty job message");
    return 1;
  }
  int64_t attempt = 0;
  ww_metadata_int("DequeueCount", &attempt);
  ww_logf(WW_INFO, "processed job %s", ww_metadata_str("Id"));
  size_t n = msg.len + 48;
  char *result = ww_alloc(n);
  if (!result) return 1;
  int len = snprintf(result, n, "done: %s (attempt %lld)", msg.data, (long long)attempt);
  /* On failure ww_run reports ww_last_error(): `set_output "result": ...`. */
  return ww_set_output("result", WW_STRING, result, (size_t)len);
}
WW_FUNCTION(process_job, process_job)

/* The declarations: what HttpHello/function.json and ProcessJob/function.json
 * say in examples-wasm/abi/c, in code. */
WW_FUNCTIONS {
  ww_decl *d = ww_function("HttpHello", "hello");
  ww_http_trigger(d, "hello/{name?}", "get,post");
  int rc = ww_declare_function(d);
  if (rc != 0) return rc;

  d = ww_function("ProcessJob", "process_job");
  ww_queue_trigger(d, "msg", "jobs", NULL);
  ww_queue_output(d, "result", "results", NULL);
  return ww_declare_function(d);
}
