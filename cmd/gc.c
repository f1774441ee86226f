/*
 * apphub gc: remove the temporary entries of processes that died.
 */
#include <stdio.h>
#include "cmd.h"

static const char *const gc_usage[] = {
	"apphub gc [-n | --dry-run]",
	NULL
};

int cmd_gc(int argc, const char **argv, struct ctx *ctx)
{
	int dry_run = 0, code;
	struct option opts[] = {
		OPT_BOOL('n', "dry-run", &dry_run, "only list what would be removed"),
		OPT_END(),
	};
	json_t *params, *out = NULL, *e;
	size_t i;

	snprintf(ctx->name, sizeof(ctx->name), "gc");
	if (parse_verb_args(ctx, argc - 1, argv + 1, opts, gc_usage, 0, 0, "", &code) < 0)
		return code;
	params = json_pack("{s:b}", "dryRun", dry_run);
	code = run_op(ctx, "gc", params, &out);
	json_decref(params);
	if (code)
		return code;
	if (ctx->json) {
		print_json(out);
	} else {
		json_array_foreach(json_object_get(out, "removed"), i, e)
			printf("%s %s (%" JSON_INTEGER_FORMAT " bytes)\n",
			       dry_run ? "would remove" : "removed",
			       json_string_value(json_object_get(e, "path")),
			       json_integer_value(json_object_get(e, "bytes")));
		if (!ctx->quiet)
			printf("%s %" JSON_INTEGER_FORMAT " bytes\n", dry_run ? "would free" : "freed",
			       json_integer_value(json_object_get(out, "bytes")));
	}
	json_decref(out);
	return 0;
}
