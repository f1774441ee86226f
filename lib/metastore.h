#ifndef METASTORE_H
#define METASTORE_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"

/*
 * The metastore: JSON records by namespace and key, versioned (from 1, +1
 * per change; a write that changes nothing is idempotent and keeps its
 * version), with optimistic locking (expectedVersion), soft deletes, hard
 * purges, restores of any earlier version, and an audit row per change
 * whose id is the store's revision: watch reads the changes after one.
 *
 * Every function takes its parameters as the operations do (a JSON
 * object), runs in its own write transaction unless it says otherwise, and
 * answers JSON: a write {record, created?, idempotent}, a record
 * {namespace, key, metadata, tags, owner, schemaHash, version, createdAt,
 * updatedAt, deletedAt, createdBy, updatedBy}. actor is who asks (NULL for
 * the local CLI). Errors: 400 invalid (naming the field), 404 not_found,
 * 409 version_conflict / conflict, 413 too_large.
 */
#define AH_MS_NAMESPACE_MAX 128
#define AH_MS_KEY_MAX 256
#define AH_MS_TAGS_MAX 128
#define AH_MS_TAG_MAX 64
#define AH_MS_RECORD_MAX (1 << 20)	/* APPHUB_METASTORE_MAX_RECORD lowers or raises it */
#define AH_MS_DEPTH_MAX 32

struct ah_ms_prep;

/* create: {namespace, key, metadata?, tags?, owner?, schemaHash?, idempotencyKey?} */
int ah_ms_create(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		 struct ah_err *err);
/* put (upsert; restores a deleted record): create's params plus expectedVersion? */
int ah_ms_put(struct ah_state *st, json_t *params, const char *actor, json_t **out,
	      struct ah_err *err);
/*
 * patch: {namespace, key, metadata? (deep-merged), metadataUnset? [path...],
 * tags? {set?, add?, remove?}, owner?, schemaHash?, expectedVersion?}
 */
int ah_ms_patch(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		struct ah_err *err);
/* delete (soft): {namespace, key, expectedVersion?} */
int ah_ms_delete(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		 struct ah_err *err);
/* purge (hard; its history goes too, a "purged" change stays): {namespace, key} */
int ah_ms_purge(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		struct ah_err *err);
/* restore: {namespace, key, version? | auditId?, expectedVersion?}: that state, as a new version */
int ah_ms_restore(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		  struct ah_err *err);
/* get: {namespace, key, version?, includeDeleted?} -> the record (a deleted one: 404 unless asked) */
int ah_ms_get(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* audit: {namespace, key, limit?, offset?} -> {entries: [{id, action, version, previousVersion, record, actor, createdAt}], pagination} */
int ah_ms_audit(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* namespaces: {} -> {namespaces: [{namespace, records, deleted, updatedAt}]} */
int ah_ms_namespaces(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * The query planner's statistics of the records (ANALYZE), when force,
 * when there are none, or when the records have doubled or halved since:
 * without them a filter on an unindexed field walks a namespace's index,
 * reading each row out of order, where a scan reads them in order (170 ms
 * against 50 over 100,000 records).
 */
int ah_ms_analyze(struct ah_state *st, int force, struct ah_err *err);

/*
 * bulk: {operations: [{type: create|put|patch|delete, namespace, key, ...}] (1..100),
 * continueOnError?, brief?}: atomic (all or nothing: the first error is the error)
 * unless continueOnError, then each on its own -> {operations: [{status: "ok", type,
 * record} | {status: "error", type, error {statusCode, code, message}}]}; brief, a
 * new record is only its namespace, key and version (a load's replies, whole, were a
 * fifth of its writes). prep: what ah_ms_bulk_prepare made of params, or NULL.
 */
int ah_ms_bulk(struct ah_state *st, json_t *params, struct ah_ms_prep *prep, const char *actor,
	       json_t **out, struct ah_err *err);
/*
 * bulk's pure part, which a load runs on the thread that parses its
 * documents while the writer writes the one before: its records checked
 * and written out as JSON text (a quarter of the writer's time). NULL when
 * params are refused, which ah_ms_bulk then says. Any thread; freed by
 * ah_ms_bulk_prep_free, after the bulk (best on the thread that made it).
 */
struct ah_ms_prep *ah_ms_bulk_prepare(json_t *params);
void ah_ms_bulk_prep_free(struct ah_ms_prep *prep);
/*
 * changes: {namespace, key?, prefix?, since? (a revision; 0), limit? (1000)} ->
 * {changes: [{revision, type: created|updated|deleted|restored|purged, namespace,
 * key, version, record}], revision: the store's latest}
 */
int ah_ms_changes(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

/* Checks a namespace, a key: 400 naming what is wrong. */
int ah_ms_namespace_check(const char *ns, struct ah_err *err);
int ah_ms_key_check(const char *key, struct ah_err *err);
/* A row of metastore_records (columns as RECORD_COLUMNS in metastore.c) as its JSON. */
json_t *ah_ms_record_row(sqlite3_stmt *stmt, int first);
#define AH_MS_RECORD_COLUMNS \
	"r.namespace, r.key, r.metadata, r.tags, r.owner, r.schema_hash, r.version," \
	" r.created_at, r.updated_at, r.deleted_at, r.created_by, r.updated_by"

#endif
