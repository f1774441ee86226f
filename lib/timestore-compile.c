/*
 * Timestore queries compiled to DuckDB SQL (lib/timestore-compile.h).
 * Column names are checked ([A-Za-z_][A-Za-z0-9_]{0,63}) and written
 * double-quoted; values are bound parameters; an interval or a percentile
 * is written from the number parsed here; paths are the records' own,
 * quoted as string literals.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "timestore-compile.h"
#include "timestore-schema.h"
#include "timeutil.h"

void ah_ts_compiled_init(struct ah_ts_compiled *q)
{
	memset(q, 0, sizeof(*q));
	strbuf_init(&q->sql, 0);
	q->columns = json_array();
}

void ah_ts_compiled_release(struct ah_ts_compiled *q)
{
	size_t i;

	for (i = 0; i < q->nr; i++)
		free(q->binds[i].s);
	free(q->binds);
	strbuf_release(&q->sql);
	json_decref(q->columns);
	memset(q, 0, sizeof(*q));
}

static struct ah_ts_bind *new_bind(struct ah_ts_compiled *q, enum ah_ts_bind_kind kind)
{
	struct ah_ts_bind *b;

	ALLOC_GROW(q->binds, q->nr + 1, q->alloc);
	b = &q->binds[q->nr++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	strbuf_addch(&q->sql, '?');
	return b;
}

/* The type of column name in fields, -1 when it has none. */
static int type_of(json_t *fields, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")), name))
			return ah_ts_type_of(json_string_value(json_object_get(f, "type")));
	return -1;
}

/* A known column of fields: its type; 400 naming it (what: where it was named) otherwise. */
static int column(json_t *fields, const char *what, const char *name, struct ah_err *err)
{
	int t;

	if (ah_ts_column_check(what, name, err) < 0)
		return -1;
	if ((t = type_of(fields, name)) < 0)
		return ah_invalid(err, "%s: unknown column '%s'", what, name);
	return t;
}

/* 9999-12-31T23:59:59.999Z: a time beyond it is refused, not wrapped. */
#define TIME_MS_MAX 253402300799999LL

/* A time: RFC 3339 text, or unix milliseconds as a number or as digits (the CLI's). */
static int time_value(json_t *v, const char *what, int64_t *us, struct ah_err *err)
{
	const char *s = json_string_value(v);
	json_int_t ms;
	char *end;

	if (json_is_integer(v)) {
		ms = json_integer_value(v);
	} else if (s && (isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))) &&
		   (errno = 0, ms = strtoll(s, &end, 10), !*end && !errno)) {
		;
	} else {
		if (!s || ah_time_parse_us(s, strlen(s), us) < 0)
			return ah_invalid(err, "%s: not a time (RFC 3339, or unix milliseconds): '%.64s'",
					  what, s ? s : "");
		return 0;
	}
	if (ms > TIME_MS_MAX || ms < -TIME_MS_MAX)
		return ah_invalid(err, "%s: unix milliseconds %lld are beyond the year 9999", what,
				  (long long)ms);
	*us = (int64_t)ms * 1000;
	return 0;
}

static int full_double(const char *s, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*d) && !isspace((unsigned char)*s) ? 0 : -1;
}

static int full_int(const char *s, int64_t *i)
{
	char *end;

	errno = 0;
	*i = strtoll(s, &end, 10);
	return *s && !*end && !errno && !isspace((unsigned char)*s) ? 0 : -1;
}

/* v bound as a value of column type t (the CLI gives every value as text). */
static int bind_value(struct ah_ts_compiled *q, int t, json_t *v, const char *what,
		      struct ah_err *err)
{
	const char *s = json_string_value(v);
	struct ah_ts_bind *b;
	int64_t i;
	double d;

