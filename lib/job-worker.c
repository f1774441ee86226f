/*
 * The job worker: performs one "job" item of the work queue: runs the
 * run's handler from its published bundle in the sandbox (lib/job-exec.h)
 * with a fresh work directory, then records the outcome, its outputs and
 * its log's tail in the run record (lib/job-runs.h): the work kind "job"
 * of the runner (lib/runner.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "events.h"
#include "fsutil.h"
#include "job-exec.h"
#include "job-runs.h"
#include "jobs.h"
#include "log-page.h"
#include "runner.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"
#include "work.h"

/* What the run asked for, from its record. */
struct run_row {
	json_t *parameters;
	int64_t timeout_ms;	/* 0: the manifest's */
};

static int read_run_row(struct ah_state *st, sqlite3_int64 run, struct run_row *row,
			struct ah_err *err)
{
	static const char sql[] = "SELECT parameters, timeout_ms FROM job_runs WHERE n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	memset(row, 0, sizeof(*row));
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, run);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		row->parameters = json_loads(ah_col_text(stmt, 0), 0, NULL);
		row->timeout_ms = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ah_not_found(err, "job run %lld not found", (long long)run) :
					   ah_sql_error(st, err, "cannot read job run");
	if (!row->parameters)
		row->parameters = json_object();
	return 0;
}

/* Polled by the sandbox's wait: whether the run was canceled meanwhile. */
struct watch {
	struct ah_state *st;
	sqlite3_int64 run;
	int64_t next_ms;
};

static int watch_stop(void *cls)
{
	struct watch *w = cls;
	struct ah_err err = AH_ERR_INIT;
	int64_t now = ah_now_ms();

	/* The database once every half second is plenty for a person's cancel. */
	if (now < w->next_ms)
		return 0;
	w->next_ms = now + 500;
	return ah_job_run_canceled(w->st, w->run, &err) == 1;
}

/* What a run came to, recorded by record_settled(). */
struct outcome {
	const struct ah_job_item *item;
	const char *status;	/* succeeded, failed, timeout, canceled */
	json_t *result;
	const char *message;
	json_t *outputs;	/* the handler's, then the result, the log and the error */
	int logfd;
	int64_t duration;
	const char *log_rel;	/* the log, relative to the state directory */
};

static int add_output(struct ah_state *st, sqlite3_int64 run, int seq, json_t *o,
		      const char *state_dir, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO job_run_outputs(run, seq, type, name, data, path, size)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	const char *path = json_string_value(json_object_get(o, "path"));
	json_t *data = json_object_get(o, "data"), *value = json_object_get(o, "value");
	size_t dlen = strlen(state_dir);
	char *text = NULL;
	int ret;

	if (!stmt)
		return -1;
	/* Paths are kept relative to the state directory, which may move. */
	if (path && !strncmp(path, state_dir, dlen) && path[dlen] == '/')
		path += dlen + 1;
	if (data || value)
		text = json_dumps(data ? data : value, JSON_COMPACT | JSON_ENCODE_ANY);
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, seq);
	ah_bind_text(stmt, 3, json_string_value(json_object_get(o, "type")));
	ah_bind_text(stmt, 4, json_string_value(json_object_get(o, "name")));
	ah_bind_text(stmt, 5, text);
	ah_bind_text(stmt, 6, path);
	sqlite3_bind_int64(stmt, 7, json_integer_value(json_object_get(o, "size")));
	ret = ah_step_done(st, stmt, "cannot record job run output", err);
	free(text);
	return ret;
}

/* The metrics the handler reported, the last value of each name. */
static json_t *metrics_of(json_t *outputs)
{
	json_t *m = json_object(), *o;
	size_t i;

	json_array_foreach(outputs, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "type")) ?: "", "metric") &&
		    json_string_value(json_object_get(o, "name")))
			json_object_set(m, json_string_value(json_object_get(o, "name")),
					json_object_get(o, "data"));
	return m;
}

static int record_outcome(struct ah_state *st, const struct outcome *oc, json_t **result,
			  struct ah_err *err)
{
	/* A run canceled while it ran stays canceled: what it had is recorded. */
	static const char sql[] =
		"UPDATE job_runs SET status = CASE status WHEN 'canceled' THEN status ELSE ?2 END,"
		" result = ?3, error_message = CASE status WHEN 'canceled' THEN error_message"
		" ELSE ?4 END, completed_at = coalesce(completed_at, ?5), duration_ms = ?6,"
		" logs_preview = ?7, logs_size = ?8, logs_truncated = ?9, metrics = ?10"
		" WHERE n = ?1 RETURNING status";
	const struct ah_job_item *item = oc->item;
	char now[AH_ISO_LEN], status[16], *preview, *rtext = NULL, *mtext = NULL, *msg = NULL;
	json_t *metrics = metrics_of(oc->outputs), *o;
	sqlite3_stmt *stmt;
	int64_t size;
	size_t i;
	int rc, ret = -1;

