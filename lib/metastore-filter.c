#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include "metastore-filter.h"

/*
 * Every value reaches SQLite bound; the only text of the user's that is
 * written into the SQL is a metadata path, after it has been checked to be
 * [A-Za-z0-9_-] segments joined by '.': an expression index matches only
 * the very same expression, and a bound path would not be the same.
 */

enum fkind { F_TEXT, F_INT, F_TAGS, F_META };

static const struct column {
	const char *name, *sql;
	enum fkind kind;
} columns[] = {
	{ "createdAt", "r.created_at", F_TEXT },
	{ "createdBy", "r.created_by", F_TEXT },
	{ "deletedAt", "r.deleted_at", F_TEXT },
	{ "key", "r.key", F_TEXT },
	{ "owner", "r.owner", F_TEXT },
	{ "schemaHash", "r.schema_hash", F_TEXT },
	{ "tags", "r.tags", F_TAGS },
	{ "updatedAt", "r.updated_at", F_TEXT },
	{ "updatedBy", "r.updated_by", F_TEXT },
	{ "version", "r.version", F_INT },
};

struct field {
	enum fkind kind;
	const char *name;	/* the column's JSON name */
	struct strbuf sql;	/* the expression */
	struct strbuf path;	/* metadata: "$" or "$.a.b" */
};

#define FIELD_INIT { F_TEXT, NULL, STRBUF_INIT, STRBUF_INIT }

static void field_release(struct field *f)
{
	strbuf_release(&f->sql);
	strbuf_release(&f->path);
}

static const struct column *find_column(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
		if (!strcmp(columns[i].name, name))
			return &columns[i];
	return NULL;
}

static int path_ok(const char *p)
{
	size_t len = strlen(p), seg = 0;

	if (!len || len > AH_MFILTER_PATH_MAX)
		return 0;
	for (; *p; p++) {
		if (*p == '.') {
			if (!seg)
				return 0;
			seg = 0;
		} else if (isalnum((unsigned char)*p) || *p == '_' || *p == '-') {
			seg++;
		} else {
			return 0;
		}
	}
	return seg > 0;
}

/*
 * name -> field. root: "metadata" alone is allowed (the whole object).
 * what names the use in messages ("filter", "sort", ...).
 */
static int resolve_field(const char *name, int root, struct field *f, struct ah_err *err)
{
	const struct column *c;
	const char *path = name;

	if (!strcmp(name, "namespace"))
		return ah_invalid(err, "namespace is not a filter field: the search is one namespace's");
	if ((c = find_column(name))) {
		f->kind = c->kind;
		f->name = c->name;
		strbuf_addstr(&f->sql, c->sql);
		return 0;
	}
	f->kind = F_META;
	if (!strcmp(name, "metadata")) {
		if (!root)
			return ah_invalid(err, "field 'metadata' needs a path here (metadata.<name>)");
		strbuf_addstr(&f->path, "$");
	} else {
		if (!strncmp(name, "metadata.", 9))
			path = name + 9;
		if (!path_ok(path))
			return ah_invalid(err, "field '%.64s': not a column nor a metadata path of "
					  "[A-Za-z0-9_-] segments joined by '.'", name);
		strbuf_addf(&f->path, "$.%s", path);
	}
	strbuf_addf(&f->sql, "json_extract(r.metadata, '%s')", f->path.buf);
	return 0;
}

int ah_mfilter_field_sql(const char *field, struct strbuf *out, struct ah_err *err)
{
	struct field f = FIELD_INIT;
	int ret;

	if (!field)
		return ah_invalid(err, "a field is needed");
	if (!(ret = resolve_field(field, 0, &f, err)))
		strbuf_addstr(out, f.sql.buf);
	field_release(&f);
	return ret;
}

void ah_mfilter_init(struct ah_mfilter *f)
{
	strbuf_init(&f->where, 0);
	strbuf_init(&f->order, 0);
	strbuf_init(&f->count, 0);
	f->binds = json_array();
	f->projection = NULL;
	f->elements = NULL;
}

void ah_mfilter_release(struct ah_mfilter *f)
{
	strbuf_release(&f->where);
	strbuf_release(&f->order);
	strbuf_release(&f->count);
	json_decref(f->binds);
	json_decref(f->projection);
	json_decref(f->elements);
	f->binds = NULL;
	f->projection = NULL;
	f->elements = NULL;
}

enum op { OP_EQ, OP_NEQ, OP_LT, OP_LTE, OP_GT, OP_GTE, OP_BETWEEN, OP_CONTAINS,
	  OP_HAS_KEY, OP_ARRAY_CONTAINS, OP_EXISTS };

