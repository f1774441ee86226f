/*
 * The operations that build (lib/build-worker.c), carried by apphub-build
 * and apphub-serve only.
 */
#include "builds.h"
#include "ops.h"
#include "work.h"

/* <kind>.next: {} -> {data:[result]}, {data:[]} when none is due. */
AH_WORK_OP_NEXT(op_builds_next, build)

const struct ah_op ops_build_worker[] = {
	{ .name = "builds.next", .method = "POST", .path = "/builds/next",
	  .scope = SCOPE_APPS_WRITE, .fn = op_builds_next,
	  .summary = "Build the next app due in the queue" },
	{ .name = "builds.run", .method = "POST", .path = "/apps/:id/build",
	  .scope = SCOPE_APPS_WRITE, .on_state = ah_builds_run, .summary = "Build an app now" },
	{ NULL },
};
