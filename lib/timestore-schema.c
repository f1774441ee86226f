/*
 * The timestore's names and schemas (lib/timestore-schema.h): no state,
 * so the parsers (and their fuzzer) and the records share them.
 */
#include <stdio.h>
#include <string.h>
#include "env.h"
#include "timestore-schema.h"

const char *const ah_ts_type_names[AH_TS_NTYPES] = {
	"timestamp", "string", "double", "integer", "boolean",
};

int ah_ts_type_of(const char *name)
{
	int i;

	for (i = 0; name && i < AH_TS_NTYPES; i++)
		if (!strcmp(name, ah_ts_type_names[i]))
			return i;
	return -1;
}

/* The job rule (lib/bundle.c's, an engine this layer cannot call). */
int ah_ts_slug_check(const char *slug, struct ah_err *err)
{
	size_t i, n = slug ? strlen(slug) : 0;

	if (!n)
		return ah_invalid(err, "invalid dataset: required");
	if (n > 64)
		return ah_invalid(err, "invalid dataset '%.80s': longer than 64 characters", slug);
	for (i = 0; i < n; i++) {
		char c = slug[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i)))
			return ah_invalid(err, "invalid dataset '%.80s': lowercase letters, digits"
					  " and '-' (not first) only", slug);
	}
	return 0;
}

int ah_ts_column_check(const char *what, const char *name, struct ah_err *err)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n)
		return ah_invalid(err, "invalid %s: a column name is required", what);
	if (n > 64)
		return ah_invalid(err, "invalid %s '%.80s': longer than 64 characters", what, name);
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (i && c >= '0' && c <= '9')))
			return ah_invalid(err, "invalid %s '%.80s': letters, digits and '_' only,"
					  " not starting with a digit", what, name);
	}
	return 0;
}

int ah_ts_fields_check(json_t *fields, const char *what, json_t **out, struct ah_err *err)
{
	json_t *res = NULL, *f;
	size_t i, j;
	int has_time = 0, ret = -1;

	*out = NULL;
	if (!json_is_array(fields) || !json_array_size(fields)) {
		ah_invalid(err, "invalid %s: fields must be a non-empty array", what);
		goto done;
	}
	if (json_array_size(fields) > AH_TS_MAX_FIELDS) {
		ah_invalid(err, "invalid %s: more than %d fields", what, AH_TS_MAX_FIELDS);
		goto done;
	}
	res = json_array();
	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *type = json_string_value(json_object_get(f, "type"));
		char field[64];
		int t;

		snprintf(field, sizeof(field), "%s field %zu", what, i + 1);
		if (!json_is_object(f)) {
			ah_invalid(err, "invalid %s: not an object", field);
			goto done;
		}
		if (ah_ts_column_check(field, name, err) < 0)
			goto done;
		if ((t = ah_ts_type_of(type)) < 0) {
			ah_invalid(err, "invalid %s field '%s': type '%.40s' is none of timestamp,"
				   " string, double, integer, boolean", what, name, type ? type : "");
			goto done;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(res, j),
								      "name")), name)) {
				ah_invalid(err, "invalid %s: field '%s' twice", what, name);
				goto done;
			}
		has_time |= t == AH_TS_TIMESTAMP;
		json_array_append_new(res, json_pack("{s:s, s:s}", "name", name, "type",
						     ah_ts_type_names[t]));
	}
	if (!has_time) {
		ah_invalid(err, "invalid %s: no field of type timestamp", what);
		goto done;
	}
	*out = res;
	res = NULL;
	ret = 0;
done:
	json_decref(res);
	return ret;
}

const char *ah_ts_time_field(json_t *fields)
{
	const char *first = NULL;
	json_t *f;
	size_t i;

	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));

		if (strcmp(json_string_value(json_object_get(f, "type")) ?: "", "timestamp"))
			continue;
		if (!strcmp(name, "timestamp"))
			return name;
		if (!first)
			first = name;
	}
	return first;
}

static json_t *field_named(json_t *fields, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")) ?: "", name))
			return f;
	return NULL;
}

int ah_ts_schema_merge(json_t *current, json_t *fields, int declared, json_t **merged,
		       json_t **added, struct ah_err *err)
{
	json_t *f, *m, *a;
	size_t i;

	*merged = *added = NULL;
	if (!current) {
		*merged = json_deep_copy(fields);
		*added = json_array();
		return 0;
	}
	json_array_foreach(current, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *g = field_named(fields, name);

		if (!g && declared)
			return ah_invalid(err, "schema: column '%s' removed: only additive changes"
					  " are accepted", name);
		if (g && !json_equal(json_object_get(g, "type"), json_object_get(f, "type")))
			return ah_invalid(err, "schema: column '%s' retyped from %s to %s: only"
					  " additive changes are accepted", name,
					  json_string_value(json_object_get(f, "type")),
					  json_string_value(json_object_get(g, "type")));
	}
	m = json_deep_copy(current);
	a = json_array();
	json_array_foreach(fields, i, f)
		if (!field_named(current, json_string_value(json_object_get(f, "name")))) {
			json_array_append(m, f);
			json_array_append(a, f);
		}
	if (json_array_size(m) > AH_TS_MAX_FIELDS) {
		json_decref(m);
		json_decref(a);
		return ah_invalid(err, "schema: more than %d fields", AH_TS_MAX_FIELDS);
	}
	*merged = m;
	*added = a;
	return 0;
}

int64_t ah_ts_max_ingest(void)
{
	struct ah_err err = AH_ERR_INIT;
	int64_t max;

	if (ah_env_size("APPHUB_TIMESTORE_MAX_INGEST", AH_TS_MAX_INGEST, 1024, &max, &err) < 0)
		max = AH_TS_MAX_INGEST;
	return max;
}

int64_t ah_ts_max_ingest_body(void)
{
	/* the text as a JSON string: escaped quotes and newlines, and room around it */
	return 2 * ah_ts_max_ingest() + (1 << 20);
}
