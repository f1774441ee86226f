/* The context of an operation: who asks, and the state, opened on first use. */
#include "ctx.h"

int ah_ctx_state(struct ah_ctx *ctx, struct ah_state **st, struct ah_err *err)
{
	if (!ctx->st && ah_state_open(&ctx->st, ctx->dir, err) < 0)
		return -1;
	if (ctx->group && !ctx->st->group)
		ah_group_start(ctx->st);
	*st = ctx->st;
	return 0;
}

int ah_ctx_commit(struct ah_ctx *ctx, struct ah_err *err)
{
	return ctx->st ? ah_group_commit(ctx->st, err) : 0;
}

void ah_ctx_release(struct ah_ctx *ctx)
{
	ah_state_close(ctx->st);
	ctx->st = NULL;
}
