/*
 * A timestore query compiled to DuckDB SQL (lib/timestore-query.h). No
 * user text reaches the SQL: names are checked ([A-Za-z_][A-Za-z0-9_]*,
 * then double-quoted), numbers and times are parsed and written back as
 * literals, strings are bound parameters, and the file paths are ours.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "params.h"
#include "strbuf.h"
#include "timestore-query.h"
#include "timeutil.h"

#define NAME_MAX_LEN 64
#define TERM_MAX 4096
#define FILTERS_MAX 64
#define IN_VALUES_MAX 1000
#define AGGS_MAX 64
#define COLUMNS_MAX 256
#define INTERVAL_SIZE_MAX 1000000
/* 9999-12-31T23:59:59.999Z: beyond it a time is refused, not wrapped. */
#define TIME_MS_MAX 253402300799999LL

static const struct {
	const char *name, *sql;
} ts_types[] = {
	{ "timestamp", "TIMESTAMP" },
	{ "string", "VARCHAR" },
	{ "double", "DOUBLE" },
	{ "integer", "BIGINT" },
	{ "boolean", "BOOLEAN" },
};

static const char *type_sql(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(ts_types) / sizeof(ts_types[0]); i++)
		if (type && !strcmp(type, ts_types[i].name))
			return ts_types[i].sql;
	return NULL;
}

