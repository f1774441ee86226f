#ifndef PARAMS_H
#define PARAMS_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"

/*
 * Parameters: a field may come as JSON from a body or --json input, or as
 * a string from a query string or argv, so the getters accept both forms.
 */
int ah_param_str(json_t *params, const char *key, const char **out, struct ah_err *err);
/* ah_param_str() for a parameter that must be there: "invalid <key>: required". */
int ah_param_need_str(json_t *params, const char *key, const char **out, struct ah_err *err);
int ah_param_int(json_t *params, const char *key, long def, long min, long max, long *out,
		 struct ah_err *err);
/*
 * A duration in milliseconds, from min to max: a whole number counts
 * milliseconds, a string is read as parse.h reads durations ("30s", "5m").
 */
int ah_param_duration_ms(json_t *params, const char *key, int64_t min, int64_t max,
			 int64_t *out, struct ah_err *err);
/*
 * ah_param_str() for one of the strings of names (NULL-terminated): *out
 * NULL when absent or empty; "invalid <key> '<v>': a, b or c" otherwise.
 */
int ah_param_enum(json_t *params, const char *key, const char *const *names, const char **out,
		  struct ah_err *err);
int ah_param_bool(json_t *params, const char *key, int *out, struct ah_err *err);
/* A list of strings: a JSON array of strings, or one comma-separated string. */
int ah_param_strlist(json_t *params, const char *key, json_t **out, struct ah_err *err);

/*
 * A JSON scalar as text (a string as it is, numbers and booleans written
 * out); NULL for null, an object or an array.
 */
char *ah_json_scalar_text(json_t *v);

#endif
