#ifndef WORK_H
#define WORK_H

#include <stdint.h>
#include "state.h"

/*
 * The work queue: one outstanding item per (kind, subject). Queuing an item
 * that is already waiting makes it due now with a fresh attempt count; the
 * workers (ingest, build) claim items with a lease.
 */
int ah_work_queue(struct ah_state *st, const char *kind, const char *subject,
		  struct ah_err *err);
/*
 * ah_work_queue() for each row of rows in one statement, with the rows of
 * ah_events_rows(): cell 3 the subject, cell 1 the time.
 */
int ah_work_queue_rows(struct ah_state *st, const char *kind, struct ah_text_rows *rows,
		       struct ah_err *err);
/* Drops the items of subject (every kind when kind is NULL). */
int ah_work_drop(struct ah_state *st, const char *kind, const char *subject,
		 struct ah_err *err);

/*
 * The lease mechanics the workers share. Each worker keeps its own claim
 * loop, inside its own BEGIN IMMEDIATE: between finding an item and
 * claiming it, it checks what the item is about (its app, its build) and
 * may finish it instead. Times are unix ms.
 */
struct ah_work_item {
	sqlite3_int64 id;
	char subject[72];	/* an app id */
	sqlite3_int64 app;	/* the subject's row number */
	int attempts;		/* as counted in the queue */
	int stale;		/* claimed before, by a worker whose lease ran out */
	int64_t at;		/* when it was found due: the attempt's start */
};

/*
 * The next item of kind due now (only subject only_subject when not NULL):
 * not claimed, or its lease ran out. The items of apps that are gone are
 * finished on the way. 1 with *item, 0 when none, -1.
 */
int ah_work_next(struct ah_state *st, const char *kind, const char *only_subject,
		 struct ah_work_item *item, struct ah_err *err);
/* Claims item id for owner until lease_until, as its attempt'th attempt. */
int ah_work_claim(struct ah_state *st, sqlite3_int64 id, const char *owner, int attempt,
		  int64_t lease_until, struct ah_err *err);
/* Extends owner's lease on item id by lease_ms from now. */
int ah_work_renew(struct ah_state *st, sqlite3_int64 id, const char *owner, int64_t lease_ms,
		  struct ah_err *err);
/*
 * Whether owner still holds item id on the same attempt (the lease may have
 * run out and the item been taken, or it may have been queued again): 1, 0
 * or -1.
 */
int ah_work_is_ours(struct ah_state *st, sqlite3_int64 id, const char *owner, int attempt,
		    struct ah_err *err);
/*
 * When the next item of kind falls due (for one a worker holds, when its
 * lease runs out): 0 when there is none.
 */
int ah_work_next_due(struct ah_state *st, const char *kind, int64_t *when, struct ah_err *err);
/* Lets item id go, to be claimed again from not_before (0: now). */
int ah_work_release(struct ah_state *st, sqlite3_int64 id, int64_t not_before,
		    struct ah_err *err);
/* Item id leaves the queue. */
int ah_work_finish(struct ah_state *st, sqlite3_int64 id, struct ah_err *err);
/*
 * Item id, claimed as its attempt'th attempt, is done: it leaves the queue,
 * unless it was queued again while it ran (ah_work_queue() reset its
 * attempts); then it is let go, to be taken again.
 */
int ah_work_finish_attempt(struct ah_state *st, sqlite3_int64 id, int attempt,
			   struct ah_err *err);

/*
 * The "<kind>.next" operation of a worker library (ingest, builds) with
 * ah_<name>_config_load(), _owner(), _claim() and _perform(): claims the
 * next due item and performs it here. {} -> {data:[result]}, {data:[]}
 * when none is due. A macro so each library keeps its own types.
 */
#define AH_WORK_OP_NEXT(fn, name) \
static int fn(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err) \
{ \
	struct ah_##name##_config cfg; \
	struct ah_##name##_item item; \
	struct ah_state *st; \
	json_t *res = NULL; \
	char owner[128]; \
	int r; \
 \
	(void)params; \
	if (ah_##name##_config_load(&cfg, err) < 0 || ah_ctx_state(ctx, &st, err) < 0) \
		return -1; \
	ah_##name##_owner(owner, sizeof(owner)); \
	if ((r = ah_##name##_claim(st, &cfg, owner, NULL, &item, err)) < 0) \
		return -1; \
	if (r && ah_##name##_perform(st, &cfg, &item, &res, err) < 0) \
		return -1; \
	*out = json_pack("{s:o}", "data", res ? json_pack("[o]", res) : json_array()); \
	return 0; \
}

#endif