static const char *const op_names[] = {
	"eq", "neq", "lt", "lte", "gt", "gte", "between", "contains", "has_key",
	"array_contains", "exists",
};
static const char *const op_sql[] = { "=", "<>", "<", "<=", ">", ">=" };

static int find_op(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (!strcmp(op_names[i], name))
			return (int)i;
	return -1;
}

struct cc {
	struct strbuf *w;
	json_t *binds;
	int nodes;
	struct ah_err *err;
	json_t *elements;
	int lookups;		/* element lookups written */
};

static void bind(struct cc *c, json_t *v)
{
	strbuf_addch(c->w, '?');
	if (json_is_boolean(v))
		json_array_append_new(c->binds, json_integer(json_is_true(v)));
	else
		json_array_append(c->binds, v);
}

/* An object or array operand, bound as its compact text for json(?) */
static void bind_json(struct cc *c, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	strbuf_addstr(c->w, "json(?)");
	json_array_append_new(c->binds, json_string(s ? s : "null"));
	free(s);
}

static int count_node(struct cc *c)
{
	if (++c->nodes > AH_MFILTER_NODES_MAX)
		return ah_invalid(c->err, "filter has more than %d conditions", AH_MFILTER_NODES_MAX);
	return 0;
}

/* The json_type test an operand's type asks of a metadata value. */
static const char *type_guard(json_t *v)
{
	if (json_is_number(v))
		return "IN ('integer', 'real')";
	if (json_is_string(v))
		return "= 'text'";
	if (json_is_true(v))
		return "= 'true'";
	if (json_is_false(v))
		return "= 'false'";
	return "IN ('object', 'array')";
}

static void json_type_of(struct cc *c, const struct field *f)
{
	strbuf_addf(c->w, "json_type(r.metadata, '%s')", f->path.buf);
}

/* metadata <op> v, v typed; op one of eq..gte */
static int meta_compare(struct cc *c, const struct field *f, enum op op, json_t *v)
{
	if (json_is_null(v)) {
		if (op != OP_EQ && op != OP_NEQ)
			return ah_invalid(c->err, "operator %s needs a number or a string", op_names[op]);
		strbuf_addf(c->w, "(%s IS %sNULL)", f->sql.buf, op == OP_EQ ? "" : "NOT ");
		return 0;
	}
	if (op == OP_NEQ) {
		/* The complement of eq: a record without the field is not equal. */
		strbuf_addstr(c->w, "(NOT coalesce(");
		meta_compare(c, f, OP_EQ, v);
		strbuf_addstr(c->w, ", 0))");
		return 0;
	}
	if (op != OP_EQ && !json_is_number(v) && !json_is_string(v))
		return ah_invalid(c->err, "operator %s needs a number or a string", op_names[op]);
	/*
	 * Equal to a string that does not open an object or an array, a value
	 * is a string: json_extract answers other values as numbers, or as
	 * JSON text that opens with { or [. Without the type test the records
	 * an index finds are not parsed each (team eq over 1,000,000 records,
	 * 1,030 found: 8.6 ms, now 7.7).
	 */
	if (op == OP_EQ && json_is_string(v) && !strchr("{[", *json_string_value(v))) {
		strbuf_addf(c->w, "(%s = ", f->sql.buf);
		bind(c, v);
		strbuf_addch(c->w, ')');
		return 0;
	}
	strbuf_addch(c->w, '(');
	json_type_of(c, f);
	strbuf_addf(c->w, " %s AND %s %s ", type_guard(v), f->sql.buf, op_sql[op]);
	if (json_is_object(v) || json_is_array(v))
		bind_json(c, v);
	else
		bind(c, v);
	strbuf_addch(c->w, ')');
	return 0;
}

/*
 * "ah_contains(r.metadata, ?) AND ": a string that the stored JSON text must
 * hold for the condition to hold, tested on the raw text before the JSON
 * is parsed (most records fail it at memmem's speed). Only for strings
 * that json_dumps writes as they are (no quote, backslash or control
 * character); quoted, the needle is "s" with its quotes, as an element.
 */