	preview = ah_log_tail(oc->logfd, AH_JOB_PREVIEW_MAX, &size);
	if (oc->result)
		rtext = json_dumps(oc->result, JSON_COMPACT | JSON_ENCODE_ANY);
	mtext = json_dumps(metrics, JSON_COMPACT);
	if (oc->message)
		msg = xstrndup_utf8(oc->message, AH_JOB_ERROR_MAX);
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, item->run);
	ah_bind_text(stmt, 2, oc->status);
	ah_bind_text(stmt, 3, rtext);
	ah_bind_text(stmt, 4, msg);
	ah_bind_text(stmt, 5, now);
	sqlite3_bind_int64(stmt, 6, oc->duration);
	ah_bind_text(stmt, 7, preview);
	sqlite3_bind_int64(stmt, 8, size);
	sqlite3_bind_int(stmt, 9, size > AH_JOB_PREVIEW_MAX);
	ah_bind_text(stmt, 10, mtext);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(status, sizeof(status), "%s", ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot record job run");
		goto done;
	}
	json_array_foreach(oc->outputs, i, o)
		if (add_output(st, item->run, (int)i, o, st->dir, err) < 0)
			goto done;
	/* A canceled run's event was the cancel's. */
	if (strcmp(status, "canceled"))
		rc = ah_event(st, !strcmp(status, "succeeded") ? "job.run.succeeded" : "job.run.failed",
			      item->slug,
			      json_pack("{s:s, s:s, s:s, s:I, s:i, s:s*}", "runId", item->id,
					"version", item->version, "status", status, "durationMs",
					(json_int_t)oc->duration, "attempt", item->lease.attempt,
					"errorMessage", msg), err);
	else
		rc = 0;
	if (rc < 0 || ah_work_finish_attempt(st, item->lease.work_id, item->lease.attempt, err) < 0 ||
	    !(*result = ah_job_run_json(st, NULL, item->run, 1, err)))
		goto done;
	ret = 0;
done:
	json_decref(metrics);
	free(preview);
	free(rtext);
	free(mtext);
	free(msg);
	return ret;
}

static int record_settled(struct ah_state *st, void *cls, json_t **result, struct ah_err *err)
{
	return record_outcome(st, cls, result, err);
}

/* A fresh, empty directory at path (what a previous attempt left goes). */
static int fresh_dir(const char *path, struct ah_err *err)
{
	if (ah_remove_tree(path, err) < 0)
		return -1;
	if (mkdir(path, 0700) < 0)
		return ah_internal(err, "cannot create '%s': %s", path, strerror(errno));
	return 0;
}

/*
 * Resolves the run's bundle and runs its handler; a failure here is the
 * run's (gerr), not the worker's.
 */
static int run_handler(struct ah_state *st, const struct ah_job_config *cfg,
		       const struct ah_job_item *item, const char *dir, int logfd,
		       struct ah_job_outcome *o, struct ah_err *gerr)
{
	struct ah_job_ref job = { 0 };
	struct ah_job_spec spec;
	struct run_row row;
	struct watch w = { st, item->run, 0 };
	char *ref = xstrfmt("%s@%s", item->slug, item->version), *work = xstrfmt("%s/work", dir);
	int ret = -1;

	memset(&spec, 0, sizeof(spec));
	if (read_run_row(st, item->run, &row, gerr) < 0 || ah_job_resolve(st, ref, &job, gerr) < 0 ||
	    fresh_dir(work, gerr) < 0)
		goto done;
	spec.bundle_dir = job.root;
	spec.manifest = job.manifest;
	spec.work_dir = work;
	spec.input = json_pack("{s:O, s:{s:s, s:i}, s:{s:s, s:s}}", "parameters", row.parameters,
			       "run", "id", item->id, "attempt", item->lease.attempt, "job", "slug",
			       item->slug, "version", item->version);
	spec.log_fd = logfd;
	/* --timeout, else the manifest's, else 15 minutes; never past APPHUB_JOB_TIMEOUT_MS */
	spec.timeout_ms = row.timeout_ms;
	if (!spec.timeout_ms)
		spec.timeout_ms = json_integer_value(json_object_get(job.manifest, "timeoutMs"));
	if (spec.timeout_ms <= 0)
		spec.timeout_ms = AH_JOB_TIMEOUT_DEFAULT;
	if (spec.timeout_ms > cfg->max_timeout_ms)
		spec.timeout_ms = cfg->max_timeout_ms;
	spec.stop = watch_stop;
	spec.cls = &w;
	ret = ah_job_exec(&spec, o, gerr);
	json_decref(spec.input);
done:
	json_decref(row.parameters);
	ah_job_ref_release(&job);
	free(work);
	free(ref);
	return ret;
}

/*
 * The runner's perform: runs the handler and records the outcome; *result
 * is the record. -1 only when the outcome could not be recorded.
 */
