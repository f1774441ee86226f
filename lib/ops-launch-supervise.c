/*
 * The operation of the launch supervisor (lib/launch-run.c), carried by
 * apphub-launch only: started by launch.start, it runs as long as the
 * launch. It has no route: serve never carries it.
 */
#include <limits.h>
#include "launch.h"
#include "ops.h"

/* launch.supervise: {id, notifyFd?} -> {exitStatus}, once the launch has ended. */
static int op_launch_supervise(struct ah_ctx *ctx, json_t *params, json_t **out,
			       struct ah_err *err)
{
	const char *id;
	long notify;

	if (ah_param_need_str(params, "id", &id, err) < 0 ||
	    ah_param_int(params, "notifyFd", -1, -1, INT_MAX, &notify, err) < 0)
		return -1;
	if (!ctx->dir)
		return ah_invalid(err, "launch.supervise: needs the state directory");
	*out = json_pack("{s:i}", "exitStatus", ah_launch_supervise(ctx->dir, id, (int)notify));
	return 0;
}

const struct ah_op ops_launch_supervise[] = {
	{ .name = "launch.supervise", .method = "POST", .path = "/launches/:id/supervise",
	  .scope = SCOPE_APPS_WRITE, .fn = op_launch_supervise,
	  .summary = "Supervise a launch until it ends (apphub-launch only)" },
	{ NULL },
};