	switch (t) {
	case AH_TS_TIMESTAMP:
		if (time_value(v, what, &i, err) < 0)
			return -1;
		new_bind(q, AH_TS_BIND_TIME)->i = i;
		return 0;
	case AH_TS_DOUBLE:
		if (json_is_number(v))
			d = json_number_value(v);
		else if (!s || full_double(s, &d) < 0)
			return ah_invalid(err, "%s: not a number: '%.64s'", what, s ? s : "");
		new_bind(q, AH_TS_BIND_DOUBLE)->d = d;
		return 0;
	case AH_TS_INTEGER:
		if (json_is_integer(v))
			i = json_integer_value(v);
		else if (!s || full_int(s, &i) < 0)
			return ah_invalid(err, "%s: not an integer: '%.64s'", what, s ? s : "");
		new_bind(q, AH_TS_BIND_INT)->i = i;
		return 0;
	case AH_TS_BOOLEAN:
		if (json_is_boolean(v))
			i = json_is_true(v);
		else if (s && (!strcmp(s, "true") || !strcmp(s, "false")))
			i = !strcmp(s, "true");
		else
			return ah_invalid(err, "%s: not true or false: '%.64s'", what, s ? s : "");
		new_bind(q, AH_TS_BIND_BOOL)->i = i;
		return 0;
	default:
		if (!s)
			return ah_invalid(err, "%s: not a string", what);
		b = new_bind(q, AH_TS_BIND_TEXT);
		b->s = xstrdup(s);
		return 0;
	}
}

