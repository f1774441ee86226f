/* The operation of app search (lib/search.c). */
#include "ops.h"
#include "search.h"

const struct ah_op ops_search[] = {
	{ .name = "apps.search", .method = "GET", .path = "/apps", .scope = SCOPE_NONE,
	  .on_state = ah_apps_search, .summary = "Search apps by tags and words" },
	{ NULL },
};
