/* wasmworker.c: the C SDK of the wasmworker guest ABI v1; see wasmworker.h. */
#include "wasmworker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Why ww_fetch refused a request before the host saw it (outbound HTTP,
 * below); NULL once a request reached the host or the invocation ended. */
static const char *ww_out_msg;

/* Calls a getter (kind 0 get, 1 get_item, 2 get_key) and copies the value
 * into a NUL-terminated per-invocation block. */
static int ww_getter(int kind, int source, const char *name, int index, ww_value *out) {
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

int ww_get(int source, const char *name, ww_value *out) { return ww_getter(0, source, name, 0, out); }
int ww_input(const char *name, ww_value *out) { return ww_getter(0, WW_SRC_INPUT, name, 0, out); }
int ww_metadata(const char *key, ww_value *out) { return ww_getter(0, WW_SRC_METADATA, key, 0, out); }
int ww_item(const char *name, int index, ww_value *out) { return ww_getter(1, WW_SRC_INPUT, name, index, out); }
int ww_key(int source, int index, ww_value *out) { return ww_getter(2, source, NULL, index, out); }

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
  ww_out_msg = NULL;
  return status;
}

/* ---- outbound HTTP (SPEC.md §5.7) ----
 * Kept apart from the getters above so that a module that makes no
 * outbound request imports none of the outbound functions. */

/* Copies the headers of response handle (or, for handle 0, the message of
 * outbound_error) into a NUL-terminated per-invocation block (SPEC.md §5.1). */
static int ww_out_text(int32_t handle, ww_value *out) {
  char *buf = ww_scratch;
  size_t cap = sizeof ww_scratch;
  for (int attempt = 0; attempt < 2; attempt++) {
    int64_t r = handle ? ww_abi_outbound_headers(handle, buf, cap) : ww_abi_outbound_error(buf, cap);
    if (r < 0) return (int)r;
    size_t len = (uint32_t)r;
    if (len <= cap) {
      char *copy = buf == ww_scratch ? ww_alloc(len + 1) : buf;
      if (!copy) return WW_E_LIMIT;
      if (copy != buf) memcpy(copy, buf, len);
      copy[len] = 0;
      out->type = WW_STRING;
      out->data = copy;
      out->len = len;
      return 0;
    }
    buf = ww_alloc(len + 1);
    if (!buf) return WW_E_LIMIT;
    cap = len;
  }
  return WW_E_LIMIT;
}

/* Whether s may stand in one line of the head: no CR, LF or NUL inside. */
static int ww_one_line(const char *s) { return !strpbrk(s, "\r\n"); }

static int ww_refuse(const char *why) {
  ww_out_msg = why;
  return WW_E_BAD_VALUE;
}

int ww_fetch(const char *method, const char *url, const char *const *headers,
             const void *body, size_t body_len, ww_response *out) {
  out->handle = 0;
  out->status = 0;
  out->headers = "";
  out->headers_len = 0;
  if (!method || !*method) method = "GET";
  if (!url || !*url) return ww_refuse("ww_fetch: no URL");
  if (strpbrk(method, " \r\n") || strpbrk(url, " \r\n")) return ww_refuse("ww_fetch: the method or URL holds a space, CR or LF");
  size_t mlen = strlen(method), ulen = strlen(url), len = mlen + ulen + 2;
  for (const char *const *h = headers; h && *h; h++) {
    if (!ww_one_line(*h)) return ww_refuse("ww_fetch: a header holds CR or LF");
    len += strlen(*h) + 1;
  }
  char *head = malloc(len);
  if (!head) {
    ww_out_msg = "ww_fetch: out of memory for the request head";
    return WW_E_LIMIT;
  }
  char *p = head;
  memcpy(p, method, mlen);
  p += mlen;
  *p++ = ' ';
  memcpy(p, url, ulen);
  p += ulen;
  *p++ = '\n';
  for (const char *const *h = headers; h && *h; h++) {
    size_t n = strlen(*h);
    memcpy(p, *h, n);
    p += n;
    *p++ = '\n';
  }
  ww_out_msg = NULL;
  int32_t handle = ww_abi_outbound_send(head, (size_t)(p - head), body_len ? body : NULL, body_len);
  free(head);
  if (handle <= 0) return handle < 0 ? handle : WW_E_HTTP_FAILED;
  int status = ww_abi_outbound_status(handle);
  ww_value v;
  int rc = status < 0 ? status : ww_out_text(handle, &v);
  if (rc != 0) {
    ww_abi_outbound_close(handle);
    return rc;
  }
  out->handle = handle;
  out->status = status;
  out->headers = v.data;
  out->headers_len = v.len;
  return 0;
}

