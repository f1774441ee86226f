/*
 * Workflow templates (see template.h): "{{ path }}" found in strings, the
 * path parsed and resolved in the run's scope, the value or its text put
 * in the template's place.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "template.h"

/* The longest path a template may hold, in steps. */
#define MAX_STEPS 64

struct step {
	const char *name;	/* a key, not NUL-terminated; NULL for an index */
	size_t len;
	size_t index;
};

struct path {
	struct step v[MAX_STEPS];
	size_t nr;
};

static int name_char(int c, int first)
{
	return isalpha(c) || c == '_' || (!first && (isdigit(c) || c == '-'));
}

/*
 * Parses the text between "{{" and "}}" (len bytes at p) into path: a
 * name, then ".name" and "[n]" steps, blanks around. 0, or -1 with why.
 */
static int parse_path(const char *p, size_t len, struct path *path, const char **why)
{
	const char *end = p + len;

	path->nr = 0;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end) {
		*why = "an empty expression";
		return -1;
	}
	for (;;) {
		struct step *s;

		if (path->nr == MAX_STEPS) {
			*why = "a path of more than 64 steps";
			return -1;
		}
		s = &path->v[path->nr];
		if (path->nr && *p == '[') {
			char *num_end;

			errno = 0;
			if (!isdigit((unsigned char)p[1])) {
				*why = "an index that is not a number";
				return -1;
			}
			s->name = NULL;
			s->index = strtoul(p + 1, &num_end, 10);
			if (errno || num_end >= end || *num_end != ']') {
				*why = "an index without its ']'";
				return -1;
			}
			p = num_end + 1;
		} else {
			if (path->nr) {
				if (*p != '.') {
					*why = "a path step that is neither '.name' nor '[index]'";
					return -1;
				}
				p++;
			}
			if (p == end || !name_char((unsigned char)*p, 1)) {
				*why = "a name that does not start with a letter or '_'";
				return -1;
			}
			s->name = p;
			while (p < end && name_char((unsigned char)*p, 0))
				p++;
			s->len = (size_t)(p - s->name);
		}
		path->nr++;
		if (p == end)
			return 0;
	}
}

/* The path's first n steps as text, into sb. */
static void path_text(const struct path *path, size_t n, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct step *s = &path->v[i];

		if (s->name)
			strbuf_addf(sb, "%s%.*s", i ? "." : "", (int)s->len, s->name);
		else
			strbuf_addf(sb, "[%zu]", s->index);
	}
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* The value path names in scope (borrowed), or NULL with err (422) naming what is missing. */
static json_t *resolve(json_t *scope, const struct path *path, const char *tmpl, size_t tlen,
		       const char *where, struct ah_err *err)
{
	struct strbuf at = STRBUF_INIT;
	json_t *v = scope, *next;
	size_t i;

	for (i = 0; i < path->nr; i++) {
		const struct step *s = &path->v[i];
		char *key;

		if (s->name) {
			key = xstrndup(s->name, s->len);
			next = json_is_object(v) ? json_object_get(v, key) : NULL;
			free(key);
		} else {
			next = json_is_array(v) ? json_array_get(v, s->index) : NULL;
		}
		if (!next) {
			path_text(path, i, &at);
			if (!i)
				ah_error(err, 422, "unresolved_template",
					 "%s: template '%.*s': no '%.*s' (the names are parameters, steps, shared, run, item and fanout)",
					 where, (int)tlen, tmpl, (int)s->len, s->name);
			else if (s->name && json_is_object(v))
				ah_error(err, 422, "unresolved_template",
					 "%s: template '%.*s': %s has no field '%.*s'", where, (int)tlen,
					 tmpl, at.buf, (int)s->len, s->name);
			else if (!s->name && json_is_array(v))
				ah_error(err, 422, "unresolved_template",
					 "%s: template '%.*s': %s has %zu item%s, no [%zu]", where,
					 (int)tlen, tmpl, at.buf, json_array_size(v),
					 json_array_size(v) == 1 ? "" : "s", s->index);
			else
				ah_error(err, 422, "unresolved_template",
					 "%s: template '%.*s': %s is %s, not %s", where, (int)tlen, tmpl,
					 at.buf, type_name(v), s->name ? "an object" : "a list");
			strbuf_release(&at);
			return NULL;
		}
		v = next;
	}
	return v;
}

/*
 * The next template of s from p: *open at "{{", *close past "}}". 1 found,
 * 0 none, -1 an unterminated one (err set).
 */
static int next_template(const char *p, const char **open, const char **close,
			 const char *where, struct ah_err *err)
{
	const char *o = strstr(p, "{{"), *c;

	if (!o)
		return 0;
	if (!(c = strstr(o + 2, "}}")))
		return ah_invalid(err, "%s: template '%.40s' has no closing '}}'", where, o);
	*open = o;
	*close = c + 2;
	return 1;
}

