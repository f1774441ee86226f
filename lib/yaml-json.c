/*
 * YAML -> JSON from libyaml's events: limits checked as the text is read,
 * plain scalars typed by YAML 1.2's core schema. Workflow definitions and
 * the tags files of repositories (lenient, every scalar a string) share it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <yaml.h>
#include "usage.h"
#include "yaml-json.h"

struct level {
	json_t *v;	/* borrowed: its parent (or the root) holds it */
	char *key;	/* a mapping's key waiting for its value */
};

struct yj {
	unsigned flags;
	struct level stack[AH_YAML_MAX_DEPTH];
	int depth;
	json_t *root;
	size_t nodes;
	struct ah_err *err;
};

static int at(struct ah_err *err, const yaml_mark_t *m, const char *why)
{
	return ah_invalid(err, "line %zu, column %zu: %s", (size_t)m->line + 1,
			  (size_t)m->column + 1, why);
}

/* Text as a JSON string; libyaml lets escapes make what JSON refuses (a lone surrogate). */
static json_t *str(const char *s, size_t n, const yaml_mark_t *m, struct ah_err *err)
{
	json_t *v = json_stringn(s, n);

	if (!v)
		at(err, m, "not valid UTF-8");
	return v;
}

static int all_of(const char *s, size_t n, const char *set)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

static int is_one_of(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && !memcmp(s, *words, n))
			return 1;
	return 0;
}

/* YAML 1.2 core float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int is_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, exp++;
		if (!exp)
			return 0;
	}
	return i == n;
}

/*
 * A plain scalar typed by the core schema; NULL with err for a number JSON
 * cannot hold (out of int64, infinite, not a number).
 */
static json_t *plain_scalar(const char *s, size_t n, const yaml_mark_t *m, struct ah_err *err)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const infs[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
		"-.inf", "-.Inf", "-.INF", NULL };
	static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
	const char *digits = s;
	size_t nd = n;
	int base = 10, neg = 0;
	char buf[128];

	if (is_one_of(s, n, nulls))
		return json_null();
	if (is_one_of(s, n, trues))
		return json_true();
	if (is_one_of(s, n, falses))
		return json_false();
	if (is_one_of(s, n, infs) || is_one_of(s, n, nans)) {
		at(err, m, "infinite and not-a-number floats cannot be JSON");
		return NULL;
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		base = s[1] == 'o' ? 8 : 16;
		digits = s + 2;
		nd = n - 2;
		if (!all_of(digits, nd, base == 8 ? "01234567" : "0123456789abcdefABCDEF"))
			return str(s, n, m, err);
	} else if (nd && (*digits == '-' || *digits == '+')) {
		neg = *digits == '-';
		digits++;
		nd--;
		if (!all_of(digits, nd, "0123456789"))
			goto maybe_float;
	} else if (!all_of(digits, nd, "0123456789")) {
		goto maybe_float;
	}
	/* An integer: one JSON would round or overflow is refused, not changed. */
	{
		unsigned long long u;
		char *end;

		if (nd >= sizeof(buf))
			goto too_big;
		memcpy(buf, digits, nd);
		buf[nd] = '\0';
		errno = 0;
		u = strtoull(buf, &end, base);
		if (errno || *end || u > (neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX))
			goto too_big;
		if (neg)
			return json_integer(u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)u);
		return json_integer((json_int_t)u);
	}
too_big:
	at(err, m, "integer out of range (beyond 64 bits)");
	return NULL;
maybe_float:
	if (!is_float(s, n))
		return str(s, n, m, err);
	{
		double d;

		if (n >= sizeof(buf)) {
			at(err, m, "float too long");
			return NULL;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		d = strtod(buf, NULL);
		if (!isfinite(d)) {
			at(err, m, "float out of range");
			return NULL;
		}
		return json_real(d);
	}
}

static int tag_is(const yaml_char_t *tag, const char *name)
{
	return tag && !strcmp((const char *)tag, name);
}

static json_t *scalar(struct yj *y, yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const yaml_char_t *tag = ev->data.scalar.tag;
	json_t *v;

	/* An explicit !!str or the non-specific "!" keeps the text as it is. */
	if ((y->flags & AH_YAML_STRINGS) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    tag_is(tag, YAML_STR_TAG) || tag_is(tag, "!"))
		v = str(s, n, &ev->start_mark, y->err);
	else
		v = plain_scalar(s, n, &ev->start_mark, y->err);
	return v;
}