static void raw_prefilter(struct cc *c, const char *s, int quoted)
{
	const char *p;

	for (p = s; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return;
	if (!*s)
		return;
	strbuf_addstr(c->w, "ah_contains(r.metadata, ");
	if (quoted) {
		char *q = xstrfmt("\"%s\"", s);

		json_array_append_new(c->binds, json_string(q));
		free(q);
	} else {
		json_array_append_new(c->binds, json_string(s));
	}
	strbuf_addstr(c->w, "?) AND ");
}

/* An element lookup, up to its conditions; it ends "))". */
#define LOOKUP_HEAD "(r.n IN (SELECT e.n FROM metastore_elements e WHERE "

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* metadata array at f holds v */
static void meta_array_holds(struct cc *c, const struct field *f, json_t *v)
{
	json_t *ix = json_object_get(c->elements, f->sql.buf);

	/* Indexed elements are the scalars, not null (lib/metastore-index.c). */
	if (json_is_integer(ix) && (json_is_string(v) || json_is_number(v) || json_is_boolean(v))) {
		c->lookups++;
		strbuf_addf(c->w, LOOKUP_HEAD "e.ix = %" JSON_INTEGER_FORMAT " AND e.type %s",
			    json_integer_value(ix), type_guard(v));
		if (!json_is_boolean(v)) {
			strbuf_addstr(c->w, " AND e.value = ");
			bind(c, v);
		}
		strbuf_addstr(c->w, "))");
		return;
	}
	strbuf_addch(c->w, '(');
	if (json_is_string(v))
		raw_prefilter(c, json_string_value(v), 1);
	json_type_of(c, f);
	strbuf_addf(c->w, " = 'array' AND EXISTS (SELECT 1 FROM json_each(r.metadata, '%s') j"
		    " WHERE ", f->path.buf);
	if (json_is_null(v)) {
		strbuf_addstr(c->w, "j.type = 'null'");
	} else if (json_is_boolean(v)) {
		strbuf_addf(c->w, "j.type %s", type_guard(v));
	} else {
		strbuf_addf(c->w, "j.type %s AND j.value = ", type_guard(v));
		if (json_is_object(v) || json_is_array(v))
			bind_json(c, v);
		else
			bind(c, v);
	}
	strbuf_addstr(c->w, "))");
}

/*
 * JSON containment, as PostgreSQL's @> reads it: each key of an object
 * operand is contained in the same key; each element of an array operand
 * is held by the array; a scalar is equal.
 */
static int meta_contains(struct cc *c, const struct field *f, json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;
	int first = 1, ret = 0;

	if (depth > AH_MFILTER_DEPTH_MAX)
		return ah_invalid(c->err, "contains: value deeper than %d", AH_MFILTER_DEPTH_MAX);
	if (count_node(c))
		return -1;
	if (json_is_object(v)) {
		strbuf_addch(c->w, '(');
		json_type_of(c, f);
		strbuf_addstr(c->w, " = 'object'");
		json_object_foreach(v, k, x) {
			struct field sub = FIELD_INIT;

			sub.kind = F_META;
			if (!path_ok(k) || strchr(k, '.') ||
			    f->path.len + 1 + strlen(k) > AH_MFILTER_PATH_MAX + 2) {
				ret = ah_invalid(c->err, "contains: key '%.64s' is not a metadata "
						 "name ([A-Za-z0-9_-])", k);
				field_release(&sub);
				return ret;
			}
			strbuf_addf(&sub.path, "%s.%s", f->path.buf, k);
			strbuf_addf(&sub.sql, "json_extract(r.metadata, '%s')", sub.path.buf);
			strbuf_addstr(c->w, " AND ");
			ret = meta_contains(c, &sub, x, depth + 1);
			field_release(&sub);
			if (ret)
				return ret;
		}
		strbuf_addch(c->w, ')');
		return 0;
	}
	if (json_is_array(v)) {
		strbuf_addch(c->w, '(');
		if (!json_array_size(v)) {
			json_type_of(c, f);
			strbuf_addstr(c->w, " = 'array'");
		}
		json_array_foreach(v, i, x) {
			if (count_node(c))
				return -1;
			if (!first)
				strbuf_addstr(c->w, " AND ");
			first = 0;
			meta_array_holds(c, f, x);
		}
		strbuf_addch(c->w, ')');
		return 0;
	}
	return meta_compare(c, f, OP_EQ, v);
}

static void tags_hold(struct cc *c, json_t *v, int negate)
{
	strbuf_addf(c->w, "(%sEXISTS (SELECT 1 FROM json_each(r.tags) j WHERE j.value = ",
		    negate ? "NOT " : "");
	bind(c, v);
	strbuf_addstr(c->w, "))");
}

static int cond_tags(struct cc *c, enum op op, json_t *v)
{
	json_t *x;
	size_t i;

	switch (op) {
	case OP_EQ:
	case OP_NEQ:
	case OP_ARRAY_CONTAINS:
	case OP_CONTAINS:
		if (json_is_string(v)) {
			tags_hold(c, v, op == OP_NEQ);
			return 0;
		}
		if (op == OP_CONTAINS && json_is_array(v)) {
			strbuf_addstr(c->w, "(1");
			json_array_foreach(v, i, x) {
				if (count_node(c))
					return -1;
				if (!json_is_string(x))
					return ah_invalid(c->err, "tags hold strings: contains needs strings");
				strbuf_addstr(c->w, " AND ");
				tags_hold(c, x, 0);
			}
			strbuf_addch(c->w, ')');
			return 0;
		}
		return ah_invalid(c->err, "tags hold strings: operator %s needs a string", op_names[op]);
	case OP_EXISTS:
		strbuf_addf(c->w, "(json_array_length(r.tags) %s 0)", json_is_false(v) ? "=" : ">");
		return 0;
	default:
		return ah_invalid(c->err, "operator %s does not apply to tags (an array)", op_names[op]);
	}
}

static int cond_column(struct cc *c, const struct field *f, enum op op, json_t *v, json_t *hi)
{
	int text = f->kind == F_TEXT;

	switch (op) {
	case OP_EXISTS:
		strbuf_addf(c->w, "(%s IS %sNULL)", f->sql.buf, json_is_false(v) ? "" : "NOT ");
		return 0;
	case OP_HAS_KEY:
		return ah_invalid(c->err, "operator has_key needs a metadata field, not '%s'", f->name);
	case OP_ARRAY_CONTAINS:
		return ah_invalid(c->err, "operator array_contains needs an array field (tags or "
				  "metadata.<path>), not '%s'", f->name);
	case OP_CONTAINS:
		if (!text || !json_is_string(v))
			return ah_invalid(c->err, "operator contains on '%s' needs a string", f->name);
		strbuf_addf(c->w, "ah_contains(%s, ", f->sql.buf);
		bind(c, v);
		strbuf_addstr(c->w, ")");
		return 0;
	default:
		break;
	}
	if (json_is_null(v) && (op == OP_EQ || op == OP_NEQ)) {
		strbuf_addf(c->w, "(%s IS %sNULL)", f->sql.buf, op == OP_EQ ? "" : "NOT ");
		return 0;
	}
	if (text ? !json_is_string(v) || (hi && !json_is_string(hi))
		 : !json_is_number(v) || (hi && !json_is_number(hi)))
		return ah_invalid(c->err, "field '%s' is %s: operator %s needs %s", f->name,
				  text ? "a string" : "a number", op_names[op],
				  text ? "a string" : "a number");
	strbuf_addf(c->w, "(%s ", f->sql.buf);
	if (op == OP_BETWEEN) {
		strbuf_addstr(c->w, "BETWEEN ");
		bind(c, v);
		strbuf_addstr(c->w, " AND ");
		bind(c, hi);
	} else {
		/* IS NOT: the complement of eq, a NULL column included */
		strbuf_addf(c->w, "%s ", op == OP_NEQ ? "IS NOT" : op_sql[op]);
		bind(c, v);
	}
	strbuf_addch(c->w, ')');
	return 0;
}

static int cond_meta(struct cc *c, const struct field *f, enum op op, json_t *v, json_t *hi)
{
	int root = !strcmp(f->path.buf, "$");

	if (root && op != OP_CONTAINS && op != OP_HAS_KEY)
		return ah_invalid(c->err, "operator %s needs a field metadata.<path>", op_names[op]);
	switch (op) {
	case OP_EXISTS:
		strbuf_addf(c->w, "(%s IS %sNULL)", f->sql.buf, json_is_false(v) ? "" : "NOT ");
		return 0;
	case OP_HAS_KEY:
		if (!json_is_string(v))
			return ah_invalid(c->err, "operator has_key needs a string (the key)");
		strbuf_addch(c->w, '(');
		json_type_of(c, f);
		strbuf_addf(c->w, " = 'object' AND EXISTS (SELECT 1 FROM json_each(r.metadata, '%s') j"
			    " WHERE j.key = ", f->path.buf);
		bind(c, v);
		strbuf_addstr(c->w, "))");
		return 0;
	case OP_ARRAY_CONTAINS:
		meta_array_holds(c, f, v);
		return 0;
	case OP_CONTAINS:
		if (json_is_string(v)) {
			strbuf_addch(c->w, '(');
			raw_prefilter(c, json_string_value(v), 0);
			json_type_of(c, f);
			strbuf_addf(c->w, " = 'text' AND ah_contains(%s, ", f->sql.buf);
			bind(c, v);
			strbuf_addstr(c->w, "))");
			return 0;
		}
		if (!json_is_object(v) && !json_is_array(v))
			return ah_invalid(c->err, "operator contains needs a string, an object or an array");
		return meta_contains(c, f, v, 1);
	case OP_BETWEEN:
		if (!((json_is_number(v) && json_is_number(hi)) ||
		      (json_is_string(v) && json_is_string(hi))))
			return ah_invalid(c->err, "between needs two numbers or two strings");
		strbuf_addch(c->w, '(');
		json_type_of(c, f);
		strbuf_addf(c->w, " %s AND %s BETWEEN ", type_guard(v), f->sql.buf);
		bind(c, v);
		strbuf_addstr(c->w, " AND ");
		bind(c, hi);
		strbuf_addch(c->w, ')');
		return 0;
	default:
		return meta_compare(c, f, op, v);
	}
}

static int compile_node(struct cc *c, json_t *node, int depth);

static int compile_condition(struct cc *c, json_t *node)
{
	struct field f = FIELD_INIT;
	json_t *jf = json_object_get(node, "field"), *jo = json_object_get(node, "operator");
	json_t *v = json_object_get(node, "value"), *vs = json_object_get(node, "values");
	json_t *hi = NULL, *t = json_true();
	int op, ret = -1;

	if (!json_is_string(jf))
		return ah_invalid(c->err, "a filter condition needs a field (a string)");
	if (!json_is_string(jo)) {
		ret = ah_invalid(c->err, "a filter condition needs an operator (a string)");
		goto done;
	}
	if ((op = find_op(json_string_value(jo))) < 0) {
		ret = ah_invalid(c->err, "unknown operator '%.64s'", json_string_value(jo));
		goto done;
	}
	if (resolve_field(json_string_value(jf), op == OP_CONTAINS || op == OP_HAS_KEY, &f, c->err))
		goto done;
	if (op == OP_BETWEEN) {
		json_t *a = vs ? vs : v;

		if (!json_is_array(a) || json_array_size(a) != 2 ||
		    json_is_null(json_array_get(a, 0)) || json_is_null(json_array_get(a, 1))) {
			ret = ah_invalid(c->err, "between needs two values");
			goto done;
		}
		v = json_array_get(a, 0);
		hi = json_array_get(a, 1);
	} else if (vs) {
		ret = ah_invalid(c->err, "operator %s takes value, not values", op_names[op]);
		goto done;
	} else if (op == OP_EXISTS) {
		if (v && !json_is_boolean(v)) {
			ret = ah_invalid(c->err, "operator exists takes true or false");
			goto done;
		}
		if (!v)
			v = t;
	} else if (!v) {
		ret = ah_invalid(c->err, "operator %s needs a value", op_names[op]);
		goto done;
	}
	if (f.kind == F_TAGS)
		ret = cond_tags(c, op, v);
	else if (f.kind == F_META)
		ret = cond_meta(c, &f, op, v, hi);
	else
		ret = cond_column(c, &f, op, v, hi);
done:
	json_decref(t);
	field_release(&f);
	return ret;
}

static int compile_node(struct cc *c, json_t *node, int depth)
{
	json_t *type, *jo, *x;
	const char *ty, *sep;
	size_t i;
	int ret;

	if (depth > AH_MFILTER_DEPTH_MAX)
		return ah_invalid(c->err, "filter deeper than %d", AH_MFILTER_DEPTH_MAX);
	if (!json_is_object(node))
		return ah_invalid(c->err, "a filter node is an object");
	if (count_node(c))
		return -1;
	type = json_object_get(node, "type");
	if (type && !json_is_string(type))
		return ah_invalid(c->err, "a filter node's type is a string");
	ty = type ? json_string_value(type) : json_object_get(node, "filters") ? "group" : "condition";
	if (!strcmp(ty, "condition"))
		return compile_condition(c, node);
	if (!strcmp(ty, "not")) {
		x = json_object_get(node, "filter");
		if (!x)
			return ah_invalid(c->err, "a not node needs a filter");
		/* coalesce: a NULL (a missing field) is false, so not is its complement */
		strbuf_addstr(c->w, "(NOT coalesce(");
		if ((ret = compile_node(c, x, depth + 1)))
			return ret;
		strbuf_addstr(c->w, ", 0))");
		return 0;
	}
	if (strcmp(ty, "group"))
		return ah_invalid(c->err, "unknown filter type '%.64s'", ty);
	jo = json_object_get(node, "operator");
	if (!jo)
		sep = " AND ";
	else if (!json_is_string(jo))
		return ah_invalid(c->err, "a group's operator is \"and\" or \"or\"");
	else if (!strcmp(json_string_value(jo), "and"))
		sep = " AND ";
	else if (!strcmp(json_string_value(jo), "or"))
		sep = " OR ";
	else
		return ah_invalid(c->err, "unknown operator '%.64s'", json_string_value(jo));
	x = json_object_get(node, "filters");
	if (!json_is_array(x))
		return ah_invalid(c->err, "a group needs filters (an array)");
	if (!json_array_size(x)) {
		/* and of nothing is true, or of nothing false */
		strbuf_addstr(c->w, !strcmp(sep, " AND ") ? "(1)" : "(0)");
		return 0;
	}
	strbuf_addch(c->w, '(');
	json_array_foreach(x, i, type) {
		if (i)
			strbuf_addstr(c->w, sep);
		if ((ret = compile_node(c, type, depth + 1)))
			return ret;
	}
	strbuf_addch(c->w, ')');
	return 0;
}

/* q: the shorthand */

static int q_fail(const char *term, struct ah_err *err)
{
	size_t n = strcspn(term, " \t\r\n");

	return ah_invalid(err, "q: cannot parse term '%.*s'", (int)(n > 64 ? 64 : n), term);
}

/* A bare q value typed as JSON would: null true false, numbers, else a string. */
static json_t *q_value(const char *s, size_t n, int text)
{
	char buf[64], *end;
	size_t i = 0;
	int digits = 0;

	if (n == 4 && !memcmp(s, "null", 4))
		return json_null();
	if (!text && n == 4 && !memcmp(s, "true", 4))
		return json_true();
	if (!text && n == 5 && !memcmp(s, "false", 5))
		return json_false();
	if (text || n >= sizeof(buf))
		return json_stringn(s, n);
	/* JSON's number grammar: -?digits(.digits)?([eE][+-]?digits)? */
	if (i < n && s[i] == '-')
		i++;
	while (i < n && isdigit((unsigned char)s[i]))
		i++, digits++;
	if (!digits)
		return json_stringn(s, n);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (i == n) {
		long long v;

		errno = 0;
		v = strtoll(buf, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
	}
	if (i < n && s[i] == '.') {
		i++;
		digits = 0;
		while (i < n && isdigit((unsigned char)s[i]))
			i++, digits++;
		if (!digits)
			return json_stringn(s, n);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		digits = 0;
		while (i < n && isdigit((unsigned char)s[i]))
			i++, digits++;
		if (!digits)
			return json_stringn(s, n);
	}
	if (i != n)
		return json_stringn(s, n);
	{
		double d = strtod(buf, &end);

		if (*end || !isfinite(d))
			return json_stringn(s, n);
		return json_real(d);
	}
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int is_field_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.';
}

static const char *q_symbol_op(const char *p, size_t *len)
{
	static const struct { const char *s, *op; } ops[] = {
		{ "!=", "neq" }, { ">=", "gte" }, { "<=", "lte" }, { ":", "eq" }, { "=", "eq" },
		{ ">", "gt" }, { "<", "lt" },
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strncmp(p, ops[i].s, strlen(ops[i].s))) {
			*len = strlen(ops[i].s);
			return ops[i].op;
		}
	return NULL;
}

/* Reads a value at *pp: "quoted" (\" \\) or bare up to a space. NULL: it does not parse. */
static json_t *q_read_value(const char **pp, int text)
{
	const char *p = *pp, *s;
	struct strbuf sb = STRBUF_INIT;
	json_t *v = NULL;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			strbuf_addch(&sb, *p);
		}
		if (*p != '"' || (p[1] && !is_space(p[1])))
			goto done;
		v = json_stringn(sb.buf, sb.len);
		p++;
	} else {
		for (s = p; *p && !is_space(*p); p++)
			if (*p == '"')
				goto done;
		if (p == s)
			goto done;
		v = q_value(s, p - s, text);
	}
	*pp = p;
done:
	strbuf_release(&sb);
	return v;
}

