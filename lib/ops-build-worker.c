/*
 * The operations that build (lib/build-worker.c), worked on by the runner;
 * carried by apphub-build and apphub-serve only.
 */
#include "builds.h"
#include "ops.h"
#include "runner.h"

/* builds.work: {ids?, ref?, engine?, jobs?, watch?} -> {data: [record...]}: apphub build. */
static int op_builds_work(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return ah_runner_work(ctx, &ah_build_work, params, out, err);
}

static int op_builds_next(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	(void)params;
	return ah_runner_next(ctx, &ah_build_work, out, err);
}

static int op_builds_run(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return ah_runner_run(ctx, &ah_build_work, params, out, err);
}

const struct ah_op ops_build_worker[] = {
	{ .name = "builds.next", .method = "POST", .path = "/builds/next",
	  .scope = SCOPE_APPS_WRITE, .fn = op_builds_next,
	  .summary = "Build the next app due in the queue" },
	{ .name = "builds.run", .method = "POST", .path = "/apps/:id/build",
	  .scope = SCOPE_APPS_WRITE, .fn = op_builds_run, .created = 1,
	  .summary = "Build an app now" },
	{ .name = "builds.work", .scope = SCOPE_APPS_WRITE, .fn = op_builds_work,
	  .summary = "Work through the build queue, or build the given apps, in worker processes" },
	{ NULL },
};
