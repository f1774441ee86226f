#ifndef JOB_RUNS_H
#define JOB_RUNS_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"
#include "work.h"

/*
 * Job runs: a published job (lib/jobs.h) run with parameters. A run goes
 * pending -> running -> succeeded|failed|timeout, or canceled at any point
 * before it ends; its log is STATE/jobs/<run>/log, the files its handler
 * leaves are in STATE/jobs/<run>/work, and what it produced is recorded as
 * outputs {type: stdout|stderr|file|metric|result|error, name, data|path,
 * size}.
 *
 * Runs wait in the work queue as "job" items whose subject is the run id,
 * claimed with a lease. A handler that fails is final; a worker that dies
 * costs an attempt and the run waits again, up to APPHUB_JOB_ATTEMPTS.
 * The records are SQL and file reads; running is lib/job-worker.c's.
 */
#define AH_JOB_PREVIEW_MAX 4000
#define AH_JOB_ERROR_MAX 2000
#define AH_JOB_TIMEOUT_DEFAULT (15 * 60 * 1000LL)

struct ah_job_config {
	int attempts;		/* APPHUB_JOB_ATTEMPTS (3): worker deaths tolerated */
	int64_t backoff_ms;	/* APPHUB_JOB_BACKOFF_MS (5000), doubled each retry */
	int64_t lease_ms;	/* APPHUB_JOB_LEASE_MS (30 s), renewed while running */
	int64_t max_log;	/* APPHUB_JOB_MAX_LOG_BYTES (16 MiB), the tail kept */
	/* APPHUB_JOB_TIMEOUT_MS (24 hours): the longest a run may ask for */
	int64_t max_timeout_ms;
};

/* A claimed run. */
struct ah_job_item {
	struct ah_work_lease lease;
	sqlite3_int64 run;
	char id[72];		/* the run id (the work item's subject) */
	char slug[72];
	char version[72];
	int attempts;		/* the attempts it may have: 1 for a workflow's, else the config's */
};

/* The work kind of job runs (lib/job-worker.c), for the runner (lib/runner.h). */
extern const struct ah_work_kind ah_job_work;

int ah_job_config_load(struct ah_job_config *cfg, struct ah_err *err);

/* STATE/jobs/<run>: its work directory and log are inside. */
char *ah_job_run_dir(const char *state_dir, const char *id);

/* The record of run id (or of row n when id is NULL), outputs included with outputs. */
json_t *ah_job_run_json(struct ah_state *st, const char *id, sqlite3_int64 n, int outputs,
			struct ah_err *err);

/*
 * Queues a run of job ref ("slug" or "slug@version"; the default version
 * when none) with params {parameters?, param?: ["k=v"...], trigger?,
 * timeoutMs?}: the parameters (param read as the schema's types say)
 * checked against the manifest's parametersSchema (422), a pending record,
 * its job.run.queued event and the work item. With item, the run is
 * claimed for owner in the same transaction. *record is the new record.
 */
int ah_job_run_request(struct ah_state *st, const char *ref, json_t *params,
		       const struct ah_job_config *cfg, const char *owner,
		       struct ah_job_item *item, json_t **record, struct ah_err *err);

/*
 * ah_job_run_request() inside the caller's write transaction, without the
 * record: *n is the new run's row. A run a workflow's step makes (trigger
 * type "workflow") has one attempt, whatever APPHUB_JOB_ATTEMPTS says: the
 * step retries by its own policy.
 */
int ah_job_run_insert(struct ah_state *st, const char *ref, json_t *params,
		      const struct ah_job_config *cfg, const char *owner,
		      struct ah_job_item *item, sqlite3_int64 *n, struct ah_err *err);

/* Inside the caller's transaction: claims the next due run (only_id's when not NULL). */
int ah_job_claim(struct ah_state *st, const struct ah_job_config *cfg, const char *owner,
		 const char *only_id, struct ah_job_item *item, struct ah_err *err);
int ah_job_still_ours(struct ah_state *st, const void *item, struct ah_err *err);
json_t *ah_job_lost_result(const void *item);
/* A worker death: the run waits again (an attempt counted) or fails. */
int ah_job_fail(struct ah_state *st, const struct ah_job_config *cfg,
		const struct ah_job_item *item, const char *message, json_t **result,
		struct ah_err *err);
/* Whether run id was canceled: 1, 0 or -1 (for the worker, while it runs). */
int ah_job_run_canceled(struct ah_state *st, sqlite3_int64 run, struct ah_err *err);

/* job.runs: {slug?, status?, limit?, offset?} -> {total, data: [record...]}, newest first. */
int ah_job_runs_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* job.runs.show: {id} -> the record with its outputs. */
int ah_job_runs_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* job.runs.logs: {id, offset?, limit?} -> a page of the log (lib/log-page.h). */
int ah_job_runs_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* job-runs.file: {id, name} -> {name, contentType, path, size}: a file the run left. */
int ah_job_runs_file(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * job.runs.cancel: {id} -> the record: a pending run is canceled at once,
 * a running one is marked and its worker ends it; a run that has ended is
 * a conflict.
 */
int ah_job_runs_cancel(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
