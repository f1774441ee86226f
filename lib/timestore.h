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
