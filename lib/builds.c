/*
 * Build records and the "build" items of the work queue: the records, the
 * logs and retry are SQL and file reads (the light binary has them). The
 * build itself is lib/build-worker.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "apps.h"
#include "builds.h"
#include "env.h"
#include "events.h"
#include "log-page.h"
#include "params.h"
#include "random-id.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"
#include "work.h"

int ah_build_config_load(struct ah_build_config *cfg, struct ah_err *err)
{
	int64_t attempts;

	if (ah_env_int("APPHUB_BUILD_ATTEMPTS", 3, 1, &attempts, err) < 0 ||
	    ah_env_duration("APPHUB_BUILD_BACKOFF_MS", 1, 10000, 0, &cfg->backoff_ms, err) < 0 ||
	    ah_env_duration("APPHUB_BUILD_TIMEOUT_MS", 1, 30 * 60000, 1, &cfg->timeout_ms, err) < 0 ||
	    ah_env_duration("APPHUB_BUILD_LEASE_MS", 1, 60000, 100, &cfg->lease_ms, err) < 0 ||
	    ah_env_size("APPHUB_BUILD_MAX_LOG_BYTES", 16 << 20, 4096, &cfg->max_log, err) < 0 ||
	    ah_env_size("APPHUB_BUILD_MAX_CONTEXT_BYTES", (int64_t)1 << 30, 1, &cfg->max_context,
			err) < 0 ||
	    ah_env_size("APPHUB_BUILD_MAX_FILE_BYTES", 100 << 20, 1, &cfg->max_file, err) < 0)
		return -1;
	cfg->attempts = attempts > 100 ? 100 : (int)attempts;
	return 0;
}

char *ah_build_log_path(const char *state_dir, const char *id)
{
	return xstrfmt("%s/builds/%s.log", state_dir, id);
}

void ah_build_logs_remove(struct ah_state *st, json_t *ids)
{
	json_t *v;
	size_t i;

	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		char *log;

		/* Ids are ours ("b-" and hex); anything else is not a file name of ours. */
		if (!*id || strchr(id, '/') || *id == '.')
			continue;
		log = ah_build_log_path(st->dir, id);
		if (unlink(log) < 0 && errno != ENOENT)
			warning("cannot remove build log '%s': %s", log, strerror(errno));
		free(log);
	}
}

static int valid_ref(const char *ref, struct ah_err *err)
{
	const unsigned char *p;

	if (!*ref || strlen(ref) > 255)
		return ah_invalid(err, "invalid ref: must be 1 to 255 characters");
	if (*ref == '-')
		return ah_invalid(err, "invalid ref '%s': must not start with '-'", ref);
	for (p = (const unsigned char *)ref; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '~' || *p == '^' || *p == ':' || *p == '\\')
			return ah_invalid(err, "invalid ref '%s': a branch, tag or commit", ref);
	return 0;
}

static int valid_engine(const char *engine, struct ah_err *err)
{
	if (engine && strcmp(engine, "native") && strcmp(engine, "podman") && strcmp(engine, "docker"))
		return ah_invalid(err, "invalid engine '%s': must be native, podman or docker", engine);
	return 0;
}

#define RECORD_COLUMNS \
	"SELECT b.n, b.id, a.id, b.status, b.image_tag, b.error_message, b.commit_sha," \
	" b.git_branch, b.git_ref, b.started_at, b.completed_at, b.duration_ms, b.logs_preview," \
	" b.logs_truncated, b.logs_size, b.attempt, b.engine, b.created_at, b.retry_of" \
	" FROM builds b JOIN apps a ON a.n = b.app"

static json_t *col_or_null(sqlite3_stmt *stmt, int i)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL ? json_null() :
	       json_string(ah_col_text(stmt, i));
}

static json_t *record_row(sqlite3_stmt *stmt)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_string(ah_col_text(stmt, 1)));
	json_object_set_new(r, "repositoryId", json_string(ah_col_text(stmt, 2)));
	json_object_set_new(r, "status", json_string(ah_col_text(stmt, 3)));
	json_object_set_new(r, "imageTag", col_or_null(stmt, 4));
	json_object_set_new(r, "errorMessage", col_or_null(stmt, 5));
	json_object_set_new(r, "commitSha", col_or_null(stmt, 6));
	json_object_set_new(r, "gitBranch", col_or_null(stmt, 7));
	json_object_set_new(r, "gitRef", col_or_null(stmt, 8));
	json_object_set_new(r, "startedAt", col_or_null(stmt, 9));
	json_object_set_new(r, "completedAt", col_or_null(stmt, 10));
	json_object_set_new(r, "durationMs", sqlite3_column_type(stmt, 11) == SQLITE_NULL ?
			    json_null() : json_integer(sqlite3_column_int64(stmt, 11)));
	json_object_set_new(r, "logsPreview", col_or_null(stmt, 12));
	json_object_set_new(r, "logsTruncated", json_boolean(sqlite3_column_int(stmt, 13)));
	json_object_set_new(r, "logsSize", json_integer(sqlite3_column_int64(stmt, 14)));
	json_object_set_new(r, "attempt", json_integer(sqlite3_column_int(stmt, 15)));
	json_object_set_new(r, "engine", col_or_null(stmt, 16));
	json_object_set_new(r, "createdAt", json_string(ah_col_text(stmt, 17)));
	json_object_set_new(r, "retryOf", col_or_null(stmt, 18));
	return r;
}

