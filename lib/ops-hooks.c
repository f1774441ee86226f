/* The operation of git hooks (lib/hooks.c). */
#include "hooks.h"
#include "ops.h"

const struct ah_op ops_hooks[] = {
	{ .name = "hooks.git", .method = "POST", .path = "/hooks/git", .scope = SCOPE_APPS_WRITE,
	  .on_state = ah_hooks_git,
	  .summary = "Announce a push: queue the repository's apps for ingestion" },
	{ NULL },
};
