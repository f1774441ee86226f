/* The operations of tag suggestion (lib/tags.c). */
#include "ops.h"
#include "tags.h"

/* tags.suggest: {prefix?, limit?} -> {data:[{type, value, label}]}. */
static int op_tags_suggest(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	const char *prefix;
	json_t *data;
	long limit;

	if (ah_param_str(params, "prefix", &prefix, err) < 0 ||
	    ah_param_int(params, "limit", 10, 1, 50, &limit, err) < 0 ||
	    ah_ctx_state(ctx, &st, err) < 0 || !(data = ah_tags_suggest(st, prefix, limit, err)))
		return -1;
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

const struct ah_op ops_tags[] = {
	{ .name = "tags.suggest", .method = "GET", .path = "/tags/suggest", .scope = SCOPE_NONE,
	  .fn = op_tags_suggest, .summary = "Suggest tag keys and key:value pairs for a prefix" },
	{ NULL },
};