int ww_response_read(ww_response *r, void *buf, size_t cap) {
  if (!r->handle) return 0;
  if (cap == 0) return WW_E_BAD_VALUE;
  int32_t n = ww_abi_outbound_read(r->handle, buf, cap);
  if (n <= 0) ww_response_close(r); /* the end, or an error: the body is over */
  return n;
}

int ww_response_body(ww_response *r, ww_value *out) {
  size_t len = 0, cap = 16384;
  const char *cl = ww_response_header(r, "Content-Length");
  if (*cl) {
    unsigned long n = strtoul(cl, NULL, 10);
    if (n < (16ul << 20)) cap = n + 1; /* the exact size, and room for the NUL */
  }
  struct ww_block *b = malloc(sizeof(struct ww_block) + cap);
  if (!b) return WW_E_LIMIT;
  for (;;) {
    char *data = (char *)(b + 1);
    char spill[1024]; /* finds the end without growing a buffer that is full */
    size_t room = cap - 1 - len;
    int n = room ? ww_response_read(r, data + len, room) : ww_response_read(r, spill, sizeof spill);
    if (n < 0) {
      free(b);
      return n;
    }
    if (n == 0) break;
    if (!room) {
      size_t grown = cap * 2 > len + (size_t)n + 1 ? cap * 2 : len + (size_t)n + 1;
      struct ww_block *nb = grown > cap ? realloc(b, sizeof(struct ww_block) + grown) : NULL;
      if (!nb) {
        free(b);
        ww_response_close(r);
        return WW_E_LIMIT;
      }
      b = nb;
      cap = grown;
      memcpy((char *)(b + 1) + len, spill, (size_t)n);
    }
    len += (size_t)n;
  }
  b->next = ww_blocks; /* freed with the invocation's other blocks */
  ww_blocks = b;
  char *data = (char *)(b + 1);
  data[len] = 0;
  out->type = WW_BYTES;
  out->data = data;
  out->len = len;
  return 0;
}

const char *ww_response_header(const ww_response *r, const char *name) {
  size_t nlen = strlen(name), total = 0;
  for (int pass = 0; pass < 2; pass++) {
    char *joined = NULL, *w = NULL;
    if (pass == 1) {
      if (!total) return "";
      joined = w = ww_alloc(total + 1);
      if (!joined) return "";
    }
    const char *line = r->headers, *end = r->headers + r->headers_len;
    while (line < end) {
      const char *eol = memchr(line, '\n', (size_t)(end - line));
      if (!eol) eol = end;
      if ((size_t)(eol - line) > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
        const char *v = line + nlen + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) v++;
        size_t vlen = (size_t)(eol - v);
        if (vlen && v[vlen - 1] == '\r') vlen--;
        if (pass == 0) {
          total += (total ? 2 : 0) + vlen;
        } else {
          if (w != joined) {
            memcpy(w, ", ", 2);
            w += 2;
          }
          memcpy(w, v, vlen);
          w += vlen;
        }
      }
      line = eol + 1;
    }
    if (pass == 1) {
      *w = 0;
      return joined;
    }
  }
  return "";
}

int ww_response_close(ww_response *r) {
  if (!r->handle) return 0;
  int rc = ww_abi_outbound_close(r->handle);
  r->handle = 0;
  return rc;
}

const char *ww_outbound_error(void) {
  if (ww_out_msg) return ww_out_msg;
  ww_value v;
  if (ww_out_text(0, &v) != 0) return "";
  return v.data;
}
