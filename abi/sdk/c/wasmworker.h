/*
 * wasmworker.h: the C SDK of the wasmworker guest ABI v1 (abi/SPEC.md).
 *
 * Build a function (Debian clang 14 with wasi-libc):
 *   clang --target=wasm32-wasi -O2 -s -mexec-model=reactor \
 *     -Wl,--stack-first -Wl,-z,stack-size=1048576 \
 *     -I abi/sdk/c -o main.wasm main.c abi/sdk/c/wasmworker.c
 *
 * A function is an exported entry point that runs a handler:
 *   static int handle(void) { return ww_http_body_str("hi"); }
 *   WW_FUNCTION(run, handle)
 *
 * Strings and values the getters return live until the invocation ends
 * (ww_run frees them); they are NUL-terminated for convenience, but may also
 * contain NUL bytes: use the length. Functions returning int give 0 or a
 * negative WW_E_* code.
 */
#ifndef WASMWORKER_H
#define WASMWORKER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Type tags (SPEC.md §4.1). */
enum ww_type {
  WW_NONE = 0, WW_STRING = 1, WW_JSON = 2, WW_BYTES = 3, WW_STREAM = 4, WW_HTTP = 5,
  WW_INT = 6, WW_DOUBLE = 7, WW_COLLECTION_BYTES = 8, WW_COLLECTION_STRING = 9,
  WW_COLLECTION_DOUBLE = 10, WW_COLLECTION_INT = 11
};

/* Sources of values (SPEC.md §4.2). */
enum ww_source {
  WW_SRC_INPUT = 0, WW_SRC_METADATA = 1, WW_SRC_CONTEXT = 2, WW_SRC_HTTP = 3,
  WW_SRC_HTTP_HEADER = 4, WW_SRC_HTTP_QUERY = 5, WW_SRC_HTTP_PARAM = 6
};

/* Error codes (SPEC.md §6). */
enum ww_error {
  WW_E_NOT_FOUND = -1, WW_E_BAD_SOURCE = -2, WW_E_MEMORY = -3, WW_E_BAD_TYPE = -4,
  WW_E_BAD_UTF8 = -5, WW_E_BAD_JSON = -6, WW_E_NOT_OUTPUT = -7, WW_E_NO_HTTP = -8,
  WW_E_LIMIT = -9, WW_E_NO_INVOCATION = -10, WW_E_BAD_VALUE = -11, WW_E_UNSUPPORTED = -12,
  WW_E_DENIED = -13, WW_E_HTTP_FAILED = -14, WW_E_BAD_HANDLE = -15
};

/* Log levels (RpcLog.Level). */
enum ww_level { WW_TRACE = 0, WW_DEBUG = 1, WW_INFO = 2, WW_WARNING = 3, WW_ERROR = 4, WW_CRITICAL = 5 };

/* A value read from the host. For collections, len is the element count
 * and data is NULL. For WW_INT / WW_DOUBLE use ww_value_int / ww_value_double. */
typedef struct {
  int type;
  const char *data;
  size_t len;
} ww_value;

/* WW_FUNCTION(name, handler) exports entry point `name` (type () -> i32,
 * the function.json entryPoint) that runs `int handler(void)` through
 * ww_run. One module may export several. */
