/*
 * Job run records and the "job" items of the work queue: queuing a run
 * (its parameters checked), claiming, the retry of a dead worker's run,
 * listing, logs and cancel. Running a handler is lib/job-worker.c's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"
#include "events.h"
#include "job-runs.h"
#include "jobs.h"
#include "json-schema.h"
#include "log-page.h"
#include "params.h"
#include "random-id.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"
#include "work.h"

int ah_job_config_load(struct ah_job_config *cfg, struct ah_err *err)
{
	int64_t attempts;

	if (ah_env_int("APPHUB_JOB_ATTEMPTS", 3, 1, &attempts, err) < 0 ||
	    ah_env_duration("APPHUB_JOB_BACKOFF_MS", 1, 5000, 0, &cfg->backoff_ms, err) < 0 ||
	    ah_env_duration("APPHUB_JOB_LEASE_MS", 1, 30000, 100, &cfg->lease_ms, err) < 0 ||
	    ah_env_size("APPHUB_JOB_MAX_LOG_BYTES", 16 << 20, 4096, &cfg->max_log, err) < 0 ||
	    ah_env_duration("APPHUB_JOB_TIMEOUT_MS", 1, 24 * 3600 * 1000LL, 1000, &cfg->max_timeout_ms,
			    err) < 0)
		return -1;
	cfg->attempts = attempts > 100 ? 100 : (int)attempts;
	return 0;
}

char *ah_job_run_dir(const char *state_dir, const char *id)
{
	return xstrfmt("%s/jobs/%s", state_dir, id);
}

static int run_param(json_t *params, const char **id, struct ah_err *err)
{
	if (ah_param_need_str(params, "id", id, err) < 0)
		return -1;
	if (!ah_random_id_valid(*id, 'r'))
		return ah_not_found(err, "job run '%.80s' not found", *id);
	return 0;
}

#define RUN_COLUMNS \
	"SELECT n, id, job_slug, version, status, parameters, result, error_message, attempt," \
	" trigger, metrics, created_at, started_at, completed_at, duration_ms, logs_preview," \
	" logs_size, logs_truncated, timeout_ms FROM job_runs"

static json_t *run_row(sqlite3_stmt *stmt)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_string(ah_col_text(stmt, 1)));
	json_object_set_new(r, "jobSlug", json_string(ah_col_text(stmt, 2)));
	json_object_set_new(r, "version", json_string(ah_col_text(stmt, 3)));
	json_object_set_new(r, "status", json_string(ah_col_text(stmt, 4)));
	json_object_set_new(r, "parameters", ah_col_json(stmt, 5));
	json_object_set_new(r, "result", ah_col_json(stmt, 6));
	json_object_set_new(r, "errorMessage", ah_col_string(stmt, 7));
	json_object_set_new(r, "attempt", json_integer(sqlite3_column_int(stmt, 8)));
	json_object_set_new(r, "trigger", ah_col_json(stmt, 9));
	json_object_set_new(r, "metrics", ah_col_json(stmt, 10));
	json_object_set_new(r, "createdAt", json_string(ah_col_text(stmt, 11)));
	json_object_set_new(r, "startedAt", ah_col_string(stmt, 12));
	json_object_set_new(r, "completedAt", ah_col_string(stmt, 13));
	json_object_set_new(r, "durationMs", ah_col_integer(stmt, 14));
	json_object_set_new(r, "logsPreview", ah_col_string(stmt, 15));
	json_object_set_new(r, "logsSize", json_integer(sqlite3_column_int64(stmt, 16)));
	json_object_set_new(r, "logsTruncated", json_boolean(sqlite3_column_int(stmt, 17)));
	json_object_set_new(r, "timeoutMs", ah_col_integer(stmt, 18));
	return r;
}

static json_t *output_row(sqlite3_stmt *stmt)
{
	json_t *o = json_pack("{s:s}", "type", ah_col_text(stmt, 0));

	if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
		json_object_set_new(o, "name", json_string(ah_col_text(stmt, 1)));
	if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
		json_object_set_new(o, "data", ah_col_json(stmt, 2));
	if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
		json_object_set_new(o, "path", json_string(ah_col_text(stmt, 3)));
	json_object_set_new(o, "size", json_integer(sqlite3_column_int64(stmt, 4)));
	return o;
}

static json_t *run_outputs(struct ah_state *st, sqlite3_int64 run, struct ah_err *err)
{
	static const char sql[] =
		"SELECT type, name, data, path, size FROM job_run_outputs WHERE run = ? ORDER BY seq";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, run);
	return ah_step_rows(st, stmt, output_row, "cannot read job run outputs", err);
}

json_t *ah_job_run_json(struct ah_state *st, const char *id, sqlite3_int64 n, int outputs,
			struct ah_err *err)
{
	static const char sql_id[] = RUN_COLUMNS " WHERE id = ?";
	static const char sql_n[] = RUN_COLUMNS " WHERE n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, id ? sql_id : sql_n, err);
	json_t *r = NULL, *o;
	int rc;

	if (!stmt)
		return NULL;
	if (id)
		ah_bind_text(stmt, 1, id);
	else
		sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r = run_row(stmt);
		n = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		ah_not_found(err, "job run '%s' not found", id ? id : "?");
	else if (rc != SQLITE_ROW)
		ah_sql_error(st, err, "cannot read job run");
	if (r && outputs) {
		if (!(o = run_outputs(st, n, err))) {
			json_decref(r);
			return NULL;
		}
		json_object_set_new(r, "outputs", o);
	}
	return r;
}

static int valid_trigger(json_t *trigger, struct ah_err *err)
{
	static const char *const types[] = { "manual", "workflow", "schedule", "webhook" };
	const char *type = json_string_value(json_object_get(trigger, "type"));
	size_t i;

	if (!json_is_object(trigger) || !type)
		return ah_invalid(err, "invalid trigger: must be an object with a type");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i]))
			return 0;
	return ah_invalid(err, "invalid trigger type '%.40s': manual, workflow, schedule or webhook",
			  type);
}

/* A new pending run and its job.run.queued event; inside a transaction. */
static int insert_run(struct ah_state *st, const struct ah_job_ref *job, json_t *parameters,
		      json_t *trigger, int64_t timeout_ms, sqlite3_int64 *n, char *id,
		      size_t id_len, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO job_runs(id, job_slug, version, parameters, trigger, timeout_ms,"
		" created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN], *ptext = NULL, *ttext = NULL;
	int ret = -1;

	if (!stmt)
		return -1;
	ah_random_id(id, id_len, 'r');
	ah_now_iso(now);
	ptext = json_dumps(parameters, JSON_COMPACT);
	ttext = json_dumps(trigger, JSON_COMPACT);
	ah_bind_text(stmt, 1, id);
	ah_bind_text(stmt, 2, job->slug);
	ah_bind_text(stmt, 3, job->version);
	ah_bind_text(stmt, 4, ptext);
	ah_bind_text(stmt, 5, ttext);
	if (timeout_ms > 0)
		sqlite3_bind_int64(stmt, 6, timeout_ms);
	ah_bind_text(stmt, 7, now);
	if (ah_step_done(st, stmt, "cannot record job run", err) < 0)
		goto done;
	*n = sqlite3_last_insert_rowid(st->db);
	if (ah_event(st, "job.run.queued", job->slug,
		     json_pack("{s:s, s:s, s:O}", "runId", id, "version", job->version, "trigger",
			       trigger), err) < 0 ||
	    ah_work_queue(st, "job", id, err) < 0)
		goto done;
	ret = 0;
done:
	free(ptext);
	free(ttext);
	return ret;
}

int ah_job_run_insert(struct ah_state *st, const char *ref, json_t *params,
		      const struct ah_job_config *cfg, const char *owner,
		      struct ah_job_item *item, sqlite3_int64 *n, struct ah_err *err)
{
	struct ah_job_ref job = { 0 };
	json_t *parameters = NULL, *trigger = json_object_get(params, "trigger"), *own = NULL;
	json_t *timeout;
	char id[AH_RANDOM_ID_MAX];
	int64_t timeout_ms = 0;
	int ret = -1;

	if (trigger && !json_is_null(trigger)) {
		if (valid_trigger(trigger, err) < 0)
			return -1;
	} else {
		trigger = own = json_pack("{s:s}", "type", "manual");
	}
	if ((timeout = json_object_get(params, "timeoutMs")) && !json_is_null(timeout) &&
	    ah_param_duration_ms(params, "timeoutMs", 1, cfg->max_timeout_ms, &timeout_ms, err) < 0)
		goto done;
	if (ah_job_resolve(st, ref, &job, err) < 0)
		goto done;
	if (!(parameters = ah_json_schema_parameters(params, json_object_get(job.manifest,
									 "parametersSchema"), err)) ||
	    ah_json_schema_check(json_object_get(job.manifest, "parametersSchema"), parameters,
				 "parameters", err) < 0)
		goto done;
	if (insert_run(st, &job, parameters, trigger, timeout_ms, n, id, sizeof(id), err) < 0)
		goto done;
	if (item) {
		int r = ah_job_claim(st, cfg, owner, id, item, err);

		if (r < 0)
			goto done;
		if (!r) {
			ah_conflict(err, "job run '%s' was taken by another worker", id);
			goto done;
		}
	}
	ret = 0;
done:
	ah_job_ref_release(&job);
	json_decref(parameters);
	json_decref(own);
	return ret;
}

int ah_job_run_request(struct ah_state *st, const char *ref, json_t *params,
		       const struct ah_job_config *cfg, const char *owner,
		       struct ah_job_item *item, json_t **record, struct ah_err *err)
{
	sqlite3_int64 n;

	*record = NULL;
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (ah_job_run_insert(st, ref, params, cfg, owner, item, &n, err) < 0 ||
	    !(*record = ah_job_run_json(st, NULL, n, 0, err)) || ah_commit(st, err) < 0) {
		ah_rollback(st);
		json_decref(*record);
		*record = NULL;
		return -1;
	}
	return 0;
}

/* The failed (or timeout) transition of a run; inside the caller's transaction. */
static int record_failed(struct ah_state *st, const struct ah_job_item *item, const char *message,
			 int64_t duration_ms, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE job_runs SET status = 'failed', error_message = ?2, completed_at = ?3,"
		" duration_ms = ?4 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN], *msg = xstrndup_utf8(message, AH_JOB_ERROR_MAX);
	int ret = -1;

	if (!stmt)
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, item->run);
	ah_bind_text(stmt, 2, msg);
	ah_bind_text(stmt, 3, now);
	if (duration_ms >= 0)
		sqlite3_bind_int64(stmt, 4, duration_ms);
	if (ah_step_done(st, stmt, "cannot record job run failure", err) < 0 ||
	    ah_event(st, "job.run.failed", item->slug,
		     json_pack("{s:s, s:s, s:s, s:i}", "runId", item->id, "status", "failed",
			       "errorMessage", msg, "attempt", item->lease.attempt), err) < 0)
		goto done;
	ret = 0;
done:
	free(msg);
	return ret;
}