static const struct {
	const char *name, *sym, *sql;
} ops[] = {
	{ "eq", "=", "=" }, { "neq", "!=", "<>" }, { "lt", "<", "<" }, { "lte", "<=", "<=" },
	{ "gt", ">", ">" }, { "gte", ">=", ">=" }, { "in", NULL, "IN" },
	{ "contains", NULL, "contains" },
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

static int find_op(const char *name)
{
	size_t i;

	for (i = 0; i < NR_OPS; i++)
		if (!strcmp(ops[i].name, name) || (ops[i].sym && !strcmp(ops[i].sym, name)))
			return (int)i;
	return -1;
}

#define IN_MAX 256

static int compile_filter(struct ah_ts_compiled *q, json_t *fields, json_t *f, size_t n,
			  struct ah_err *err)
{
	const char *col = json_string_value(json_object_get(f, "column"));
	const char *opname = json_string_value(json_object_get(f, "op"));
	json_t *v = json_object_get(f, "value"), *list = NULL, *x;
	char what[48];
	int t, op, ret = -1;
	size_t i;

	snprintf(what, sizeof(what), "filter %zu", n + 1);
	if (!json_is_object(f) || !col || !opname || !v)
		return ah_invalid(err, "%s: {column, op, value}", what);
	if ((t = column(fields, what, col, err)) < 0)
		return -1;
	if ((op = find_op(opname)) < 0)
		return ah_invalid(err, "%s: unknown op '%.32s' (eq neq lt lte gt gte in contains)",
				  what, opname);
	strbuf_addf(&q->sql, " AND ");
	if (!strcmp(ops[op].name, "contains")) {
		if (t != AH_TS_STRING)
			return ah_invalid(err, "%s: contains needs a string column, '%s' is %s", what,
					  col, ah_ts_type_names[t]);
		strbuf_addf(&q->sql, "contains(\"%s\", ", col);
		if (bind_value(q, t, v, what, err) < 0)
			return -1;
		strbuf_addch(&q->sql, ')');
		return 0;
	}
	if (!strcmp(ops[op].name, "in")) {
		if (json_is_string(v)) {
			/* the CLI's "a,b,c" */
			const char *p = json_string_value(v), *c;

			list = json_array();
			do {
				c = strchr(p, ',');
				json_array_append_new(list, json_stringn(p, c ? (size_t)(c - p) : strlen(p)));
				p = c + 1;
			} while (c && json_array_size(list) <= IN_MAX);
		} else {
			list = json_incref(v);
		}
		if (!json_is_array(list) || !json_array_size(list) || json_array_size(list) > IN_MAX) {
			ah_invalid(err, "%s: in takes 1 to %d values", what, IN_MAX);
			goto done;
		}
		strbuf_addf(&q->sql, "\"%s\" IN (", col);
		json_array_foreach(list, i, x) {
			if (i)
				strbuf_addstr(&q->sql, ", ");
			if (bind_value(q, t, x, what, err) < 0)
				goto done;
		}
		strbuf_addch(&q->sql, ')');
		ret = 0;
		goto done;
	}
	strbuf_addf(&q->sql, "\"%s\" %s ", col, ops[op].sql);
	ret = bind_value(q, t, v, what, err);
done:
	json_decref(list);
	return ret;
}

static const char *const units[] = { "second", "minute", "hour", "day", "week", "month" };

static int unit_of(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	/* "minutes" as "minute" */
	if (n > 1 && s[n - 1] == 's')
		n--;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (n == strlen(units[i]) && !strncmp(s, units[i], n))
			return (int)i;
	return -1;
}

static const char *const fns[] = {
	"avg", "count", "count_distinct", "max", "median", "min", "percentile", "sum",
};

/* An aggregation's SQL and result type; 400 naming it. */
static int compile_agg(struct ah_ts_compiled *q, json_t *fields, json_t *a, size_t n,
		       json_t *aliases, struct ah_err *err)
{
	const char *fn = json_string_value(json_object_get(a, "fn"));
	const char *col = json_string_value(json_object_get(a, "column"));
	const char *alias = json_string_value(json_object_get(a, "alias"));
	json_t *pv = json_object_get(a, "percentile");
	char what[48], name[160];
	const char *type = "double";
	double p = 0.95;
	int t = -1, numeric;
	size_t i;

	snprintf(what, sizeof(what), "aggregation %zu", n + 1);
	if (!json_is_object(a) || !fn)
		return ah_invalid(err, "%s: {fn, column, alias?}", what);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]) && strcmp(fns[i], fn); i++)
		;
	if (i == sizeof(fns) / sizeof(fns[0]))
		return ah_invalid(err, "%s: unknown function '%.32s' (avg min max sum median count"
				  " count_distinct percentile)", what, fn);
	if (!col && strcmp(fn, "count"))
		return ah_invalid(err, "%s: %s needs a column", what, fn);
	if (col && (t = column(fields, what, col, err)) < 0)
		return -1;
	numeric = t == AH_TS_DOUBLE || t == AH_TS_INTEGER;
	if ((!strcmp(fn, "avg") || !strcmp(fn, "sum") || !strcmp(fn, "median") ||
	     !strcmp(fn, "percentile")) && !numeric)
		return ah_invalid(err, "%s: %s needs a number column, '%s' is %s", what, fn, col,
				  ah_ts_type_names[t]);
	if (!strcmp(fn, "percentile")) {
		if (pv && (!json_is_number(pv) || json_number_value(pv) < 0 ||
			   json_number_value(pv) > 1))
			return ah_invalid(err, "%s: percentile is a number from 0 to 1", what);
		if (pv)
			p = json_number_value(pv);
	}
	if (alias) {
		if (ah_ts_column_check(what, alias, err) < 0)
			return -1;
		snprintf(name, sizeof(name), "%s", alias);
	} else if (!col) {
		snprintf(name, sizeof(name), "count");
	} else if (!strcmp(fn, "percentile") && fabs(p * 100 - rint(p * 100)) < 1e-9) {
		snprintf(name, sizeof(name), "p%d_%s", (int)rint(p * 100), col);
	} else {
		snprintf(name, sizeof(name), "%s_%s", fn, col);
	}
	if (json_object_get(aliases, name))
		return ah_invalid(err, "%s: a second column named '%s' (give it an alias)", what, name);
	json_object_set_new(aliases, name, json_true());
	strbuf_addstr(&q->sql, ", ");
	if (!strcmp(fn, "count") && !col) {
		strbuf_addstr(&q->sql, "count(*)");
		type = "integer";
	} else if (!strcmp(fn, "count")) {
		strbuf_addf(&q->sql, "count(\"%s\")", col);
		type = "integer";
	} else if (!strcmp(fn, "count_distinct")) {
		strbuf_addf(&q->sql, "count(DISTINCT \"%s\")", col);
		type = "integer";
	} else if (!strcmp(fn, "percentile")) {
		strbuf_addf(&q->sql, "quantile_cont(\"%s\", %.17g)", col, p);
	} else if (!strcmp(fn, "sum")) {
		/* an integer's sum is a 128-bit integer to DuckDB */
		strbuf_addf(&q->sql, "CAST(sum(\"%s\") AS %s)", col, t == AH_TS_INTEGER ? "BIGINT" : "DOUBLE");
		type = ah_ts_type_names[t];
	} else if (!strcmp(fn, "min") || !strcmp(fn, "max")) {
		strbuf_addf(&q->sql, "%s(\"%s\")", fn, col);
		type = ah_ts_type_names[t];
	} else {
		strbuf_addf(&q->sql, "%s(\"%s\")", fn, col);
	}
	strbuf_addf(&q->sql, " AS \"%s\"", name);
	json_array_append_new(q->columns, json_pack("{s:s, s:s}", "name", name, "type", type));
	return 0;
}

