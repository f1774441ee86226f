/*
 * The event log: appending an event in the caller's transaction, in bulk
 * for imports, and listing them for events and GET /events.
 */
#include <limits.h>
#include <stdlib.h>
#include "events.h"
#include "timeutil.h"

int ah_event(struct ah_state *st, const char *type, const char *subject, json_t *data,
	     struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO events(time, type, subject, data) VALUES (?, ?, ?, ?)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN], *text = data ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int ret = -1;

	if (stmt) {
		ah_now_iso(now);
		ah_bind_kept(stmt, 1, now);
		ah_bind_kept(stmt, 2, type);
		ah_bind_kept(stmt, 3, subject);
		ah_bind_kept(stmt, 4, text ? text : "{}");
		ret = ah_step_done(st, stmt, "cannot record event", err);
	}
	free(text);
	json_decref(data);
	return ret;
}

int ah_events_rows(struct ah_state *st, struct ah_text_rows *rows, struct ah_err *err)
{
	static const char sql[] =
		AH_ROWS_WITH
		" INSERT INTO events(time, type, subject, data)"
		" SELECT ah_text_row(?1, x, 1), ah_text_row(?1, x, 2), ah_text_row(?1, x, 3),"
		"  ah_text_row(?1, x, 4) FROM i";
	sqlite3_stmt *stmt;
	int r = ah_rows_stmt(st, sql, rows, AH_TEXT_ROWS_PTR, rows->nr, &stmt, err);

	return r <= 0 ? r : ah_step_done(st, stmt, "cannot record events", err);
}

static json_t *event_row(sqlite3_stmt *stmt)
{
	json_t *data = json_loads(ah_col_text(stmt, 4), 0, NULL);

	return json_pack("{s:I, s:s, s:s, s:s?, s:o}",
			 "id", (json_int_t)sqlite3_column_int64(stmt, 0),
			 "time", ah_col_text(stmt, 1),
			 "type", ah_col_text(stmt, 2),
			 "subject", (const char *)sqlite3_column_text(stmt, 3),
			 "data", data ? data : json_object());
}

/*
 * The events after since (with has_since), oldest first; without, the
 * newest limit, still oldest first, so a follower can carry on from the
 * last id. type is a glob or NULL.
 */
json_t *ah_events_list(struct ah_state *st, int has_since, long since, const char *type,
		       long limit, struct ah_err *err)
{
	static const char sql_since[] =
		"SELECT id, time, type, subject, data FROM events"
		" WHERE id > ?1 AND (?2 IS NULL OR type GLOB ?2) ORDER BY id LIMIT ?3";
	static const char sql_tail[] =
		"SELECT * FROM (SELECT id, time, type, subject, data FROM events"
		" WHERE (?2 IS NULL OR type GLOB ?2) ORDER BY id DESC LIMIT ?3) ORDER BY id";
	sqlite3_stmt *stmt = ah_stmt(st, has_since ? sql_since : sql_tail, err);

	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, since);
	ah_bind_text(stmt, 2, type && *type ? type : NULL);
	sqlite3_bind_int64(stmt, 3, limit);
	return ah_step_rows(st, stmt, event_row, "cannot list events", err);
}
