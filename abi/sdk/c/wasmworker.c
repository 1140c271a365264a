/* wasmworker.c: the C SDK of the wasmworker guest ABI v1; see wasmworker.h. */
#include "wasmworker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The version marker (SPEC.md §2.1); the host never calls it. */
__attribute__((export_name("wasmworker_abi_version_1"))) void wasmworker_abi_version_1(void) {}

/* Per-invocation allocations: a singly linked list freed by ww_run. */
struct ww_block { struct ww_block *next; };
static struct ww_block *ww_blocks;

void *ww_alloc(size_t len) {
  struct ww_block *b = malloc(sizeof(struct ww_block) + len);
  if (!b) return NULL;
  b->next = ww_blocks;
  ww_blocks = b;
  return b + 1;
}

static void ww_free_all(void) {
  while (ww_blocks) {
    struct ww_block *next = ww_blocks->next;
    free(ww_blocks);
    ww_blocks = next;
  }
}

/* The scratch buffer getters copy into first (SPEC.md §5.1). */
static char ww_scratch[4096];

/* Calls a getter (kind 0 get, 1 get_item, 2 get_key) and copies the value
 * into a NUL-terminated per-invocation block. */
static int ww_fetch(int kind, int source, const char *name, int index, ww_value *out) {
  size_t name_len = name ? strlen(name) : 0;
  char *buf = ww_scratch;
  size_t cap = sizeof ww_scratch;
  for (int attempt = 0; attempt < 2; attempt++) {
    int64_t r;
    switch (kind) {
    case 0: r = ww_abi_get(source, name, name_len, buf, cap); break;
    case 1: r = ww_abi_get_item(source, name, name_len, index, buf, cap); break;
    default: r = ww_abi_get_key(source, index, buf, cap); break;
    }
    if (r < 0) return (int)r;
    int type = (int)(r >> 32);
    size_t len = (uint32_t)r;
    out->type = type;
    out->len = len;
    if ((type >= WW_COLLECTION_BYTES && type <= WW_COLLECTION_INT) || type == WW_HTTP || type == WW_NONE) {
      out->data = NULL;
      return 0;
    }
    if (len <= cap) {
      char *copy = buf == ww_scratch ? ww_alloc(len + 1) : buf;
      if (!copy) return WW_E_LIMIT;
      if (copy != buf) memcpy(copy, buf, len);
      copy[len] = 0;
      out->data = copy;
      return 0;
    }
    buf = ww_alloc(len + 1); /* too large for the scratch buffer: fetch again into an exact one */
    if (!buf) return WW_E_LIMIT;
    cap = len;
  }
  return WW_E_LIMIT; /* the value changed size between calls: cannot happen */
}

int ww_get(int source, const char *name, ww_value *out) { return ww_fetch(0, source, name, 0, out); }
int ww_input(const char *name, ww_value *out) { return ww_fetch(0, WW_SRC_INPUT, name, 0, out); }
int ww_metadata(const char *key, ww_value *out) { return ww_fetch(0, WW_SRC_METADATA, key, 0, out); }
int ww_item(const char *name, int index, ww_value *out) { return ww_fetch(1, WW_SRC_INPUT, name, index, out); }
int ww_key(int source, int index, ww_value *out) { return ww_fetch(2, source, NULL, index, out); }

int64_t ww_value_int(const ww_value *v) {
  int64_t n = 0;
  if (v->type == WW_INT && v->len == 8) memcpy(&n, v->data, 8);
  return n;
}

double ww_value_double(const ww_value *v) {
  double d = 0;
  if (v->type == WW_DOUBLE && v->len == 8) memcpy(&d, v->data, 8);
  return d;
}

static const char *ww_text(int source, const char *name) {
  ww_value v;
  if (ww_get(source, name, &v) != 0 || !v.data) return "";
  return v.data;
}

const char *ww_invocation_id(void) { return ww_text(WW_SRC_CONTEXT, "invocation_id"); }
const char *ww_method(void) { return ww_text(WW_SRC_HTTP, "method"); }
const char *ww_url(void) { return ww_text(WW_SRC_HTTP, "url"); }
const char *ww_header(const char *name) { return ww_text(WW_SRC_HTTP_HEADER, name); }
const char *ww_query(const char *name) { return ww_text(WW_SRC_HTTP_QUERY, name); }
const char *ww_param(const char *name) { return ww_text(WW_SRC_HTTP_PARAM, name); }
int ww_body(ww_value *out) { return ww_get(WW_SRC_HTTP, "body", out); }

int ww_set_output(const char *name, int type, const void *data, size_t len) {
  return ww_abi_set_output(name, strlen(name), type, data, len);
}
int ww_set_output_str(const char *name, const char *s) { return ww_set_output(name, WW_STRING, s, strlen(s)); }
int ww_set_output_int(const char *name, int64_t n) { return ww_set_output(name, WW_INT, &n, 8); }
int ww_http_status(int status) { return ww_abi_http_status(status); }
int ww_http_header(const char *name, const char *value) {
  return ww_abi_http_header(name, strlen(name), value, strlen(value));
}
int ww_http_cookie(const char *set_cookie) { return ww_abi_http_cookie(set_cookie, strlen(set_cookie)); }
int ww_http_body(int type, const void *data, size_t len) { return ww_abi_http_body(type, data, len); }
int ww_http_body_str(const char *s) { return ww_abi_http_body(WW_STRING, s, strlen(s)); }
int ww_log(int level, const char *msg) { return ww_abi_log(level, msg, strlen(msg)); }
int ww_set_error(const char *msg) { return ww_abi_set_error(msg, strlen(msg)); }

int ww_logf(int level, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return WW_E_BAD_VALUE;
  if ((size_t)n < sizeof small) return ww_abi_log(level, small, (size_t)n);
  char *big = ww_alloc((size_t)n + 1);
  if (!big) return WW_E_LIMIT;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return ww_abi_log(level, big, (size_t)n);
}

int ww_run(int (*handler)(void)) {
  int status = handler();
  ww_free_all();
  return status;
}