void ah_ts_read_parquet_sql(struct strbuf *sb, json_t *paths, json_t *fields)
{
	static const char *const sql_types[] = { "TIMESTAMP", "VARCHAR", "DOUBLE", "BIGINT",
						 "BOOLEAN" };
	struct strbuf cols = STRBUF_INIT;
	json_t *p;
	size_t i;

	json_array_foreach(fields, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		int t = ah_ts_type_of(json_string_value(json_object_get(p, "type")));
		struct ah_err ignored = AH_ERR_INIT;

		/* the records' names, checked again: nothing unchecked goes into SQL */
		if (!name || t < 0 || ah_ts_column_check("field", name, &ignored) < 0)
			continue;
		strbuf_addf(&cols, "%sCAST(NULL AS %s) AS \"%s\"", cols.len ? ", " : "", sql_types[t],
			    name);
	}
	if (cols.len)
		strbuf_addstr(sb, "(FROM ");
	strbuf_addstr(sb, "read_parquet([");
	json_array_foreach(paths, i, p) {
		const char *c;

		strbuf_addstr(sb, i ? ", '" : "'");
		for (c = json_string_value(p); *c; c++) {
			if (*c == '\'')
				strbuf_addch(sb, '\'');
			strbuf_addch(sb, *c);
		}
		strbuf_addch(sb, '\'');
	}
	strbuf_addstr(sb, "], union_by_name = true)");
	/* an empty relation with every field, typed: its columns join the files' by name */
	if (cols.len)
		strbuf_addf(sb, " UNION ALL BY NAME (SELECT %s LIMIT 0))", cols.buf);
	strbuf_release(&cols);
}

int ah_ts_compile(json_t *dataset, json_t *params, json_t *paths, struct ah_ts_compiled *q,
		  struct ah_err *err)
{
	json_t *fields = json_object_get(dataset, "fields"), *range = json_object_get(params, "timeRange");
	json_t *cols = json_object_get(params, "columns"), *filters = json_object_get(params, "filters");
	json_t *ds = json_object_get(params, "downsample"), *aggs, *lim = json_object_get(params, "limit");
	json_t *aliases = NULL, *c, *own = NULL;
	const char *tcol = json_string_value(json_object_get(params, "timestampColumn"));
	struct strbuf where = STRBUF_INIT;
	size_t i;
	int ret = -1, t;

