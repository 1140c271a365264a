/* app.c: the functions of this app, declared in code with the wasmworker C
 * SDK (wasmworker.h). `wasmfunc start` builds app.wasm with the command in
 * wasmfunc.json and serves it. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wasmworker.h"

/* hello answers GET /api/hello?name=<name> with "Hello, <name>!". */
static int hello(void) {
  const char *name = ww_query("name");
  if (!*name) name = "world";
  size_t n = strlen(name) + 16;
  char *text = ww_alloc(n); /* freed when the invocation ends */
  if (!text) return 1;
  snprintf(text, n, "Hello, %s!", name);
  ww_http_header("content-type", "text/plain; charset=utf-8");
  return ww_http_body_str(text);
}
WW_FUNCTION(hello, hello)

/* work logs each message of queue "work" and sends it upper-cased to the
 * output binding "out" (queue "work-done"). */
static int work(void) {
  ww_value msg;
  if (ww_input("msg", &msg) != 0) {
    ww_set_error("no message in binding msg");
    return 1;
  }
  ww_logf(WW_INFO, "work: %s (dequeue count %s)", msg.data, ww_metadata_str("DequeueCount"));
  char *upper = ww_alloc(msg.len + 1);
  if (!upper) return 1;
  for (size_t i = 0; i < msg.len; i++) upper[i] = (char)toupper((unsigned char)msg.data[i]);
  return ww_set_output("out", WW_STRING, upper, msg.len);
}
WW_FUNCTION(work, work)

/* The declarations (what function.json files would say), read by the worker
 * when it indexes the app. */
WW_FUNCTIONS {
  ww_decl *d = ww_function("Hello", "hello");
  ww_http_trigger(d, "hello", "get,post");
  int rc = ww_declare_function(d);
  if (rc != 0) return rc;

  d = ww_function("Work", "work");
  ww_queue_trigger(d, "msg", "work", "AzureWebJobsStorage");
  ww_queue_output(d, "out", "work-done", "AzureWebJobsStorage");
  return ww_declare_function(d);
}
