/*
 * apphub gc: remove the temporary entries of processes that died.
 */
#include <stdio.h>
#include "cmd.h"

static const char *const gc_usage[] = {
	"apphub gc [-n | --dry-run]",
	NULL
};

/* Each entry removed (even with -q), then the total. */
static void text_gc(json_t *out, int quiet)
{
	int dry_run = json_is_true(json_object_get(out, "dryRun"));
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(out, "removed"), i, e)
		printf("%s %s (%" JSON_INTEGER_FORMAT " bytes)\n", dry_run ? "would remove" : "removed",
		       json_string_value(json_object_get(e, "path")),
		       json_integer_value(json_object_get(e, "bytes")));
	if (!quiet)
		printf("%s %" JSON_INTEGER_FORMAT " bytes\n", dry_run ? "would free" : "freed",
		       json_integer_value(json_object_get(out, "bytes")));
}

int cmd_gc(int argc, const char **argv, struct ctx *ctx)
{
	int dry_run = 0, code;
	struct option opts[] = {
		OPT_BOOL('n', "dry-run", &dry_run, "only list what would be removed"),
		OPT_END(),
	};

	snprintf(ctx->name, sizeof(ctx->name), "gc");
	if (parse_verb_args(ctx, argc - 1, argv + 1, opts, gc_usage, 0, 0, "", &code) < 0)
		return code;
	return run_op_show(ctx, "gc", json_pack("{s:b}", "dryRun", dry_run), text_gc);
}
