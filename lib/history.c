/*
 * An app's ingestion history: one row per state its ingest passes through,
 * written by registration and the ingest worker, listed newest first.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "history.h"
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

json_t *ah_history_list(struct ah_state *st, sqlite3_int64 n, long limit, struct ah_err *err)
{
	static const char sql[] =
		"SELECT status, message, attempt, commit_sha, duration_ms, created_at"
		" FROM ingestion_events WHERE app = ? ORDER BY id DESC LIMIT ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int64(stmt, 2, limit);
	return ah_step_rows(st, stmt, history_row, "cannot read ingestion history", err);
}
