/* The operation of apphub gc (lib/tmpdir.c). */
#include "ops.h"
#include "tmpdir.h"

/* gc: {dryRun?} -> {removed:[path...], bytes, dryRun}. */
static int op_gc(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	json_t *removed;
	int64_t bytes = 0;
	int dry_run = 0;

	if (ah_param_bool(params, "dryRun", &dry_run, err) < 0 || ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	removed = json_array();
	if (ah_tmp_reclaim(st->dir, dry_run, removed, &bytes, err) < 0) {
		json_decref(removed);
		return -1;
	}
	*out = json_pack("{s:o, s:I, s:b}", "removed", removed, "bytes", (json_int_t)bytes,
			 "dryRun", dry_run);
	return 0;
}

const struct ah_op ops_gc[] = {
	{ .name = "gc", .method = "POST", .path = "/gc", .scope = SCOPE_APPS_WRITE, .fn = op_gc,
	  .summary = "Remove the temporary files of processes that died (crashed builds and imports)" },
	{ NULL },
};
