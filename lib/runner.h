#ifndef RUNNER_H
#define RUNNER_H

/*
 * The one work runner. A kind of work (ingest, build; job and workflow runs
 * next) describes itself in a struct ah_work_kind; the runner claims its
 * items from the queue (lib/work.h), keeps each lease alive while the item
 * is worked on, and has a failed attempt recorded, with backoff, for a
 * worker that ends without a result. Items are worked on either in child
 * processes (apphub ingest and apphub build: a worker that hangs past the
 * time limit is killed, one that dies is noticed at once) or in threads
 * (serve, and the operations that work one item now).
 */
#include <jansson.h>
#include "ctx.h"
#include "work.h"

#define AH_RUNNER_MAX_JOBS 64

/*
 * A kind of work. Its items are its own struct, which begins with a struct
 * ah_work_lease, and its configuration its own struct, both handled by the
 * runner as opaque bytes of the sizes given.
 */
struct ah_work_kind {
	const char *name;		/* the queue's kind */
	const char *what;		/* "<what> took longer than the limit" */
	const char *worker;		/* "<worker> was killed by signal 9" */
	const char *timeout_env;	/* the variable that sets the limit */
	size_t item_size, config_size;

	/* The configuration, from the environment. */
	int (*config_load)(void *cfg, struct ah_err *err);
	/* What of it the runner needs. */
	void (*limits)(const void *cfg, int64_t *lease_ms, int64_t *timeout_ms);
	/*
	 * Inside the runner's transaction: claims the next due item (only app
	 * only_id's when not NULL) for owner. 1 with *item, 0 when none is due.
	 */
	int (*claim)(struct ah_state *st, const void *cfg, const char *owner, const char *only_id,
		     void *item, struct ah_err *err);
	/*
	 * Makes app id's item due now and claims it for owner, with the
	 * options in params (a build's ref and engine); an error when refused.
	 */
	int (*request)(struct ah_state *st, const void *cfg, const char *owner, const char *id,
		       json_t *params, void *item, struct ah_err *err);
	/* Works on the item and records its outcome: the result. */
	int (*perform)(struct ah_state *st, const void *cfg, const void *item, json_t **result,
		       struct ah_err *err);
	/*
	 * Whether the item is still its worker's: its lease may have run out
	 * and another worker taken it, or it may have been queued again. 1,
	 * 0 or -1; and the result of an item found not to be.
	 */
	int (*still_ours)(struct ah_state *st, const void *item, struct ah_err *err);
	json_t *(*lost)(const void *item);
	/*
	 * Through ah_runner_settle(): records the attempt of a worker that
	 * ended without a result.
	 */
	int (*fail)(struct ah_state *st, const void *cfg, const void *item, const char *message,
		    json_t **result, struct ah_err *err);
	/* The result of an item perform could not record: "internal" set. */
	json_t *(*internal_error)(const void *item, const char *message);
	/* What a process sets up before working on items, and releases after, or NULL. */
	void (*init)(void);
	void (*cleanup)(void);
};

/*
 * apphub ingest, apphub build: works through the items of kind with jobs
 * child processes, calling ctx->progress with each result as it comes.
 * params: {ids?: [app id...], watch?: bool, jobs?: n, and the kind's
 * request options}. With ids, each is requested first (a refusal goes to
 * ctx->progress with its error, and the others go on), then worked on;
 * without, the queue is worked through until nothing is due, or forever
 * with watch. {data: [result...]} (empty under watch). An error only when
 * the queue itself fails.
 */
int ah_runner_work(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t *params,
		   json_t **out, struct ah_err *err);

/*
 * Records a worked item's outcome in one transaction: record(st, cls,
 * result, err) while the item is still its worker's, else the kind's lost
 * result. The kinds' perform ends with it, and the runner records a failed
 * attempt through it.
 */
int ah_runner_settle(struct ah_state *st, const struct ah_work_kind *kind, const void *item,
		     int (*record)(struct ah_state *st, void *cls, json_t **result,
				   struct ah_err *err),
		     void *cls, json_t **result, struct ah_err *err);

/*
 * <kind>.run: {id, and the kind's request options} -> the result of
 * working on app id's item now, in this thread, its lease kept alive.
 */
int ah_runner_run(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t *params,
		  json_t **out, struct ah_err *err);
/*
 * Works on claimed item (of st, the state in dir) in this thread with its
 * lease kept alive from a thread of its own; busy, when not NULL, counts
 * it meanwhile. The kind's perform's return and *result.
 */
int ah_runner_perform(const char *dir, struct ah_state *st, const struct ah_work_kind *kind,
		      const void *cfg, void *item, unsigned *busy, json_t **result,
		      struct ah_err *err);

/* <kind>.next: {} -> {data: [result]} for the next due item, {data: []} when none is. */
int ah_runner_next(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t **out,
		   struct ah_err *err);

/* serve: threads that work through the items of kinds, taken in order. */
struct ah_runner;

int ah_runner_start(struct ah_runner **out, const char *dir,
		    const struct ah_work_kind *const *kinds, unsigned threads,
		    struct ah_err *err);
/* New work was queued: the idle threads look for it now. */
void ah_runner_wake(struct ah_runner *r);
/* How many items are being worked on. */
unsigned ah_runner_busy(struct ah_runner *r);
/* Takes no more items, lets the ones in flight finish. */
void ah_runner_stop(struct ah_runner *r);

#endif
