#ifndef STATE_H
#define STATE_H

#include <jansson.h>
#include <sqlite3.h>
#include "err.h"

/*
 * The state directory and its SQLite database. Opening resolves the
 * directory (-C, $APPHUB_HOME, $XDG_STATE_HOME/apphub, ~/.local/state/apphub),
 * creates it, and brings the schema up to date. Prepared statements are
 * cached per connection, keyed by the address of their SQL text, so the hot
 * paths (import, search) prepare each statement once.
 */
struct ah_state {
	char *dir;
	sqlite3 *db;
	struct stmt_cache {
		const char *sql;
		sqlite3_stmt *stmt;
	} *cache;
	size_t cache_nr, cache_alloc;
	/* Tags linked while counting is deferred (ah_tags_defer_counts). */
	sqlite3_int64 *tag_counts;
	size_t tag_counts_nr, tag_counts_alloc;
	int defer_tag_counts;
	/* Tag ids interned meanwhile (lib/tags.c), by lowercased key and value. */
	struct ah_tag_id *tag_ids;
	size_t tag_ids_nr, tag_ids_cap;
	/* New apps' links not yet written (ah_tag_link_new), all from one source. */
	struct ah_int_rows *links;
	const char *links_source;
	struct ah_checkpointer *checkpointer;
	/* The WAL's frames after this connection's last commit (its WAL hook). */
	int wal_frames;
	/* Writes grouped (ah_group_start): on, the group's transaction open, its savepoints. */
	int group, group_open, group_depth;
};

/* The schema version this build writes (PRAGMA user_version). */
int ah_schema_version(void);

char *ah_state_resolve_dir(const char *opt);
int ah_state_open(struct ah_state **out, const char *dir_opt, struct ah_err *err);
/*
 * The SQL functions apphub's statements use (ah_contains, the stemmer,
 * ...), on a connection ah_state_open did not make (tests, fuzzers).
 */
int ah_sql_functions(sqlite3 *db);
void ah_state_close(struct ah_state *st);

/*
 * A statement for sql, reset and with its bindings cleared. sql must be a
 * string with static storage: its address is the cache key.
 */
sqlite3_stmt *ah_stmt(struct ah_state *st, const char *sql, struct ah_err *err);

/* Fills err from the connection's last error; returns -1. */
int ah_sql_error(struct ah_state *st, struct ah_err *err, const char *what);

/*
 * Steps a cached statement and resets it: ah_step_done for one that yields
 * no row, ah_step_exists for whether it yields one (1) or not (0); what
 * names the failure.
 */
int ah_step_done(struct ah_state *st, sqlite3_stmt *stmt, const char *what, struct ah_err *err);
int ah_step_exists(struct ah_state *st, sqlite3_stmt *stmt, const char *what, struct ah_err *err);
/* Every row of a cached statement as row() makes it, in an array; NULL on error. */
json_t *ah_step_rows(struct ah_state *st, sqlite3_stmt *stmt, json_t *(*row)(sqlite3_stmt *),
		     const char *what, struct ah_err *err);

/*
 * For bulk writes: from now on the connection's commits have a thread
 * with its own connection checkpoint the WAL, while the writer goes on to
 * its next transaction, instead of checkpointing it themselves. Once is
 * enough; ah_state_close() stops the thread. When no thread can be had,
 * the connection checkpoints as before.
 */
void ah_checkpoint_behind(struct ah_state *st);

/* Runs a statement without results. */
int ah_exec(struct ah_state *st, const char *sql, struct ah_err *err);

/*
 * BEGIN IMMEDIATE (writers) or BEGIN (consistent reads); COMMIT; ROLLBACK.
 * In a group, a savepoint in the group's transaction: released, or rolled
 * back alone.
 */
int ah_begin_write(struct ah_state *st, struct ah_err *err);
int ah_begin_read(struct ah_state *st, struct ah_err *err);
int ah_commit(struct ah_state *st, struct ah_err *err);
void ah_rollback(struct ah_state *st);

