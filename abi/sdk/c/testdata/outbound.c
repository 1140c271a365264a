/* outbound.c: the C SDK's outbound HTTP test guest (examples-wasm/outbound_test.go
 * runs it through the worker). Every entry point calls the upstream named by
 * the query parameter "url" and answers with what it saw. */
#include <stdio.h>
#include <string.h>

#include "wasmworker.h"

/* Builds "<url query parameter><path>" in a per-invocation block. */
static const char *target(const char *path) {
  const char *base = ww_query("url");
  size_t n = strlen(base) + strlen(path) + 1;
  char *s = ww_alloc(n);
  if (s) snprintf(s, n, "%s%s", base, path);
  return s ? s : "";
}

static int fail(int rc) {
  ww_logf(WW_ERROR, "outbound failed with %d: %s", rc, ww_outbound_error());
  ww_set_error(ww_outbound_error());
  return 1;
}

/* GET with request headers (one of them hop-by-hop, dropped by the host) and
 * a redirect; answers "<status> <x-reply> <body>". */
static int get(void) {
  const char *headers[] = {"X-Guest: c", "Accept: text/plain", "Connection: close", NULL};
  ww_response res;
  int rc = ww_fetch("GET", target("/to-hello"), headers, NULL, 0, &res);
  if (rc != 0) return fail(rc);
  ww_value body;
  if ((rc = ww_response_body(&res, &body)) != 0) return fail(rc);
  ww_http_header("content-type", "text/plain");
  size_t n = body.len + 64;
  char *text = ww_alloc(n);
  if (!text) return 1;
  snprintf(text, n, "%d %s %s", res.status, ww_response_header(&res, "x-REPLY"), body.data);
  return ww_http_body_str(text);
}
WW_FUNCTION(get, get)

/* The upstream's echo of the headers it got. */
static int headers(void) {
  const char *headers[] = {"X-Guest: c", "Accept: text/plain", "Connection: close", NULL};
  ww_response res;
  int rc = ww_fetch(NULL, target("/headers"), headers, NULL, 0, &res);
  if (rc != 0) return fail(rc);
  ww_value body;
  if ((rc = ww_response_body(&res, &body)) != 0) return fail(rc);
  return ww_http_body(WW_BYTES, body.data, body.len);
}
WW_FUNCTION(headers, headers)

/* POST of the invocation's body; answers "<status> <content-length> <echo>". */
static int post(void) {
  ww_value in;
  if (ww_body(&in) != 0) in.data = "", in.len = 0;
  ww_response res;
  int rc = ww_fetch("POST", target("/echo"), (const char *[]){"Content-Type: application/json", NULL}, in.data, in.len, &res);
  if (rc != 0) return fail(rc);
  ww_value body;
  if ((rc = ww_response_body(&res, &body)) != 0) return fail(rc);
  size_t n = body.len + 64;
  char *text = ww_alloc(n);
  if (!text) return 1;
  snprintf(text, n, "%d %s %s", res.status, ww_response_header(&res, "Content-Length"), body.data);
  return ww_http_body_str(text);
}
WW_FUNCTION(post, post)

/* Reads /big with ww_response_read into 1000 bytes at a time and checks
 * every byte (byte i is i % 251); answers "<length> <bytes read> <first bad
 * offset or -1>". */
static int big(void) {
  ww_response res;
  int rc = ww_fetch("GET", target("/big"), NULL, NULL, 0, &res);
  if (rc != 0) return fail(rc);
  static unsigned char buf[1000];
  long total = 0, bad = -1;
  for (;;) {
    int n = ww_response_read(&res, buf, sizeof buf);
    if (n < 0) return fail(n);
    if (n == 0) break;
    for (int i = 0; i < n; i++)
      if (bad < 0 && buf[i] != (unsigned char)((total + i) % 251)) bad = total + i;
    total += n;
  }
  if (res.handle != 0) return fail(WW_E_BAD_HANDLE); /* the end released it */
  char text[96];
  snprintf(text, sizeof text, "%s %ld %ld", ww_response_header(&res, "Content-Length"), total, bad);
  return ww_http_body_str(text);
}
WW_FUNCTION(big, big)

/* Reads /big whole with ww_response_body; answers its length and whether it
 * is right. */
static int whole(void) {
  ww_response res;
  int rc = ww_fetch("GET", target("/big"), NULL, NULL, 0, &res);
  if (rc != 0) return fail(rc);
  ww_value body;
  if ((rc = ww_response_body(&res, &body)) != 0) return fail(rc);
  long bad = -1;
  for (size_t i = 0; i < body.len; i++)
    if (bad < 0 && (unsigned char)body.data[i] != (unsigned char)(i % 251)) bad = (long)i;
  char text[64];
  snprintf(text, sizeof text, "%zu %ld %d", body.len, bad, body.data[body.len]);
  return ww_http_body_str(text);
}
WW_FUNCTION(whole, whole)

/* More requests than may be open at once, each released by
 * ww_response_close without reading its body. */
static int many(void) {
  for (int i = 0; i < 20; i++) {
    ww_response res;
    int rc = ww_fetch("GET", target("/hello"), NULL, NULL, 0, &res);
    if (rc != 0) return fail(rc);
    if ((rc = ww_response_close(&res)) != 0) return fail(rc);
  }
  return ww_http_body_str("20 done");
}
WW_FUNCTION(many, many)

/* A host the grant does not list: answers the code and the host's message. */
static int denied(void) {
  ww_response res;
  int rc = ww_fetch("GET", ww_query("url"), NULL, NULL, 0, &res);
  size_t n = strlen(ww_outbound_error()) + 32;
  char *text = ww_alloc(n);
  if (!text) return 1;
  snprintf(text, n, "%d\n%s", rc, ww_outbound_error());
  return ww_http_body_str(text);
}
WW_FUNCTION(denied, denied)

/* A header line with a line break is refused before the host sees it. */
static int inject(void) {
  const char *headers[] = {"X-A: 1\nX-B: 2", NULL};
  ww_response res;
  int rc = ww_fetch("GET", target("/hello"), headers, NULL, 0, &res);
  char text[160];
  snprintf(text, sizeof text, "%d %s", rc, ww_outbound_error());
  return ww_http_body_str(text);
}
WW_FUNCTION(inject, inject)