/* Parses the template [open, close): 0, or 400 naming it. */
static int parse_at(const char *open, const char *close, struct path *path, const char *where,
		    struct ah_err *err)
{
	const char *why;

	if (parse_path(open + 2, (size_t)(close - 2 - (open + 2)), path, &why) < 0)
		return ah_invalid(err, "%s: template '%.*s': %s", where, (int)(close - open), open, why);
	return 0;
}

/* A rendering: its scope, and the bytes it has made so far against the cap. */
struct render {
	json_t *scope;
	const char *where;
	size_t used;
};

static int spend(struct render *rd, size_t n, struct ah_err *err)
{
	rd->used += n;
	if (rd->used > AH_TEMPLATE_MAX_OUTPUT)
		return ah_error(err, 413, "too_large", "%s: templates make more than %d bytes",
				rd->where, AH_TEMPLATE_MAX_OUTPUT);
	return 0;
}

/* One string rendered: *out its value (a raw value for a lone template). */
static int render_string(json_t *str, struct render *rd, json_t **out, struct ah_err *err)
{
	json_t *scope = rd->scope;
	const char *where = rd->where;
	const char *s = json_string_value(str), *p = s, *open, *close;
	struct strbuf sb = STRBUF_INIT;
	struct path path;
	json_t *v;
	int r;

	*out = NULL;
	while ((r = next_template(p, &open, &close, where, err)) > 0) {
		if (parse_at(open, close, &path, where, err) < 0 ||
		    !(v = resolve(scope, &path, open, (size_t)(close - open), where, err)))
			goto fail;
		/* exactly one template: its value, whatever its type */
		if (open == s && !*close) {
			strbuf_release(&sb);
			if (spend(rd, json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY), err) < 0)
				return -1;
			*out = json_deep_copy(v);
			return 0;
		}
		strbuf_add(&sb, p, (size_t)(open - p));
		if (json_is_string(v)) {
			strbuf_add(&sb, json_string_value(v), json_string_length(v));
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			strbuf_addstr(&sb, text ? text : "null");
			free(text);
		}
		if (sb.len > AH_TEMPLATE_MAX_OUTPUT) {
			ah_error(err, 413, "too_large", "%s: templates make more than %d bytes",
				 where, AH_TEMPLATE_MAX_OUTPUT);
			goto fail;
		}
		p = close;
	}
	if (r < 0)
		goto fail;
	if (p == s) {
		*out = json_incref(str);
	} else {
		strbuf_addstr(&sb, p);
		if (spend(rd, sb.len, err) < 0)
			goto fail;
		*out = json_stringn(sb.buf, sb.len);
	}
	strbuf_release(&sb);
	return 0;
fail:
	strbuf_release(&sb);
	return -1;
}

static int check_string(const char *s, const char *where, struct ah_err *err)
{
	const char *open, *close;
	struct path path;
	int r;

	while ((r = next_template(s, &open, &close, where, err)) > 0) {
		if (parse_at(open, close, &path, where, err) < 0)
			return -1;
		s = close;
	}
	return r;
}

/* Walks v: render (rd given) or check (rd NULL) each string, at most depth deep. */
static int walk(json_t *v, struct render *rd, const char *where, int depth, json_t **out,
		struct ah_err *err)
{
	const char *key;
	json_t *e, *r;
	size_t i;

	if (out)
		*out = NULL;
	if (depth > AH_TEMPLATE_MAX_DEPTH)
		return ah_invalid(err, "%s: nests deeper than %d levels", where, AH_TEMPLATE_MAX_DEPTH);
	if (json_is_string(v))
		return rd ? render_string(v, rd, out, err) :
			    check_string(json_string_value(v), where, err);
	if (json_is_object(v)) {
		json_t *o = out ? json_object() : NULL;

		json_object_foreach(v, key, e) {
			if (walk(e, rd, where, depth + 1, out ? &r : NULL, err) < 0) {
				json_decref(o);
				return -1;
			}
			if (o)
				json_object_set_new(o, key, r);
		}
		if (out)
			*out = o;
		return 0;
	}
	if (json_is_array(v)) {
		json_t *a = out ? json_array() : NULL;

		json_array_foreach(v, i, e) {
			if (walk(e, rd, where, depth + 1, out ? &r : NULL, err) < 0) {
				json_decref(a);
				return -1;
			}
			if (a)
				json_array_append_new(a, r);
		}
		if (out)
			*out = a;
		return 0;
	}
	if (out)
		*out = json_incref(v);
	return 0;
}

int ah_template_check(json_t *v, const char *where, struct ah_err *err)
{
	return walk(v, NULL, where, 0, NULL, err);
}

int ah_template_render(json_t *v, json_t *scope, const char *where, json_t **out,
		       struct ah_err *err)
{
	struct render rd = { scope, where, 0 };
	json_t *empty = NULL;
	int ret;

	if (!scope)
		rd.scope = empty = json_object();
	ret = walk(v, &rd, where, 0, out, err);
	json_decref(empty);
	return ret;
}