/* Adds v (a new reference) where it belongs: the root, an array, a key, a key's value. */
static int add(struct yj *y, json_t *v, const yaml_event_t *ev)
{
	struct level *top;

	if (!y->depth) {
		y->root = v;
		return 0;
	}
	top = &y->stack[y->depth - 1];
	if (json_is_array(top->v)) {
		if (json_array_append_new(top->v, v) < 0)
			return ah_internal(y->err, "out of memory");
		return 0;
	}
	if (!top->key) {
		const char *k = json_string_value(v);
		size_t kn = json_string_length(v);

		/* Keys are their text: 1: a becomes {"1": "a"} (JSON keys are strings). */
		if (json_is_object(v) || json_is_array(v)) {
			json_decref(v);
			return at(y->err, &ev->start_mark, "a mapping key must be a scalar");
		}
		if (!k) {
			json_decref(v);
			return at(y->err, &ev->start_mark, "a mapping key is not text");
		}
		if (strlen(k) != kn) {
			json_decref(v);
			return at(y->err, &ev->start_mark, "a mapping key holds a NUL byte");
		}
		if (!(y->flags & AH_YAML_LENIENT)) {
			if (ev->type == YAML_SCALAR_EVENT &&
			    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(k, "<<")) {
				json_decref(v);
				return at(y->err, &ev->start_mark, "merge keys ('<<') are not supported");
			}
			if (json_object_get(top->v, k)) {
				char why[160];

				snprintf(why, sizeof(why), "duplicate key '%.100s'", k);
				json_decref(v);
				return at(y->err, &ev->start_mark, why);
			}
		}
		top->key = xstrdup(k);
		json_decref(v);
		return 0;
	}
	if (json_object_set_new(top->v, top->key, v) < 0)
		return ah_internal(y->err, "out of memory");
	free(top->key);
	top->key = NULL;
	return 0;
}

/* A scalar key is made into a string before add() sees it, whatever its type. */
static json_t *key_scalar(yaml_event_t *ev, struct ah_err *err)
{
	return str((const char *)ev->data.scalar.value, ev->data.scalar.length,
		   &ev->start_mark, err);
}

static int expecting_key(const struct yj *y)
{
	return y->depth && json_is_object(y->stack[y->depth - 1].v) &&
	       !y->stack[y->depth - 1].key;
}

static int anchor_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor != NULL;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor != NULL;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor != NULL;
	default:
		return 0;
	}
}

int ah_yaml_to_json_flags(const char *text, size_t len, unsigned flags, json_t **out,
			  struct ah_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct yj y = { .flags = flags, .err = err };
	int docs = 0, end = 0, ret = -1, i;

	*out = NULL;
	if (!yaml_parser_initialize(&parser))
		return ah_internal(err, "cannot initialize the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!end) {
		json_t *v = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_READER_ERROR)
				ah_invalid(err, "byte %zu: %s", parser.problem_offset + 1,
					   parser.problem ? parser.problem : "not YAML");
			else
				at(err, &parser.problem_mark, parser.problem ? parser.problem : "not YAML");
			goto done;
		}
		if (anchor_of(&ev) && !(flags & AH_YAML_LENIENT)) {
			at(err, &ev.start_mark, "anchors are not supported");
			goto next_fail;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (docs++) {
				if (flags & AH_YAML_LENIENT) {
					end = 1;
					break;
				}
				at(err, &ev.start_mark, "more than one document");
				goto next_fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			at(err, &ev.start_mark, "aliases are not supported");
			goto next_fail;
		case YAML_SCALAR_EVENT:
			v = expecting_key(&y) ? key_scalar(&ev, err) : scalar(&y, &ev);
			if (!v)
				goto next_fail;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (y.depth >= AH_YAML_MAX_DEPTH) {
				char why[80];

				snprintf(why, sizeof(why), "too deeply nested (more than %d levels)",
					 AH_YAML_MAX_DEPTH);
				at(err, &ev.start_mark, why);
				goto next_fail;
			}
			v = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			y.depth--;
			break;
		default:
			break;
		}
		if (v) {
			int collection = json_is_array(v) || json_is_object(v);

			if (++y.nodes > AH_YAML_MAX_NODES) {
				char why[64];

				snprintf(why, sizeof(why), "more than %d values", AH_YAML_MAX_NODES);
				json_decref(v);
				at(err, &ev.start_mark, why);
				goto next_fail;
			}
			if (add(&y, v, &ev) < 0)
				goto next_fail;
			if (collection) {
				y.stack[y.depth].v = v;
				y.stack[y.depth++].key = NULL;
			}
		}
		yaml_event_delete(&ev);
		continue;
next_fail:
		yaml_event_delete(&ev);
		goto done;
	}
	if (!y.root)
		y.root = (flags & AH_YAML_LENIENT) ? json_object() : json_null();
	*out = y.root;
	y.root = NULL;
	ret = 0;
done:
	for (i = 0; i < y.depth; i++)
		free(y.stack[i].key);
	json_decref(y.root);
	yaml_parser_delete(&parser);
	return ret;
}

int ah_yaml_to_json(const char *text, size_t len, json_t **out, struct ah_err *err)
{
	return ah_yaml_to_json_flags(text, len, 0, out, err);
}
