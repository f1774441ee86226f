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
#include "timestore-schema.h"

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

/* {datasets: [dataset...]} by slug. */
int ah_ts_datasets(struct ah_state *st, json_t **out, struct ah_err *err);
/*
 * A dataset with its history: ah_ts_dataset's object and schemaVersions
 * [{version, fields, added, createdAt}], manifests (each day's current
 * [{id, shard, version, partitionCount, rows, bytes, createdAt}]) and
 * partitions (as ah_ts_partitions).
 */
int ah_ts_show(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err);

/* A new partition, its file written and renamed (path relative to the state). */
struct ah_ts_new_part {
	char id[24];
	char day[11];
	char *path;
	int64_t rows, bytes, start_us, end_us;
};

/* An ingest's records, committed in one transaction once its files are in place. */
struct ah_ts_commit {
	const char *slug;
	json_t *fields;			/* the batch's, as ah_ts_schema_merge takes them */
	int declared;
	const char *partition_key;	/* NULL: none */
	json_t *attributes;		/* NULL: none */
	const char *idem_key, *idem_hash;	/* NULL: no idempotency */
	struct ah_ts_new_part *parts;
	size_t nr;
};

/*
 * A seen idempotency key: 1 with *out (the first answer, idempotent
 * true), 0 unseen, -1 (409 when it came with another payload).
 */
int ah_ts_idem_lookup(struct ah_state *st, const char *slug, const char *key, const char *hash,
		      json_t **out, struct ah_err *err);
/*
 * Records an ingest: the dataset (made, or its schema evolved), per day a
 * new manifest version with the partitions, the idempotency key, events.
 * Each part's file must be there. 0 with *out the ingest result {dataset,
 * manifest, manifests [{id, shard, version, partitionCount}], partitions,
 * rows, idempotent false}; 1 when the key was recorded meanwhile (*out its
 * first answer; nothing recorded, the caller removes its files); -1.
 */
int ah_ts_ingest_commit(struct ah_state *st, const struct ah_ts_commit *c, json_t **out,
			struct ah_err *err);

/*
 * Sets retention (has_age: max_age_hours >= 1; has_bytes: max_bytes, -1
 * for none): *out the dataset.
 */
int ah_ts_retention_set(struct ah_state *st, const char *slug, int has_age, int64_t max_age_hours,
			int has_bytes, int64_t max_bytes, json_t **out, struct ah_err *err);
/*
 * What retention removes at now_ms, in order: the expired (ended before
 * now - maxAgeHours) oldest first, then the oldest until the dataset fits
 * maxTotalBytes: [{id, day, rows, bytes, start, end, reason: expired|size}].
 */
int ah_ts_retention_plan(struct ah_state *st, const char *slug, int64_t now_ms, json_t **out,
			 struct ah_err *err);
/*
 * Partitions (ids, an array of strings) leave their manifests: per day a
 * new manifest version, events; those no longer live are skipped. *out
 * the ids removed.
 */
int ah_ts_partitions_drop(struct ah_state *st, const char *slug, json_t *ids, json_t **out,
			  struct ah_err *err);
/* A day's live partitions, oldest first, as ah_ts_partitions (paths relative). */
int ah_ts_day_partitions(struct ah_state *st, const char *slug, const char *day, json_t **out,
			 struct ah_err *err);
/* The days with more than one live partition, oldest first: ["yyyy-mm-dd"...]. */
int ah_ts_compactable_days(struct ah_state *st, const char *slug, json_t **out,
			   struct ah_err *err);
/*
 * Compaction's commit: the day's partitions old (ids) leave and part
 * joins, in one new manifest version (409 when one of old is no longer
 * live: another compaction won). *out the manifest.
 */
int ah_ts_compact_commit(struct ah_state *st, const char *slug, const char *day, json_t *old,
			 const struct ah_ts_new_part *part, json_t **out, struct ah_err *err);
/*
 * Every partition file the records name for a dataset: {path (relative):
 * removedMs or null (live)}.
 */
int ah_ts_known_paths(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err);
/* Forgets a removed partition whose file is gone (by its relative path). */
int ah_ts_forget_path(struct ah_state *st, const char *slug, const char *path,
		      struct ah_err *err);
/*
 * Deletes a dataset's records (in the caller's write transaction), with
 * an event per live partition: *out {dataset, partitions, rows, bytes}.
 */
int ah_ts_dataset_delete(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err);
/* The slugs of every dataset. */
int ah_ts_slugs(struct ah_state *st, json_t **out, struct ah_err *err);

#endif
