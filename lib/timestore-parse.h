#ifndef TIMESTORE_PARSE_H
#define TIMESTORE_PARSE_H

/*
 * An ingest batch read from its formats into typed columns, checked
 * against its schema (declared, or inferred where the format allows):
 * json (the original's body {schema, partition, rows, idempotencyKey}),
 * ndjson (an object a line), csv (a header line, then rows). No DuckDB
 * here: lib/timestore-ingest.c writes the batch, and the fuzzer reads
 * through these functions alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "timestore-schema.h"

#define AH_TS_MAX_CELL (1 << 20)	/* one string value */
#define AH_TS_MAX_DEPTH 32		/* nesting in an ndjson line */

struct ah_ts_col {
	const char *name;		/* in the batch's fields */
	enum ah_ts_type type;
	int has_null;
	int64_t *i;			/* timestamp (unix microseconds), integer, boolean */
	double *d;			/* double */
	const char **s;			/* string, with its length */
	uint32_t *slen;
	uint8_t *valid;			/* 0 for a null */
};

struct ah_ts_batch {
	json_t *fields;			/* [{name, type}], the columns in order */
	int declared;			/* the schema was stated (else inferred) */
	size_t ncols, nrows;
	struct ah_ts_col *cols;
	size_t time_col;
	/* the body's partition {key, attributes, timeRange} and idempotencyKey */
	const char *partition_key;
	json_t *attributes;
	const char *idempotency_key;
	/* what the strings point into */
	json_t *keep;
	char *arena;
};

/*
 * Reads a batch. format is "json" (data NULL: body is the parsed body),
 * "ndjson" or "csv" (data, len; schema: the declared fields or NULL to
 * infer). known: the dataset's current fields and known_time its time
 * column (NULL for a new dataset): an inferred column takes the type of
 * the known one of its name. 400 naming the
 * row (json) or line (ndjson, csv) and the column.
 */
int ah_ts_batch_read(struct ah_ts_batch *b, const char *format, json_t *body, const char *data,
		     size_t len, json_t *schema, json_t *known, const char *known_time,
		     struct ah_err *err);
void ah_ts_batch_release(struct ah_ts_batch *b);
/* ndjson's fast path (1), or jansson for every batch (0: the fuzzer compares them). */
extern int ah_ts_ndjson_fast;

/* FNV-1a 64 of len bytes, continuing from h (start with AH_FNV_INIT). */
#define AH_FNV_INIT 14695981039346656037ULL
uint64_t ah_fnv1a(uint64_t h, const void *data, size_t len);

#endif