int ah_mfilter_parse_q(const char *q, json_t **filter, struct ah_err *err)
{
	json_t *list = json_array(), *v = NULL;
	const char *p = q ? q : "", *term, *op;
	struct strbuf name = STRBUF_INIT;
	int ret = -1, text;

	*filter = NULL;
	if (strlen(p) > AH_MFILTER_Q_MAX) {
		ah_invalid(err, "q: longer than %d bytes", AH_MFILTER_Q_MAX);
		goto done;
	}
	for (;;) {
		struct field f = FIELD_INIT;
		size_t oplen = 0;
		const struct column *col;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		term = p;
		strbuf_setlen(&name, 0);
		while (is_field_char(*p))
			strbuf_addch(&name, *p++);
		if (!name.len) {
			q_fail(term, err);
			goto done;
		}
		if (!(op = q_symbol_op(p, &oplen)) && is_space(*p)) {
			/* "field op value" with a word: latencyMs lt 200 */
			const char *w = p;
			size_t n;
			int o;

			while (is_space(*w))
				w++;
			n = strcspn(w, " \t\r\n");
			for (o = 0; o < (int)(sizeof(op_names) / sizeof(op_names[0])); o++)
				if (o != OP_BETWEEN && strlen(op_names[o]) == n &&
				    !strncmp(w, op_names[o], n))
					break;
			if (o < (int)(sizeof(op_names) / sizeof(op_names[0])) && is_space(w[n])) {
				op = op_names[o];
				p = w + n;
				while (is_space(*p))
					p++;
			}
		} else if (op) {
			p += oplen;
		}
		if (!op) {
			q_fail(term, err);
			goto done;
		}
		if (!strcmp(name.buf, "namespace")) {
			ah_invalid(err, "namespace is not a filter field: the search is one namespace's");
			goto done;
		}
		/* The string columns keep a bare value a string: key:123 is the key "123". */
		col = find_column(name.buf);
		text = col && col->kind != F_INT && strcmp(op, "exists");
		if (!(v = q_read_value(&p, text))) {
			q_fail(term, err);
			goto done;
		}
		if (!strcmp(op, "exists") && json_is_string(v)) {
			q_fail(term, err);
			goto done;
		}
		if (resolve_field(name.buf, 1, &f, err)) {
			field_release(&f);
			goto done;
		}
		field_release(&f);
		if (json_array_size(list) >= AH_MFILTER_NODES_MAX) {
			ah_invalid(err, "q: more than %d terms", AH_MFILTER_NODES_MAX);
			goto done;
		}
		json_array_append_new(list, json_pack("{s:s%, s:s, s:o}", "field", name.buf,
						      name.len, "operator", op, "value", v));
		v = NULL;
	}
	*filter = json_pack("{s:s, s:s, s:O}", "type", "group", "operator", "and", "filters", list);
	ret = 0;
done:
	json_decref(v);
	json_decref(list);
	strbuf_release(&name);
	return ret;
}