json_t *ah_build_json(struct ah_state *st, const char *id, sqlite3_int64 n, struct ah_err *err)
{
	static const char sql_id[] = RECORD_COLUMNS " WHERE b.id = ?";
	static const char sql_n[] = RECORD_COLUMNS " WHERE b.n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, id ? sql_id : sql_n, err);
	json_t *r = NULL;
	int rc;

	if (!stmt)
		return NULL;
	if (id)
		ah_bind_text(stmt, 1, id);
	else
		sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		r = record_row(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		ah_not_found(err, "build '%s' not found", id ? id : "?");
	else if (rc != SQLITE_ROW)
		ah_sql_error(st, err, "cannot read build");
	return r;
}

/* The build of app n that waits or runs, if any: *n_out 0 when none. */
static int active_build(struct ah_state *st, sqlite3_int64 app, sqlite3_int64 *n_out,
			char *id, size_t id_len, char *status, size_t status_len,
			int *attempt, struct ah_err *err)
{
	static const char sql[] =
		"SELECT n, id, status, attempt FROM builds"
		" WHERE app = ? AND status IN ('pending', 'running') ORDER BY n LIMIT 1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*n_out = 0;
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*n_out = sqlite3_column_int64(stmt, 0);
		snprintf(id, id_len, "%s", ah_col_text(stmt, 1));
		if (status)
			snprintf(status, status_len, "%s", ah_col_text(stmt, 2));
		if (attempt)
			*attempt = sqlite3_column_int(stmt, 3);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read builds");
	return 0;
}

/* A new pending record and its build.queued event; inside a transaction. */
static int insert_build(struct ah_state *st, sqlite3_int64 app, const char *app_id,
			const char *sha, const char *branch, const char *ref, const char *engine,
			const char *retry_of, sqlite3_int64 *n_out, char *id, size_t id_len,
			struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO builds(id, app, status, commit_sha, git_branch, git_ref, engine,"
		" created_at, retry_of) VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_random_id(id, id_len, 'b');
	ah_now_iso(now);
	ah_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, app);
	ah_bind_text(stmt, 3, sha);
	ah_bind_text(stmt, 4, branch);
	ah_bind_text(stmt, 5, ref);
	ah_bind_text(stmt, 6, engine);
	ah_bind_text(stmt, 7, now);
	ah_bind_text(stmt, 8, retry_of);
	if (ah_step_done(st, stmt, "cannot record build", err) < 0)
		return -1;
	*n_out = sqlite3_last_insert_rowid(st->db);
	return ah_event(st, "build.queued", app_id,
			json_pack("{s:s, s:s?, s:s?, s:s?}", "buildId", id, "commitSha", sha,
				  "gitRef", ref, "retryOf", retry_of), err);
}

/* The app's ingested commit, or NULL (never ingested). */
static int app_commit(struct ah_state *st, sqlite3_int64 app, char **sha, struct ah_err *err)
{
	static const char sql[] = "SELECT commit_sha FROM apps WHERE n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*sha = NULL;
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*sha = xstrdup(ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read app");
	return 0;
}

int ah_build_request(struct ah_state *st, const char *id, const char *ref, const char *engine,
		     const struct ah_build_config *cfg, const char *owner,
		     struct ah_build_item *item, json_t **record, struct ah_err *err)
{
	char bid[40], status[16], *sha = NULL;
	sqlite3_int64 app, n;
	int ret = -1;

	*record = NULL;
	if ((ref && valid_ref(ref, err) < 0) || valid_engine(engine, err) < 0)
		return -1;
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (ah_app_lookup(st, id, &app, err) < 0 ||
	    active_build(st, app, &n, bid, sizeof(bid), status, sizeof(status), NULL, err) < 0)
		goto done;
	if (n) {
		ah_conflict(err, "app '%s' has a build %s already (%s)", id,
			    !strcmp(status, "pending") ? "queued" : "running", bid);
		goto done;
	}
	if (app_commit(st, app, &sha, err) < 0)
		goto done;
	if (!sha) {
		ah_conflict(err, "app '%s' has not been ingested yet (apphub ingest %s)", id, id);
		goto done;
	}
	if (insert_build(st, app, id, ref ? NULL : sha, NULL, ref, engine, NULL, &n, bid,
			 sizeof(bid), err) < 0 ||
	    ah_work_queue(st, "build", id, err) < 0)
		goto done;
	if (item) {
		int r = ah_build_claim(st, cfg, owner, id, item, err);

		if (r < 0)
			goto done;
		if (!r) {
			ah_conflict(err, "app '%s' is being built", id);
			goto done;
		}
	}
	if (!(*record = ah_build_json(st, NULL, n, err)) || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		ah_rollback(st);
		json_decref(*record);
		*record = NULL;
	}
	free(sha);
	return ret;
}

/* The failed transition of a record; inside the caller's transaction. */
int ah_build_record_failed(struct ah_state *st, const struct ah_build_item *item,
			   const char *message, int64_t duration_ms, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE builds SET status = 'failed', error_message = ?2, completed_at = ?3,"
		" duration_ms = ?4 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN], *msg = xstrndup_utf8(message, AH_BUILD_ERROR_MAX);
	int ret = -1;

	if (!stmt)
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, item->build);
	ah_bind_text(stmt, 2, msg);
	ah_bind_text(stmt, 3, now);
	if (duration_ms >= 0)
		sqlite3_bind_int64(stmt, 4, duration_ms);
	if (ah_step_done(st, stmt, "cannot record build failure", err) < 0 ||
	    ah_event(st, "build.failed", item->app_id,
		     json_pack("{s:s, s:s, s:i}", "buildId", item->id, "errorMessage", msg,
			       "attempt", item->lease.attempt), err) < 0)
		goto done;
	ret = 0;
done:
	free(msg);
	return ret;
}

/*
 * Whether the item is still ours: claimed by us, the record running our
 * attempt. Not ah_work_is_ours(): the queue's attempts are reset when the
 * app is queued again while it builds, and that build is still ours
 * (ah_work_finish_attempt() lets the item go when it ends).
 */
int ah_build_still_ours(struct ah_state *st, const void *it, struct ah_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM work w, builds b WHERE w.id = ?1 AND w.claimed_by = ?2"
		" AND b.n = ?3 AND b.status = 'running' AND b.attempt = ?4";
	const struct ah_build_item *item = it;
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, item->lease.work_id);
	ah_bind_text(stmt, 2, item->lease.owner);
	sqlite3_bind_int64(stmt, 3, item->build);
	sqlite3_bind_int(stmt, 4, item->lease.attempt);
	return ah_step_exists(st, stmt, "cannot read work queue", err);
}

