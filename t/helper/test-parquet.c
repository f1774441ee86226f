/*
 * test-parquet SQL: runs SQL in an in-memory DuckDB and prints the rows,
 * tab-separated (NULL as "NULL"): the timestore's tests read the Parquet
 * files back with another reader than apphub's (read_parquet(...)). A
 * program of its own, so that test-tool does not load DuckDB.
 */
#include <stdio.h>
#include <duckdb.h>

int main(int argc, char **argv)
{
	duckdb_database db;
	duckdb_connection conn;
	duckdb_result res;
	idx_t r, c, rows, cols;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-parquet <sql>\n");
		return 129;
	}
	if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &conn) == DuckDBError) {
		fprintf(stderr, "test-parquet: cannot open duckdb\n");
		return 1;
	}
	if (duckdb_query(conn, argv[1], &res) == DuckDBError) {
		fprintf(stderr, "test-parquet: %s\n", duckdb_result_error(&res));
		goto done;
	}
	rows = duckdb_row_count(&res);
	cols = duckdb_column_count(&res);
	for (r = 0; r < rows; r++)
		for (c = 0; c < cols; c++) {
			char *v = duckdb_value_varchar(&res, c, r);

			printf("%s%s", v ? v : "NULL", c + 1 < cols ? "\t" : "\n");
			duckdb_free(v);
		}
	ret = 0;
done:
	duckdb_destroy_result(&res);
	duckdb_disconnect(&conn);
	duckdb_close(&db);
	return ret;
}
