#ifndef TIMESTORE_H
#define TIMESTORE_H

/*
 * The timestore's records in apphub.db: datasets, their schema versions,
 * manifests (versioned per dataset and UTC day) and partitions. The data
 * is in immutable Parquet files, STATE/timestore/<dataset>/<yyyy-mm-dd>/
 * <partition>.parquet; a partition leaves its manifest before its file is
 * removed, and the file stays for a grace period, so a running query never
 * meets a missing file.
 */
#include <jansson.h>
#include "err.h"
#include "state.h"

/*
 * A dataset: {slug, timestampColumn, schemaVersion, fields: [{name, type}],
 * retention: {maxAgeHours, maxTotalBytes|null}, partitions, rows, bytes,
 * start, end (RFC 3339 UTC, null when empty), createdAt, updatedAt}.
 * 404 not_found naming it when there is none; 400 for a bad slug.
 */
int ah_ts_dataset(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err);

/*
 * A dataset's live partitions that overlap [from, to) (RFC 3339; NULL:
 * unbounded), oldest first: [{id, day, path (absolute), rows, bytes,
 * start, end, schemaVersion, createdAt}]. 404 as ah_ts_dataset.
 */
int ah_ts_partitions(struct ah_state *st, const char *slug, const char *from, const char *to,
		     json_t **out, struct ah_err *err);

#endif
