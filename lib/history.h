#ifndef HISTORY_H
#define HISTORY_H

#include <jansson.h>
#include "state.h"

/*
 * Ingestion history: every status transition of an app's ingest is a row
 * {status, message, attempt, commitSha, durationMs, createdAt}. These are
 * plain SQL, so the light binary carries them (apps history, apps retry).
 */
#define AH_INGEST_ERROR_MAX 500

/*
 * Appends a transition inside the caller's transaction. attempt <= 0,
 * sha NULL and duration_ms < 0 are stored as null.
 */
int ah_ingest_event(struct ah_state *st, sqlite3_int64 app, const char *status,
		    const char *message, int attempt, const char *sha, long long duration_ms,
		    struct ah_err *err);

/*
 * A first transition (no attempt, sha or duration) for each row of rows,
 * in one statement, with the rows of ah_events_rows(): the row's id is the
 * app, cell 1 the time.
 */
int ah_ingest_events_rows(struct ah_state *st, const char *status, const char *message,
			  struct ah_text_rows *rows, struct ah_err *err);

/*
 * Records that app n (id) waits in the ingest queue: the "pending" row and
 * the app.ingest.queued event. The caller has set the status and queued
 * the work item in the same transaction.
 */
int ah_ingest_queued(struct ah_state *st, sqlite3_int64 n, const char *id, struct ah_err *err);

/* App n's ingestion history, newest first, at most limit rows: [event...]. */
json_t *ah_history_list(struct ah_state *st, sqlite3_int64 n, long limit, struct ah_err *err);

#endif
