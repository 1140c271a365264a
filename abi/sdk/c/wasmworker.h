/*
 * wasmworker.h: the C SDK of the wasmworker guest ABI v1 (abi/SPEC.md).
 * One header and one source file (wasmworker.c); copy them or compile them
 * from a clone (README.md "Use it from your own project").
 *
 * Build an app module (Debian clang 14 with wasi-libc):
 *   clang --target=wasm32-wasi -O2 -s -mexec-model=reactor \
 *     -Wl,--stack-first -Wl,-z,stack-size=1048576 \
 *     -I /path/to/wasmworker/abi/sdk/c -o app.wasm app.c /path/to/wasmworker/abi/sdk/c/wasmworker.c
 *
 * A function is an exported entry point that runs a handler, and a module
 * declares its functions in code (SPEC.md §2.3):
 *   static int hello(void) { return ww_http_body_str("hi"); }
 *   WW_FUNCTION(hello, hello)
 *   WW_FUNCTIONS {
 *     ww_decl *d = ww_function("Hello", "hello");
 *     ww_http_trigger(d, "hello", "get,post");
 *     return ww_declare_function(d);
 *   }
 *
 * Memory: strings and values the getters return live until the invocation
 * ends (ww_run frees them; nothing else is allocated behind your back
 * except these per-invocation blocks and the request head of ww_fetch).
 * They are NUL-terminated for convenience, but may also contain NUL bytes:
 * use the length. Functions returning int give 0 or a negative WW_E_* code;
 * ww_strerror names a code and ww_last_error() says which call failed on
 * what binding or key.
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
/* Declaring functions (SPEC.md §5.8); only a module that declares imports it. */
WW_IMPORT("declare") int32_t ww_abi_declare(const char *json, size_t len);
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
const char *ww_function_name(void);          /* the declared name of the function being invoked */

/* Trigger metadata as text and as a number, whatever type the host sent
 * (a JSON string is unquoted: "Id" of a queue message; DequeueCount arrives
 * as JSON text). ww_metadata_str gives "" when absent; ww_metadata_int gives
 * 0 or WW_E_NOT_FOUND / WW_E_BAD_TYPE (not a whole number). */
const char *ww_metadata_str(const char *key);
int ww_metadata_int(const char *key, int64_t *out);
const char *ww_method(void);                 /* "" without an HTTP request */
const char *ww_url(void);
const char *ww_header(const char *name);     /* "" when absent */
const char *ww_query(const char *name);     /* "" when absent or empty; ww_get(WW_SRC_HTTP_QUERY, ...) tells them apart */
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
int ww_set_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- errors ---- */
/* The name and meaning of a WW_E_* code: "WW_E_NOT_OUTPUT: not an output
 * binding of the function". Static text; never NULL. */
const char *ww_strerror(int code);
/* What the last SDK call that failed in this invocation was doing, naming
 * the binding, key or function: `set_output "result": WW_E_NOT_OUTPUT: not
 * an output binding of the function`; "" when none failed. When a handler
 * run by ww_run returns non-zero without calling ww_set_error, this is the
 * failure message the host reports. Reads of absent values (WW_E_NOT_FOUND)
 * are not recorded: they are an answer, not a failure. */
const char *ww_last_error(void);

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

/* ---- declaring functions in code (SPEC.md §2.3, §5.8) ----
 * WW_FUNCTIONS { ... return 0; } defines the export wasmworker_functions,
 * which the worker calls once when it indexes the app (never during an
 * invocation). In it, declare each function either from raw JSON in
 * function.json syntax plus "name" (ww_declare) or with a builder:
 *
 *   WW_FUNCTIONS {
 *     ww_decl *d = ww_function("HttpHello", "hello");   (name, entry point)
 *     ww_http_trigger(d, "hello/{name?}", "get,post");  (req in, res out)
 *     int rc = ww_declare_function(d);                  (sends it, frees d)
 *     if (rc) return rc;
 *     d = ww_function("ProcessJob", "process_job");
 *     ww_queue_trigger(d, "msg", "jobs", NULL);         (NULL: AzureWebJobsStorage)
 *     ww_queue_output(d, "result", "results", NULL);
 *     ww_retry_fixed(d, 3, "00:00:05");
 *     return ww_declare_function(d);
 *   }
 *
 * Builder calls return 0 or a WW_E_* code; an error sticks to the builder
 * and ww_declare_function returns it (with ww_last_error naming the
 * function), so checking only that result is enough. Strings are escaped
 * for JSON; arguments named *_json are raw JSON inserted as they are. The
 * host checks the declaration (names, one trigger, unknown keys ...) and
 * reports a bad one by function name at indexing. */