	if (!tcol)
		tcol = json_string_value(json_object_get(dataset, "timestampColumn"));
	if (!tcol || (t = column(fields, "timestampColumn", tcol, err)) < 0)
		return tcol ? -1 : ah_invalid(err, "the dataset has no time column");
	if (t != AH_TS_TIMESTAMP)
		return ah_invalid(err, "timestampColumn: '%s' is %s, not a timestamp", tcol,
				  ah_ts_type_names[t]);
	if (!json_is_object(range))
		return ah_invalid(err, "timeRange: {start, end} is needed");
	if (time_value(json_object_get(range, "start"), "timeRange.start", &q->from_us, err) < 0 ||
	    time_value(json_object_get(range, "end"), "timeRange.end", &q->to_us, err) < 0)
		return -1;
	if (q->to_us <= q->from_us)
		return ah_invalid(err, "timeRange: the end is not after the start");
	q->downsampled = ds && !json_is_null(ds);
	if (lim && !json_is_null(lim)) {
		if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
		    json_integer_value(lim) > AH_TS_LIMIT_MAX)
			return ah_invalid(err, "limit: 1 to %d", AH_TS_LIMIT_MAX);
		q->limit = (long)json_integer_value(lim);
	} else {
		/* a downsample's rows are bounded by its range and interval */
		q->limit = q->downsampled ? AH_TS_LIMIT_MAX : AH_TS_LIMIT_DEFAULT;
	}

	/* the rows' conditions, shared by both modes */
	strbuf_addf(&where, " WHERE \"%s\" >= ", tcol);
	{
		struct strbuf keep = q->sql;

		q->sql = where;
		new_bind(q, AH_TS_BIND_TIME)->i = q->from_us;
		strbuf_addf(&q->sql, " AND \"%s\" < ", tcol);
		new_bind(q, AH_TS_BIND_TIME)->i = q->to_us;
		if (filters && !json_is_null(filters)) {
			if (!json_is_array(filters) || json_array_size(filters) > AH_TS_FILTERS_MAX) {
				ah_invalid(err, "filters: an array of at most %d", AH_TS_FILTERS_MAX);
				where = q->sql;
				q->sql = keep;
				goto done;
			}
			json_array_foreach(filters, i, c)
				if (compile_filter(q, fields, c, i, err) < 0) {
					where = q->sql;
					q->sql = keep;
					goto done;
				}
		}
		where = q->sql;
		q->sql = keep;
	}

	if (q->downsampled) {
		const char *unit = json_string_value(json_object_get(ds, "intervalUnit"));
		json_t *size = json_object_get(ds, "intervalSize");
		long n = 1;
		int u;

		if (!json_is_object(ds) || (u = unit_of(unit)) < 0) {
			ah_invalid(err, "downsample.intervalUnit: second, minute, hour, day, week or month");
			goto done;
		}
		if (size && !json_is_null(size)) {
			if (!json_is_integer(size) || json_integer_value(size) < 1 ||
			    json_integer_value(size) > 1000000) {
				ah_invalid(err, "downsample.intervalSize: 1 to 1000000");
				goto done;
			}
			n = (long)json_integer_value(size);
		}
		aggs = json_object_get(ds, "aggregations");
		if (!json_is_array(aggs) || !json_array_size(aggs) ||
		    json_array_size(aggs) > AH_TS_AGGS_MAX) {
			ah_invalid(err, "downsample.aggregations: 1 to %d of {fn, column, alias?}",
				   AH_TS_AGGS_MAX);
			goto done;
		}
		aliases = json_pack("{s:b}", tcol, 1);
		json_array_append_new(q->columns, json_pack("{s:s, s:s}", "name", tcol, "type",
							    "timestamp"));
		strbuf_addf(&q->sql, "SELECT time_bucket(INTERVAL '%ld %s', \"%s\") AS \"%s\"", n,
			    units[u], tcol, tcol);
		json_array_foreach(aggs, i, c)
			if (compile_agg(q, fields, c, i, aliases, err) < 0)
				goto done;
		strbuf_addstr(&q->sql, " FROM ");
		ah_ts_read_parquet_sql(&q->sql, paths, q->widen ? fields : NULL);
		strbuf_add(&q->sql, where.buf, where.len);
		strbuf_addf(&q->sql, " GROUP BY 1 ORDER BY 1 LIMIT %ld", q->limit);
		ret = 0;
		goto done;
	}

	/* raw: the time column first, then those asked for (all by default) */
	if (json_is_string(cols)) {
		const char *p = json_string_value(cols), *comma;

		own = json_array();
		do {
			comma = strchr(p, ',');
			json_array_append_new(own, json_stringn(p, comma ? (size_t)(comma - p) : strlen(p)));
			p = comma + 1;
		} while (comma && json_array_size(own) <= AH_TS_MAX_FIELDS);
		cols = own;
	}
	if (cols && !json_is_null(cols) &&
	    (!json_is_array(cols) || !json_array_size(cols) || json_array_size(cols) > AH_TS_MAX_FIELDS)) {
		ah_invalid(err, "columns: 1 to %d column names", AH_TS_MAX_FIELDS);
		goto done;
	}
	aliases = json_object();
	strbuf_addf(&q->sql, "SELECT \"%s\"", tcol);
	json_object_set_new(aliases, tcol, json_true());
	json_array_append_new(q->columns, json_pack("{s:s, s:s}", "name", tcol, "type", "timestamp"));
	json_array_foreach(cols && !json_is_null(cols) ? cols : fields, i, c) {
		const char *name = json_is_object(c) ? json_string_value(json_object_get(c, "name")) :
				   json_string_value(c);

		if (!name) {
			ah_invalid(err, "columns: names are strings");
			goto done;
		}
		if ((t = column(fields, "columns", name, err)) < 0)
			goto done;
		if (json_object_get(aliases, name))
			continue;
		json_object_set_new(aliases, name, json_true());
		strbuf_addf(&q->sql, ", \"%s\"", name);
		json_array_append_new(q->columns, json_pack("{s:s, s:s}", "name", name, "type",
							    ah_ts_type_names[t]));
	}
	strbuf_addstr(&q->sql, " FROM ");
	ah_ts_read_parquet_sql(&q->sql, paths, q->widen ? fields : NULL);
	strbuf_add(&q->sql, where.buf, where.len);
	strbuf_addf(&q->sql, " ORDER BY \"%s\" LIMIT %ld", tcol, q->limit);
	ret = 0;
done:
	/* the binds were written into where: they stay in order, where the SQL has them */
	strbuf_release(&where);
	json_decref(aliases);
	json_decref(own);
	return ret;
}

