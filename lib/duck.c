/*
 * The process's DuckDB database (lib/duck.h).
 */
#include <pthread.h>
#include "duck.h"

static duckdb_database shared_db;
static int db_open;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_db(duckdb_database *out, struct ah_err *err)
{
	duckdb_config config = NULL;
	char *why = NULL;
	int ret = -1;

	if (duckdb_create_config(&config) == DuckDBError)
		return ah_internal(err, "duckdb: cannot make a configuration");
	/* No extension is ever fetched: everything used is built in. */
	duckdb_set_config(config, "autoinstall_known_extensions", "false");
	duckdb_set_config(config, "autoload_known_extensions", "false");
	if (duckdb_open_ext(NULL, out, config, &why) == DuckDBError)
		ah_internal(err, "duckdb: %s", why ? why : "cannot open");
	else
		ret = 0;
	duckdb_destroy_config(&config);
	if (why)
		duckdb_free(why);
	return ret;
}

int ah_duck_open_private(duckdb_database *db, duckdb_connection *conn, struct ah_err *err)
{
	if (open_db(db, err) < 0)
		return -1;
	if (duckdb_connect(*db, conn) == DuckDBError) {
		duckdb_close(db);
		return ah_internal(err, "duckdb: cannot connect");
	}
	return 0;
}

int ah_duck_connect(duckdb_connection *conn, struct ah_err *err)
{
	int ret = -1;

	pthread_mutex_lock(&db_lock);
	if (!db_open) {
		if (open_db(&shared_db, err) < 0)
			goto done;
		db_open = 1;
	}
	if (duckdb_connect(shared_db, conn) == DuckDBError) {
		ah_internal(err, "duckdb: cannot connect");
		goto done;
	}
	ret = 0;
done:
	pthread_mutex_unlock(&db_lock);
	return ret;
}

int ah_duck_exec(duckdb_connection conn, const char *sql, const char *what, struct ah_err *err)
{
	duckdb_result res;
	int ret = 0;

	if (duckdb_query(conn, sql, &res) == DuckDBError) {
		const char *msg = duckdb_result_error(&res);

		ah_internal(err, "%s: %s", what, msg ? msg : "failed");
		ret = -1;
	}
	duckdb_destroy_result(&res);
	return ret;
}

void ah_duck_shutdown(void)
{
	pthread_mutex_lock(&db_lock);
	if (db_open)
		duckdb_close(&shared_db);
	db_open = 0;
	pthread_mutex_unlock(&db_lock);
}
