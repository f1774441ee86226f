/* The operations of ingestion (lib/ingest.c), worked on by the runner. */
#include "ingest.h"
#include "ops.h"
#include "runner.h"

/* ingest.work: {ids?, repo?, jobs?, watch?} -> {data: [result...]}: apphub ingest. */
static int op_ingest_work(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	const char *repo;
	json_t *ids = NULL;
	int ret;

	if (ah_param_str(params, "repo", &repo, err) < 0)
		return -1;
	if (!repo)
		return ah_runner_work(ctx, &ah_ingest_work, params, out, err);
	if (json_object_get(params, "ids"))
		return ah_invalid(err, "give either ids or repo, not both");
	if (ah_ctx_state(ctx, &st, err) < 0 || ah_ingest_apps_for_repo(st, repo, &ids, err) < 0)
		return -1;
	if (!json_array_size(ids)) {
		json_decref(ids);
		return ah_not_found(err, "no app is registered with repository '%s'", repo);
	}
	params = json_deep_copy(params);
	json_object_set_new(params, "ids", ids);
	ret = ah_runner_work(ctx, &ah_ingest_work, params, out, err);
	json_decref(params);
	return ret;
}

static int op_ingest_next(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	(void)params;
	return ah_runner_next(ctx, &ah_ingest_work, out, err);
}

static int op_ingest_run(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return ah_runner_run(ctx, &ah_ingest_work, params, out, err);
}

const struct ah_op ops_ingest[] = {
	{ .name = "ingest.next", .method = "POST", .path = "/ingest/next",
	  .scope = SCOPE_APPS_WRITE, .fn = op_ingest_next,
	  .summary = "Ingest the next app due in the queue" },
	{ .name = "ingest.queue", .method = "GET", .path = "/ingest/queue", .scope = SCOPE_NONE,
	  .on_state = ah_ingest_queue, .summary = "The ingest queue" },
	{ .name = "ingest.run", .method = "POST", .path = "/apps/:id/ingest",
	  .scope = SCOPE_APPS_WRITE, .fn = op_ingest_run, .summary = "Ingest an app now" },
	{ .name = "ingest.work", .scope = SCOPE_APPS_WRITE, .fn = op_ingest_work,
	  .summary = "Work through the ingest queue, or the given apps, in worker processes" },
	{ NULL },
};
