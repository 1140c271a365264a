/* guest.c: the ABI v1 test guest of the C SDK. Its entry points behave like
 * those of testdata/guests/gohttp (hello, queue, counter, fail, crash), so
 * the same assertions run against every SDK. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wasmworker.h"

/* hello answers "Hello, <name> (<method>)" with name from the query, the
 * route or the body. */
static int hello(void) {
  const char *name = ww_query("name");
  ww_value body = {0};
  if (!*name) name = ww_param("who");
  if (!*name && ww_body(&body) == 0 && body.data) name = body.data;
  ww_http_status(201);
  ww_http_header("Content-Type", "text/plain");
  ww_http_cookie("seen=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
  ww_logf(WW_INFO, "greeting %s", name);
  const char *method = ww_method();
  size_t n = strlen(name) + strlen(method) + 16;
  char *text = ww_alloc(n);
  if (!text) return 1;
  snprintf(text, n, "Hello, %s (%s)", name, method);
  return ww_http_body_str(text);
}
WW_FUNCTION(hello, hello)

/* queue copies its trigger to output "out" upper-cased and returns the
 * dequeue count as JSON. */
static int queue(void) {
  ww_value msg, dc;
  if (ww_input("msg", &msg) != 0) {
    ww_set_error("read msg");
    return 1;
  }
  char *up = ww_alloc(msg.len + 1);
  if (!up) return 1;
  for (size_t i = 0; i < msg.len; i++) up[i] = (char)toupper((unsigned char)msg.data[i]);
  if (ww_set_output("out", WW_STRING, up, msg.len) != 0) return 1;
  if (ww_metadata("DequeueCount", &dc) != 0) {
    ww_set_error("read DequeueCount");
    return 1;
  }
  size_t n = dc.len + 32;
  char *ret = ww_alloc(n);
  if (!ret) return 1;
  int len = snprintf(ret, n, "{\"dequeueCount\":%s}", dc.data);
  return ww_set_output("$return", WW_JSON, ret, (size_t)len) != 0;
}
WW_FUNCTION(queue, queue)

/* counter returns how many times this instance ran it, as $return. */
static int64_t calls;
static int counter(void) { return ww_set_output_int("$return", ++calls) != 0; }
WW_FUNCTION(counter, counter)

/* fail reports a handled failure after writing output and log lines. */
static int fail(void) {
  ww_set_output_str("out", "not sent");
  ww_log(WW_WARNING, "about to fail");
  printf("a line on stdout\n");
  fflush(stdout);
  fputs("partial stderr", stderr);
  ww_set_error("bad input: no name");
  return 1;
}
WW_FUNCTION(fail, fail)

/* crash traps. */
WW_ENTRY(crash) { __builtin_trap(); }
