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
 * What a worker holds of an item it claimed: the head of each kind's item
 * struct, so that the runner (lib/runner.h) keeps any kind's lease.
 */
struct ah_work_lease {
	sqlite3_int64 work_id;
	char owner[128];
	int attempt;		/* this attempt, from 1 */
	int64_t started_ms;	/* unix ms; 0 until a worker takes the item */
};

/* "host:pid": the owner of this process's claims. */
void ah_work_owner(char *buf, size_t len);

/* When the retry after attempt falls due: backoff_ms, doubled for each attempt after the first. */
int64_t ah_work_retry_at(int64_t backoff_ms, int attempt);

/*
 * A worker died on the item it claimed (l) with attempts allowed in all:
 * 1 when that was the last attempt (the item leaves the queue; *message
 * is "<why> (attempt a of n)"), 0 when the item is let go until its
 * backoff is over (retry_at its time, *message "<why> (attempt a of n;
 * retry at T)"), -1. The caller records the outcome on its record.
 */
int ah_work_died(struct ah_state *st, const struct ah_work_lease *l, int attempts,
		 int64_t backoff_ms, const char *why, char **message, char *retry_at,
		 struct ah_err *err);

/*
 * The lease mechanics the workers share. Each worker keeps its own claim
 * loop, inside its own BEGIN IMMEDIATE: between finding an item and
 * claiming it, it checks what the item is about (its app, its build) and
 * may finish it instead. Times are unix ms.
 */
struct ah_work_item {
	sqlite3_int64 id;
	char subject[72];	/* an app id (or a run id) */
	sqlite3_int64 app;	/* the subject's row number (0 for a run) */
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
/*
 * ah_work_next() for kinds whose subject is not an app (a job run's id):
 * nothing is finished on the way, item->app is 0.
 */
int ah_work_next_any(struct ah_state *st, const char *kind, const char *only_subject,
		     struct ah_work_item *item, struct ah_err *err);
/*
 * Whether found item w was abandoned on its last attempt: claimed before by
 * a worker whose lease ran out while its record was running (running) at
 * attempt, with no attempt left of attempts. Then the message saying so
 * ("the <worker> stopped during attempt a of n ..."), to record that attempt
 * as failed before the item is finished; else NULL.
 */
char *ah_work_abandoned(const struct ah_work_item *w, int running, int attempt, int attempts,
			const char *worker);
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

#endif
