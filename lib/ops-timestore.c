/*
 * The timestore's operations (lib/timestore-ops.h), carried by
 * apphub-timestore: the only program that links DuckDB.
 */
#include "ops.h"
#include "timestore-ops.h"

#define TS_OP(name, method, path, scope, fn, created, summary) \
	static int fn(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err);
TIMESTORE_OPS
#undef TS_OP

/* Being built (issue 16): each function is replaced by its module's. */
#define TS_OP(name, method, path, scope, fn, created, summary) \
	static int fn(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err) \
	{ \
		(void)ctx; (void)params; *out = NULL; \
		return ah_internal(err, "%s: not built yet", name); \
	}
TIMESTORE_OPS
#undef TS_OP

#define TS_OP(name_, method_, path_, scope_, fn_, created_, summary_) \
	{ .name = name_, .method = method_, .path = path_, .scope = scope_, .fn = fn_, \
	  .created = created_, .summary = summary_ },
const struct ah_op ops_timestore[] = {
	TIMESTORE_OPS
	{ 0 }
};
#undef TS_OP