static int name_ok(const char *s)
{
	size_t i;

	if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= NAME_MAX_LEN || !(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* A field's type, NULL when src has no such field (or it has no known type). */
static const char *field_type(const struct ah_tsq_source *src, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(src->fields, i, f) {
		const char *n = json_string_value(json_object_get(f, "name"));

		if (n && name && !strcmp(n, name)) {
			const char *t = json_string_value(json_object_get(f, "type"));

			return type_sql(t) ? t : NULL;
		}
	}
	return NULL;
}

static int is_numeric(const char *type)
{
	return !strcmp(type, "double") || !strcmp(type, "integer");
}

/* Appends s as an SQL string literal. */
static void add_literal(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

void ah_tsq_source_sql(struct strbuf *sb, const struct ah_tsq_source *src)
{
	size_t nfields = json_array_size(src->fields), npaths = json_array_size(src->paths), i, n;
	json_t *v;

	strbuf_addstr(sb, "(SELECT ");
	if (npaths) {
		strbuf_addstr(sb, "* FROM read_parquet([");
		json_array_foreach(src->paths, i, v) {
			if (i)
				strbuf_addstr(sb, ", ");
			add_literal(sb, json_string_value(v) ? json_string_value(v) : "");
		}
		strbuf_addstr(sb, "], union_by_name = true)");
		if (!src->widen)
			goto done;
		/* Files older than a field lack it: a typed empty relation adds it to every row. */
		strbuf_addstr(sb, " UNION ALL BY NAME (SELECT ");
	}
	for (i = n = 0; i < nfields; i++) {
		json_t *f = json_array_get(src->fields, i);
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *sql = type_sql(json_string_value(json_object_get(f, "type")));

		if (!name_ok(name) || !sql)
			continue;
		strbuf_addf(sb, "%sCAST(NULL AS %s) AS \"%s\"", n++ ? ", " : "", sql, name);
	}
	if (!n)
		strbuf_addstr(sb, "NULL AS \"timestamp\"");
	strbuf_addstr(sb, " LIMIT 0");
	if (npaths)
		strbuf_addch(sb, ')');
done:
	strbuf_addch(sb, ')');
}

void ah_tsq_format_us(char buf[AH_TSQ_TIME_LEN], int64_t us)
{
	int64_t secs = us / 1000000, frac = us % 1000000;
	time_t t;
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, AH_TSQ_TIME_LEN, "%lld", (long long)us);
		return;
	}
	n = strftime(buf, AH_TSQ_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!frac)
		snprintf(buf + n, AH_TSQ_TIME_LEN - n, "Z");
	else if (!(frac % 1000))
		snprintf(buf + n, AH_TSQ_TIME_LEN - n, ".%03dZ", (int)(frac / 1000));
	else
		snprintf(buf + n, AH_TSQ_TIME_LEN - n, ".%06dZ", (int)frac);
}

/* TIMESTAMP 'yyyy-mm-dd hh:mm:ss.uuuuuu' for ms since the epoch (checked by the caller). */
static void add_time_literal(struct strbuf *sb, int64_t ms)
{
	int64_t secs = ms / 1000, frac = ms % 1000;
	time_t t;
	struct tm tm;
	char buf[64];

	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	t = (time_t)secs;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strbuf_addf(sb, "TIMESTAMP '%s.%03d'", buf, (int)frac);
}

static int all_digits(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* A time as ms: RFC 3339, or epoch ms as a JSON number or digits. 0, or -1. */
static int time_value(json_t *v, int64_t *ms)
{
	if (json_is_integer(v)) {
		*ms = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!isfinite(d) || d > (double)TIME_MS_MAX || d < -(double)TIME_MS_MAX)
			return -1;
		*ms = (int64_t)d;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (all_digits(s)) {
			char *end;

			errno = 0;
			*ms = strtoll(s, &end, 10);
			if (errno)
				return -1;
		} else if (ah_time_parse(s, ms) < 0) {
			return -1;
		}
	} else {
		return -1;
	}
	return *ms > TIME_MS_MAX || *ms < -TIME_MS_MAX ? -1 : 0;
}

static char *scalar_text(json_t *v)
{
	char *s = ah_json_scalar_text(v);

	return s ? s : xstrdup(json_is_null(v) ? "null" : "(not a scalar)");
}

int ah_tsq_range(json_t *params, int64_t *from_ms, int64_t *to_ms, struct ah_err *err)
{
	json_t *range = json_object_get(params, "timeRange");
	static const char *const keys[] = { "start", "end" };
	int64_t *outs[] = { from_ms, to_ms };
	char a[AH_ISO_LEN], b[AH_ISO_LEN];
	int i;

	if (!range || json_is_null(range))
		return ah_invalid(err, "invalid timeRange: required ({start, end})");
	if (!json_is_object(range))
		return ah_invalid(err, "invalid timeRange: must be an object {start, end}");
	for (i = 0; i < 2; i++) {
		json_t *v = json_object_get(range, keys[i]);

		if (!v)
			return ah_invalid(err, "invalid timeRange.%s: required", keys[i]);
		if (time_value(v, outs[i]) < 0) {
			char *text = scalar_text(v);

			ah_invalid(err, "invalid timeRange.%s '%.64s': must be an RFC 3339 time or epoch milliseconds",
				   keys[i], text);
			free(text);
			return -1;
		}
	}
	if (*to_ms < *from_ms) {
		ah_iso_time(a, *from_ms);
		ah_iso_time(b, *to_ms);
		return ah_invalid(err, "invalid timeRange: end %s is before start %s", b, a);
	}
	return 0;
}

struct compile {
	const struct ah_tsq_source *src;
	struct ah_tsq *q;
	struct ah_err *err;
};

static void add_bind(struct compile *c, struct strbuf *sb, const char *s)
{
	json_array_append_new(c->q->binds, json_string(s));
	strbuf_addf(sb, "$%zu", json_array_size(c->q->binds));
}

/*
 * One filter value, typed by its column: a literal, or a bound string.
 * what names the filter in messages.
 */
static int add_value(struct compile *c, struct strbuf *sb, const char *type, json_t *v,
		     const char *what)
{
	char *text = NULL, *end;
	int ret = -1;

	if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
		ah_invalid(c->err, "invalid %s: value must be a string, a number or a boolean", what);
		goto done;
	}
	text = scalar_text(v);
	if (!strcmp(type, "string")) {
		add_bind(c, sb, text);
	} else if (!strcmp(type, "double")) {
		double d;

		if (json_is_number(v)) {
			d = json_number_value(v);
		} else {
			errno = 0;
			d = json_is_string(v) && *text ? strtod(text, &end) : (end = text, 0);
			if (errno || end == text || *end)
				goto bad;
		}
		if (!isfinite(d))
			goto bad;
		strbuf_addf(sb, "CAST(%.17g AS DOUBLE)", d);
	} else if (!strcmp(type, "integer")) {
		long long n;

		if (json_is_integer(v)) {
			n = json_integer_value(v);
		} else if (json_is_string(v) && all_digits(text)) {
			errno = 0;
			n = strtoll(text, &end, 10);
			if (errno)
				goto bad;
		} else {
			goto bad;
		}
		strbuf_addf(sb, "CAST(%lld AS BIGINT)", n);
	} else if (!strcmp(type, "boolean")) {
		if (json_is_boolean(v))
			strbuf_addstr(sb, json_is_true(v) ? "true" : "false");
		else if (json_is_string(v) && (!strcasecmp(text, "true") || !strcasecmp(text, "false")))
			strbuf_addstr(sb, tolower((unsigned char)text[0]) == 't' ? "true" : "false");
		else
			goto bad;
	} else {
		int64_t ms;

		if (json_is_boolean(v) || time_value(v, &ms) < 0)
			goto bad;
		add_time_literal(sb, ms);
	}
	ret = 0;
	goto done;
bad:
	ah_invalid(c->err, "invalid %s: '%.64s' is not %s %s", what, text,
		   strchr("aeiou", type[0]) ? "an" : "a",
		   !strcmp(type, "timestamp") ? "timestamp (RFC 3339 or epoch milliseconds)" : type);
done:
	free(text);
	return ret;
}

