#ifndef HTTP_CALL_H
#define HTTP_CALL_H

#include <jansson.h>
#include "err.h"

/* The largest response body read; APPHUB_WORKFLOW_MAX_RESPONSE (a size) lowers it for tests. */
#define AH_HTTP_CALL_MAX_RESPONSE (16 << 20)
#define AH_HTTP_CALL_MAX_REDIRECTS 5

/*
 * A service step's request with libcurl. req {url, method ("GET"), headers
 * {name: value}, body? (a string sent as is; other JSON sent as JSON with
 * Content-Type application/json), timeoutMs (30000)}: only http and https
 * (redirects too, at most AH_HTTP_CALL_MAX_REDIRECTS), header names and
 * values without CR or LF. *resp {status, headers {lowercased name: value},
 * body (parsed JSON when it parses, else the text)}.
 *
 * Errors: 400 for a bad request; 413 for a body over the cap (checked
 * while reading); 504 for a timeout; 502 with curl's message for other
 * transport errors; a non-2xx status is 502 "GET <url>: HTTP 500" with
 * *resp still set (the caller frees it either way).
 */
int ah_http_call(json_t *req, json_t **resp, struct ah_err *err);

/*
 * The transport settings every apphub request shares (user agent, http and
 * https only, redirects too, connect and stall timeouts) on a curl easy
 * handle (a CURL *; void here so that includers need not see curl.h).
 */
void ah_curl_defaults(void *curl);

#endif
