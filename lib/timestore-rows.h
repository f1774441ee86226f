#ifndef TIMESTORE_ROWS_H
#define TIMESTORE_ROWS_H

#include <jansson.h>
#include "duck.h"

/*
 * Runs prepared statement st, streaming, into *rows [{column: value}] (at
 * most limit; a row more sets *truncated and stops it) and *columns
 * [{name, type}] (timestamp, string, double, integer, boolean as the
 * dataset types; date, time, interval, uuid, blob, list, struct, map
 * otherwise). DuckDB's errors are bad_status ("<what>: <message>"): 400
 * for SQL a user wrote, 500 for ours. A type with no JSON form is 400.
 */
int ah_duck_rows(duckdb_prepared_statement st, long limit, int bad_status, const char *what,
		 json_t **rows, json_t **columns, int *truncated, struct ah_err *err);

#endif