int ah_job_still_ours(struct ah_state *st, const void *it, struct ah_err *err)
{
	/* A run canceled while it ran is still its worker's to wind up. */
	static const char sql[] =
		"SELECT 1 FROM work w, job_runs r WHERE w.id = ?1 AND w.claimed_by = ?2"
		" AND r.n = ?3 AND r.status IN ('running', 'canceled') AND r.attempt = ?4";
	const struct ah_job_item *item = it;
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, item->lease.work_id);
	ah_bind_text(stmt, 2, item->lease.owner);
	sqlite3_bind_int64(stmt, 3, item->run);
	sqlite3_bind_int(stmt, 4, item->lease.attempt);
	return ah_step_exists(st, stmt, "cannot read work queue", err);
}

json_t *ah_job_lost_result(const void *it)
{
	const struct ah_job_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "id", item->id, "jobSlug", item->slug,
			 "version", item->version, "status", "lost", "attempt", item->lease.attempt,
			 "errorMessage", "the lease ran out and another worker took the run");
}

int ah_job_fail(struct ah_state *st, const struct ah_job_config *cfg,
		const struct ah_job_item *item, const char *message, json_t **result,
		struct ah_err *err)
{
	static const char sql_pending[] =
		"UPDATE job_runs SET status = 'pending', error_message = ?2 WHERE n = ?1";
	char retry_at[AH_ISO_LEN], *msg = NULL;
	sqlite3_stmt *stmt;
	int r, ret = -1;