json_t *ah_build_lost_result(const void *it)
{
	const struct ah_build_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:i, s:s}", "id", item->id, "repositoryId",
			 item->app_id, "status", "lost", "attempt", item->lease.attempt, "errorMessage",
			 "the lease ran out and another worker took the build");
}

/* A worker death: wait again (an attempt counted) or fail; inside a transaction. */
static int record_death(struct ah_state *st, const struct ah_build_config *cfg,
			const struct ah_build_item *item, const char *message, json_t **result,
			struct ah_err *err)
{
	static const char sql_pending[] =
		"UPDATE builds SET status = 'pending', error_message = ?2 WHERE n = ?1";
	char retry_at[AH_ISO_LEN], *msg = NULL;
	sqlite3_stmt *stmt;
	int r, ret = -1;

	r = ah_work_died(st, &item->lease, cfg->attempts, cfg->backoff_ms, message, &msg, retry_at,
			 err);
	if (r < 0)
		goto done;
	if (r) {
		if (ah_build_record_failed(st, item, msg, ah_now_ms() - item->lease.started_ms, err) < 0 ||
		    !(*result = ah_build_json(st, NULL, item->build, err)))
			goto done;
		ret = 0;
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_pending, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, item->build);
	ah_bind_text(stmt, 2, msg);
	if (ah_step_done(st, stmt, "cannot record build", err) < 0 ||
	    ah_event(st, "build.queued", item->app_id,
		     json_pack("{s:s, s:i, s:s, s:s}", "buildId", item->id, "attempt",
			       item->lease.attempt, "errorMessage", message, "retryAt", retry_at), err) < 0 ||
	    !(*result = ah_build_json(st, NULL, item->build, err)))
		goto done;
	json_object_set_new(*result, "retryAt", json_string(retry_at));
	ret = 0;
done:
	free(msg);
	return ret;
}

