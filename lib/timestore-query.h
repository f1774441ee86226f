#ifndef TIMESTORE_QUERY_H
#define TIMESTORE_QUERY_H

/*
 * The timestore's read side: a query's parameters compiled to DuckDB SQL
 * over a dataset's Parquet files (timestore-query.c, which needs no
 * DuckDB, so the fuzzer drives it), and run (timestore-exec.c): a query's
 * rows, and read-only SQL in which each dataset is a view.
 */
#include <stdint.h>
#include <jansson.h>
#include "err.h"

/* The most rows a query or an SQL call returns; a query's default in raw mode. */
#define AH_TSQ_LIMIT_MAX 500000
#define AH_TSQ_LIMIT_RAW 1000

/*
 * What a query reads: the dataset's fields [{name, type}] (types
 * timestamp, string, double, integer, boolean), the Parquet files (an
 * array of absolute paths this program made; empty: no rows), and whether
 * some of them may lack fields added since (then every field is given a
 * NULL column where a file has none).
 */
struct ah_tsq_source {
	json_t *fields;
	json_t *paths;
	int widen;
};

/*
 * A compiled query: sql with $1..$n for binds (JSON strings), its mode,
 * and the limit (the SQL asks for one row more, to tell a cut result).
 */
struct ah_tsq {
	char *sql;
	json_t *binds;
	int downsampled;
	long limit;
};

/*
 * The time range of params {timeRange: {start, end}} (RFC 3339 with any
 * offset, or epoch milliseconds, as a JSON number or digits), as unix ms;
 * 400 naming what does not parse, or an end before the start.
 */
int ah_tsq_range(json_t *params, int64_t *from_ms, int64_t *to_ms, struct ah_err *err);

/*
 * Compiles params {timeRange, timestampColumn?, columns?, filters?:
 * [{column, op, value}], downsample?: {intervalUnit, intervalSize,
 * aggregations: [{fn, column?, alias?, percentile?}]}, limit?} against
 * src. ts_default names the timestamp column when params do not (NULL:
 * "timestamp"). 400 naming the unknown column, aggregation or bad term.
 */
int ah_tsq_compile(json_t *params, const struct ah_tsq_source *src, const char *ts_default,
		   struct ah_tsq *q, struct ah_err *err);
void ah_tsq_release(struct ah_tsq *q);

/* Appends src as a relation (a parenthesised SELECT) to sb; used for the sql views too. */
struct strbuf;
void ah_tsq_source_sql(struct strbuf *sb, const struct ah_tsq_source *src);

/*
 * The CLI's forms, each into its JSON parameter:
 * "col op value" (op =, !=, <, <=, >, >=, in, contains; a value may be
 * quoted; in takes a comma list) → {column, op, value};
 * "5m" (s, m, h, d, w, mo) → *unit "minute", *size 5;
 * "avg:temp", "p95:latency", "count", with "=alias" → {fn, column?,
 * percentile?, alias?}. 400 naming the term.
 */
int ah_tsq_parse_filter(const char *term, json_t **out, struct ah_err *err);
int ah_tsq_parse_every(const char *s, const char **unit, long *size, struct ah_err *err);
int ah_tsq_parse_agg(const char *spec, json_t **out, struct ah_err *err);

/*
 * RFC 3339 UTC with Z for microseconds since the epoch, the fraction only
 * when not whole seconds (3 digits when whole milliseconds, else 6).
 */
#define AH_TSQ_TIME_LEN 40
void ah_tsq_format_us(char buf[AH_TSQ_TIME_LEN], int64_t us);

/* timestore-exec.c: runs q over DuckDB: {rows, columns: [{name, type}], mode, truncated}. */
int ah_tsq_run(const struct ah_tsq *q, json_t **out, struct ah_err *err);

/*
 * Read-only SQL: one SELECT (or WITH) statement over views, one per
 * dataset (names[i] over sources[i], nr of them), in a database of its
 * own that can read files under root only (the timestore's directory) and
 * whose settings are locked. {rows, columns, truncated}: at most
 * AH_TSQ_LIMIT_MAX rows. Any other statement is 400.
 */
int ah_ts_sql_run(const char *const *names, const struct ah_tsq_source *sources, size_t nr,
		  const char *root, const char *sql, json_t **out, struct ah_err *err);

#endif