/* sort */

static int compile_sort(json_t *sort, struct strbuf *order, struct ah_err *err)
{
	json_t *list = NULL, *x;
	size_t i;
	int ret = -1, desc = 1;

	if (!sort || json_is_null(sort) || (json_is_array(sort) && !json_array_size(sort))) {
		strbuf_addstr(order, "r.updated_at DESC, r.n DESC");
		return 0;
	}
	if (json_is_array(sort))
		list = json_incref(sort);
	else
		list = json_pack("[O]", sort);
	if (json_array_size(list) > AH_MFILTER_SORT_MAX) {
		ah_invalid(err, "sort: at most %d keys", AH_MFILTER_SORT_MAX);
		goto done;
	}
	json_array_foreach(list, i, x) {
		struct field f = FIELD_INIT;
		struct strbuf name = STRBUF_INIT;
		const char *dir = NULL, *colon;
		int bad = 0;

		if (json_is_string(x)) {
			const char *s = json_string_value(x);

			colon = strchr(s, ':');
			strbuf_add(&name, s, colon ? (size_t)(colon - s) : strlen(s));
			dir = colon ? colon + 1 : NULL;
		} else if (json_is_object(x) && json_is_string(json_object_get(x, "field"))) {
			json_t *d = json_object_get(x, "direction");

			strbuf_addstr(&name, json_string_value(json_object_get(x, "field")));
			if (d && !json_is_string(d))
				bad = 1;
			dir = d ? json_string_value(d) : NULL;
		} else {
			bad = 1;
		}
		if (bad)
			ah_invalid(err, "sort: a key is {field, direction} or \"field[:asc|desc]\"");
		else if (dir && strcasecmp(dir, "asc") && strcasecmp(dir, "desc"))
			bad = ah_invalid(err, "sort: direction '%.16s' is asc or desc", dir);
		else if (resolve_field(name.buf, 0, &f, err))
			bad = 1;
		else if (f.kind == F_TAGS)
			bad = ah_invalid(err, "sort: cannot sort by tags (an array)");
		if (!bad) {
			desc = dir && !strcasecmp(dir, "desc");
			strbuf_addf(order, "%s%s %s", i ? ", " : "", f.sql.buf, desc ? "DESC" : "ASC");
		}
		field_release(&f);
		strbuf_release(&name);
		if (bad)
			goto done;
	}
	/* r.n last: equal keys keep one order from page to page */
	strbuf_addf(order, ", r.n %s", desc ? "DESC" : "ASC");
	ret = 0;
done:
	json_decref(list);
	return ret;
}

