/* declare.c: the C SDK's declaration and error test guest
 * (examples-wasm/incode_c_as_test.go serves it through the worker). */
#include <stdlib.h>
#include <string.h>

#include "wasmworker.h"

/* names answers with the declared name it was invoked as (two functions
 * share this entry point). */
static int names(void) { return ww_http_body_str(ww_function_name()); }
WW_FUNCTION(names, names)

/* greeting answers with the app setting GREETING, granted by the declaration. */
static int greeting(void) {
  const char *g = getenv("GREETING");
  return ww_http_body_str(g ? g : "(not granted)");
}
WW_FUNCTION(greeting, greeting)

/* nope writes to a binding that does not exist and returns the code: the
 * failure message comes from ww_last_error. */
static int nope(void) { return ww_set_output_str("nope", "x"); }
WW_FUNCTION(nope, nope)

/* codes answers with ww_strerror of a code and a builder's JSON. */
static int codes(void) {
  ww_decl *d = ww_function("X", NULL);
  ww_binding(d, "blob", "in", "doc", "path", "a\"b", NULL);
  ww_binding_set(d, "n", "2");
  const char *json = ww_decl_json(d);
  size_t n = strlen(json) + 128;
  char *text = ww_alloc(n);
  if (!text) return 1;
  strcpy(text, ww_strerror(WW_E_NOT_OUTPUT));
  strcat(text, "\n");
  strcat(text, json);
  ww_decl_free(d);
  return ww_http_body_str(text);
}
WW_FUNCTION(codes, codes)

WW_FUNCTIONS {
  int rc = 0;
  const char *shared[] = {"NameOne", "NameTwo"};
  for (int i = 0; i < 2 && rc == 0; i++) {
    ww_decl *d = ww_function(shared[i], "names");
    ww_http_trigger(d, i == 0 ? "one" : "two", "get");
    rc = ww_declare_function(d);
  }
  if (rc) return rc;

  ww_decl *d = ww_function("Greeting", "greeting");
  ww_http_trigger(d, "greeting", NULL);
  ww_auth_level(d, "anonymous");
  ww_grant_env(d, "GREETING");
  if ((rc = ww_declare_function(d)) != 0) return rc;

  d = ww_function("Nope", "nope");
  ww_http_trigger(d, "nope", "get");
  if ((rc = ww_declare_function(d)) != 0) return rc;

  d = ww_function("Codes", "codes");
  ww_http_trigger(d, "codes", "get");
  if ((rc = ww_declare_function(d)) != 0) return rc;

  d = ww_function("Off", "names");
  ww_http_trigger(d, "off", "get");
  ww_disabled(d, 1);
  if ((rc = ww_declare_function(d)) != 0) return rc;

  d = ww_function("Retried", "names");
  ww_queue_trigger(d, "msg", "retried", NULL);
  ww_retry_fixed(d, 2, "00:00:01");
  if ((rc = ww_declare_function(d)) != 0) return rc;

  /* Raw JSON: accepted by declare, refused by the host for this function
   * alone (scriptFile is not allowed in a declaration). */
  return ww_declare("{\"name\": \"Broken\", \"scriptFile\": \"x.wasm\", \"entryPoint\": \"names\","
                    " \"bindings\": [{\"type\": \"httpTrigger\", \"direction\": \"in\", \"name\": \"req\"},"
                    " {\"type\": \"http\", \"direction\": \"out\", \"name\": \"res\"}]}");
}
