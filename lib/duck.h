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

/* Runs sql (no result wanted); a failure is err, "<what>: <DuckDB's message>". */
int ah_duck_exec(duckdb_connection conn, const char *sql, const char *what, struct ah_err *err);

/* Closes the database at exit (tests under the leak checker). */
void ah_duck_shutdown(void);

#endif
