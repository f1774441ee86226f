/*
 * The timestore's operations (lib/timestore-ops.h), carried by
 * apphub-timestore: the only program that links DuckDB.
 */
#include "ops.h"
#include "timestore-ingest.h"
#include "timestore-ops.h"
#include "timestore-query.h"
#include "timestore.h"

#define TS_OP(name, method, path, scope, fn, created, max_body, summary) \
	static int fn(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err);
TIMESTORE_OPS
#undef TS_OP

/* The writes (lib/timestore-ingest.c) and the records (lib/timestore.c). */
typedef int (*ts_fn)(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

static int on_state(ts_fn fn, struct ah_ctx *ctx, json_t *params, json_t **out,
		    struct ah_err *err)
{
	struct ah_state *st;

	*out = NULL;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	return fn(st, params, out, err);
}

static int op_ts_ingest(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_ingest, ctx, params, out, err);
}

static int op_ts_compact(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_compact, ctx, params, out, err);
}

static int op_ts_retention(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_retention, ctx, params, out, err);
}

static int op_ts_rm(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_remove, ctx, params, out, err);
}

static int datasets(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	(void)params;
	return ah_ts_datasets(st, out, err);
}

static int op_ts_datasets(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(datasets, ctx, params, out, err);
}

static int show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug;

	if (ah_param_need_str(params, "slug", &slug, err) < 0)
		return -1;
	return ah_ts_show(st, slug, out, err);
}

static int op_ts_show(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(show, ctx, params, out, err);
}

/* {slug, from?, to?} -> {dataset, partitions} */
static int partitions(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *from = NULL, *to = NULL;
	json_t *parts;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_str(params, "from", &from, err) < 0 || ah_param_str(params, "to", &to, err) < 0 ||
	    ah_ts_partitions(st, slug, from && *from ? from : NULL, to && *to ? to : NULL, &parts,
			     err) < 0)
		return -1;
	*out = json_pack("{s:s, s:o}", "dataset", slug, "partitions", parts);
	return 0;
}

static int op_ts_partitions(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(partitions, ctx, params, out, err);
}

/* The reads (lib/timestore-query.c). */
static int op_ts_query(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_query, ctx, params, out, err);
}

static int op_ts_sql(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return on_state(ah_ts_sql, ctx, params, out, err);
}

#define TS_OP(name_, method_, path_, scope_, fn_, created_, max_body_, summary_) \
	{ .name = name_, .method = method_, .path = path_, .scope = scope_, .fn = fn_, \
	  .created = created_, .max_body = max_body_, .summary = summary_ },
const struct ah_op ops_timestore[] = {
	TIMESTORE_OPS
	{ 0 }
};
#undef TS_OP
