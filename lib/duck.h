#ifndef DUCK_H
#define DUCK_H

#include <duckdb.h>
#include "err.h"

/*
 * The process's one DuckDB database (in memory; the timestore's data is
 * in Parquet files it reads and writes), opened on first use and kept:
 * opening it costs tens of milliseconds, so a long-lived apphub-timestore
 * (serve's) pays that once. Each caller takes its own connection.
 */
int ah_duck_connect(duckdb_connection *conn, struct ah_err *err);

/*
 * A database of the caller's own, in memory, set as the process's is,
 * and a connection to it: for what must not touch the shared one (SQL
 * whose settings are locked down). duckdb_disconnect and duckdb_close.
 */
int ah_duck_open_private(duckdb_database *db, duckdb_connection *conn, struct ah_err *err);

/* Runs sql (no result wanted); a failure is err, "<what>: <DuckDB's message>". */
int ah_duck_exec(duckdb_connection conn, const char *sql, const char *what, struct ah_err *err);

/* Closes the database at exit (tests under the leak checker). */
void ah_duck_shutdown(void);

#endif