	r = ah_work_died(st, &item->lease, item->attempts > 0 ? item->attempts : cfg->attempts,
			 cfg->backoff_ms, message, &msg, retry_at,
			 err);
	if (r < 0)
		goto done;
	if (r) {
		if (record_failed(st, item, msg, ah_now_ms() - item->lease.started_ms, err) < 0 ||
		    !(*result = ah_job_run_json(st, NULL, item->run, 0, err)))
			goto done;
		ret = 0;
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_pending, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, item->run);
	ah_bind_text(stmt, 2, msg);
	if (ah_step_done(st, stmt, "cannot record job run", err) < 0 ||
	    ah_event(st, "job.run.queued", item->slug,
		     json_pack("{s:s, s:i, s:s, s:s}", "runId", item->id, "attempt",
			       item->lease.attempt, "errorMessage", message, "retryAt", retry_at),
		     err) < 0 ||
	    !(*result = ah_job_run_json(st, NULL, item->run, 0, err)))
		goto done;
	json_object_set_new(*result, "retryAt", json_string(retry_at));
	ret = 0;
done:
	free(msg);
	return ret;
}

/* The run of a work item, as the claim needs it: 1 found, 0 gone. */
static int read_claimed_run(struct ah_state *st, const char *id, struct ah_job_item *item,
			    char *status, size_t status_len, int *attempt, struct ah_err *err)
{
	static const char sql[] =
		"SELECT n, job_slug, version, status, attempt,"
		" CASE WHEN trigger ->> 'type' = 'workflow' THEN 1 END FROM job_runs WHERE id = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		item->run = sqlite3_column_int64(stmt, 0);
		snprintf(item->slug, sizeof(item->slug), "%s", ah_col_text(stmt, 1));
		snprintf(item->version, sizeof(item->version), "%s", ah_col_text(stmt, 2));
		snprintf(status, status_len, "%s", ah_col_text(stmt, 3));
		*attempt = sqlite3_column_int(stmt, 4);
		item->attempts = sqlite3_column_int(stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read job run");
	return rc == SQLITE_ROW;
}

int ah_job_claim(struct ah_state *st, const struct ah_job_config *cfg, const char *owner,
		 const char *only_id, struct ah_job_item *item, struct ah_err *err)
{
	static const char sql_running[] =
		"UPDATE job_runs SET status = 'running', attempt = ?2, started_at = ?3,"
		" completed_at = NULL, duration_ms = NULL WHERE n = ?1";
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN], status[16];
	int rc;

	for (;;) {
		struct ah_work_item w;
		int attempt = 0;
		char *msg;

		memset(item, 0, sizeof(*item));
		if ((rc = ah_work_next_any(st, "job", only_id, &w, err)) <= 0)
			return rc;
		item->lease.work_id = w.id;
		snprintf(item->id, sizeof(item->id), "%s", w.subject);
		snprintf(item->lease.owner, sizeof(item->lease.owner), "%s", owner);
		item->lease.started_ms = w.at;
		if ((rc = read_claimed_run(st, w.subject, item, status, sizeof(status), &attempt,
					   err)) < 0)
			return -1;
		/* A run that is gone, or has ended (canceled), has no more work. */
		if (!rc || (strcmp(status, "pending") && strcmp(status, "running"))) {
			if (ah_work_finish(st, w.id, err) < 0)
				return -1;
			continue;
		}
		item->lease.attempt = attempt + 1;
		if (item->attempts <= 0)
			item->attempts = cfg->attempts;
		if ((msg = ah_work_abandoned(&w, !strcmp(status, "running"), attempt, item->attempts,
					     "job worker"))) {
			/* The worker of the last attempt went away: that attempt failed. */
			struct ah_job_item last = *item;

			last.lease.attempt = attempt;
			rc = record_failed(st, &last, msg, -1, err);
			free(msg);
			if (rc < 0 || ah_work_finish(st, w.id, err) < 0)
				return -1;
			continue;
		}
		if (ah_work_claim(st, w.id, owner, item->lease.attempt, w.at + cfg->lease_ms, err) < 0)
			return -1;
		ah_now_iso(now);
		if (!(stmt = ah_stmt(st, sql_running, err)))
			return -1;
		sqlite3_bind_int64(stmt, 1, item->run);
		sqlite3_bind_int(stmt, 2, item->lease.attempt);
		ah_bind_text(stmt, 3, now);
		if (ah_step_done(st, stmt, "cannot update job run", err) < 0 ||
		    ah_event(st, "job.run.running", item->slug,
			     json_pack("{s:s, s:s, s:i, s:b}", "runId", item->id, "version",
				       item->version, "attempt", item->lease.attempt, "recovered",
				       w.stale), err) < 0)
			return -1;
		return 1;
	}
}

