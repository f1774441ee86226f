#ifndef TIMESTORE_SCHEMA_H
#define TIMESTORE_SCHEMA_H

/*
 * The timestore's names (dataset slugs, column names), its types and its
 * schemas ([{name, type}] as JSON), and the rule of schema evolution.
 */
#include <stdint.h>
#include <jansson.h>
#include "err.h"

/* A dataset slug, the job rule: [a-z0-9][a-z0-9-]{0,63}; 400 otherwise. */
int ah_ts_slug_check(const char *slug, struct ah_err *err);
/* A column name: [A-Za-z_][A-Za-z0-9_]{0,63}; 400 naming what otherwise. */
int ah_ts_column_check(const char *what, const char *name, struct ah_err *err);

enum ah_ts_type { AH_TS_TIMESTAMP, AH_TS_STRING, AH_TS_DOUBLE, AH_TS_INTEGER, AH_TS_BOOLEAN };
#define AH_TS_NTYPES 5
#define AH_TS_MAX_FIELDS 1024
extern const char *const ah_ts_type_names[AH_TS_NTYPES];
/* A type's name as its enum value, -1 for none. */
int ah_ts_type_of(const char *name);
/*
 * A schema's fields, [{name, type}] as JSON: checked (names, types, no
 * name twice, at most AH_TS_MAX_FIELDS, a timestamp field among them)
 * and normalised into *out ([{name, type}] with nothing else). what
 * names the schema in messages.
 */
int ah_ts_fields_check(json_t *fields, const char *what, json_t **out, struct ah_err *err);
/* The time column of fields: "timestamp" when it is one, else the first timestamp field. */
const char *ah_ts_time_field(json_t *fields);

/*
 * Schema evolution: a batch's fields against the dataset's current ones
 * (NULL: no dataset yet). Identical or additive is accepted: *merged is
 * the current fields then the new ones, *added the new ones (both owned
 * by the caller). A retyped column, or (with declared: the batch states
 * its whole schema) a removed one, is 400 naming it.
 */
int ah_ts_schema_merge(json_t *current, json_t *fields, int declared, json_t **merged,
		       json_t **added, struct ah_err *err);

/*
 * The largest ingest body (APPHUB_TIMESTORE_MAX_INGEST, 256 MiB): the
 * ingest operation's max_body, here so that serve's table needs no DuckDB.
 */
#define AH_TS_MAX_INGEST (256 << 20)
int64_t ah_ts_max_ingest(void);
/* The largest ingest request body, the text sent in JSON (serve's limit). */
int64_t ah_ts_max_ingest_body(void);

#endif
