/*
 * The operations of job runs: queuing and listing them, their logs and
 * cancel (lib/job-runs.h), and running them (lib/job-worker.c) through the
 * runner; carried by apphub-jobs and apphub-serve.
 */
#include "job-runs.h"
#include "ops.h"
#include "runner.h"

/* jobs.run: {slug, parameters?, param?, trigger?, timeoutMs?} -> the pending run, queued. */
static int op_jobs_run(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_job_config cfg;
	const char *slug;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 || ah_job_config_load(&cfg, err) < 0)
		return -1;
	return ah_job_run_request(st, slug, params, &cfg, NULL, NULL, out, err);
}

/* job-runs.run: {slug, ...as jobs.run} -> the run's record once it has ended, run here. */
static int op_job_runs_run(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *p = json_deep_copy(params);
	int ret;

	/* The runner requests its item by id: a job's is its slug[@version]. */
	json_object_set(p, "id", json_object_get(params, "slug"));
	ret = ah_runner_run(ctx, &ah_job_work, p, out, err);
	json_decref(p);
	return ret;
}

static int op_job_runs_next(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	(void)params;
	return ah_runner_next(ctx, &ah_job_work, out, err);
}

/* job-runs.work: {jobs?, watch?} -> {data: [record...]}: apphub jobs work. */
static int op_job_runs_work(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return ah_runner_work(ctx, &ah_job_work, params, out, err);
}

const struct ah_op ops_job_runs[] = {
	{ .name = "job-runs.cancel", .method = "POST", .path = "/job-runs/:id/cancel",
	  .scope = SCOPE_JOBS_RUN, .on_state = ah_job_runs_cancel,
	  .summary = "Cancel a job run: a pending one at once, a running one's process tree ended" },
	{ .name = "job-runs.file", .method = "GET", .path = "/job-runs/:id/file",
	  .scope = SCOPE_JOBS_READ, .on_state = ah_job_runs_file, .file = 1,
	  .summary = "A file a job run left in its work directory (?name=), to download" },
	{ .name = "job-runs.list", .method = "GET", .path = "/job-runs", .scope = SCOPE_JOBS_READ,
	  .on_state = ah_job_runs_list, .summary = "List job runs, newest first" },
	{ .name = "job-runs.logs", .method = "GET", .path = "/job-runs/:id/logs",
	  .scope = SCOPE_JOBS_READ, .on_state = ah_job_runs_logs,
	  .summary = "A page of a job run's log (its handler's stderr)" },
	{ .name = "job-runs.next", .method = "POST", .path = "/job-runs/next",
	  .scope = SCOPE_JOBS_RUN, .fn = op_job_runs_next,
	  .summary = "Run the next job run due in the queue" },
	{ .name = "job-runs.run", .scope = SCOPE_JOBS_RUN, .fn = op_job_runs_run,
	  .summary = "Run a job now, in this process, and answer its ended run" },
	{ .name = "job-runs.show", .method = "GET", .path = "/job-runs/:id", .scope = SCOPE_JOBS_READ,
	  .on_state = ah_job_runs_show, .summary = "A job run with its outputs" },
	{ .name = "job-runs.work", .scope = SCOPE_JOBS_RUN, .fn = op_job_runs_work,
	  .summary = "Work through the job run queue in worker processes" },
	{ .name = "jobs.run", .method = "POST", .path = "/jobs/:slug/run", .scope = SCOPE_JOBS_RUN,
	  .on_state = op_jobs_run, .accepted = 1,
	  .summary = "Queue a run of a job with parameters checked against its schema" },
	{ .name = "jobs.runs", .method = "GET", .path = "/jobs/:slug/runs", .scope = SCOPE_JOBS_READ,
	  .on_state = ah_job_runs_list, .summary = "List a job's runs, newest first" },
	{ NULL },
};
