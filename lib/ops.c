#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"
#ifdef APPHUB_WITH_IMAGE
#include "build.h"
#endif

/* The modules this binary carries; helpers add theirs here under a flag. */
static const struct ah_op *const modules[] = {
	ops_apps,
	ops_builds,
	ops_events,
	ops_gc,
	ops_history,
	ops_launch,
	ops_search,
	ops_tags,
#ifdef APPHUB_WITH_IMAGE
	ops_image,
	ops_image_build,
#endif
#if defined(APPHUB_WITH_BUILD) || defined(APPHUB_WITH_SERVE)
	ops_build_worker,
#endif
#ifdef APPHUB_WITH_INGEST
	ops_ingest,
#endif
#ifdef APPHUB_WITH_SERVE
	ops_hooks,
	ops_web,
#endif
	NULL,
};

const struct ah_op *const *ah_op_modules(void)
{
	return modules;
}

const struct ah_op *ah_op_find(const char *name)
{
	const struct ah_op *op;
	size_t m;

	for (m = 0; modules[m]; m++)
		for (op = modules[m]; op->name; op++)
			if (!strcmp(op->name, name))
				return op;
	return NULL;
}

int ah_ctx_state(struct ah_ctx *ctx, struct ah_state **st, struct ah_err *err)
{
	if (!ctx->st && ah_state_open(&ctx->st, ctx->dir, err) < 0)
		return -1;
	*st = ctx->st;
	return 0;
}

void ah_ctx_release(struct ah_ctx *ctx)
{
	ah_state_close(ctx->st);
	ctx->st = NULL;
}

int ah_op_call(struct ah_ctx *ctx, const char *name, json_t *params, json_t **out,
	       struct ah_err *err)
{
	const struct ah_op *op = ah_op_find(name);

	*out = NULL;
	if (!op)
		return ah_not_found(err, "unknown operation '%s'", name);
	if (params && !json_is_object(params))
		return ah_invalid(err, "parameters: must be a JSON object");
	return op->fn(ctx, params, out, err);
}

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