int ah_build_fail(struct ah_state *st, const struct ah_build_config *cfg,
		  const struct ah_build_item *item, const char *message, json_t **result,
		  struct ah_err *err)
{
	return record_death(st, cfg, item, message, result, err);
}

int ah_build_claim(struct ah_state *st, const struct ah_build_config *cfg, const char *owner,
		   const char *only_id, struct ah_build_item *item, struct ah_err *err)
{
	static const char sql_running[] =
		"UPDATE builds SET status = 'running', attempt = ?2, started_at = ?3,"
		" completed_at = NULL, duration_ms = NULL WHERE n = ?1";
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN], status[16];
	int rc, ret = -1;

	memset(item, 0, sizeof(*item));
	for (;;) {
		struct ah_work_item w;
		int attempt = 0;
		char *msg;

		if ((rc = ah_work_next(st, "build", only_id, &w, err)) < 0)
			goto done;
		if (!rc) {
			ret = 0;
			break;
		}
		memset(item, 0, sizeof(*item));
		item->lease.work_id = w.id;
		item->app = w.app;
		snprintf(item->app_id, sizeof(item->app_id), "%s", w.subject);
		snprintf(item->lease.owner, sizeof(item->lease.owner), "%s", owner);
		item->lease.started_ms = w.at;
		if (active_build(st, item->app, &item->build, item->id, sizeof(item->id), status,
				 sizeof(status), &attempt, err) < 0)
			goto done;
		if (!item->build) {
			/* Queued by an ingest: the app's ingested commit. */
			char *sha = NULL;

			if (app_commit(st, item->app, &sha, err) < 0)
				goto done;
			if (!sha) {
				if (ah_work_finish(st, w.id, err) < 0)
					goto done;
				continue;
			}
			rc = insert_build(st, item->app, item->app_id, sha, NULL, NULL, NULL, NULL,
					  &item->build, item->id, sizeof(item->id), err);
			free(sha);
			if (rc < 0)
				goto done;
		}
		/* Attempts count on the record: queuing again resets the item's. */
		item->lease.attempt = attempt + 1;
		if ((msg = ah_work_abandoned(&w, !strcmp(status, "running"), attempt, cfg->attempts,
					     "build worker"))) {
			/* The worker of the last attempt went away: that attempt failed. */
			struct ah_build_item last = *item;

			last.lease.attempt = attempt;
			rc = ah_build_record_failed(st, &last, msg, -1, err);
			free(msg);
			if (rc < 0 || ah_work_finish(st, w.id, err) < 0)
				goto done;
			continue;
		}
		if (ah_work_claim(st, w.id, owner, item->lease.attempt, w.at + cfg->lease_ms, err) < 0)
			goto done;
		ah_now_iso(now);
		if (!(stmt = ah_stmt(st, sql_running, err)))
			goto done;
		sqlite3_bind_int64(stmt, 1, item->build);
		sqlite3_bind_int(stmt, 2, item->lease.attempt);
		ah_bind_text(stmt, 3, now);
		if (ah_step_done(st, stmt, "cannot update build", err) < 0 ||
		    ah_event(st, "build.running", item->app_id,
			     json_pack("{s:s, s:i, s:b}", "buildId", item->id, "attempt",
				       item->lease.attempt, "recovered", w.stale), err) < 0)
			goto done;
		ret = 1;
		break;
	}
done:
	return ret;
}

/*
 * builds.list: {id, limit?, offset?} -> {repositoryId, total, data:[record...]},
 * newest first.
 */