/* projection: field names normalized ("status" -> "metadata.status"), without repeats */
static int compile_projection(json_t *proj, json_t **out, struct ah_err *err)
{
	json_t *list = NULL, *res = json_array(), *x, *y;
	size_t i, j;
	int ret = -1;

	*out = NULL;
	if (!proj || json_is_null(proj)) {
		ret = 0;
		goto done;
	}
	if (json_is_string(proj)) {
		const char *s = json_string_value(proj), *e;

		list = json_array();
		for (; *s; s = *e ? e + 1 : e) {
			e = s + strcspn(s, ",");
			if (e > s)
				json_array_append_new(list, json_stringn(s, e - s));
			if (json_array_size(list) > AH_MFILTER_PROJECTION_MAX)
				break;
		}
	} else if (json_is_array(proj)) {
		list = json_incref(proj);
	} else {
		ah_invalid(err, "projection is a list of fields");
		goto done;
	}
	if (json_array_size(list) > AH_MFILTER_PROJECTION_MAX) {
		ah_invalid(err, "projection: at most %d fields", AH_MFILTER_PROJECTION_MAX);
		goto done;
	}
	json_array_foreach(list, i, x) {
		const char *name = json_string_value(x);
		struct field f = FIELD_INIT;
		json_t *norm;
		int dup = 0;

		if (!name) {
			ah_invalid(err, "projection: a field is a string");
			goto done;
		}
		if (!strcmp(name, "namespace")) {
			norm = json_string("namespace");
		} else if (resolve_field(name, 1, &f, err)) {
			field_release(&f);
			ah_invalid(err, "projection: unknown field '%.64s'", name);
			goto done;
		} else if (f.kind != F_META) {
			norm = json_string(f.name);
		} else if (!strcmp(f.path.buf, "$")) {
			norm = json_string("metadata");
		} else {
			norm = json_sprintf("metadata.%s", f.path.buf + 2);
		}
		field_release(&f);
		json_array_foreach(res, j, y)
			if (json_equal(y, norm))
				dup = 1;
		if (dup)
			json_decref(norm);
		else
			json_array_append_new(res, norm);
	}
	if (json_array_size(res)) {
		*out = res;
		res = NULL;
	}
	ret = 0;
done:
	json_decref(list);
	json_decref(res);
	return ret;
}

