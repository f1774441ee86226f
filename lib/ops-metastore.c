/*
 * The operations of the metastore (lib/metastore.h, lib/metastore-index.h),
 * carried by apphub and apphub-serve. Each record write names its actor:
 * who asked (serve's token subject, "cli" here).
 */
#include "env.h"
#include "metastore.h"
#include "metastore-index.h"
#include "ops.h"

typedef int (*ms_write_fn)(struct ah_state *st, json_t *params, const char *actor,
			   json_t **out, struct ah_err *err);

static int write_op(ms_write_fn fn, struct ah_ctx *ctx, json_t *params, json_t **out,
		    struct ah_err *err)
{
	struct ah_state *st;

	*out = NULL;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	return fn(st, params, ctx->subject, out, err);
}

static int op_create(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_create, ctx, params, out, err);
}

static int op_put(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_put, ctx, params, out, err);
}

static int op_patch(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_patch, ctx, params, out, err);
}

static int op_delete(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_delete, ctx, params, out, err);
}

static int op_purge(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_purge, ctx, params, out, err);
}

static int op_restore(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return write_op(ah_ms_restore, ctx, params, out, err);
}

static int op_bulk(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;

	*out = NULL;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	return ah_ms_bulk(st, params, ctx->prepared, ctx->subject, out, err);
}

static void *bulk_prepare(json_t *params)
{
	return ah_ms_bulk_prepare(params);
}

static void bulk_prepared_free(void *prepared)
{
	ah_ms_bulk_prep_free(prepared);
}

/* A record's body: its metadata up to APPHUB_METASTORE_MAX_RECORD, and room around it. */
static int64_t record_max_body(void)
{
	struct ah_err err = AH_ERR_INIT;
	int64_t max;

	if (ah_env_size("APPHUB_METASTORE_MAX_RECORD", AH_MS_RECORD_MAX, 1024, &max, &err) < 0)
		max = AH_MS_RECORD_MAX;
	return max + 64 * 1024;
}

/* Bulk: up to 100 operations; a body larger than 32 MiB is refused before it is read. */
static int64_t bulk_max_body(void)
{
	return 32 << 20;
}

const struct ah_op ops_metastore[] = {
	{ .name = "metastore.audit", .method = "GET", .path = "/records/:namespace/:key/audit",
	  .scope = SCOPE_METASTORE_READ, .on_state = ah_ms_audit,
	  .summary = "A record's audit entries, newest first" },
	{ .name = "metastore.bulk", .method = "POST", .path = "/records/bulk",
	  .scope = SCOPE_METASTORE_WRITE, .fn = op_bulk, .max_body = bulk_max_body,
	  .prepare = bulk_prepare, .free_prepared = bulk_prepared_free,
	  .summary = "Up to 100 record writes, atomic unless continueOnError" },
	/*
	 * GET /records/:namespace/watch is this operation's JSON; with Accept:
	 * text/event-stream serve streams the same changes (lib/http.c).
	 */
	{ .name = "metastore.changes", .method = "GET", .path = "/records/:namespace/watch",
	  .scope = SCOPE_METASTORE_READ, .on_state = ah_ms_changes,
	  .summary = "A namespace's changes after a revision (Server-Sent Events on request)" },
	{ .name = "metastore.create", .method = "POST", .path = "/records",
	  .scope = SCOPE_METASTORE_WRITE, .fn = op_create, .created = 1,
	  .max_body = record_max_body,
	  .summary = "Create a record; an existing one is returned unchanged" },
	{ .name = "metastore.delete", .method = "DELETE", .path = "/records/:namespace/:key",
	  .scope = SCOPE_METASTORE_DELETE, .fn = op_delete,
	  .summary = "Soft-delete a record" },
	{ .name = "metastore.get", .method = "GET", .path = "/records/:namespace/:key",
	  .scope = SCOPE_METASTORE_READ, .on_state = ah_ms_get,
	  .summary = "A record, or one of its versions" },
	{ .name = "metastore.index", .method = "POST", .path = "/records/:namespace/indexes/:field",
	  .scope = SCOPE_METASTORE_ADMIN, .on_state = ah_ms_index_create, .created = 1,
	  .summary = "An expression index on a field of a namespace's records" },
	{ .name = "metastore.index-drop", .method = "DELETE",
	  .path = "/records/:namespace/indexes/:field", .scope = SCOPE_METASTORE_ADMIN,
	  .on_state = ah_ms_index_drop, .summary = "Drop a field's index" },
	{ .name = "metastore.indexes", .method = "GET", .path = "/records/:namespace/indexes",
	  .scope = SCOPE_METASTORE_ADMIN, .on_state = ah_ms_indexes,
	  .summary = "A namespace's indexes" },
	{ .name = "metastore.namespaces", .method = "GET", .path = "/namespaces",
	  .scope = SCOPE_METASTORE_READ, .on_state = ah_ms_namespaces,
	  .summary = "Namespaces with their record counts" },
	{ .name = "metastore.patch", .method = "PATCH", .path = "/records/:namespace/:key",
	  .scope = SCOPE_METASTORE_WRITE, .fn = op_patch, .max_body = record_max_body,
	  .summary = "Deep-merge metadata, unset paths, change tags" },
	{ .name = "metastore.purge", .method = "DELETE", .path = "/records/:namespace/:key/purge",
	  .scope = SCOPE_METASTORE_ADMIN, .fn = op_purge,
	  .summary = "Remove a record and its history for good" },
	{ .name = "metastore.put", .method = "PUT", .path = "/records/:namespace/:key",
	  .scope = SCOPE_METASTORE_WRITE, .fn = op_put, .created = 1,
	  .max_body = record_max_body,
	  .summary = "Create or replace a record; restores a deleted one" },
	{ .name = "metastore.restore", .method = "POST", .path = "/records/:namespace/:key/restore",
	  .scope = SCOPE_METASTORE_WRITE, .fn = op_restore,
	  .summary = "Restore a record as of a version or an audit entry, as a new version" },
	{ .name = "metastore.search", .method = "POST", .path = "/records/search",
	  .scope = SCOPE_METASTORE_READ, .on_state = ah_ms_search,
	  .summary = "Search a namespace's records with a filter, q, sort and projection" },
	{ NULL },
};
