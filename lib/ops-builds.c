/* The operations of the build records (lib/builds.c). */
#include "builds.h"
#include "ops.h"

const struct ah_op ops_builds[] = {
	{ .name = "builds.create", .method = "POST", .path = "/apps/:id/builds",
	  .scope = SCOPE_APPS_WRITE, .on_state = ah_builds_create, .created = 1,
	  .summary = "Queue a build of an app (at its ingested commit, or at ref)" },
	{ .name = "builds.list", .method = "GET", .path = "/apps/:id/builds", .scope = SCOPE_NONE,
	  .on_state = ah_builds_list, .summary = "An app's builds, newest first" },
	{ .name = "builds.logs", .method = "GET", .path = "/builds/:id/logs", .scope = SCOPE_NONE,
	  .on_state = ah_builds_logs, .summary = "A build's log, from offset" },
	{ .name = "builds.retry", .method = "POST", .path = "/builds/:id/retry",
	  .scope = SCOPE_APPS_WRITE, .on_state = ah_builds_retry, .created = 1,
	  .summary = "Queue a failed build again" },
	{ .name = "builds.show", .method = "GET", .path = "/builds/:id", .scope = SCOPE_NONE,
	  .on_state = ah_builds_show, .summary = "A build record" },
	{ NULL },
};
