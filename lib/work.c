/*
 * The work queue: items of a kind about an app (or a run), claimed with a lease,
 * released with backoff, finished; the runner drives it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "timeutil.h"
#include "usage.h"
#include "work.h"

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

int ah_work_queue_rows(struct ah_state *st, const char *kind, struct ah_text_rows *rows,
		       struct ah_err *err)
{
	/* "WHERE true" tells the upsert's ON from a join's. */
	static const char sql[] =
		AH_ROWS_WITH
		" INSERT INTO work(kind, subject, created_at)"
		" SELECT ?3, ah_text_row(?1, x, 3), ah_text_row(?1, x, 1) FROM i WHERE true"
		" ON CONFLICT(kind, subject) DO UPDATE SET attempts = 0, not_before = 0";
	sqlite3_stmt *stmt;
	int r = ah_rows_stmt(st, sql, rows, AH_TEXT_ROWS_PTR, rows->nr, &stmt, err);

	if (r <= 0)
		return r;
	ah_bind_text(stmt, 3, kind);
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

/*
 * The next due item, its app gone or not (apps: the subject is an app id;
 * else item->app is 0): 1, 0 or -1.
 */
static int next_due_item(struct ah_state *st, const char *kind, const char *only_subject,
			 int apps, struct ah_work_item *item, struct ah_err *err)
{
	/*
	 * Oldest due first; id breaks ties so that the order is the queuing
	 * order. The subject's app row comes along (NULL: the app is gone).
	 */
#define NEXT_DUE_SQL(app, join) \
		"SELECT w.id, w.subject, w.attempts, w.claimed_by IS NOT NULL, " app \
		" FROM work w " join \
		" WHERE w.kind = ?3 AND w.not_before <= ?1" \
		" AND (w.claimed_by IS NULL OR w.lease_until < ?1) AND (?2 IS NULL OR w.subject = ?2)" \
		" ORDER BY w.not_before, w.id LIMIT 1"
	static const char sql_apps[] = NEXT_DUE_SQL("a.n", "LEFT JOIN apps a ON a.id = w.subject");
	static const char sql[] = NEXT_DUE_SQL("0", "");
#undef NEXT_DUE_SQL
	sqlite3_stmt *stmt = ah_stmt(st, apps ? sql_apps : sql, err);
	int rc;

	memset(item, 0, sizeof(*item));
	if (!stmt)
		return -1;
	item->at = ah_now_ms();
	sqlite3_bind_int64(stmt, 1, item->at);
	ah_bind_text(stmt, 2, only_subject);
	ah_bind_text(stmt, 3, kind);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		item->id = sqlite3_column_int64(stmt, 0);
		snprintf(item->subject, sizeof(item->subject), "%s", ah_col_text(stmt, 1));
		item->attempts = sqlite3_column_int(stmt, 2);
		item->stale = sqlite3_column_int(stmt, 3);
		item->app = sqlite3_column_int64(stmt, 4);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read work queue");
	return rc == SQLITE_ROW;
}

int ah_work_next(struct ah_state *st, const char *kind, const char *only_subject,
		 struct ah_work_item *item, struct ah_err *err)
{
	int r;

	while ((r = next_due_item(st, kind, only_subject, 1, item, err)) > 0 && !item->app)
		/* The app is gone: so is its work. */
		if (ah_work_finish(st, item->id, err) < 0)
			return -1;
	return r;
}

int ah_work_next_any(struct ah_state *st, const char *kind, const char *only_subject,
		     struct ah_work_item *item, struct ah_err *err)
{
	return next_due_item(st, kind, only_subject, 0, item, err);
}

int ah_work_claim(struct ah_state *st, sqlite3_int64 id, const char *owner, int attempt,
		  int64_t lease_until, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE work SET attempts = ?2, claimed_by = ?3, lease_until = ?4 WHERE id = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, attempt);
	ah_bind_text(stmt, 3, owner);
	sqlite3_bind_int64(stmt, 4, lease_until);
	return ah_step_done(st, stmt, "cannot claim work", err);
}