/* The text of [p, e) without the spaces around it, unquoted when it is "..." */
static char *trimmed(const char *p, const char *e)
{
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	if (e - p >= 2 && *p == '"' && e[-1] == '"') {
		p++;
		e--;
	}
	return xstrndup(p, (size_t)(e - p));
}

int ah_ts_filter_parse(const char *term, json_t **out, struct ah_err *err)
{
	static const char *const syms[] = { "!=", "<=", ">=", "=", "<", ">" };
	const char *p = term, *name_end, *op = NULL;
	char *col = NULL, *value = NULL, *word = NULL;
	size_t i, oplen = 0;
	int ret = -1;

	*out = NULL;
	if (!term || strlen(term) > 4096)
		return ah_invalid(err, "filter: a term of at most 4096 bytes");
	while (isspace((unsigned char)*p))
		p++;
	name_end = p;
	while (isalnum((unsigned char)*name_end) || *name_end == '_')
		name_end++;
	col = xstrndup(p, (size_t)(name_end - p));
	p = name_end;
	while (isspace((unsigned char)*p))
		p++;
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!strncmp(p, syms[i], strlen(syms[i]))) {
			op = syms[i];
			oplen = strlen(op);
			break;
		}
	if (!op) {
		const char *w = p;

		while (isalpha((unsigned char)*w) || *w == '_')
			w++;
		word = xstrndup(p, (size_t)(w - p));
		if (w > p && isspace((unsigned char)*w) && find_op(word) >= 0) {
			op = word;
			oplen = (size_t)(w - p);
		}
	}
	if (!*col || !op) {
		ah_invalid(err, "filter: cannot parse '%.64s': write 'column op value' (op: = != < <= > >="
			   " eq neq lt lte gt gte in contains)", term);
		goto done;
	}
	value = trimmed(p + oplen, p + strlen(p));
	if (!*value) {
		ah_invalid(err, "filter: '%.64s' has no value", term);
		goto done;
	}
	*out = json_pack("{s:s, s:s, s:s}", "column", col, "op", ops[find_op(op)].name, "value", value);
	/* json_pack refuses text that is not UTF-8 */
	ret = *out ? 0 : ah_invalid(err, "filter: not UTF-8");
done:
	free(col);
	free(value);
	free(word);
	return ret;
}

int ah_ts_every_parse(const char *every, json_t **out, struct ah_err *err)
{
	static const struct {
		const char *suffix, *unit;
	} map[] = {
		{ "mo", "month" }, { "s", "second" }, { "m", "minute" }, { "h", "hour" },
		{ "d", "day" }, { "w", "week" },
	};
	char *end;
	long n;
	size_t i;

	*out = NULL;
	errno = 0;
	n = every && isdigit((unsigned char)*every) ? strtol(every, &end, 10) : -1;
	if (n < 1 || n > 1000000 || errno)
		return ah_invalid(err, "every: '%.32s' is not an interval (5m, 1h, 1d, 1w, 1mo; s m h d w mo)",
				  every ? every : "");
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(end, map[i].suffix)) {
			*out = json_pack("{s:s, s:i}", "intervalUnit", map[i].unit, "intervalSize", (int)n);
			return 0;
		}
	return ah_invalid(err, "every: '%.32s' is not an interval (5m, 1h, 1d, 1w, 1mo; s m h d w mo)",
			  every);
}

int ah_ts_agg_parse(const char *spec, json_t **out, struct ah_err *err)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	char *fn = NULL;
	int ret = -1;

	*out = NULL;
	if (!spec || !*spec || strlen(spec) > 200)
		return ah_invalid(err, "agg: 'fn:column' (avg:temp, p95:latency, count)");
	fn = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	if (fn[0] == 'p' && isdigit((unsigned char)fn[1])) {
		char *end;
		double p = strtod(fn + 1, &end);

		if (*end || p <= 0 || p >= 100 || !colon) {
			ah_invalid(err, "agg: '%.64s': a percentile is pNN:column, NN from 1 to 99", spec);
			goto done;
		}
		*out = json_pack("{s:s, s:s, s:f}", "fn", "percentile", "column", colon + 1,
				 "percentile", p / 100);
	} else if (colon) {
		*out = json_pack("{s:s, s:s}", "fn", fn, "column", colon + 1);
	} else {
		*out = json_pack("{s:s}", "fn", fn);
	}
	/* json_pack refuses text that is not UTF-8 */
	ret = *out ? 0 : ah_invalid(err, "agg: not UTF-8");
done:
	free(fn);
	return ret;
}