static const struct {
	const char *name, *sql;
} filter_ops[] = {
	{ "=", "=" }, { "==", "=" }, { "eq", "=" },
	{ "!=", "<>" }, { "<>", "<>" }, { "ne", "<>" }, { "neq", "<>" },
	{ "<", "<" }, { "lt", "<" },
	{ "<=", "<=" }, { "lte", "<=" }, { "le", "<=" },
	{ ">", ">" }, { "gt", ">" },
	{ ">=", ">=" }, { "gte", ">=" }, { "ge", ">=" },
	{ "in", "IN" },
	{ "contains", "contains" },
};

#define FILTER_OPS_TEXT "=, !=, <, <=, >, >=, in or contains"

static const char *filter_op_sql(const char *op)
{
	size_t i;

	for (i = 0; op && i < sizeof(filter_ops) / sizeof(filter_ops[0]); i++)
		if (!strcasecmp(op, filter_ops[i].name))
			return filter_ops[i].sql;
	return NULL;
}

static int add_filter(struct compile *c, struct strbuf *sb, json_t *f, size_t idx)
{
	const char *col = json_string_value(json_object_get(f, "column"));
	const char *opname = json_string_value(json_object_get(f, "op"));
	const char *op = filter_op_sql(opname), *type;
	json_t *v = json_object_get(f, "value"), *e;
	char what[160];
	size_t i;

	if (!json_is_object(f))
		return ah_invalid(c->err, "invalid filters[%zu]: must be an object {column, op, value}", idx);
	if (!col)
		return ah_invalid(c->err, "invalid filters[%zu]: column required", idx);
	if (!name_ok(col) || !(type = field_type(c->src, col)))
		return ah_invalid(c->err, "invalid filters[%zu]: unknown column '%.64s'", idx, col);
	snprintf(what, sizeof(what), "filter on '%s'", col);
	if (!op)
		return ah_invalid(c->err, "invalid %s: unknown op '%.16s' (" FILTER_OPS_TEXT ")", what,
				  opname ? opname : "");
	if (!v)
		return ah_invalid(c->err, "invalid %s: value required", what);
	if (json_is_null(v)) {
		/* = null and != null: whether the column has a value */
		if (strcmp(op, "=") && strcmp(op, "<>"))
			return ah_invalid(c->err, "invalid %s: null compares with = and != only", what);
		strbuf_addf(sb, "\"%s\" IS %sNULL", col, strcmp(op, "=") ? "NOT " : "");
		return 0;
	}
	if (!strcmp(op, "contains")) {
		if (strcmp(type, "string"))
			return ah_invalid(c->err, "invalid %s: contains needs a string column", what);
		strbuf_addf(sb, "contains(\"%s\", ", col);
		if (add_value(c, sb, type, v, what) < 0)
			return -1;
		strbuf_addch(sb, ')');
		return 0;
	}
	if (!strcmp(type, "boolean") && strcmp(op, "=") && strcmp(op, "<>") && strcmp(op, "IN"))
		return ah_invalid(c->err, "invalid %s: a boolean compares with =, != and in only", what);
	if (strcmp(op, "IN")) {
		strbuf_addf(sb, "\"%s\" %s ", col, op);
		return add_value(c, sb, type, v, what);
	}
	if (!json_is_array(v) || !json_array_size(v))
		return ah_invalid(c->err, "invalid %s: in needs a non-empty list of values", what);
	if (json_array_size(v) > IN_VALUES_MAX)
		return ah_invalid(c->err, "invalid %s: in takes at most %d values", what, IN_VALUES_MAX);
	strbuf_addf(sb, "\"%s\" IN (", col);
	json_array_foreach(v, i, e) {
		if (i)
			strbuf_addstr(sb, ", ");
		if (add_value(c, sb, type, e, what) < 0)
			return -1;
	}
	strbuf_addch(sb, ')');
	return 0;
}

