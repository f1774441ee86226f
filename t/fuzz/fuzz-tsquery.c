/*
 * libFuzzer target for lib/timestore-compile.c, the query side's parsers
 * and compiler, without DuckDB. The input is a filter term, a NUL, an
 * interval ("5m"), a NUL, an aggregation spec ("p95:temp"), a NUL and a
 * query's parameters (JSON); a missing part is left out. Whatever the
 * bytes, each parser ends with a result of the documented shape or a 400
 * with a message. The parameters, and a query made of the three terms
 * as the CLI makes it, compile against a dataset of every type over two
 * files (one path with a quote in it, one query widened), and the SQL that
 * comes out holds no input: its string literals are the paths or an
 * interval written from a parsed number, its identifiers are checked
 * names, its values are '?' (as many as the binds), and there is no ';'.
 * Seeds: t/fuzz/seeds-tsquery. Build and run: make fuzz FUZZTIME=60
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "../../lib/timestore-compile.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static json_t *dataset, *paths;

static const char *const path_list[] = {
	"/state/timestore/ds/2024-01-01/p-0123456789ab.parquet",
	"/state/timestore/ds/2024-01-02/it's.parquet",
};

static void init(void)
{
	size_t i;

	if (dataset)
		return;
	dataset = json_loads("{\"slug\":\"ds\",\"timestampColumn\":\"timestamp\",\"schemaVersion\":2,"
			     "\"fields\":[{\"name\":\"timestamp\",\"type\":\"timestamp\"},"
			     "{\"name\":\"temp\",\"type\":\"double\"},{\"name\":\"n\",\"type\":\"integer\"},"
			     "{\"name\":\"site\",\"type\":\"string\"},{\"name\":\"ok\",\"type\":\"boolean\"},"
			     "{\"name\":\"t2\",\"type\":\"timestamp\"}]}", 0, NULL);
	paths = json_array();
	for (i = 0; i < sizeof(path_list) / sizeof(path_list[0]); i++)
		json_array_append_new(paths, json_string(path_list[i]));
	if (!dataset)
		abort();
}

static int ident_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static int literal_ok(const char *s, size_t n)
{
	static const char *const units[] = { "second", "minute", "hour", "day", "week", "month" };
	char buf[256];
	size_t i, j, k;

	/* the literal's text, its doubled quotes undone */
	for (i = j = 0; i < n && j + 1 < sizeof(buf); i++, j++) {
		buf[j] = s[i];
		if (s[i] == '\'')
			i++;
	}
	if (i < n)
		return 0;
	buf[j] = '\0';
	for (k = 0; k < sizeof(path_list) / sizeof(path_list[0]); k++)
		if (!strcmp(buf, path_list[k]))
			return 1;
	for (i = 0; isdigit((unsigned char)buf[i]); i++)
		;
	if (!i || i > 7 || buf[i] != ' ')
		return 0;
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (!strcmp(buf + i + 1, units[k]))
			return 1;
	return 0;
}

/* Walks the SQL: literals, identifiers, binds and what is between them. */
static void check_sql(const struct ah_ts_compiled *q)
{
	const char *p = q->sql.buf, *e;
	size_t binds = 0;

	while (*p) {
		if (*p == '\'') {
			for (e = p + 1; *e && !(*e == '\'' && e[1] != '\''); e += *e == '\'' ? 2 : 1)
				;
			if (!*e || !literal_ok(p + 1, (size_t)(e - p - 1)))
				abort();
			p = e + 1;
		} else if (*p == '"') {
			if (!(e = strchr(p + 1, '"')) || !ident_ok(p + 1, (size_t)(e - p - 1)))
				abort();
			p = e + 1;
		} else {
			if (*p == '?')
				binds++;
			if (*p == ';' || *p == '$' || (*p == '-' && p[1] == '-') ||
			    (*p == '/' && p[1] == '*') || (unsigned char)*p >= 0x80)
				abort();
			p++;
		}
	}
	if (binds != q->nr || q->limit < 1 || q->limit > AH_TS_LIMIT_MAX)
		abort();
}

static void compile(json_t *params, int widen)
{
	struct ah_ts_compiled q;
	struct ah_err err = AH_ERR_INIT;
	size_t i;

	ah_ts_compiled_init(&q);
	q.widen = widen;
	if (ah_ts_compile(dataset, params, paths, &q, &err) < 0) {
		if (err.status != 400 || !err.msg[0])
			abort();
	} else {
		check_sql(&q);
		if (!json_is_array(q.columns) || !json_array_size(q.columns))
			abort();
		for (i = 0; i < q.nr; i++)
			if (q.binds[i].kind == AH_TS_BIND_TEXT && !q.binds[i].s)
				abort();
	}
	ah_ts_compiled_release(&q);
}

/* The parser's answer: an object of the keys given, or a 400 with a message. */
static json_t *parsed(int ret, json_t *out, const struct ah_err *err, const char *const *keys)
{
	size_t i;

	if (ret < 0) {
		if (out || err->status != 400 || !err->msg[0])
			abort();
		return NULL;
	}
	if (!json_is_object(out))
		abort();
	for (i = 0; keys[i]; i++)
		if (!json_object_get(out, keys[i]))
			abort();
	return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const filter_keys[] = { "column", "op", "value", NULL };
	static const char *const every_keys[] = { "intervalUnit", "intervalSize", NULL };
	static const char *const agg_keys[] = { "fn", NULL };
	char *buf = malloc(size + 1), *part[4] = { NULL, NULL, NULL, NULL }, *p;
	struct ah_err err = AH_ERR_INIT;
	json_t *filter, *every, *agg, *params, *out;
	size_t i;

	init();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0, p = buf; i < 4 && p <= buf + size; i++) {
		part[i] = p;
		p += strlen(p) + 1;
	}

	out = NULL;
	filter = part[0] ? parsed(ah_ts_filter_parse(part[0], &out, &err), out, &err, filter_keys) : NULL;
	err = (struct ah_err)AH_ERR_INIT;
	out = NULL;
	every = part[1] ? parsed(ah_ts_every_parse(part[1], &out, &err), out, &err, every_keys) : NULL;
	err = (struct ah_err)AH_ERR_INIT;
	out = NULL;
	agg = part[2] ? parsed(ah_ts_agg_parse(part[2], &out, &err), out, &err, agg_keys) : NULL;

	/* the three terms as the CLI sends them */
	params = json_pack("{s:{s:s, s:s}}", "timeRange", "start", "2024-01-01T00:00:00Z", "end",
			   "2024-01-02T00:00:00Z");
	if (filter)
		json_object_set_new(params, "filters", json_pack("[O]", filter));
	if (every) {
		json_t *ds = json_deep_copy(every);

		json_object_set_new(ds, "aggregations", agg ? json_pack("[O]", agg) : json_array());
		json_object_set_new(params, "downsample", ds);
	}
	compile(params, 0);
	json_decref(params);

	/* the parameters as a client sends them */
	if (part[3] && (params = json_loads(part[3], JSON_DECODE_ANY, NULL))) {
		compile(params, 0);
		compile(params, 1);
		json_decref(params);
	}
	json_decref(filter);
	json_decref(every);
	json_decref(agg);
	free(buf);
	return 0;
}
