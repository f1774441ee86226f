#ifndef CTX_H
#define CTX_H

#include <jansson.h>
#include "err.h"
#include "state.h"

/* Who is asking and where the state is; the state opens on first use. */
struct ah_ctx {
	const char *dir;
	const char *subject;
	struct ah_state *st;
	/*
	 * Set by serve for a caller without the scope that writes secrets
	 * (a launch's env): records show their names, not their values.
	 */
	int hide_secrets;
	/*
	 * Operations that work through many items (ingest.work, builds.work)
	 * report each as they go: its result, or (result NULL) why it was
	 * refused. progress_cls is the caller's.
	 */
	void (*progress)(struct ah_ctx *ctx, json_t *result, const struct ah_err *refusal);
	void *progress_cls;
	/* What ah_op_prepare made of this call's params, when the caller ran it (or NULL). */
	void *prepared;
	/*
	 * Set by a caller of many writes (metastore bulk): the state's
	 * transactions are grouped (ah_group_start), durable at ah_ctx_commit.
	 */
	int group;
};

/* The state for ctx, opened on first use. */
int ah_ctx_state(struct ah_ctx *ctx, struct ah_state **st, struct ah_err *err);
void ah_ctx_release(struct ah_ctx *ctx);
/* Commits the writes grouped so far (ctx->group; none: 0), -1 when they are lost. */
int ah_ctx_commit(struct ah_ctx *ctx, struct ah_err *err);

#endif