static const char *const agg_fns[] = {
	"avg", "min", "max", "sum", "median", "count", "count_distinct", "percentile", NULL
};

static const char *const units[] = { "second", "minute", "hour", "day", "week", "month", NULL };

static int in_list(const char *const *names, const char *s)
{
	size_t i;

	for (i = 0; s && names[i]; i++)
		if (!strcmp(names[i], s))
			return 1;
	return 0;
}

/* Whether name is one of the output's names so far (the object of names). */
static int taken(json_t *names, const char *name, struct ah_err *err)
{
	if (json_object_get(names, name))
		return ah_invalid(err, "invalid downsample: two output columns named '%s'", name);
	json_object_set_new(names, name, json_true());
	return 0;
}

static int add_agg(struct compile *c, struct strbuf *sb, json_t *a, size_t idx, json_t *names)
{
	const char *fn = json_string_value(json_object_get(a, "fn"));
	const char *col = json_string_value(json_object_get(a, "column"));
	json_t *alias_v = json_object_get(a, "alias"), *colv = json_object_get(a, "column");
	const char *alias = json_string_value(alias_v), *type = NULL;
	char def[NAME_MAX_LEN * 2 + 32];
	double pct = 0;

	if (!json_is_object(a))
		return ah_invalid(c->err, "invalid aggregations[%zu]: must be an object {fn, column, alias?}",
				  idx);
	if (!in_list(agg_fns, fn))
		return ah_invalid(c->err, "invalid aggregation '%.32s': must be avg, min, max, sum, median, count, count_distinct or percentile",
				  fn ? fn : "");
	if (colv && !json_is_null(colv) && !col)
		return ah_invalid(c->err, "invalid aggregation %s: column must be a string", fn);
	if (col && !*col)
		col = NULL;
	if (!col && strcmp(fn, "count"))
		return ah_invalid(c->err, "invalid aggregation %s: column required", fn);
	if (col && (!name_ok(col) || !(type = field_type(c->src, col))))
		return ah_invalid(c->err, "invalid aggregation %s: unknown column '%.64s'", fn, col);
	if (type && (!strcmp(fn, "avg") || !strcmp(fn, "sum") || !strcmp(fn, "median") ||
		     !strcmp(fn, "percentile")) && !is_numeric(type))
		return ah_invalid(c->err, "invalid aggregation %s: column '%s' is %s, not a number", fn,
				  col, type);
	if (!strcmp(fn, "percentile")) {
		json_t *p = json_object_get(a, "percentile");

		if (!json_is_number(p) || !(json_number_value(p) >= 0 && json_number_value(p) <= 1))
			return ah_invalid(c->err, "invalid aggregation percentile: percentile (from 0 to 1) required");
		pct = json_number_value(p);
	}
	if (alias_v && !json_is_null(alias_v) && (!alias || !name_ok(alias)))
		return ah_invalid(c->err, "invalid aggregation %s: alias must match [A-Za-z_][A-Za-z0-9_]{0,63}",
				  fn);
	if (!alias) {
		if (!col) {
			snprintf(def, sizeof(def), "count");
		} else if (!strcmp(fn, "percentile")) {
			char *dot;

			snprintf(def, sizeof(def), "p%g_%s", pct * 100, col);
			while ((dot = strchr(def, '.')) || (dot = strchr(def, '-')) ||
			       (dot = strchr(def, '+')))
				*dot = '_';
		} else {
			snprintf(def, sizeof(def), "%s_%s", fn, col);
		}
		alias = def;
	}
	if (taken(names, alias, c->err) < 0)
		return -1;
	strbuf_addstr(sb, ", ");
	if (!strcmp(fn, "count"))
		col ? strbuf_addf(sb, "count(\"%s\")", col) : strbuf_addstr(sb, "count(*)");
	else if (!strcmp(fn, "count_distinct"))
		strbuf_addf(sb, "count(DISTINCT \"%s\")", col);
	else if (!strcmp(fn, "percentile"))
		strbuf_addf(sb, "quantile_cont(\"%s\", %.17g)", col, pct);
	else
		strbuf_addf(sb, "%s(\"%s\")", fn, col);
	strbuf_addf(sb, " AS \"%s\"", alias);
	return 0;
}

