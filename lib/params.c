/*
 * The parameters of an operation: a field may come as JSON from a body or
 * --json input, or as a string from a query string or argv, so the getters
 * accept both forms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "params.h"
#include "strbuf.h"
#include "parse.h"
#include "usage.h"

int ah_param_str(json_t *params, const char *key, const char **out, struct ah_err *err)
{
	json_t *v = params ? json_object_get(params, key) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ah_invalid(err, "invalid %s: must be a string", key);
	*out = json_string_value(v);
	return 0;
}

int ah_param_int(json_t *params, const char *key, long def, long min, long max, long *out,
		 struct ah_err *err)
{
	json_t *v = params ? json_object_get(params, key) : NULL;
	long n = def;

	if (v && json_is_integer(v)) {
		n = (long)json_integer_value(v);
	} else if (v && json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		errno = 0;
		n = strtol(s, &end, 10);
		if (!*s || *end || errno)
			return ah_invalid(err, "invalid %s '%s': must be a whole number", key, s);
	} else if (v && !json_is_null(v)) {
		return ah_invalid(err, "invalid %s: must be a whole number", key);
	}
	if (n < min || n > max)
		return ah_invalid(err, "invalid %s %ld: must be from %ld to %ld", key, n, min, max);
	*out = n;
	return 0;
}

int ah_param_duration_ms(json_t *params, const char *key, int64_t min, int64_t max,
			 int64_t *out, struct ah_err *err)
{
	json_t *v = params ? json_object_get(params, key) : NULL;
	int64_t ms = *out;

	if (v && json_is_integer(v))
		ms = json_integer_value(v);
	else if (v && json_is_string(v) && ah_parse_duration_ms(json_string_value(v), &ms) < 0)
		return ah_invalid(err, "invalid %s '%s': must be a duration (" AH_DURATION_FORMS ")",
				  key, json_string_value(v));
	else if (v && !json_is_string(v) && !json_is_null(v))
		return ah_invalid(err, "invalid %s: must be a duration", key);
	if (ms < min || ms > max)
		return ah_invalid(err, "invalid %s %lld ms: must be from %lld to %lld ms", key,
				  (long long)ms, (long long)min, (long long)max);
	*out = ms;
	return 0;
}

int ah_param_bool(json_t *params, const char *key, int *out, struct ah_err *err)
{
	json_t *v = params ? json_object_get(params, key) : NULL;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (!strcmp(s, "true") || !strcmp(s, "1"))
			*out = 1;
		else if (strcmp(s, "false") && strcmp(s, "0"))
			return ah_invalid(err, "invalid %s '%s': must be true or false", key, s);
		return 0;
	}
	return ah_invalid(err, "invalid %s: must be true or false", key);
}

int ah_param_strlist(json_t *params, const char *key, json_t **out, struct ah_err *err)
{
	json_t *v = params ? json_object_get(params, key) : NULL;
	size_t i;

	*out = json_array();
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *comma;

		while (*s) {
			comma = strchr(s, ',');
			if (!comma)
				comma = s + strlen(s);
			if (comma > s)
				json_array_append_new(*out, json_stringn(s, (size_t)(comma - s)));
			s = *comma ? comma + 1 : comma;
		}
		return 0;
	}
	if (!json_is_array(v))
		goto bad;
	for (i = 0; i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i);

		if (!json_is_string(item))
			goto bad;
		json_array_append(*out, item);
	}
	return 0;
bad:
	json_decref(*out);
	*out = NULL;
	return ah_invalid(err, "invalid %s: must be a list of strings", key);
}

int ah_param_need_str(json_t *params, const char *key, const char **out, struct ah_err *err)
{
	if (ah_param_str(params, key, out, err) < 0)
		return -1;
	if (!*out)
		return ah_invalid(err, "invalid %s: required", key);
	return 0;
}

char *ah_json_scalar_text(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xstrfmt("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xstrfmt("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

int ah_param_enum(json_t *params, const char *key, const char *const *names, const char **out,
		  struct ah_err *err)
{
	struct strbuf list = STRBUF_INIT;
	size_t i;

	if (ah_param_str(params, key, out, err) < 0)
		return -1;
	if (!*out || !**out) {
		*out = NULL;
		return 0;
	}
	for (i = 0; names[i]; i++)
		if (!strcmp(*out, names[i]))
			return 0;
	for (i = 0; names[i]; i++)
		strbuf_addf(&list, "%s%s", i ? names[i + 1] ? ", " : " or " : "", names[i]);
	ah_invalid(err, "invalid %s '%.40s': %s", key, *out, list.buf);
	strbuf_release(&list);
	return -1;
}