int ah_job_run_canceled(struct ah_state *st, sqlite3_int64 run, struct ah_err *err)
{
	static const char sql[] = "SELECT 1 FROM job_runs WHERE n = ? AND status = 'canceled'";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, run);
	return ah_step_exists(st, stmt, "cannot read job run", err);
}

static const char *const run_statuses[] = {
	"pending", "running", "succeeded", "failed", "canceled", "timeout", NULL,
};

int ah_job_runs_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] = RUN_COLUMNS
		" WHERE (?1 IS NULL OR job_slug = ?1) AND (?2 IS NULL OR status = ?2)"
		" ORDER BY n DESC LIMIT ?3 OFFSET ?4";
	static const char sql_count[] =
		"SELECT count(*) FROM job_runs"
		" WHERE (?1 IS NULL OR job_slug = ?1) AND (?2 IS NULL OR status = ?2)";
	const char *slug, *status;
	sqlite3_stmt *stmt;
	sqlite3_int64 total = 0;
	long limit, offset;
	json_t *data;
	int rc;

	if (ah_param_str(params, "slug", &slug, err) < 0 ||
	    ah_param_enum(params, "status", run_statuses, &status, err) < 0 ||
	    ah_param_int(params, "limit", 50, 1, 1000, &limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 1000000000, &offset, err) < 0)
		return -1;
	if (slug && !*slug)
		slug = NULL;
	if (!(stmt = ah_stmt(st, sql_count, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, status);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		total = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot count job runs");
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, status);
	sqlite3_bind_int64(stmt, 3, limit);
	sqlite3_bind_int64(stmt, 4, offset);
	if (!(data = ah_step_rows(st, stmt, run_row, "cannot list job runs", err)))
		return -1;
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "data", data);
	return 0;
}

