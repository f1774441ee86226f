#ifndef RUNNER_H
#define RUNNER_H

/*
 * The worker pool of apphub ingest and apphub build: each claimed item is
 * worked on in a child process of its own, which reports its JSON result
 * on a pipe. The parent keeps the leases of its children alive, kills one
 * that hangs past the time limit, and records a failed attempt for one
 * that ends without a result (killed, crashed, out of time).
 */
#include <sys/types.h>
#include <jansson.h>
#include "ctx.h"
#include "strbuf.h"

#define POOL_MAX_JOBS 64

struct pool;

/*
 * A kind of work. Its items are its own struct, which the pool copies as
 * item_size opaque bytes; cfg is the configuration the command set in
 * struct pool, handed back as it was given.
 */
struct pool_kind {
	size_t item_size;
	/* In the messages of a worker that ended without a result. */
	const char *what;		/* "<what> took longer than the limit" */
	const char *worker;		/* "<worker> was killed by signal 9" */
	const char *timeout_env;	/* the variable that sets the limit */

	/* 1 with *item claimed, 0 when nothing (or not only_id) is due. */
	int (*claim)(struct ah_state *st, const void *cfg, const char *owner, const char *only_id,
		     void *item, struct ah_err *err);
	int (*renew)(struct ah_state *st, const void *cfg, const void *item, struct ah_err *err);
	/* In the child, with a connection of its own. */
	int (*perform)(struct ah_state *st, const void *cfg, const void *item, json_t **result,
		       struct ah_err *err);
	/* Records the attempt of a worker that ended without a result. */
	int (*fail)(struct ah_state *st, const void *cfg, const void *item, const char *message,
		    json_t **result, struct ah_err *err);
	/* When the next item falls due, in unix ms; 0 when the queue is empty. */
	int (*next_due)(struct ah_state *st, int64_t *when, struct ah_err *err);
	/* The child's result when perform could not record one: "internal" set. */
	json_t *(*internal_error)(const void *item, const char *message);
	/* Where the item keeps its start in unix ms; 0 is made "at spawn". */
	int64_t *(*started_ms)(void *item);
	/*
	 * The command's: shows a worker's result (all of it at once under
	 * watch) and counts p->failed; the pool keeps it.
	 */
	void (*report)(struct pool *p, json_t *result, int watch);
	/* What the child releases before it exits, or NULL. */
	void (*child_cleanup)(void);
};

/*
 * The calls of struct pool_kind for a kind whose library has
 * ah_<name>_claim(), _renew(), _perform(), _fail() and _next_due() on a
 * struct ah_<name>_config and struct ah_<name>_item: the same calls with
 * the types left out, so that no function is called through a pointer of
 * another type. POOL_KIND_CALLS(name) defines them in the command's file;
 * POOL_KIND_INIT(name) fills them, item_size and the command's own
 * name_report() and name_internal_error() into its pool_kind.
 */
#define POOL_KIND_CALLS(name) \
static int name##_claim(struct ah_state *st, const void *cfg, const char *owner, \
			const char *only_id, void *item, struct ah_err *err) \
{ \
	return ah_##name##_claim(st, cfg, owner, only_id, item, err); \
} \
static int name##_renew(struct ah_state *st, const void *cfg, const void *item, \
			struct ah_err *err) \
{ \
	return ah_##name##_renew(st, cfg, item, err); \
} \
static int name##_perform(struct ah_state *st, const void *cfg, const void *item, \
			  json_t **result, struct ah_err *err) \
{ \
	return ah_##name##_perform(st, cfg, item, result, err); \
} \
static int name##_fail(struct ah_state *st, const void *cfg, const void *item, \
		       const char *message, json_t **result, struct ah_err *err) \
{ \
	return ah_##name##_fail(st, cfg, item, message, result, err); \
} \
static int64_t *name##_started_ms(void *item) \
{ \
	return &((struct ah_##name##_item *)item)->started_ms; \
}

#define POOL_KIND_INIT(name) \
	.item_size = sizeof(struct ah_##name##_item), \
	.claim = name##_claim, \
	.renew = name##_renew, \
	.perform = name##_perform, \
	.fail = name##_fail, \
	.next_due = ah_##name##_next_due, \
	.started_ms = name##_started_ms, \
	.internal_error = name##_internal_error, \
	.report = name##_report

struct pool_worker {
	pid_t pid;
	int fd;
	void *item;
	struct strbuf out;
	int64_t renewed;
	int timed_out;
};

struct pool {
	const struct pool_kind *kind;
	struct ah_ctx *ctx;
	void *cls;		/* the command's, for its report */
	/* Set by the command once its configuration is loaded. */
	const void *cfg;
	int64_t timeout_ms, lease_ms;
	char owner[128];
	struct pool_worker w[POOL_MAX_JOBS];
	int nr, jobs;
	json_t *results;	/* every result reported */
	int failed, code;
	int ids;		/* ids given: the kind's report decides what that means */
};

struct pool *pool_new(const struct pool_kind *kind, struct ah_ctx *ctx, void *cls, int jobs);
void pool_free(struct pool *p);

/* The state of ctx, or -1 after printing why not. */
int pool_state(struct pool *p, struct ah_state **st);

/* The kind's claim, its error printed: 1, 0 or -1. */
int pool_claim(struct pool *p, const char *only_id, void *item);

/* Starts a worker on a claimed item, a slot being free; -1 after printing why not. */
int pool_spawn(struct pool *p, const void *item);

/*
 * Waits up to ms for workers to end, reporting each; renews leases and
 * kills the overdue. -1 when a failed attempt could not be recorded.
 */
int pool_wait(struct pool *p, int64_t ms, int watch);

/* Works through the queue until no item waits (or forever): an exit status. */
int pool_run_queue(struct pool *p, int watch);

/*
 * Lets the workers still running (only after a fatal error) finish and
 * records them, then folds p->code and p->failed into code.
 */
int pool_finish(struct pool *p, int code, int watch);

#endif