#define WW_FUNCTIONS \
  static int ww_functions_body(void); \
  __attribute__((export_name("wasmworker_functions"))) int wasmworker_functions(void) { \
    return ww_run(ww_functions_body); \
  } \
  static int ww_functions_body(void)

/* Declares one function from a JSON object ({"name": ..., "entryPoint": ...,
 * "bindings": [...], "retry": {...}, "disabled": ..., "wasmworker": {...}}). */
int ww_declare(const char *json);

typedef struct ww_decl ww_decl;
/* Starts the declaration of function name served by export entry_point
 * (NULL: "run"). Returns NULL when out of memory (every ww_decl function
 * accepts NULL and ww_declare_function then fails). */
ww_decl *ww_function(const char *name, const char *entry_point);
/* An HTTP function: binding "req" (httpTrigger, authLevel anonymous, the
 * route, methods as "get,post"; NULL route or methods: the defaults) and
 * binding "res" (http out). ww_auth_level changes the level. */
int ww_http_trigger(ww_decl *d, const char *route, const char *methods);
int ww_auth_level(ww_decl *d, const char *level); /* "anonymous", "function", "admin" */
/* A queue trigger / queue output binding named name on queue (connection
 * NULL: "AzureWebJobsStorage"). */
int ww_queue_trigger(ww_decl *d, const char *name, const char *queue, const char *connection);
int ww_queue_output(ww_decl *d, const char *name, const char *queue, const char *connection);
/* A timer trigger named name with an NCRONTAB schedule ("0 0 * * * *": hourly). */
int ww_timer_trigger(ww_decl *d, const char *name, const char *schedule);
/* Any binding: type, direction ("in", "out", "inout"), name, then pairs
 * of string key and string value ending with NULL:
 *   ww_binding(d, "blob", "in", "doc", "path", "docs/{name}", "connection", "Storage", NULL); */
int ww_binding(ww_decl *d, const char *type, const char *direction, const char *name, ...);
/* Any binding as a raw JSON object. */
int ww_binding_json(ww_decl *d, const char *binding_json);
/* Adds key = raw JSON value to the last binding added (a number, a
 * boolean, an array): ww_binding_set(d, "isBatched", "true"). */
int ww_binding_set(ww_decl *d, const char *key, const char *value_json);
/* Retry options (function.json "retry"). */
int ww_retry_fixed(ww_decl *d, int max_retry_count, const char *delay_interval);
int ww_retry_exponential(ww_decl *d, int max_retry_count, const char *minimum_interval,
                         const char *maximum_interval);
int ww_disabled(ww_decl *d, int disabled);
/* Grants (function.json "wasmworker"): the app settings the function may
 * read, an outbound destination it may reach; ww_grants_json gives the
 * whole "wasmworker" object raw (memoryMB, timeout, dirs, ...) and replaces
 * what ww_grant_env / ww_allow_host gave. */
int ww_grant_env(ww_decl *d, const char *setting);
int ww_allow_host(ww_decl *d, const char *scheme_host_port);
int ww_grants_json(ww_decl *d, const char *wasmworker_json);
/* The declaration as JSON (valid until the builder is declared or freed),
 * NULL after an error. */
const char *ww_decl_json(ww_decl *d);
/* Declares the function and frees the builder: 0 or a WW_E_* code. */
int ww_declare_function(ww_decl *d);
/* Frees a builder without declaring it. */
void ww_decl_free(ww_decl *d);

#ifdef __cplusplus
}
#endif
#endif
