#include "work.h"
#include "timeutil.h"

int ah_work_queue(struct ah_state *st, const char *kind, const char *subject,
		  struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO work(kind, subject, created_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(kind, subject) DO UPDATE SET attempts = 0, not_before = 0";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_now_iso(now);
	ah_bind_text(stmt, 1, kind);
	ah_bind_text(stmt, 2, subject);
	ah_bind_text(stmt, 3, now);
	return ah_step_done(st, stmt, "cannot queue work", err);
}

int ah_work_drop(struct ah_state *st, const char *kind, const char *subject,
		 struct ah_err *err)
{
	static const char sql[] =
		"DELETE FROM work WHERE subject = ?2 AND (?1 IS NULL OR kind = ?1)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, kind);
	ah_bind_text(stmt, 2, subject);
	return ah_step_done(st, stmt, "cannot drop work", err);
}
