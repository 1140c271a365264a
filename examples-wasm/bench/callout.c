/* callout.c: an HTTP function that calls the URL in the app setting
 * WASMLOAD_UPSTREAM_URL through the worker's outbound HTTP and answers with
 * the upstream's body: the guest side of the outbound benchmark
 * (BENCHMARKS.md, "Outbound HTTP"). Build: ./build.sh */
#include <stdlib.h>

#include "wasmworker.h"

static int call_upstream(void) {
  const char *url = getenv("WASMLOAD_UPSTREAM_URL");
  ww_response resp;
  ww_value body;
  if (!url) return ww_set_error("WASMLOAD_UPSTREAM_URL is not set"), 1;
  if (ww_fetch("GET", url, NULL, NULL, 0, &resp) != 0 || ww_response_body(&resp, &body) != 0)
    return ww_set_error(ww_outbound_error()), 1;
  ww_http_status(resp.status);
  ww_http_header("content-type", "text/plain");
  return ww_http_body(WW_BYTES, body.data, body.len);
}
WW_FUNCTION(run, call_upstream)
