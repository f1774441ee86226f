#include <stdlib.h>
#include <string.h>
#include "apps.h"
#include "events.h"
#include "history.h"
#include "ops.h"
#include "timeutil.h"
#include "work.h"

int ah_ingest_event(struct ah_state *st, sqlite3_int64 app, const char *status,
		    const char *message, int attempt, const char *sha, long long duration_ms,
		    struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO ingestion_events(app, status, message, attempt, commit_sha,"
		" duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, app);
	ah_bind_text(stmt, 2, status);
	ah_bind_text(stmt, 3, message);
	if (attempt > 0)
		sqlite3_bind_int(stmt, 4, attempt);
	ah_bind_text(stmt, 5, sha);
	if (duration_ms >= 0)
		sqlite3_bind_int64(stmt, 6, duration_ms);
	ah_bind_text(stmt, 7, now);
	return ah_step_done(st, stmt, "cannot record ingestion event", err);
}

int ah_ingest_events_rows(struct ah_state *st, const char *status, const char *message,
			  struct ah_text_rows *rows, struct ah_err *err)
{
	static const char sql[] =
		AH_ROWS_WITH
		" INSERT INTO ingestion_events(app, status, message, created_at)"
		" SELECT ah_text_row(?1, x, 0), ?3, ?4, ah_text_row(?1, x, 1) FROM i";
	sqlite3_stmt *stmt;
	int r = ah_rows_stmt(st, sql, rows, AH_TEXT_ROWS_PTR, rows->nr, &stmt, err);

	if (r <= 0)
		return r;
	ah_bind_text(stmt, 3, status);
	ah_bind_text(stmt, 4, message);
	return ah_step_done(st, stmt, "cannot record ingestion events", err);
}

int ah_ingest_queued(struct ah_state *st, sqlite3_int64 n, const char *id, struct ah_err *err)
{
	if (ah_ingest_event(st, n, "pending", "Queued for ingestion", 0, NULL, -1, err) < 0)
		return -1;
	return ah_event(st, "app.ingest.queued", id, NULL, err);
}

static json_t *history_row(sqlite3_stmt *stmt)
{
	json_t *row = json_pack("{s:s, s:s?}", "status", ah_col_text(stmt, 0),
				"message", (const char *)sqlite3_column_text(stmt, 1));

	json_object_set_new(row, "attempt", sqlite3_column_type(stmt, 2) == SQLITE_NULL ?
			    json_null() : json_integer(sqlite3_column_int(stmt, 2)));
	json_object_set_new(row, "commitSha", sqlite3_column_type(stmt, 3) == SQLITE_NULL ?
			    json_null() : json_string(ah_col_text(stmt, 3)));
	json_object_set_new(row, "durationMs", sqlite3_column_type(stmt, 4) == SQLITE_NULL ?
			    json_null() : json_integer(sqlite3_column_int64(stmt, 4)));
	json_object_set_new(row, "createdAt", json_string(ah_col_text(stmt, 5)));
	return row;
}

/* apps.history: {id, limit?} -> {data:[event...]}, newest first. */
static int op_apps_history(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT status, message, attempt, commit_sha, duration_ms, created_at"
		" FROM ingestion_events WHERE app = ? ORDER BY id DESC LIMIT ?";
	struct ah_state *st;
	sqlite3_stmt *stmt;
	const char *id;
	sqlite3_int64 n;
	long limit;
	json_t *data;

	if (ah_param_str(params, "id", &id, err) < 0 ||
	    ah_param_int(params, "limit", 25, 1, 1000, &limit, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	if (ah_ctx_state(ctx, &st, err) < 0 || ah_app_lookup(st, id, &n, err) < 0 ||
	    !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int64(stmt, 2, limit);
	if (!(data = ah_step_rows(st, stmt, history_row, "cannot read ingestion history", err)))
		return -1;
	*out = json_pack("{s:s, s:o}", "id", id, "data", data);
	return 0;
}

/*
 * apps.retry: {id} -> the app, queued again. An app that waits or is being
 * ingested is a conflict.
 */
static int op_apps_retry(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql_status[] = "SELECT status FROM apps WHERE n = ?";
	static const char sql_pending[] =
		"UPDATE apps SET status = 'pending', updated_at = ?2 WHERE n = ?1";
	struct ah_state *st = NULL;
	char now[AH_ISO_LEN], *status = NULL;
	sqlite3_stmt *stmt;
	const char *id;
	sqlite3_int64 n;
	int rc, ret = -1;

	if (ah_param_str(params, "id", &id, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	if (ah_ctx_state(ctx, &st, err) < 0 || ah_begin_write(st, err) < 0)
		return -1;
	if (ah_app_lookup(st, id, &n, err) < 0 || !(stmt = ah_stmt(st, sql_status, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		status = xstrdup(ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read app");
		goto done;
	}
	if (!strcmp(status, "pending") || !strcmp(status, "processing")) {
		ah_conflict(err, "app '%s' is already %s", id,
			    !strcmp(status, "pending") ? "queued for ingestion" : "being ingested");
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_pending, err)))
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, now);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot queue app");
		goto done;
	}
	if (ah_work_queue(st, "ingest", id, err) < 0 || ah_ingest_queued(st, n, id, err) < 0 ||
	    !(*out = ah_app_json(st, n, err)) || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
	}
	free(status);
	return ret;
}

const struct ah_op ops_history[] = {
	{ "apps.history", "GET", "/apps/:id/history", SCOPE_NONE, op_apps_history,
	  "An app's ingestion history, newest first" },
	{ "apps.retry", "POST", "/apps/:id/retry", SCOPE_APPS_WRITE, op_apps_retry,
	  "Queue an app for ingestion again" },
	{ NULL },
};
