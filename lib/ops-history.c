/* The operations of an app's ingestion history (lib/history.c) and its retry. */
#include "apps.h"
#include "history.h"
#include "ops.h"

/* apps.history: {id, limit?} -> {repositoryId, data:[event...]}, newest first. */
static int op_apps_history(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	const char *id;
	sqlite3_int64 n;
	long limit;
	json_t *data;

	if (ah_param_str(params, "id", &id, err) < 0 ||
	    ah_param_int(params, "limit", 25, 1, 1000, &limit, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	if (ah_ctx_state(ctx, &st, err) < 0 || ah_app_lookup(st, id, &n, err) < 0 ||
	    !(data = ah_history_list(st, n, limit, err)))
		return -1;
	*out = json_pack("{s:s, s:o}", "repositoryId", id, "data", data);
	return 0;
}

/*
 * apps.retry: {id} -> the app, queued again. An app that waits or is being
 * ingested is a conflict.
 */
static int op_apps_retry(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	const char *id;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	*out = ah_apps_retry(st, id, err);
	return *out ? 0 : -1;
}

const struct ah_op ops_history[] = {
	{ .name = "apps.history", .method = "GET", .path = "/apps/:id/history", .scope = SCOPE_NONE,
	  .fn = op_apps_history, .summary = "An app's ingestion history, newest first" },
	{ .name = "apps.retry", .method = "POST", .path = "/apps/:id/retry",
	  .scope = SCOPE_APPS_WRITE, .fn = op_apps_retry,
	  .summary = "Queue an app for ingestion again" },
	{ NULL },
};
