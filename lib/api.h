#ifndef API_H
#define API_H

#include <jansson.h>
#include "ops.h"

/*
 * The HTTP face of the operation table, without the server: which
 * operation a method and path name, the parameters a request carries, and
 * the documents built from the table. lib/http.c drives these per request.
 */

/* The body cap; a larger request is refused with 413. */
#define AH_API_MAX_BODY (1024 * 1024)

/*
 * Finds the operation for method and path, adding the path's :params to
 * params. Returns 0 with *op set; 404 when no route has the path, 405 when
 * routes have it with other methods.
 */
int ah_api_route(const char *method, const char *path, json_t *params, const struct ah_op **op);

/*
 * Adds one query-string pair to params; a repeated key becomes an array
 * (as ah_param_strlist() reads it).
 */
void ah_api_add_query(json_t *params, const char *key, const char *value);

/*
 * Merges a JSON request body into params: it must be an object. Fails
 * with 400 naming the problem.
 */
int ah_api_merge_body(json_t *params, const char *body, size_t len, struct ah_err *err);

/* {error:{code, message}} */
json_t *ah_api_error_json(const struct ah_err *err);

/* The OpenAPI 3 document generated from the table. */
json_t *ah_api_openapi(const char *version);

/* The route label for metrics: the operation's path template. */
const char *ah_api_scope_name(enum ah_scope scope);

#endif