/* Reads the column list (names checked against the fields) into cols, without repeats. */
static int read_columns(struct compile *c, json_t *params, json_t **cols)
{
	json_t *list = NULL, *v;
	size_t i;

	*cols = json_array();
	if (ah_param_strlist(params, "columns", &list, c->err) < 0)
		return -1;
	if (json_array_size(list) > COLUMNS_MAX) {
		json_decref(list);
		return ah_invalid(c->err, "invalid columns: at most %d", COLUMNS_MAX);
	}
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(v);
		size_t j;
		json_t *w;
		int dup = 0;

		if (!name_ok(name) || !field_type(c->src, name)) {
			ah_invalid(c->err, "invalid columns: unknown column '%.64s'", name);
			json_decref(list);
			return -1;
		}
		json_array_foreach(*cols, j, w)
			dup |= !strcmp(json_string_value(w), name);
		if (!dup)
			json_array_append(*cols, v);
	}
	json_decref(list);
	return 0;
}

int ah_tsq_compile(json_t *params, const struct ah_tsq_source *src, const char *ts_default,
		   struct ah_tsq *q, struct ah_err *err)
{
	struct compile c = { src, q, err };
	struct strbuf sql = STRBUF_INIT, where = STRBUF_INIT;
	json_t *cols = NULL, *names = json_object(), *ds, *filters, *v;
	const char *ts = NULL, *type;
	int64_t from, to;
	size_t i, ngroup;
	int ret = -1;

	memset(q, 0, sizeof(*q));
	q->binds = json_array();
	if (!json_is_object(params)) {
		ah_invalid(err, "invalid query: must be an object");
		goto done;
	}
	if (ah_tsq_range(params, &from, &to, err) < 0 ||
	    ah_param_str(params, "timestampColumn", &ts, err) < 0)
		goto done;
	if (!ts || !*ts)
		ts = ts_default ? ts_default : "timestamp";
	if (!name_ok(ts) || !(type = field_type(src, ts))) {
		ah_invalid(err, "invalid timestampColumn: unknown column '%.64s'", ts);
		goto done;
	}
	if (strcmp(type, "timestamp")) {
		ah_invalid(err, "invalid timestampColumn '%s': a %s column, not a timestamp", ts, type);
		goto done;
	}
	ds = json_object_get(params, "downsample");
	if (ds && json_is_null(ds))
		ds = NULL;
	if (ds && !json_is_object(ds)) {
		ah_invalid(err, "invalid downsample: must be an object {intervalUnit, intervalSize, aggregations}");
		goto done;
	}
	q->downsampled = !!ds;
	if (ah_param_int(params, "limit", ds ? AH_TSQ_LIMIT_MAX : AH_TSQ_LIMIT_RAW, 1,
			 AH_TSQ_LIMIT_MAX, &q->limit, err) < 0 ||
	    read_columns(&c, params, &cols) < 0)
		goto done;