/*
 * Groups the transactions that follow (a load's many small ones) into one
 * that ah_group_commit makes durable: each is still atomic, and all of
 * them are written once, not each again in the WAL with the pages they
 * share (a bulk load of 1,000,000 records: 12.3 s a transaction a
 * document of 100, 10.1 s ten documents a commit). The group's own
 * transaction begins at its first write and holds the database's write
 * lock until the commit: the caller commits often.
 */
void ah_group_start(struct ah_state *st);
/* 0 (also with nothing to commit), or -1 when the writes since the last commit are lost. */
int ah_group_commit(struct ah_state *st, struct ah_err *err);

/*
 * A set of app numbers (or any small non-negative integers) for SQL:
 * "ah_in_bitmap(?, n)" with the set bound by
 * sqlite3_bind_pointer(stmt, i, bitmap, AH_BITMAP_PTR, NULL).
 */
#define AH_BITMAP_PTR "ah_bitmap"
struct ah_bitmap {
	unsigned char *bits;
	sqlite3_uint64 nbits;
};

/*
 * Rows built in C for one multi-row statement: "ah_text_row(?, i, c)" is
 * row i's id for c = 0, else its text cell c (1-based), with the rows bound
 * by sqlite3_bind_pointer(stmt, k, rows, AH_TEXT_ROWS_PTR, NULL). The cells
 * are passed without a copy: keep the rows until the statement is reset.
 */
#define AH_TEXT_ROWS_PTR "ah_text_rows"
struct ah_text_rows {
	size_t ncols, nr, alloc;
	sqlite3_int64 *ids;
	char **cells;		/* ncols a row, owned */
};

/* Appends a row; the cells are taken over (freed by ah_text_rows_release). */
void ah_text_rows_add(struct ah_text_rows *rows, sqlite3_int64 id, char **cells);
void ah_text_rows_release(struct ah_text_rows *rows);

/*
 * A statement over rows built in C (text or int rows, ptr_type telling
 * which) starts with AH_ROWS_WITH and reads "FROM i", x the row's index;
 * ?1 is the rows, ?2 their number. ah_rows_stmt() prepares and binds those
 * two: 1 with *stmt ready for the caller's own parameters (from ?3), 0
 * when there are no rows, -1.
 */
/*
 * The search index's dockerfile column for an app's Dockerfile path: none
 * for the root Dockerfile, which every app but a few has, so that "doc"
 * does not find them all.
 */
#define AH_FTS_DOCKERFILE(path) "nullif(" path ", 'Dockerfile')"

#define AH_ROWS_WITH \
	"WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x + 1 < ?2)"
int ah_rows_stmt(struct ah_state *st, const char *sql, void *rows, const char *ptr_type,
		 size_t nr, sqlite3_stmt **stmt, struct ah_err *err);

/* The same for rows of integers: "ah_int_row(?, i, c)", c 0-based. */
#define AH_INT_ROWS_PTR "ah_int_rows"
struct ah_int_rows {
	size_t ncols, nr, alloc;
	sqlite3_int64 *v;	/* ncols a row */
};

void ah_int_rows_add(struct ah_int_rows *rows, const sqlite3_int64 *row);
void ah_int_rows_release(struct ah_int_rows *rows);

/* Binds a string, or NULL for a NULL pointer. */
int ah_bind_text(sqlite3_stmt *stmt, int i, const char *s);
/*
 * The same for a string the caller keeps until the statement has stepped
 * (ah_step_done resets it): not copied (a bulk load's metadata, hundreds
 * of bytes a record).
 */
int ah_bind_kept(sqlite3_stmt *stmt, int i, const char *s);
/* A column as a string, "" for NULL. */
const char *ah_col_text(sqlite3_stmt *stmt, int i);
/*
 * A column as a JSON value, null for NULL: its text as a string, its
 * integer, or the JSON document apphub wrote there, read back (null when
 * it does not read).
 */
json_t *ah_col_string(sqlite3_stmt *stmt, int i);
json_t *ah_col_integer(sqlite3_stmt *stmt, int i);
json_t *ah_col_json(sqlite3_stmt *stmt, int i);

#endif
