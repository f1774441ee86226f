#ifndef TIMESTORE_INGEST_H
#define TIMESTORE_INGEST_H

/*
 * The timestore's writes: ingest (a batch into one Parquet partition per
 * UTC day, written by DuckDB to a temporary name, fsynced, renamed, then
 * recorded), compaction (a day's partitions merged into one), retention,
 * removal, and the collection of files no record needs any more.
 *
 * Files leave after a grace period (APPHUB_TIMESTORE_GRACE seconds, 300):
 * a partition leaves its manifest first, so a query that read the
 * manifest before still finds its files.
 */
#include <jansson.h>
#include "err.h"
#include "state.h"


/*
 * ingest: {slug, format? (json), rows, schema?, partition?, idempotencyKey?
 * (json: the original's body); data, schema?, partitionKey?,
 * idempotencyKey? (ndjson, csv)} -> the result of ah_ts_ingest_commit.
 */
int ah_ts_ingest(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * compact: {slug, day?} -> {dataset, days: [{day, manifest, partition,
 * removed: [ids]}], collected}: each day (or the one) with more than one
 * live partition merged into one.
 */
int ah_ts_compact(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * retention: {slug, maxAgeHours?, maxTotalBytes? (null: none), apply?} ->
 * {dataset, retention, partitions: [what goes, in order], applied,
 * collected}.
 */
int ah_ts_retention(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* rm: {slug} -> {dataset, partitions, rows, bytes}: records and files. */
int ah_ts_remove(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * Removes the dataset's files no record needs: those of partitions
 * removed more than the grace period ago, and files no record names
 * (a killed ingest's) older than it. *collected: how many.
 */
int ah_ts_gc(struct ah_state *st, const char *slug, int64_t *collected, struct ah_err *err);

#endif