int ah_builds_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] = RECORD_COLUMNS " WHERE b.app = ? ORDER BY b.n DESC LIMIT ? OFFSET ?";
	static const char sql_count[] = "SELECT count(*) FROM builds WHERE app = ?";
	sqlite3_stmt *stmt;
	const char *id;
	sqlite3_int64 app, total = 0;
	long limit, offset;
	json_t *data;

	if (ah_param_str(params, "id", &id, err) < 0 ||
	    ah_param_int(params, "limit", 25, 1, 1000, &limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 1000000000, &offset, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	if (ah_app_lookup(st, id, &app, err) < 0 ||
	    !(stmt = ah_stmt(st, sql_count, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		total = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	sqlite3_bind_int64(stmt, 2, limit);
	sqlite3_bind_int64(stmt, 3, offset);
	if (!(data = ah_step_rows(st, stmt, record_row, "cannot read builds", err)))
		return -1;
	*out = json_pack("{s:s, s:I, s:o}", "repositoryId", id, "total", (json_int_t)total,
			 "data", data);
	return 0;
}

static int build_param(json_t *params, const char **id, struct ah_err *err)
{
	if (ah_param_str(params, "id", id, err) < 0)
		return -1;
	if (!*id)
		return ah_invalid(err, "invalid id: required");
	if (!ah_random_id_valid(*id, 'b'))
		return ah_not_found(err, "build '%s' not found", *id);
	return 0;
}

/* builds.show: {id} -> the record. */
int ah_builds_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;

	if (build_param(params, &id, err) < 0)
		return -1;
	return (*out = ah_build_json(st, id, 0, err)) ? 0 : -1;
}

#define LOGS_CHUNK_MAX (4 << 20)

/*
 * builds.logs: {id, offset?, limit?} -> {id, status, offset, nextOffset,
 * size, data}: up to limit bytes of the log from offset (bytes); a reader
 * follows by asking from nextOffset until the status is final and
 * nextOffset reaches size.
 */
int ah_builds_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id, *status;
	long offset, limit;
	json_t *rec;
	char *path;
	int ret;

	if (build_param(params, &id, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, LONG_MAX, &offset, err) < 0 ||
	    ah_param_int(params, "limit", 1 << 20, 1, LOGS_CHUNK_MAX, &limit, err) < 0 ||
	    !(rec = ah_build_json(st, id, 0, err)))
		return -1;
	status = json_string_value(json_object_get(rec, "status"));
	path = ah_build_log_path(st->dir, id);
	ret = ah_log_page(path, id, status, !strcmp(status, "succeeded") || !strcmp(status, "failed"),
			  offset, limit, out, err);
	json_decref(rec);
	free(path);
	return ret;
}

/* builds.retry: {id} -> a new pending record of a failed build's commit, queued. */
int ah_builds_retry(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT b.app, a.id, b.status, b.commit_sha, b.git_branch, b.git_ref, b.engine"
		" FROM builds b JOIN apps a ON a.n = b.app WHERE b.id = ?";
	char *app_id = NULL, *sha = NULL, *branch = NULL, *ref = NULL, *engine = NULL;
	char status[16] = "", bid[40], active[16];
	sqlite3_stmt *stmt;
	sqlite3_int64 app = 0, n;
	const char *id;
	int rc, ret = -1;

	*out = NULL;
	if (build_param(params, &id, err) < 0 || ah_begin_write(st, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
#define DUP_OR_NULL(i) (sqlite3_column_type(stmt, i) == SQLITE_NULL ? NULL : xstrdup(ah_col_text(stmt, i)))
		app = sqlite3_column_int64(stmt, 0);
		app_id = xstrdup(ah_col_text(stmt, 1));
		snprintf(status, sizeof(status), "%s", ah_col_text(stmt, 2));
		sha = DUP_OR_NULL(3);
		branch = DUP_OR_NULL(4);
		ref = DUP_OR_NULL(5);
		engine = DUP_OR_NULL(6);
#undef DUP_OR_NULL
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE) {
		ah_not_found(err, "build '%s' not found", id);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read build");
		goto done;
	}
	if (strcmp(status, "failed")) {
		ah_conflict(err, "build '%s' %s%s: only a failed build can be retried", id,
			    strcmp(status, "succeeded") ? "is " : "", status);
		goto done;
	}
	if (active_build(st, app, &n, bid, sizeof(bid), active, sizeof(active), NULL, err) < 0)
		goto done;
	if (n) {
		ah_conflict(err, "app '%s' has a build %s already (%s)", app_id,
			    !strcmp(active, "pending") ? "queued" : "running", bid);
		goto done;
	}
	if (insert_build(st, app, app_id, sha, sha ? branch : NULL, ref, engine, id, &n, bid,
			 sizeof(bid), err) < 0 ||
	    ah_work_queue(st, "build", app_id, err) < 0 ||
	    !(*out = ah_build_json(st, NULL, n, err)) || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
	}
	free(app_id);
	free(sha);
	free(branch);
	free(ref);
	free(engine);
	return ret;
}

/* builds.create: {id, ref?, engine?} -> a pending record, queued for the workers. */
int ah_builds_create(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id, *ref, *engine;

	if (ah_param_str(params, "id", &id, err) < 0 || ah_param_str(params, "ref", &ref, err) < 0 ||
	    ah_param_str(params, "engine", &engine, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	return ah_build_request(st, id, ref && *ref ? ref : NULL, engine, NULL, NULL, NULL, out,
				err);
}