#define WW_FUNCTION(name, handler) \
  __attribute__((export_name(#name))) int ww_entry_##name(void) { return ww_run(handler); }

/* WW_ENTRY(name) { ... } declares an exported entry point `name` with a
 * body of your own (call ww_run from it). The C symbol is ww_entry_<name>,
 * so the export may share its name with a C function. */
#define WW_ENTRY(name) __attribute__((export_name(#name))) int ww_entry_##name(void)

/* ---- the raw imports (module "wasmworker"), SPEC.md §5 ---- */
#define WW_IMPORT(n) __attribute__((import_module("wasmworker"), import_name(n)))
WW_IMPORT("get") int64_t ww_abi_get(int32_t source, const char *name, size_t name_len, void *buf, size_t buf_len);
WW_IMPORT("get_item") int64_t ww_abi_get_item(int32_t source, const char *name, size_t name_len, int32_t index, void *buf, size_t buf_len);
WW_IMPORT("get_key") int64_t ww_abi_get_key(int32_t source, int32_t index, void *buf, size_t buf_len);
WW_IMPORT("set_output") int32_t ww_abi_set_output(const char *name, size_t name_len, int32_t type, const void *data, size_t len);
WW_IMPORT("set_error") int32_t ww_abi_set_error(const char *msg, size_t len);
WW_IMPORT("http_status") int32_t ww_abi_http_status(int32_t status);
WW_IMPORT("http_header") int32_t ww_abi_http_header(const char *name, size_t name_len, const char *value, size_t value_len);
WW_IMPORT("http_cookie") int32_t ww_abi_http_cookie(const char *cookie, size_t len);
WW_IMPORT("http_body") int32_t ww_abi_http_body(int32_t type, const void *data, size_t len);
WW_IMPORT("log") int32_t ww_abi_log(int32_t level, const char *msg, size_t len);
/* Outbound HTTP (SPEC.md §5.7). */
WW_IMPORT("outbound_send") int32_t ww_abi_outbound_send(const char *head, size_t head_len, const void *body, size_t body_len);
WW_IMPORT("outbound_status") int32_t ww_abi_outbound_status(int32_t handle);
WW_IMPORT("outbound_headers") int64_t ww_abi_outbound_headers(int32_t handle, void *buf, size_t buf_len);
WW_IMPORT("outbound_read") int32_t ww_abi_outbound_read(int32_t handle, void *buf, size_t buf_len);
WW_IMPORT("outbound_close") int32_t ww_abi_outbound_close(int32_t handle);
WW_IMPORT("outbound_error") int64_t ww_abi_outbound_error(void *buf, size_t buf_len);
#undef WW_IMPORT

/* ---- reading ---- */
int ww_get(int source, const char *name, ww_value *out);     /* any source */
int ww_input(const char *name, ww_value *out);               /* input binding */
int ww_metadata(const char *key, ww_value *out);             /* trigger metadata */
int ww_item(const char *name, int index, ww_value *out);     /* element of a collection input */
int ww_key(int source, int index, ww_value *out);            /* index-th name of a source, sorted */
int64_t ww_value_int(const ww_value *v);                     /* 0 unless WW_INT */
double ww_value_double(const ww_value *v);                   /* 0 unless WW_DOUBLE */

const char *ww_invocation_id(void);
const char *ww_method(void);                 /* "" without an HTTP request */
const char *ww_url(void);
const char *ww_header(const char *name);     /* "" when absent */
const char *ww_query(const char *name);
const char *ww_param(const char *name);
int ww_body(ww_value *out);                  /* request body */

/* ---- writing ---- */
int ww_set_output(const char *name, int type, const void *data, size_t len);
int ww_set_output_str(const char *name, const char *s);      /* WW_STRING */
int ww_set_output_int(const char *name, int64_t n);
int ww_http_status(int status);
int ww_http_header(const char *name, const char *value);
int ww_http_cookie(const char *set_cookie);  /* "id=1; Path=/; HttpOnly" */
int ww_http_body(int type, const void *data, size_t len);
int ww_http_body_str(const char *s);
int ww_log(int level, const char *msg);
int ww_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ww_set_error(const char *msg);

/* ---- outbound HTTP (SPEC.md §5.7) ----
 * The host sends the request only to a destination the function's grant
 * allows (function.json "wasmworker": {"allowedHosts": [...]}), follows
 * redirects, and sets Host, Content-Length and the other hop-by-hop headers.
 * On failure the functions return WW_E_DENIED, WW_E_LIMIT, WW_E_HTTP_FAILED,
 * WW_E_BAD_VALUE ... and ww_outbound_error() says why, naming the URL. */
typedef struct {
  int32_t handle;      /* the host's handle; 0 once the response is released */
  int status;          /* status code, e.g. 200 */
  const char *headers; /* "Name: value\n" per header value, names canonical and sorted */
  size_t headers_len;
} ww_response;

/* Sends a request and waits for the response's status and headers. headers
 * is a NULL-terminated array of "Name: value" strings (NULL for none); body
 * is body_len bytes (NULL, 0 for none). On success (0) *out holds the open
 * response: read its body, then release it with ww_response_close. */
int ww_fetch(const char *method, const char *url, const char *const *headers,
             const void *body, size_t body_len, ww_response *out);
/* Reads the next at most cap bytes of the body into buf: returns how many
 * (> 0), 0 at the end (the response is then released), or a WW_E_* code. */
int ww_response_read(ww_response *r, void *buf, size_t cap);
/* Reads the rest of the body into *out (WW_BYTES, NUL-terminated, valid until
 * the invocation ends) and releases the response. */
int ww_response_body(ww_response *r, ww_value *out);
/* The value of response header name (case-insensitive), several values
 * joined with ", "; "" when absent. Valid after ww_response_close too. */
const char *ww_response_header(const ww_response *r, const char *name);
/* Releases the response (the host also does when the invocation ends). */
int ww_response_close(ww_response *r);
/* Why the last outbound call of this invocation failed ("" if none did). */
const char *ww_outbound_error(void);

/* Runs handler as the body of an entry point: returns its status (0 = ok;
 * non-zero = failure, with the message of ww_set_error) and frees the
 * values the getters returned. */
int ww_run(int (*handler)(void));

/* Allocates len bytes that are freed when the invocation ends. */
void *ww_alloc(size_t len);

#ifdef __cplusplus
}
#endif
#endif
