#ifndef TIMESTORE_COMPILE_H
#define TIMESTORE_COMPILE_H

/*
 * A timestore query compiled to DuckDB SQL, without DuckDB: the terms the
 * CLI takes (a filter "col op value", an interval "5m", an aggregation
 * "p95:latency") and the query's parameters against a dataset's schema,
 * to SQL over read_parquet() with every value a bound parameter.
 */
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "strbuf.h"

#define AH_TS_LIMIT_MAX 500000
#define AH_TS_LIMIT_DEFAULT 1000
#define AH_TS_FILTERS_MAX 64
#define AH_TS_AGGS_MAX 64

enum ah_ts_bind_kind { AH_TS_BIND_TIME, AH_TS_BIND_DOUBLE, AH_TS_BIND_INT, AH_TS_BIND_TEXT,
		       AH_TS_BIND_BOOL };

struct ah_ts_bind {
	enum ah_ts_bind_kind kind;
	int64_t i;		/* TIME (unix microseconds), INT, BOOL */
	double d;
	char *s;
};

struct ah_ts_compiled {
	struct strbuf sql;
	struct ah_ts_bind *binds;
	size_t nr, alloc;
	json_t *columns;	/* the result's [{name, type}] */
	int downsampled;
	long limit;
	int64_t from_us, to_us;
	/*
	 * Set by the caller after ah_ts_compiled_init(): some file predates a
	 * field (added since), so every field is given a NULL column where a
	 * file has none, instead of DuckDB's "column not found".
	 */
	int widen;
};

void ah_ts_compiled_init(struct ah_ts_compiled *q);
void ah_ts_compiled_release(struct ah_ts_compiled *q);

/*
 * params (as ah_ts_query takes them) against dataset ({fields,
 * timestampColumn}, as ah_ts_dataset gives it) over the Parquet files
 * paths (an array of strings; empty: the SQL reads nothing and is not
 * meant to run). 400 naming what is wrong.
 */
int ah_ts_compile(json_t *dataset, json_t *params, json_t *paths, struct ah_ts_compiled *q,
		  struct ah_err *err);

/*
 * read_parquet([paths...], union_by_name = true): paths the records' own,
 * quoted. With fields (a dataset's [{name, type}]), a relation that has
 * every one of them, NULL where a file lacks it (files older than the
 * field); NULL fields: the files' columns as they are.
 */
void ah_ts_read_parquet_sql(struct strbuf *sb, json_t *paths, json_t *fields);

/* "col op value" (ops = != < <= > >= or eq neq lt lte gt gte in contains) -> {column, op, value}. */
int ah_ts_filter_parse(const char *term, json_t **out, struct ah_err *err);
/* "5m" (s, m, h, d, w, mo; "1h" ...) -> {intervalUnit, intervalSize}. */
int ah_ts_every_parse(const char *every, json_t **out, struct ah_err *err);
/* "avg:temp", "count", "p95:latency", "percentile:latency" -> {fn, column?, percentile?}. */
int ah_ts_agg_parse(const char *spec, json_t **out, struct ah_err *err);

#endif