int ah_mfilter_compile(json_t *filter, const char *q, json_t *sort, json_t *projection,
		       struct ah_mfilter *f, struct ah_err *err)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	json_t *qf = NULL;
	struct cc c = { NULL, f->binds, 0, err, f->elements, 0 };
	int ret = -1;

	if (filter && !json_is_null(filter)) {
		c.w = &a;
		if (compile_node(&c, filter, 1))
			goto done;
	}
	if (q && *q) {
		if (ah_mfilter_parse_q(q, &qf, err))
			goto done;
		if (json_array_size(json_object_get(qf, "filters"))) {
			c.w = &b;
			c.nodes = 0;
			if (compile_node(&c, qf, 1))
				goto done;
		}
	}
	if (a.len && b.len)
		strbuf_addf(&f->where, "(%s AND %s)", a.buf, b.buf);
	else if (a.len || b.len)
		strbuf_addstr(&f->where, a.len ? a.buf : b.buf);
	/*
	 * The whole filter one lookup of live records' elements (the index's
	 * rows are the namespace's): "(r.n IN (SELECT e.n FROM ...))".
	 */
	if (c.nodes == 1 && c.lookups == 1 && starts_with(f->where.buf, LOOKUP_HEAD)) {
		/* the namespace's parameter first, as where has it */
		strbuf_addstr(&f->count, "SELECT count(*) FROM metastore_elements e WHERE ? IS NOT NULL AND ");
		strbuf_add(&f->count, f->where.buf + strlen(LOOKUP_HEAD),
			   f->where.len - strlen(LOOKUP_HEAD) - 2);
	}
	if (compile_sort(sort, &f->order, err) ||
	    compile_projection(projection, &f->projection, err))
		goto done;
	ret = 0;
done:
	json_decref(qf);
	strbuf_release(&a);
	strbuf_release(&b);
	return ret;
}