int ah_job_runs_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;

	if (run_param(params, &id, err) < 0)
		return -1;
	return (*out = ah_job_run_json(st, id, 0, 1, err)) ? 0 : -1;
}

#define LOGS_CHUNK_MAX (4 << 20)

static int final_status(const char *status)
{
	return strcmp(status, "pending") && strcmp(status, "running");
}

int ah_job_runs_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id, *status;
	long offset, limit;
	json_t *rec;
	char *dir, *path;
	int ret;

	if (run_param(params, &id, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, LONG_MAX, &offset, err) < 0 ||
	    ah_param_int(params, "limit", 1 << 20, 1, LOGS_CHUNK_MAX, &limit, err) < 0 ||
	    !(rec = ah_job_run_json(st, id, 0, 0, err)))
		return -1;
	status = json_string_value(json_object_get(rec, "status"));
	dir = ah_job_run_dir(st->dir, id);
	path = xstrfmt("%s/log", dir);
	ret = ah_log_page(path, id, status, final_status(status), offset, limit, out, err);
	json_decref(rec);
	free(path);
	free(dir);
	return ret;
}

int ah_job_runs_file(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id, *name, *path = NULL, *base, *c;
	json_t *rec, *o;
	char *full;
	size_t i;

	if (run_param(params, &id, err) < 0 || ah_param_need_str(params, "name", &name, err) < 0 ||
	    !(rec = ah_job_run_json(st, id, 0, 1, err)))
		return -1;
	/* Only a file the run recorded: its path is the worker's, never the caller's. */
	json_array_foreach(json_object_get(rec, "outputs"), i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "type")) ?: "", "file") &&
		    !strcmp(json_string_value(json_object_get(o, "name")) ?: "", name) &&
		    (path = json_string_value(json_object_get(o, "path"))))
			break;
	}
	if (!path) {
		json_decref(rec);
		return ah_not_found(err, "job run '%s' has no file '%.200s'", id, name);
	}
	/* The name goes into Content-Disposition: nothing that would end its quotes. */
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	for (c = base; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' || *c == 0x7f)
			break;
	full = xstrfmt("%s/%s", st->dir, path);
	*out = json_pack("{s:s, s:s, s:s, s:O}", "name", *c ? "download" : base, "contentType",
			 "application/octet-stream", "path", full, "size", json_object_get(o, "size"));
	free(full);
	json_decref(rec);
	return 0;
}

