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

/* ---- errors ---- */

const char *ww_strerror(int code) {
  switch (code) {
  case 0: return "ok";
  case WW_E_NOT_FOUND: return "WW_E_NOT_FOUND: no value with that name";
  case WW_E_BAD_SOURCE: return "WW_E_BAD_SOURCE: unknown source or name";
  case WW_E_MEMORY: return "WW_E_MEMORY: a buffer outside linear memory";
  case WW_E_BAD_TYPE: return "WW_E_BAD_TYPE: a type not allowed here";
  case WW_E_BAD_UTF8: return "WW_E_BAD_UTF8: text that is not UTF-8";
  case WW_E_BAD_JSON: return "WW_E_BAD_JSON: not valid JSON";
  case WW_E_NOT_OUTPUT: return "WW_E_NOT_OUTPUT: not an output binding of the function";
  case WW_E_NO_HTTP: return "WW_E_NO_HTTP: no HTTP request, or no http output binding";
  case WW_E_LIMIT: return "WW_E_LIMIT: a limit would be exceeded (or out of memory)";
  case WW_E_NO_INVOCATION: return "WW_E_NO_INVOCATION: called outside an invocation";
  case WW_E_BAD_VALUE: return "WW_E_BAD_VALUE: an argument out of range or malformed";
  case WW_E_UNSUPPORTED: return "WW_E_UNSUPPORTED: not supported here";
  case WW_E_DENIED: return "WW_E_DENIED: the grant or the address rules refuse the request";
  case WW_E_HTTP_FAILED: return "WW_E_HTTP_FAILED: the outbound request failed";
  case WW_E_BAD_HANDLE: return "WW_E_BAD_HANDLE: not an open outbound response";
  default: return code < 0 ? "unknown wasmworker error code" : "non-zero status";
  }
}

/* The last failure of this invocation (ww_last_error) and whether the
 * handler set its own failure message. */
static char ww_lasterr[512];
static int ww_user_error;

/* Records that op on name failed with code, and returns code. */
static int ww_fail(int code, const char *op, const char *name) {
  if (code >= 0) return code;
  if (name)
    snprintf(ww_lasterr, sizeof ww_lasterr, "%s \"%s\": %s", op, name, ww_strerror(code));
  else
    snprintf(ww_lasterr, sizeof ww_lasterr, "%s: %s", op, ww_strerror(code));
  return code;
}

const char *ww_last_error(void) { return ww_lasterr; }

/* Calls a getter (kind 0 get, 1 get_item, 2 get_key) and copies the value
 * into a NUL-terminated per-invocation block. */
