/* The operations of the app records (lib/apps.c). */
#include "apps.h"
#include "builds.h"
#include "ops.h"

/* apps.rm: {id} -> {id, removed}; the logs of its builds go too. */
static int op_apps_rm(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	json_t *builds;
	const char *id;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	builds = json_array();
	if (ah_apps_rm(st, id, builds, err) < 0) {
		json_decref(builds);
		return -1;
	}
	/* After the commit: a crash in between leaves logs no record names. */
	ah_build_logs_remove(st, builds);
	json_decref(builds);
	*out = json_pack("{s:s, s:b}", "id", id, "removed", 1);
	return 0;
}

const struct ah_op ops_apps[] = {
	{ .name = "apps.add", .method = "POST", .path = "/apps", .scope = SCOPE_APPS_WRITE,
	  .on_state = ah_apps_add, .created = 1,
	  .summary = "Register an app (a git repository with a Dockerfile)" },
	{ .name = "apps.import", .method = "POST", .path = "/apps/import",
	  .scope = SCOPE_APPS_WRITE, .on_state = ah_apps_import,
	  .summary = "Register many apps in one transaction" },
	{ .name = "apps.rm", .method = "DELETE", .path = "/apps/:id", .scope = SCOPE_APPS_WRITE,
	  .fn = op_apps_rm, .summary = "Remove an app" },
	{ .name = "apps.show", .method = "GET", .path = "/apps/:id", .scope = SCOPE_NONE,
	  .on_state = ah_apps_show, .summary = "Show one app" },
	{ .name = "apps.tag", .method = "POST", .path = "/apps/:id/tags", .scope = SCOPE_APPS_WRITE,
	  .on_state = ah_apps_tag, .summary = "Add or remove an app's author tags" },
	{ NULL },
};
