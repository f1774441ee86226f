/*
 * A job's parametersSchema: the schema itself checked when a bundle is
 * published, parameters checked against it before a run is queued, and
 * --param text read as the schema's types say.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "json-schema.h"
#include "params.h"
#include "strbuf.h"
#include "utf8.h"

static const char *const type_names[] = {
	"string", "number", "integer", "boolean", "object", "array", "null",
};

static int known_type(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(t, type_names[i]))
			return 1;
	return 0;
}

static int has_type(json_t *v, const char *t)
{
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	return 0;
}

/* The keywords whose value is a count: minLength, maxLength, minItems, maxItems. */
static const char *const count_keywords[] = { "minLength", "maxLength", "minItems", "maxItems" };

static int valid_at(json_t *schema, struct strbuf *path, int depth, struct ah_err *err)
{
	size_t len = path->len, i;
	const char *key;
	json_t *v, *sub;

	if (depth > AH_JSON_SCHEMA_MAX_DEPTH)
		return ah_invalid(err, "%s: schemas nest deeper than %d levels", path->buf,
				  AH_JSON_SCHEMA_MAX_DEPTH);
	if (json_is_boolean(schema))
		return 0;
	if (!json_is_object(schema))
		return ah_invalid(err, "%s: a schema must be an object", path->buf);
	if ((v = json_object_get(schema, "type"))) {
		if (json_is_string(v)) {
			if (!known_type(json_string_value(v)))
				return ah_invalid(err, "%s.type: unknown type '%s'", path->buf,
						  json_string_value(v));
		} else if (json_is_array(v) && json_array_size(v)) {
			json_array_foreach(v, i, sub)
				if (!json_is_string(sub) || !known_type(json_string_value(sub)))
					return ah_invalid(err, "%s.type: entry %zu is not a type name",
							  path->buf, i + 1);
		} else {
			return ah_invalid(err, "%s.type: must be a type name or a list of them",
					  path->buf);
		}
	}
	if ((v = json_object_get(schema, "required"))) {
		if (!json_is_array(v))
			return ah_invalid(err, "%s.required: must be a list of property names",
					  path->buf);
		json_array_foreach(v, i, sub)
			if (!json_is_string(sub))
				return ah_invalid(err, "%s.required: entry %zu is not a property name",
						  path->buf, i + 1);
	}
	if ((v = json_object_get(schema, "enum")) && !json_is_array(v))
		return ah_invalid(err, "%s.enum: must be a list of values", path->buf);
	for (i = 0; i < sizeof(count_keywords) / sizeof(count_keywords[0]); i++)
		if ((v = json_object_get(schema, count_keywords[i])) &&
		    (!json_is_integer(v) || json_integer_value(v) < 0))
			return ah_invalid(err, "%s.%s: must be a count", path->buf, count_keywords[i]);
	for (i = 0; i < 2; i++) {
		key = i ? "maximum" : "minimum";
		if ((v = json_object_get(schema, key)) && !json_is_number(v))
			return ah_invalid(err, "%s.%s: must be a number", path->buf, key);
	}
	if ((v = json_object_get(schema, "additionalProperties")) && !json_is_boolean(v)) {
		strbuf_addstr(path, ".additionalProperties");
		if (valid_at(v, path, depth + 1, err) < 0)
			return -1;
		strbuf_setlen(path, len);
	}
	if ((v = json_object_get(schema, "properties"))) {
		if (!json_is_object(v))
			return ah_invalid(err, "%s.properties: must be an object of schemas",
					  path->buf);
		json_object_foreach(v, key, sub) {
			strbuf_addf(path, ".properties.%s", key);
			if (valid_at(sub, path, depth + 1, err) < 0)
				return -1;
			strbuf_setlen(path, len);
		}
	}
	if ((v = json_object_get(schema, "items"))) {
		strbuf_addstr(path, ".items");
		if (valid_at(v, path, depth + 1, err) < 0)
			return -1;
		strbuf_setlen(path, len);
	}
	return 0;
}

int ah_json_schema_valid(json_t *schema, const char *name, struct ah_err *err)
{
	struct strbuf path = STRBUF_INIT;
	int ret;

	strbuf_addstr(&path, name);
	ret = valid_at(schema, &path, 0, err);
	strbuf_release(&path);
	return ret;
}