	strbuf_addf(&where, " WHERE \"%s\" >= ", ts);
	add_time_literal(&where, from);
	strbuf_addf(&where, " AND \"%s\" < ", ts);
	add_time_literal(&where, to);
	filters = json_object_get(params, "filters");
	if (filters && !json_is_null(filters) && !json_is_array(filters)) {
		ah_invalid(err, "invalid filters: must be a list of {column, op, value}");
		goto done;
	}
	if (json_array_size(filters) > FILTERS_MAX) {
		ah_invalid(err, "invalid filters: at most %d", FILTERS_MAX);
		goto done;
	}
	json_array_foreach(filters, i, v) {
		strbuf_addstr(&where, " AND ");
		if (add_filter(&c, &where, v, i) < 0)
			goto done;
	}

	if (!ds) {
		int has_ts = 0;
		size_t n = 0;

		strbuf_addstr(&sql, "SELECT ");
		if (!json_array_size(cols)) {
			json_array_foreach(src->fields, i, v) {
				const char *name = json_string_value(json_object_get(v, "name"));

				if (name_ok(name) && field_type(src, name))
					strbuf_addf(&sql, "%s\"%s\"", n++ ? ", " : "", name);
			}
		} else {
			json_array_foreach(cols, i, v)
				has_ts |= !strcmp(json_string_value(v), ts);
			if (!has_ts)
				strbuf_addf(&sql, "\"%s\"", ts), n++;
			json_array_foreach(cols, i, v)
				strbuf_addf(&sql, "%s\"%s\"", n++ ? ", " : "", json_string_value(v));
		}
		strbuf_addstr(&sql, " FROM ");
		ah_tsq_source_sql(&sql, src);
		strbuf_addstr(&sql, where.buf);
		strbuf_addf(&sql, " ORDER BY \"%s\" LIMIT %ld", ts, q->limit + 1);
	} else {
		json_t *aggs = json_object_get(ds, "aggregations"), *a;
		const char *unit = json_string_value(json_object_get(ds, "intervalUnit"));
		json_t *size_v = json_object_get(ds, "intervalSize");
		long size = 1;

		if (!in_list(units, unit)) {
			ah_invalid(err, "invalid downsample.intervalUnit '%.16s': must be second, minute, hour, day, week or month",
				   unit ? unit : "");
			goto done;
		}
		if (size_v && !json_is_null(size_v)) {
			if (!json_is_integer(size_v) || json_integer_value(size_v) < 1 ||
			    json_integer_value(size_v) > INTERVAL_SIZE_MAX) {
				ah_invalid(err, "invalid downsample.intervalSize: must be a whole number from 1 to %d",
					   INTERVAL_SIZE_MAX);
				goto done;
			}
			size = (long)json_integer_value(size_v);
		}
		if (!json_is_array(aggs) || !json_array_size(aggs)) {
			ah_invalid(err, "invalid downsample.aggregations: a non-empty list of {fn, column, alias?} required");
			goto done;
		}
		if (json_array_size(aggs) > AGGS_MAX) {
			ah_invalid(err, "invalid downsample.aggregations: at most %d", AGGS_MAX);
			goto done;
		}
		strbuf_addf(&sql, "SELECT time_bucket(INTERVAL '%ld %s', \"%s\") AS \"%s\"", size, unit,
			    ts, ts);
		if (taken(names, ts, err) < 0)
			goto done;
		/* in downsampled mode, columns are what rows are grouped by besides the time */
		json_array_foreach(cols, i, v) {
			if (!strcmp(json_string_value(v), ts))
				continue;
			if (taken(names, json_string_value(v), err) < 0)
				goto done;
			strbuf_addf(&sql, ", \"%s\"", json_string_value(v));
		}
		ngroup = json_object_size(names);
		json_array_foreach(aggs, i, a)
			if (add_agg(&c, &sql, a, i, names) < 0)
				goto done;
		strbuf_addstr(&sql, " FROM ");
		ah_tsq_source_sql(&sql, src);
		strbuf_addstr(&sql, where.buf);
		strbuf_addstr(&sql, " GROUP BY ");
		for (i = 1; i <= ngroup; i++)
			strbuf_addf(&sql, "%s%zu", i > 1 ? ", " : "", i);
		strbuf_addstr(&sql, " ORDER BY ");
		for (i = 1; i <= ngroup; i++)
			strbuf_addf(&sql, "%s%zu", i > 1 ? ", " : "", i);
		strbuf_addf(&sql, " LIMIT %ld", q->limit + 1);
	}
	q->sql = strbuf_detach(&sql, NULL);
	ret = 0;
done:
	if (ret < 0)
		ah_tsq_release(q);
	strbuf_release(&sql);
	strbuf_release(&where);
	json_decref(cols);
	json_decref(names);
	return ret;
}