int ah_job_runs_cancel(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE job_runs SET status = 'canceled', completed_at = ?2,"
		" error_message = 'canceled' WHERE n = ?1";
	struct ah_job_item run;
	sqlite3_stmt *stmt;
	const char *id;
	char now[AH_ISO_LEN], status[16];
	int attempt, r;

	*out = NULL;
	if (run_param(params, &id, err) < 0 || ah_begin_write(st, err) < 0)
		return -1;
	memset(&run, 0, sizeof(run));
	if ((r = read_claimed_run(st, id, &run, status, sizeof(status), &attempt, err)) < 0)
		goto fail;
	if (!r) {
		ah_not_found(err, "job run '%s' not found", id);
		goto fail;
	}
	if (final_status(status)) {
		ah_conflict(err, "job run '%s' has ended (%s)", id, status);
		goto fail;
	}
	if (!(stmt = ah_stmt(st, sql, err)))
		goto fail;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, run.run);
	ah_bind_text(stmt, 2, now);
	/*
	 * A pending run leaves the queue now; a running one stays its
	 * worker's, which sees the status, ends the handler and records what
	 * it had.
	 */
	if (ah_step_done(st, stmt, "cannot cancel job run", err) < 0 ||
	    (!strcmp(status, "pending") && ah_work_drop(st, "job", id, err) < 0) ||
	    ah_event(st, "job.run.canceled", run.slug,
		     json_pack("{s:s, s:s}", "runId", id, "from", status), err) < 0 ||
	    !(*out = ah_job_run_json(st, NULL, run.run, 0, err)) || ah_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	ah_rollback(st);
	json_decref(*out);
	*out = NULL;
	return -1;
}