/* The length of a string as JSON Schema counts it (jansson's are valid UTF-8). */
static json_int_t code_points(const char *s, size_t len)
{
	json_int_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int mismatch(struct ah_err *err, const struct strbuf *path, const char *fmt, const char *what)
{
	return ah_error(err, 422, "invalid_parameters", fmt, path->buf, what);
}

/* "a string", "an integer or null": what type says, for messages. */
static void type_words(json_t *type, struct strbuf *sb)
{
	size_t i, nr = json_is_array(type) ? json_array_size(type) : 1;

	for (i = 0; i < nr; i++) {
		const char *t = json_string_value(json_is_array(type) ? json_array_get(type, i) : type);

		if (i)
			strbuf_addstr(sb, i + 1 == nr ? " or " : ", ");
		if (!i)
			strbuf_addstr(sb, strchr("aeiou", *t) ? "an " : "a ");
		strbuf_addstr(sb, t);
	}
}

static int type_ok(json_t *type, json_t *value)
{
	json_t *t;
	size_t i;

	if (json_is_string(type))
		return has_type(value, json_string_value(type));
	json_array_foreach(type, i, t)
		if (has_type(value, json_string_value(t)))
			return 1;
	return 0;
}

static int check_at(json_t *schema, json_t *value, struct strbuf *path, int depth,
		    struct ah_err *err)
{
	size_t len = path->len, i;
	const char *key;
	json_t *v, *sub, *props;
	json_int_t n;

	if (depth > AH_JSON_SCHEMA_MAX_DEPTH)
		return ah_error(err, 422, "invalid_parameters",
				"%s: nests deeper than the schema checks (%d levels)", path->buf,
				AH_JSON_SCHEMA_MAX_DEPTH);
	if (json_is_false(schema))
		return mismatch(err, path, "%s: is not allowed%s", "");
	if (!json_is_object(schema))
		return 0;
	if ((v = json_object_get(schema, "type")) && !type_ok(v, value)) {
		struct strbuf words = STRBUF_INIT;
		int r;

		type_words(v, &words);
		r = mismatch(err, path, "%s: must be %s", words.buf);
		strbuf_release(&words);
		return r;
	}
	if ((v = json_object_get(schema, "const")) && !json_equal(v, value))
		return mismatch(err, path, "%s: must be the schema's constant%s", "");
	if ((v = json_object_get(schema, "enum"))) {
		int found = 0;

		json_array_foreach(v, i, sub)
			if (json_equal(sub, value))
				found = 1;
		if (!found) {
			struct strbuf words = STRBUF_INIT;
			int r;

			json_array_foreach(v, i, sub) {
				char *s = json_dumps(sub, JSON_ENCODE_ANY | JSON_COMPACT);

				strbuf_addf(&words, "%s%s", i ? ", " : "", s ? s : "?");
				free(s);
				if (words.len > 200) {
					strbuf_addstr(&words, ", ...");
					break;
				}
			}
			r = mismatch(err, path, "%s: must be one of %s", words.buf);
			strbuf_release(&words);
			return r;
		}
	}
	if (json_is_number(value)) {
		double x = json_number_value(value);

		if ((v = json_object_get(schema, "minimum")) && x < json_number_value(v))
			return ah_error(err, 422, "invalid_parameters", "%s: must be at least %g",
					path->buf, json_number_value(v));
		if ((v = json_object_get(schema, "maximum")) && x > json_number_value(v))
			return ah_error(err, 422, "invalid_parameters", "%s: must be at most %g",
					path->buf, json_number_value(v));
	}
	if (json_is_string(value)) {
		n = code_points(json_string_value(value), json_string_length(value));
		if ((v = json_object_get(schema, "minLength")) && n < json_integer_value(v))
			return ah_error(err, 422, "invalid_parameters",
					"%s: must be at least %lld characters", path->buf,
					(long long)json_integer_value(v));
		if ((v = json_object_get(schema, "maxLength")) && n > json_integer_value(v))
			return ah_error(err, 422, "invalid_parameters",
					"%s: must be at most %lld characters", path->buf,
					(long long)json_integer_value(v));
	}
	if (json_is_array(value)) {
		n = (json_int_t)json_array_size(value);
		if ((v = json_object_get(schema, "minItems")) && n < json_integer_value(v))
			return ah_error(err, 422, "invalid_parameters",
					"%s: must have at least %lld items", path->buf,
					(long long)json_integer_value(v));
		if ((v = json_object_get(schema, "maxItems")) && n > json_integer_value(v))
			return ah_error(err, 422, "invalid_parameters",
					"%s: must have at most %lld items", path->buf,
					(long long)json_integer_value(v));
		if ((sub = json_object_get(schema, "items")))
			json_array_foreach(value, i, v) {
				strbuf_addf(path, "[%zu]", i);
				if (check_at(sub, v, path, depth + 1, err) < 0)
					return -1;
				strbuf_setlen(path, len);
			}
	}
	if (json_is_object(value)) {
		props = json_object_get(schema, "properties");
		json_array_foreach(json_object_get(schema, "required"), i, v)
			if (!json_object_get(value, json_string_value(v)))
				return ah_error(err, 422, "invalid_parameters", "%s.%s: is required",
						path->buf, json_string_value(v));
		json_object_foreach(value, key, v) {
			strbuf_addf(path, ".%s", key);
			if ((sub = json_object_get(props, key)) ||
			    (sub = json_object_get(schema, "additionalProperties")))
				if (check_at(sub, v, path, depth + 1, err) < 0)
					return -1;
			strbuf_setlen(path, len);
		}
	}
	return 0;
}

int ah_json_schema_check(json_t *schema, json_t *value, const char *name, struct ah_err *err)
{
	struct strbuf path = STRBUF_INIT;
	int ret;

	if (!schema)
		return 0;
	strbuf_addstr(&path, name);
	ret = check_at(schema, value, &path, 0, err);
	strbuf_release(&path);
	return ret;
}

/* The one type the schema gives a value, or NULL (none, or a choice). */
static const char *single_type(json_t *schema)
{
	json_t *t = json_object_get(schema, "type");

	if (json_is_array(t) && json_array_size(t) == 1)
		t = json_array_get(t, 0);
	return json_string_value(t);
}

json_t *ah_json_schema_coerce(json_t *schema, const char *text, const char *name,
			      struct ah_err *err)
{
	const char *type = single_type(schema);
	json_t *v;

	if (!ah_utf8_valid(text, strlen(text))) {
		ah_error(err, 422, "invalid_parameters", "%s: not valid UTF-8", name);
		return NULL;
	}
	if (type && !strcmp(type, "string"))
		return json_string(text);
	v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!type)
		return v ? v : json_string(text);
	if (!v || !has_type(v, type)) {
		json_decref(v);
		ah_error(err, 422, "invalid_parameters", "%s: '%.80s' is not %s %s", name, text,
			 strchr("aeiou", *type) ? "an" : "a", type);
		return NULL;
	}
	return v;
}