void ah_tsq_release(struct ah_tsq *q)
{
	free(q->sql);
	json_decref(q->binds);
	memset(q, 0, sizeof(*q));
}

/* The CLI's forms. */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A value as written: quoted ('...' or "...", the quote doubled inside) or bare; trimmed. */
static char *unquote(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && (s[0] == '\'' || s[0] == '"') && s[len - 1] == s[0]) {
		for (i = 1; i + 1 < len; i++) {
			strbuf_addch(&sb, s[i]);
			if (s[i] == s[0] && i + 2 < len && s[i + 1] == s[0])
				i++;
		}
		return strbuf_detach(&sb, NULL);
	}
	strbuf_add(&sb, s, len);
	return strbuf_detach(&sb, NULL);
}

/* "a, b, 'c,d'" (or in parentheses or brackets) as a JSON array of strings. */
static json_t *split_list(const char *s)
{
	json_t *list = json_array();
	size_t len = strlen(s);
	const char *p, *end;

	if (len >= 2 && ((s[0] == '(' && s[len - 1] == ')') || (s[0] == '[' && s[len - 1] == ']'))) {
		s++;
		len -= 2;
	}
	end = s + len;
	for (p = s; p <= end;) {
		const char *q = p;
		char quote = 0, *v;

		q = skip_space(q);
		if (q < end && (*q == '\'' || *q == '"'))
			quote = *q++;
		for (; q < end; q++) {
			if (quote && *q == quote) {
				if (q + 1 < end && q[1] == quote) {
					q++;
					continue;
				}
				quote = 0;
			} else if (!quote && *q == ',') {
				break;
			}
		}
		v = unquote(p, (size_t)(q - p));
		json_array_append_new(list, json_string(v));
		free(v);
		if (json_array_size(list) > IN_VALUES_MAX)
			break;
		p = q + 1;
	}
	return list;
}

int ah_tsq_parse_filter(const char *term, json_t **out, struct ah_err *err)
{
	static const char *const symbols[] = { "!=", "<>", "<=", ">=", "==", "=", "<", ">" };
	static const char *const words[] = { "contains", "in" };
	const char *p, *name_end, *op = NULL;
	char name[NAME_MAX_LEN + 1];
	size_t i, oplen = 0, tlen = strnlen(term, TERM_MAX + 1);
	char *value;

	*out = NULL;
	if (tlen > TERM_MAX)
		return ah_invalid(err, "invalid filter: longer than %d bytes", TERM_MAX);
	p = skip_space(term);
	for (name_end = p; isalnum((unsigned char)*name_end) || *name_end == '_'; name_end++)
		;
	if (name_end == p || (size_t)(name_end - p) > NAME_MAX_LEN || isdigit((unsigned char)*p))
		return ah_invalid(err, "invalid filter '%.64s': expected 'column op value'", term);
	memcpy(name, p, (size_t)(name_end - p));
	name[name_end - p] = '\0';
	p = skip_space(name_end);
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]) && !op; i++)
		if (!strncmp(p, symbols[i], strlen(symbols[i])))
			op = symbols[i], oplen = strlen(op);
	for (i = 0; i < sizeof(words) / sizeof(words[0]) && !op; i++) {
		size_t n = strlen(words[i]);

		if (p > name_end && !strncasecmp(p, words[i], n) && (p[n] == ' ' || p[n] == '\t'))
			op = words[i], oplen = n;
	}
	if (!op)
		return ah_invalid(err, "invalid filter '%.64s': expected an operator (" FILTER_OPS_TEXT ") after '%s'",
				  term, name);
	p = skip_space(p + oplen);
	if (!*p)
		return ah_invalid(err, "invalid filter '%.64s': expected a value after '%s'", term, op);
	*out = json_object();
	json_object_set_new(*out, "column", json_string(name));
	json_object_set_new(*out, "op", json_string(!strcmp(op, "<>") ? "!=" : !strcmp(op, "==") ? "=" : op));
	if (!strcmp(op, "in")) {
		json_object_set_new(*out, "value", split_list(p));
	} else {
		value = unquote(p, strlen(p));
		json_object_set_new(*out, "value", json_string(value));
		free(value);
	}
	return 0;
}

