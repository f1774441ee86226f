/* The operations of launches (lib/launch.c). */
#include "launch.h"
#include "ops.h"

/*
 * A launch record as it leaves an operation: a launch's env holds secrets
 * (passwords, keys), so a caller who could not have written them sees
 * each name with "***" for its value. The CLI without --server reads the
 * state directly (0700) and sees them.
 */
static void redact(json_t *rec)
{
	json_t *env = json_object_get(rec, "env"), *v;
	const char *key;

	if (json_is_object(env))
		json_object_foreach(env, key, v)
			json_object_set_new(env, key, json_string("***"));
}


/* Calls fn, then redacts the launches of its result (one, or {data:[...]}) for ctx. */
static int launch_op(struct ah_ctx *ctx, ah_state_op_fn fn, json_t *params, json_t **out,
		     struct ah_err *err)
{
	struct ah_state *st;
	json_t *data, *rec;
	size_t i;

	if (ah_ctx_state(ctx, &st, err) < 0 || fn(st, params, out, err) < 0)
		return -1;
	if (!ctx->hide_secrets)
		return 0;
	if (json_is_array(data = json_object_get(*out, "data")))
		json_array_foreach(data, i, rec)
			redact(rec);
	else
		redact(*out);
	return 0;
}

static int op_launch_logs(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return launch_op(ctx, ah_launch_logs, params, out, err);
}

static int op_launch_ls(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return launch_op(ctx, ah_launch_ls, params, out, err);
}

static int op_launch_show(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return launch_op(ctx, ah_launch_show, params, out, err);
}

static int op_launch_start(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return launch_op(ctx, ah_launch_start, params, out, err);
}

static int op_launch_stop(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return launch_op(ctx, ah_launch_stop, params, out, err);
}

const struct ah_op ops_launch[] = {
	{ .name = "launch.logs", .method = "GET", .path = "/launches/:id/logs", .scope = SCOPE_NONE,
	  .fn = op_launch_logs, .summary = "A launch's log (supervisor and app output)" },
	{ .name = "launch.ls", .method = "GET", .path = "/apps/:id/launches", .scope = SCOPE_NONE,
	  .fn = op_launch_ls, .summary = "An app's launches, newest first" },
	{ .name = "launch.list", .method = "GET", .path = "/launches", .scope = SCOPE_NONE,
	  .fn = op_launch_ls, .summary = "Every launch, newest first" },
	{ .name = "launch.show", .method = "GET", .path = "/launches/:id", .scope = SCOPE_NONE,
	  .fn = op_launch_show, .summary = "A launch's record and the tail of its log" },
	{ .name = "launch.start", .method = "POST", .path = "/apps/:id/launches",
	  .scope = SCOPE_APPS_WRITE, .fn = op_launch_start, .created = 1,
	  .summary = "Launch an app's latest succeeded build (or a given build) in a sandbox" },
	{ .name = "launch.stop", .method = "POST", .path = "/launches/:id/stop",
	  .scope = SCOPE_APPS_WRITE, .fn = op_launch_stop,
	  .summary = "Stop a launch: TERM, 5 s, KILL" },
	{ NULL },
};