json_t *ah_json_schema_parameters(json_t *params, json_t *schema, struct ah_err *err)
{
	json_t *given = json_object_get(params, "parameters"), *list = NULL, *out = NULL, *v;
	size_t i;

	if (given && !json_is_object(given) && !json_is_null(given)) {
		ah_invalid(err, "invalid parameters: must be a JSON object");
		return NULL;
	}
	if (ah_param_strlist(params, "param", &list, err) < 0)
		return NULL;
	out = json_is_object(given) ? json_deep_copy(given) : json_object();
	json_array_foreach(list, i, v) {
		const char *kv = json_string_value(v), *eq = strchr(kv, '=');
		char *key, *name;
		json_t *val;

		if (!eq || eq == kv) {
			ah_invalid(err, "invalid param '%.80s': expected KEY=VALUE", kv);
			goto fail;
		}
		key = xstrndup(kv, (size_t)(eq - kv));
		name = xstrfmt("parameters.%s", key);
		val = ah_json_schema_coerce(json_object_get(json_object_get(schema, "properties"), key),
					    eq + 1, name, err);
		if (val)
			json_object_set_new(out, key, val);
		free(name);
		free(key);
		if (!val)
			goto fail;
	}
	json_decref(list);
	return out;
fail:
	json_decref(list);
	json_decref(out);
	return NULL;
}
