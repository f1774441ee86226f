#ifndef OPS_H
#define OPS_H

#include <jansson.h>
#include "ctx.h"
#include "err.h"
#include "params.h"
#include "state.h"

/*
 * Every thing apphub can do is an operation: a name, the HTTP method and
 * route serve gives it, the scope a token needs, and a function from a JSON
 * object of parameters to a JSON result. The CLI, serve and --server all go
 * through this table, so they cannot drift apart.
 */
enum ah_scope {
	SCOPE_NONE = 0,
	SCOPE_APPS_WRITE,
	SCOPE_JOBS_READ,
	SCOPE_JOBS_WRITE,
	SCOPE_JOBS_RUN,
	SCOPE_JOB_BUNDLES_READ,
	SCOPE_JOB_BUNDLES_WRITE,
	SCOPE_WORKFLOWS_READ,
	SCOPE_WORKFLOWS_WRITE,
	SCOPE_WORKFLOWS_RUN,
	SCOPE_METASTORE_READ,
	SCOPE_METASTORE_WRITE,
	SCOPE_METASTORE_DELETE,
	SCOPE_METASTORE_ADMIN,
	SCOPE_TIMESTORE_READ,
	SCOPE_TIMESTORE_WRITE,
	SCOPE_ADMIN,
};

typedef int (*ah_op_fn)(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err);
/* Most operations are a function of the state, which ah_op_call() opens for them. */
typedef int (*ah_state_op_fn)(struct ah_state *st, json_t *params, json_t **out,
			      struct ah_err *err);

struct ah_op {
	const char *name;
	const char *method;
	const char *path;
	enum ah_scope scope;
	ah_op_fn fn;		/* one of fn and on_state */
	const char *summary;
	ah_state_op_fn on_state;
	int created;		/* it makes a record: HTTP 201 Created (200 when its
				 * result says "created": false) */
	int accepted;		/* it queues work: HTTP 202 Accepted */
	/*
	 * The result is a file, {path, contentType, name}: serve answers its
	 * bytes, not JSON (a bundle's download).
	 */
	int file;
	/* The largest request body it takes, when more than AH_API_MAX_BODY. */
	int64_t (*max_body)(void);
	/*
	 * Its pure part, which a caller may run ahead of the call on a thread
	 * of its own (a bulk load's reader, while the writer writes the
	 * document before): what it makes of params, which the call finds in
	 * ctx->prepared; free_prepared releases it.
	 */
	void *(*prepare)(json_t *params);
	void (*free_prepared)(void *prepared);
};

/*
 * One array per module (lib/ops-<module>.c), each ended by an entry with a
 * NULL name. Which modules a binary carries is the Makefile's: it
 * generates each binary's table, ah_op_table.
 */
extern const struct ah_op ops_apps[];
extern const struct ah_op ops_builds[];
extern const struct ah_op ops_build_worker[];
extern const struct ah_op ops_dockerfile[];
extern const struct ah_op ops_events[];
extern const struct ah_op ops_gc[];
extern const struct ah_op ops_history[];
extern const struct ah_op ops_tags[];
extern const struct ah_op ops_search[];
extern const struct ah_op ops_image[];
extern const struct ah_op ops_image_build[];
extern const struct ah_op ops_job_test[];
extern const struct ah_op ops_ingest[];
extern const struct ah_op ops_jobs[];
extern const struct ah_op ops_workflows[];
extern const struct ah_op ops_metastore[];
extern const struct ah_op ops_timestore[];
extern const struct ah_op ops_timestore_remote[];
extern const struct ah_op ops_launch[];
extern const struct ah_op ops_launch_supervise[];
extern const struct ah_op ops_hooks[];
extern const struct ah_op ops_job_files[];
extern const struct ah_op ops_job_runs[];
extern const struct ah_op ops_serve[];
extern const struct ah_op ops_web[];

const struct ah_op *ah_op_find(const char *name);
/* The module arrays of this binary, NULL-terminated (openapi, routes). */
extern const struct ah_op *const ah_op_table[];

/*
 * Operation name's pure part for params (NULL: it has none, or params are
 * refused, which the call then says), and its release: any thread.
 */
void *ah_op_prepare(const char *name, json_t *params);
void ah_op_prepared_free(const char *name, void *prepared);
int ah_op_call(struct ah_ctx *ctx, const char *name, json_t *params, json_t **out,
	       struct ah_err *err);


#endif