static int ww_getter_raw(int kind, int source, const char *name, int index, ww_value *out) {
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

/* ww_getter_raw, with a failure other than WW_E_NOT_FOUND recorded for
 * ww_last_error as op on name. */
static int ww_getter(const char *op, int kind, int source, const char *name, int index, ww_value *out) {
  int rc = ww_getter_raw(kind, source, name, index, out);
  if (rc != 0) {
    out->type = WW_NONE;
    out->data = NULL;
    out->len = 0;
    if (rc != WW_E_NOT_FOUND) ww_fail(rc, op, name);
  }
  return rc;
}

int ww_get(int source, const char *name, ww_value *out) { return ww_getter("get", 0, source, name, 0, out); }
int ww_input(const char *name, ww_value *out) { return ww_getter("input", 0, WW_SRC_INPUT, name, 0, out); }
int ww_metadata(const char *key, ww_value *out) { return ww_getter("metadata", 0, WW_SRC_METADATA, key, 0, out); }
int ww_item(const char *name, int index, ww_value *out) { return ww_getter("item", 1, WW_SRC_INPUT, name, index, out); }
int ww_key(int source, int index, ww_value *out) { return ww_getter("key", 2, source, NULL, index, out); }

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
const char *ww_function_name(void) { return ww_text(WW_SRC_CONTEXT, "function_name"); }

/* Decodes the JSON string literal at s (len bytes, quotes included) into a
 * per-invocation block; NULL when it is not one. */
static char *ww_unquote(const char *s, size_t len) {
  if (len < 2 || s[0] != '"' || s[len - 1] != '"') return NULL;
  char *out = ww_alloc(len), *w = out;
  if (!out) return NULL;
  for (size_t i = 1; i + 1 < len; i++) {
    char c = s[i];
    if (c != '\\') {
      *w++ = c;
      continue;
    }
    if (++i + 1 >= len) return NULL;
    switch (s[i]) {
    case 'b': *w++ = '\b'; break;
    case 'f': *w++ = '\f'; break;
    case 'n': *w++ = '\n'; break;
    case 'r': *w++ = '\r'; break;
    case 't': *w++ = '\t'; break;
    case 'u': {
      if (i + 5 >= len) return NULL;
      char hex[5] = {s[i + 1], s[i + 2], s[i + 3], s[i + 4], 0};
      unsigned long cp = strtoul(hex, NULL, 16);
      i += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && i + 7 < len && s[i + 1] == '\\' && s[i + 2] == 'u') {
        char lo[5] = {s[i + 3], s[i + 4], s[i + 5], s[i + 6], 0};
        unsigned long low = strtoul(lo, NULL, 16);
        if (low >= 0xDC00 && low < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
      }
      if (cp < 0x80) {
        *w++ = (char)cp;
      } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
      } else {
        *w++ = (char)(0xF0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
      }
      break;
    }
    default: *w++ = s[i]; break; /* \" \\ \/ */
    }
  }
  *w = 0;
  return out;
}

const char *ww_metadata_str(const char *key) {
  ww_value v;
  if (ww_metadata(key, &v) != 0) return "";
  if (v.type == WW_INT || v.type == WW_DOUBLE) {
    char *text = ww_alloc(32);
    if (!text) return "";
    if (v.type == WW_INT)
      snprintf(text, 32, "%lld", (long long)ww_value_int(&v));
    else
      snprintf(text, 32, "%.17g", ww_value_double(&v));
    return text;
  }
  if (!v.data) return "";
  if (v.type == WW_JSON) {
    char *s = ww_unquote(v.data, v.len);
    if (s) return s;
  }
  return v.data;
}

int ww_metadata_int(const char *key, int64_t *out) {
  *out = 0;
  ww_value v;
  int rc = ww_metadata(key, &v);
  if (rc != 0) return rc;
  if (v.type == WW_INT) {
    *out = ww_value_int(&v);
    return 0;
  }
  if (v.type == WW_DOUBLE) {
    double d = ww_value_double(&v);
    if (d != (double)(int64_t)d) return ww_fail(WW_E_BAD_TYPE, "metadata_int", key);
    *out = (int64_t)d;
    return 0;
  }
  const char *text = ww_metadata_str(key);
  char *end = NULL;
  if (!*text) return ww_fail(WW_E_BAD_TYPE, "metadata_int", key);
  long long n = strtoll(text, &end, 10);
  if (*end) return ww_fail(WW_E_BAD_TYPE, "metadata_int", key);
  *out = (int64_t)n;
  return 0;
}
const char *ww_method(void) { return ww_text(WW_SRC_HTTP, "method"); }
const char *ww_url(void) { return ww_text(WW_SRC_HTTP, "url"); }
const char *ww_header(const char *name) { return ww_text(WW_SRC_HTTP_HEADER, name); }
const char *ww_query(const char *name) { return ww_text(WW_SRC_HTTP_QUERY, name); }
const char *ww_param(const char *name) { return ww_text(WW_SRC_HTTP_PARAM, name); }
int ww_body(ww_value *out) { return ww_get(WW_SRC_HTTP, "body", out); }

int ww_set_output(const char *name, int type, const void *data, size_t len) {
  return ww_fail(ww_abi_set_output(name, strlen(name), type, data, len), "set_output", name);
}
int ww_set_output_str(const char *name, const char *s) { return ww_set_output(name, WW_STRING, s, strlen(s)); }
int ww_set_output_int(const char *name, int64_t n) { return ww_set_output(name, WW_INT, &n, 8); }
int ww_http_status(int status) { return ww_fail(ww_abi_http_status(status), "http_status", NULL); }
int ww_http_header(const char *name, const char *value) {
  return ww_fail(ww_abi_http_header(name, strlen(name), value, strlen(value)), "http_header", name);
}
int ww_http_cookie(const char *set_cookie) {
  return ww_fail(ww_abi_http_cookie(set_cookie, strlen(set_cookie)), "http_cookie", set_cookie);
}
int ww_http_body(int type, const void *data, size_t len) { return ww_fail(ww_abi_http_body(type, data, len), "http_body", NULL); }
int ww_http_body_str(const char *s) { return ww_http_body(WW_STRING, s, strlen(s)); }
int ww_log(int level, const char *msg) { return ww_fail(ww_abi_log(level, msg, strlen(msg)), "log", NULL); }
int ww_set_error(const char *msg) {
  ww_user_error = 1;
  return ww_abi_set_error(msg, strlen(msg));
}

int ww_set_errorf(const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return WW_E_BAD_VALUE;
  ww_user_error = 1;
  if ((size_t)n < sizeof small) return ww_abi_set_error(small, (size_t)n);
  char *big = ww_alloc((size_t)n + 1);
  if (!big) return ww_abi_set_error(small, sizeof small - 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return ww_abi_set_error(big, (size_t)n);
}

int ww_logf(int level, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return WW_E_BAD_VALUE;
  if ((size_t)n < sizeof small) return ww_fail(ww_abi_log(level, small, (size_t)n), "log", NULL);
  char *big = ww_alloc((size_t)n + 1);
  if (!big) return ww_fail(WW_E_LIMIT, "log", NULL);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return ww_fail(ww_abi_log(level, big, (size_t)n), "log", NULL);
}

int ww_run(int (*handler)(void)) {
  ww_lasterr[0] = 0;
  ww_user_error = 0;
  int status = handler();
  if (status != 0 && !ww_user_error && ww_lasterr[0]) ww_abi_set_error(ww_lasterr, strlen(ww_lasterr));
  ww_free_all();
  ww_out_msg = NULL;
  ww_lasterr[0] = 0;
  ww_user_error = 0;
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
  return ww_fail(WW_E_BAD_VALUE, why, NULL);
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
  if (handle <= 0) return ww_fail(handle < 0 ? handle : WW_E_HTTP_FAILED, "fetch", url);
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

/* ---- declaring functions (SPEC.md §2.3, §5.8) ----
 * Kept apart like outbound HTTP: a module that declares nothing imports no
 * "declare". The builder allocates with malloc and frees in
 * ww_declare_function / ww_decl_free; it runs once per indexing, in an
 * instance of its own. */

int ww_declare(const char *json) { return ww_fail(ww_abi_declare(json, strlen(json)), "declare", NULL); }

/* A growable text buffer; err sticks after a failed allocation. */
struct ww_buf {
  char *p;
  size_t len, cap;
  int err;
};

static void ww_buf_add(struct ww_buf *b, const char *s, size_t n) {
  if (b->err) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->err = WW_E_LIMIT;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void ww_buf_str(struct ww_buf *b, const char *s) { ww_buf_add(b, s, strlen(s)); }

/* Inserts the n bytes at s at offset at of b. */
static void ww_buf_insert(struct ww_buf *b, size_t at, const char *s, size_t n) {
  size_t old = b->len;
  ww_buf_add(b, s, n); /* grows b; the bytes are moved into place below */
  if (b->err) return;
  memmove(b->p + at + n, b->p + at, old - at);
  memcpy(b->p + at, s, n);
}

/* Appends s as a JSON string literal. */
static void ww_buf_quote(struct ww_buf *b, const char *s) {
  ww_buf_add(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      ww_buf_add(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      ww_buf_add(b, esc, 6);
    } else {
      ww_buf_add(b, (const char *)c, 1);
    }
  }
  ww_buf_add(b, "\"", 1);
}

/* Appends ,"key":<quoted value> (or {"key": when first). */
static void ww_buf_kv(struct ww_buf *b, const char *key, const char *value) {
  ww_buf_add(b, b->len ? "," : "{", 1);
  ww_buf_quote(b, key);
  ww_buf_add(b, ":", 1);
  ww_buf_quote(b, value);
}

struct ww_decl {
  int err;
  char *name;
  struct ww_buf head;     /* "name", "entryPoint" */
  struct ww_buf bindings; /* binding objects separated by commas */
  size_t last;            /* where the closing brace of the last binding is in bindings */
  int has_last;
  struct ww_buf retry;    /* the "retry" object */
  int disabled;           /* -1 unset */
  struct ww_buf env, hosts; /* array elements */
  char *grants;           /* raw "wasmworker" object */
  struct ww_buf json;
};

static int ww_decl_err(ww_decl *d, int code) {
  if (!d) return ww_fail(WW_E_LIMIT, "declare: out of memory", NULL);
  if (!d->err && code < 0) d->err = ww_fail(code, "declare", d->name);
  return code;
}

/* Fails the builder when an argument is missing. */
static int ww_decl_need(ww_decl *d, const char *what, const char *s) {
  if (d && !d->err && (!s || !*s)) {
    d->err = WW_E_BAD_VALUE;
    snprintf(ww_lasterr, sizeof ww_lasterr, "declare \"%s\": %s is missing (%s)", d->name, what,
             ww_strerror(WW_E_BAD_VALUE));
  }
  return d ? d->err : WW_E_LIMIT;
}

ww_decl *ww_function(const char *name, const char *entry_point) {
  ww_decl *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->disabled = -1;
  d->name = strdup(name ? name : "");
  if (!d->name) {
    free(d);
    return NULL;
  }
  ww_buf_kv(&d->head, "name", d->name);
  ww_buf_kv(&d->head, "entryPoint", entry_point && *entry_point ? entry_point : "run");
  ww_decl_need(d, "the function name", name);
  return d;
}

/* Starts a binding object with its type, direction and name. */
static void ww_binding_begin(ww_decl *d, struct ww_buf *o, const char *type, const char *direction,
                             const char *name) {
  (void)d;
  ww_buf_kv(o, "type", type);
  ww_buf_kv(o, "direction", direction);
  ww_buf_kv(o, "name", name);
}

/* Appends the finished binding object o to the declaration. */
static int ww_binding_end(ww_decl *d, struct ww_buf *o) {
  ww_buf_add(o, "}", 1);
  int err = o->err;
  if (!err) {
    if (d->bindings.len) ww_buf_add(&d->bindings, ",", 1);
    ww_buf_add(&d->bindings, o->p, o->len);
    d->last = d->bindings.len - 1;
    d->has_last = 1;
    err = d->bindings.err;
  }
  free(o->p);
  return ww_decl_err(d, err);
}

int ww_binding_json(ww_decl *d, const char *binding_json) {
  if (ww_decl_need(d, "a binding", binding_json)) return d ? d->err : WW_E_LIMIT;
  struct ww_buf o = {0};
  const char *s = binding_json;
  while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
  if (n < 3 || s[0] != '{' || s[n - 1] != '}') return ww_decl_err(d, WW_E_BAD_JSON);
  ww_buf_add(&o, s, n - 1); /* ww_binding_end closes it again */
  return ww_binding_end(d, &o);
}

int ww_binding(ww_decl *d, const char *type, const char *direction, const char *name, ...) {
  if (ww_decl_need(d, "a binding type", type) || ww_decl_need(d, "a binding direction", direction) ||
      ww_decl_need(d, "a binding name", name))
    return d ? d->err : WW_E_LIMIT;
  struct ww_buf o = {0};
  ww_binding_begin(d, &o, type, direction, name);
  va_list ap;
  va_start(ap, name);
  for (;;) {
    const char *key = va_arg(ap, const char *);
    if (!key) break;
    const char *value = va_arg(ap, const char *);
    ww_buf_kv(&o, key, value ? value : "");
  }
  va_end(ap);
  return ww_binding_end(d, &o);
}

int ww_binding_set(ww_decl *d, const char *key, const char *value_json) {
  if (ww_decl_need(d, "a binding key", key) || ww_decl_need(d, "a binding value", value_json))
    return d ? d->err : WW_E_LIMIT;
  if (!d->has_last) return ww_decl_err(d, WW_E_NOT_FOUND);
  struct ww_buf kv = {0};
  ww_buf_add(&kv, ",", 1); /* a binding always has type, direction and name before */
  ww_buf_quote(&kv, key);
  ww_buf_add(&kv, ":", 1);
  ww_buf_str(&kv, value_json);
  int err = kv.err;
  if (!err) {
    ww_buf_insert(&d->bindings, d->last, kv.p, kv.len);
    err = d->bindings.err;
    d->last += kv.len;
  }
  free(kv.p);
  return ww_decl_err(d, err);
}

int ww_http_trigger(ww_decl *d, const char *route, const char *methods) {
  if (!d || d->err) return d ? d->err : WW_E_LIMIT;
  struct ww_buf o = {0};
  ww_binding_begin(d, &o, "httpTrigger", "in", "req");
  ww_buf_kv(&o, "authLevel", "anonymous");
  if (methods && *methods) {
    ww_buf_str(&o, ",\"methods\":[");
    const char *m = methods;
    for (int first = 1; *m;) {
      size_t n = strcspn(m, ", ");
      if (n) {
        char one[32];
        if (n >= sizeof one) n = sizeof one - 1;
        memcpy(one, m, n);
        one[n] = 0;
        if (!first) ww_buf_add(&o, ",", 1);
        ww_buf_quote(&o, one);
        first = 0;
      }
      m += n;
      while (*m == ',' || *m == ' ') m++;
    }
    ww_buf_add(&o, "]", 1);
  }
  if (route && *route) ww_buf_kv(&o, "route", route);
  int rc = ww_binding_end(d, &o);
  if (rc) return rc;
  size_t req = d->last;
  rc = ww_binding(d, "http", "out", "res", NULL);
  d->last = req; /* ww_binding_set and ww_auth_level go to the trigger */
  return rc;
}

int ww_auth_level(ww_decl *d, const char *level) {
  if (ww_decl_need(d, "an auth level", level)) return d ? d->err : WW_E_LIMIT;
  /* Find "authLevel":"..." in the trigger and rebuild the bindings with the new level. */
  const char *key = "\"authLevel\":\"";
  char *at = d->bindings.p ? strstr(d->bindings.p, key) : NULL;
  if (!at) return ww_decl_err(d, WW_E_NOT_FOUND);
  char *value = at + strlen(key), *end = strchr(value, '"');
  struct ww_buf b = {0};
  ww_buf_add(&b, d->bindings.p, (size_t)(at - d->bindings.p));
  ww_buf_str(&b, "\"authLevel\":");
  ww_buf_quote(&b, level);
  ww_buf_str(&b, end + 1);
  if (b.err) {
    free(b.p);
    return ww_decl_err(d, b.err);
  }
  d->last += b.len - d->bindings.len;
  free(d->bindings.p);
  d->bindings = b;
  return 0;
}

int ww_queue_trigger(ww_decl *d, const char *name, const char *queue, const char *connection) {
  if (ww_decl_need(d, "the queue name", queue)) return d ? d->err : WW_E_LIMIT;
  return ww_binding(d, "queueTrigger", "in", name, "queueName", queue, "connection",
                    connection && *connection ? connection : "AzureWebJobsStorage", NULL);
}

int ww_queue_output(ww_decl *d, const char *name, const char *queue, const char *connection) {
  if (ww_decl_need(d, "the queue name", queue)) return d ? d->err : WW_E_LIMIT;
  return ww_binding(d, "queue", "out", name, "queueName", queue, "connection",
                    connection && *connection ? connection : "AzureWebJobsStorage", NULL);
}

int ww_timer_trigger(ww_decl *d, const char *name, const char *schedule) {
  if (ww_decl_need(d, "the schedule", schedule)) return d ? d->err : WW_E_LIMIT;
  return ww_binding(d, "timerTrigger", "in", name, "schedule", schedule, NULL);
}

int ww_retry_fixed(ww_decl *d, int max_retry_count, const char *delay_interval) {
  if (ww_decl_need(d, "the delay interval", delay_interval)) return d ? d->err : WW_E_LIMIT;
  char n[16];
  snprintf(n, sizeof n, "%d", max_retry_count);
  d->retry.len = 0;
  ww_buf_kv(&d->retry, "strategy", "fixedDelay");
  ww_buf_str(&d->retry, ",\"maxRetryCount\":");
  ww_buf_str(&d->retry, n);
  ww_buf_kv(&d->retry, "delayInterval", delay_interval);
  ww_buf_add(&d->retry, "}", 1);
  return ww_decl_err(d, d->retry.err);
}

int ww_retry_exponential(ww_decl *d, int max_retry_count, const char *minimum_interval,
                         const char *maximum_interval) {
  if (ww_decl_need(d, "the minimum interval", minimum_interval) ||
      ww_decl_need(d, "the maximum interval", maximum_interval))
    return d ? d->err : WW_E_LIMIT;
  char n[16];
  snprintf(n, sizeof n, "%d", max_retry_count);
  d->retry.len = 0;
  ww_buf_kv(&d->retry, "strategy", "exponentialBackoff");
  ww_buf_str(&d->retry, ",\"maxRetryCount\":");
  ww_buf_str(&d->retry, n);
  ww_buf_kv(&d->retry, "minimumInterval", minimum_interval);
  ww_buf_kv(&d->retry, "maximumInterval", maximum_interval);
  ww_buf_add(&d->retry, "}", 1);
  return ww_decl_err(d, d->retry.err);
}

int ww_disabled(ww_decl *d, int disabled) {
  if (!d || d->err) return d ? d->err : WW_E_LIMIT;
  d->disabled = disabled != 0;
  return 0;
}

/* Appends s, quoted, as one more element of the array elements in b. */
static int ww_decl_elem(ww_decl *d, struct ww_buf *b, const char *what, const char *s) {
  if (ww_decl_need(d, what, s)) return d ? d->err : WW_E_LIMIT;
  if (b->len) ww_buf_add(b, ",", 1);
  ww_buf_quote(b, s);
  return ww_decl_err(d, b->err);
}

int ww_grant_env(ww_decl *d, const char *setting) { return ww_decl_elem(d, d ? &d->env : NULL, "an app setting", setting); }
int ww_allow_host(ww_decl *d, const char *scheme_host_port) {
  return ww_decl_elem(d, d ? &d->hosts : NULL, "a host", scheme_host_port);
}

int ww_grants_json(ww_decl *d, const char *wasmworker_json) {
  if (ww_decl_need(d, "the wasmworker object", wasmworker_json)) return d ? d->err : WW_E_LIMIT;
  free(d->grants);
  d->grants = strdup(wasmworker_json);
  return ww_decl_err(d, d->grants ? 0 : WW_E_LIMIT);
}

const char *ww_decl_json(ww_decl *d) {
  if (!d || d->err) return NULL;
  struct ww_buf *j = &d->json;
  j->len = 0;
  ww_buf_add(j, d->head.p, d->head.len);
  ww_buf_str(j, ",\"bindings\":[");
  if (d->bindings.len) ww_buf_add(j, d->bindings.p, d->bindings.len);
  ww_buf_add(j, "]", 1);
  if (d->retry.len) {
    ww_buf_str(j, ",\"retry\":");
    ww_buf_add(j, d->retry.p, d->retry.len);
  }
  if (d->disabled >= 0) ww_buf_str(j, d->disabled ? ",\"disabled\":true" : ",\"disabled\":false");
  if (d->grants) {
    ww_buf_str(j, ",\"wasmworker\":");
    ww_buf_str(j, d->grants);
  } else if (d->env.len || d->hosts.len) {
    ww_buf_str(j, ",\"wasmworker\":{");
    if (d->env.len) {
      ww_buf_str(j, "\"env\":[");
      ww_buf_add(j, d->env.p, d->env.len);
      ww_buf_add(j, "]", 1);
    }
    if (d->hosts.len) {
      ww_buf_str(j, d->env.len ? ",\"allowedHosts\":[" : "\"allowedHosts\":[");
      ww_buf_add(j, d->hosts.p, d->hosts.len);
      ww_buf_add(j, "]", 1);
    }
    ww_buf_add(j, "}", 1);
  }
  ww_buf_add(j, "}", 1);
  if (j->err || d->head.err || d->bindings.err || d->env.err || d->hosts.err || d->retry.err) {
    ww_decl_err(d, WW_E_LIMIT);
    return NULL;
  }
  return j->p;
}

void ww_decl_free(ww_decl *d) {
  if (!d) return;
  free(d->name);
  free(d->head.p);
  free(d->bindings.p);
  free(d->retry.p);
  free(d->env.p);
  free(d->hosts.p);
  free(d->grants);
  free(d->json.p);
  free(d);
}

int ww_declare_function(ww_decl *d) {
  const char *json = ww_decl_json(d);
  int rc = d ? d->err : ww_fail(WW_E_LIMIT, "declare: out of memory", NULL);
  if (json) rc = ww_fail(ww_abi_declare(json, strlen(json)), "declare", d->name);
  ww_decl_free(d);
  return rc;
}