int ah_work_renew(struct ah_state *st, sqlite3_int64 id, const char *owner, int64_t lease_ms,
		  struct ah_err *err)
{
	/* Only while ours: a lease another worker has taken over stays theirs. */
	static const char sql[] =
		"UPDATE work SET lease_until = ?3 WHERE id = ?1 AND claimed_by = ?2";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	ah_bind_text(stmt, 2, owner);
	sqlite3_bind_int64(stmt, 3, ah_now_ms() + lease_ms);
	return ah_step_done(st, stmt, "cannot renew lease", err);
}

int ah_work_is_ours(struct ah_state *st, sqlite3_int64 id, const char *owner, int attempt,
		    struct ah_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM work WHERE id = ?1 AND claimed_by = ?2 AND attempts = ?3";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	ah_bind_text(stmt, 2, owner);
	sqlite3_bind_int(stmt, 3, attempt);
	return ah_step_exists(st, stmt, "cannot read work queue", err);
}

int ah_work_next_due(struct ah_state *st, const char *kind, int64_t *when, struct ah_err *err)
{
	/*
	 * An item another worker holds is still in the queue: it ends, comes
	 * back for a retry, or its lease runs out and it is taken again.
	 */
	static const char sql[] =
		"SELECT min(CASE WHEN claimed_by IS NULL THEN not_before ELSE lease_until END)"
		" FROM work WHERE kind = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*when = 0;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, kind);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*when = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read work queue");
	return 0;
}

int ah_work_release(struct ah_state *st, sqlite3_int64 id, int64_t not_before,
		    struct ah_err *err)
{
	static const char sql[] =
		"UPDATE work SET claimed_by = NULL, lease_until = 0, not_before = ?2 WHERE id = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, not_before);
	return ah_step_done(st, stmt, "cannot update work queue", err);
}

int ah_work_finish(struct ah_state *st, sqlite3_int64 id, struct ah_err *err)
{
	static const char sql[] = "DELETE FROM work WHERE id = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return ah_step_done(st, stmt, "cannot update work queue", err);
}

int ah_work_finish_attempt(struct ah_state *st, sqlite3_int64 id, int attempt,
			   struct ah_err *err)
{
	static const char sql[] = "SELECT attempts FROM work WHERE id = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc, attempts = -1;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		attempts = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read work queue");
	if (attempts < 0)
		return 0;	/* dropped already (ah_work_drop) */
	if (attempts == attempt)
		return ah_work_finish(st, id, err);
	return ah_work_release(st, id, 0, err);
}

void ah_work_owner(char *buf, size_t len)
{
	char host[64] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "%s:%ld", host, (long)getpid());
}

int64_t ah_work_retry_at(int64_t backoff_ms, int attempt)
{
	int64_t delay = backoff_ms;
	int i;

	for (i = 1; i < attempt && delay < INT64_MAX / 4; i++)
		delay *= 2;
	return ah_now_ms() + delay;
}

int ah_work_died(struct ah_state *st, const struct ah_work_lease *l, int attempts,
		 int64_t backoff_ms, const char *why, char **message, char *retry_at,
		 struct ah_err *err)
{
	int64_t due;

	*retry_at = '\0';
	if (l->attempt >= attempts) {
		*message = xstrfmt("%s (attempt %d of %d)", why, l->attempt, attempts);
		return ah_work_finish_attempt(st, l->work_id, l->attempt, err) < 0 ? -1 : 1;
	}
	due = ah_work_retry_at(backoff_ms, l->attempt);
	ah_iso_time(retry_at, due);
	*message = xstrfmt("%s (attempt %d of %d; retry at %s)", why, l->attempt, attempts, retry_at);
	return ah_work_release(st, l->work_id, due, err) < 0 ? -1 : 0;
}

char *ah_work_abandoned(const struct ah_work_item *w, int running, int attempt, int attempts,
			const char *worker)
{
	if (!w->stale || !running || attempt < attempts)
		return NULL;
	return xstrfmt("the %s stopped during attempt %d of %d (its lease ran out)", worker, attempt,
		       attempts);
}