int ah_tsq_parse_every(const char *s, const char **unit, long *size, struct ah_err *err)
{
	static const struct {
		const char *suffix, *unit;
	} forms[] = {
		{ "s", "second" }, { "m", "minute" }, { "h", "hour" }, { "d", "day" },
		{ "w", "week" }, { "mo", "month" },
	};
	const char *p = s;
	long n = 0;
	size_t i;

	while (isdigit((unsigned char)*p) && n <= INTERVAL_SIZE_MAX)
		n = n * 10 + (*p++ - '0');
	for (i = 0; p > s && n >= 1 && n <= INTERVAL_SIZE_MAX && i < sizeof(forms) / sizeof(forms[0]);
	     i++) {
		if (!strcmp(p, forms[i].suffix)) {
			*unit = forms[i].unit;
			*size = n;
			return 0;
		}
	}
	return ah_invalid(err, "invalid interval '%.32s': must be a whole number from 1 to %d and s, m, h, d, w or mo (5m, 1h, 1mo)",
			  s, INTERVAL_SIZE_MAX);
}

int ah_tsq_parse_agg(const char *spec, json_t **out, struct ah_err *err)
{
	const char *colon, *eq, *col_end;
	char fn[32], col[NAME_MAX_LEN + 1] = "";
	size_t len = strnlen(spec, 256);

	*out = NULL;
	if (len >= 256)
		return ah_invalid(err, "invalid aggregation: longer than 255 bytes");
	eq = strchr(spec, '=');
	colon = strchr(spec, ':');
	if (colon && eq && eq < colon)
		colon = NULL;
	col_end = eq ? eq : spec + len;
	if ((size_t)((colon ? colon : col_end) - spec) >= sizeof(fn) ||
	    (colon && (size_t)(col_end - colon - 1) > NAME_MAX_LEN))
		return ah_invalid(err, "invalid aggregation '%.64s': expected fn:column (avg:temp, p95:latency, count)",
				  spec);
	memcpy(fn, spec, (size_t)((colon ? colon : col_end) - spec));
	fn[(colon ? colon : col_end) - spec] = '\0';
	if (colon) {
		memcpy(col, colon + 1, (size_t)(col_end - colon - 1));
		col[col_end - colon - 1] = '\0';
	}
	if (!*fn || (colon && !*col) || (eq && !eq[1]))
		return ah_invalid(err, "invalid aggregation '%.64s': expected fn:column (avg:temp, p95:latency, count)",
				  spec);
	*out = json_object();
	if (fn[0] == 'p' && isdigit((unsigned char)fn[1])) {
		char *end;
		double pct;

		errno = 0;
		pct = strtod(fn + 1, &end);
		if (errno || *end || !(pct > 0 && pct < 100)) {
			json_decref(*out);
			*out = NULL;
			return ah_invalid(err, "invalid aggregation '%.64s': a percentile is p1 to p99 (p95, p99.9)",
					  spec);
		}
		json_object_set_new(*out, "fn", json_string("percentile"));
		json_object_set_new(*out, "percentile", json_real(pct / 100));
	} else {
		json_object_set_new(*out, "fn", json_string(fn));
	}
	if (*col)
		json_object_set_new(*out, "column", json_string(col));
	if (eq)
		json_object_set_new(*out, "alias", json_string(eq + 1));
	return 0;
}