static int work_perform(struct ah_state *st, const void *cfgp, const void *it, json_t **result,
			struct ah_err *err)
{
	const struct ah_job_config *cfg = cfgp;
	const struct ah_job_item *item = it;
	struct ah_job_outcome o;
	struct ah_err gerr = AH_ERR_INIT;
	struct outcome oc = { .item = item };
	char *top = xstrfmt("%s/jobs", st->dir), *dir = ah_job_run_dir(st->dir, item->id);
	char *log = xstrfmt("%s/log", dir), *log_rel = xstrfmt("jobs/%s/log", item->id);
	struct stat sb;
	int logfd = -1, ret = -1;

	*result = NULL;
	memset(&o, 0, sizeof(o));
	if ((mkdir(top, 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		ah_fatal(err, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	logfd = open(log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_fatal(err, "cannot open job log '%s': %s", log, strerror(errno));
		goto out;
	}
	dprintf(logfd, "apphub: run %s of %s@%s, attempt %d\n", item->id, item->slug, item->version,
		item->lease.attempt);
	oc.outputs = json_array();
	if (run_handler(st, cfg, item, dir, logfd, &o, &gerr) < 0) {
		oc.status = "failed";
		oc.message = gerr.msg;
	} else {
		oc.status = o.ok ? "succeeded" : o.stopped ? "canceled" :
			    o.timed_out ? "timeout" : "failed";
		oc.message = o.ok ? NULL : o.message;
		oc.result = o.result;
		json_array_extend(oc.outputs, o.outputs);
	}
	oc.duration = ah_now_ms() - item->lease.started_ms;
	if (oc.message)
		dprintf(logfd, "apphub: run %s: %s\n", oc.status, oc.message);
	if (oc.result)
		json_array_append_new(oc.outputs,
				      json_pack("{s:s, s:O}", "type", "result", "data", oc.result));
	if (!fstat(logfd, &sb))
		json_array_append_new(oc.outputs,
				      json_pack("{s:s, s:s, s:s, s:I}", "type", "stderr", "name", "log",
						"path", log_rel, "size", (json_int_t)sb.st_size));
	if (oc.message)
		json_array_append_new(oc.outputs, json_pack("{s:s, s:s}", "type", "error", "data",
							     oc.message));
	oc.logfd = logfd;
	oc.log_rel = log_rel;
	ret = ah_runner_settle(st, &ah_job_work, item, record_settled, &oc, result, err);
out:
	if (logfd >= 0)
		close(logfd);
	json_decref(oc.outputs);
	ah_job_outcome_release(&o);
	free(log_rel);
	free(log);
	free(dir);
	free(top);
	return ret;
}

static int work_config_load(void *cfg, struct ah_err *err)
{
	return ah_job_config_load(cfg, err);
}

static void work_limits(const void *cfgp, int64_t *lease_ms, int64_t *timeout_ms)
{
	const struct ah_job_config *cfg = cfgp;

	/* A run's own time limit is the sandbox's; this one catches a stuck worker. */
	*lease_ms = cfg->lease_ms;
	*timeout_ms = cfg->max_timeout_ms + 60000;
}

static int work_claim(struct ah_state *st, const void *cfg, const char *owner,
		      const char *only_id, void *item, struct ah_err *err)
{
	return ah_job_claim(st, cfg, owner, only_id, item, err);
}

/* The runner's request: a run of job id ("slug[@version]") queued and claimed. */
static int work_request(struct ah_state *st, const void *cfg, const char *owner, const char *id,
			json_t *params, void *item, struct ah_err *err)
{
	json_t *rec = NULL;

	if (ah_job_run_request(st, id, params, cfg, owner, item, &rec, err) < 0)
		return -1;
	json_decref(rec);
	return 0;
}

static int work_fail(struct ah_state *st, const void *cfg, const void *item, const char *message,
		     json_t **result, struct ah_err *err)
{
	return ah_job_fail(st, cfg, item, message, result, err);
}

static json_t *work_internal_error(const void *it, const char *message)
{
	const struct ah_job_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "id", item->id, "jobSlug",
			 item->slug, "version", item->version, "status", "error", "attempt",
			 item->lease.attempt, "errorMessage", message, "internal", 1);
}

const struct ah_work_kind ah_job_work = {
	.name = "job",
	.what = "the job run",
	.worker = "the job worker",
	.timeout_env = "APPHUB_JOB_TIMEOUT_MS",
	.item_size = sizeof(struct ah_job_item),
	.config_size = sizeof(struct ah_job_config),
	.config_load = work_config_load,
	.limits = work_limits,
	.claim = work_claim,
	.request = work_request,
	.perform = work_perform,
	.fail = work_fail,
	.still_ours = ah_job_still_ours,
	.lost = ah_job_lost_result,
	.internal_error = work_internal_error,
};
