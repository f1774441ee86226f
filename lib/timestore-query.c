/*
 * The timestore read back through DuckDB (lib/timestore-query.h): the
 * query compiled by lib/timestore-compile.c over the partitions the
 * records say overlap its range, and read-only SQL in a database of its
 * own.
 */
#include <stdlib.h>
#include <string.h>
#include "duck.h"
#include "params.h"
#include "timestore.h"
#include "timestore-compile.h"
#include "timestore-query.h"
#include "timestore-rows.h"
#include "timeutil.h"

static int bind_all(duckdb_prepared_statement ps, const struct ah_ts_compiled *q)
{
	size_t i;

	for (i = 0; i < q->nr; i++) {
		const struct ah_ts_bind *b = &q->binds[i];
		idx_t n = i + 1;
		duckdb_state s;

		switch (b->kind) {
		case AH_TS_BIND_TIME:
			s = duckdb_bind_timestamp(ps, n, (duckdb_timestamp){ .micros = b->i });
			break;
		case AH_TS_BIND_DOUBLE:
			s = duckdb_bind_double(ps, n, b->d);
			break;
		case AH_TS_BIND_INT:
			s = duckdb_bind_int64(ps, n, b->i);
			break;
		case AH_TS_BIND_BOOL:
			s = duckdb_bind_boolean(ps, n, b->i != 0);
			break;
		default:
			s = duckdb_bind_varchar(ps, n, b->s);
			break;
		}
		if (s == DuckDBError)
			return -1;
	}
	return 0;
}

/* Whether a partition was written before the dataset's last schema change (it lacks a field). */
static int predates(json_t *dataset, json_t *parts)
{
	json_int_t version = json_integer_value(json_object_get(dataset, "schemaVersion"));
	json_t *p;
	size_t i;

	json_array_foreach(parts, i, p)
		if (json_integer_value(json_object_get(p, "schemaVersion")) < version)
			return 1;
	return 0;
}

int ah_ts_query(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *dataset = NULL, *parts = NULL, *paths = json_array(), *p, *rows = NULL, *cols = NULL;
	const char *slug;
	char from[AH_TIME_US_LEN], to[AH_TIME_US_LEN];
	struct ah_ts_compiled q;
	duckdb_connection conn = NULL;
	duckdb_prepared_statement ps = NULL;
	int explain = 0, truncated, ret = -1;
	size_t i;

	*out = NULL;
	ah_ts_compiled_init(&q);
	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_bool(params, "explain", &explain, err) < 0 ||
	    ah_ts_dataset(st, slug, &dataset, err) < 0)
		goto done;
	/* the range checked first, then only its partitions are read */
	if (ah_ts_compile(dataset, params, paths, &q, err) < 0)
		goto done;
	ah_time_text_us(from, q.from_us);
	ah_time_text_us(to, q.to_us);
	if (ah_ts_partitions(st, slug, from, to, &parts, err) < 0)
		goto done;
	json_array_foreach(parts, i, p)
		json_array_append(paths, json_object_get(p, "path"));
	ah_ts_compiled_release(&q);
	ah_ts_compiled_init(&q);
	q.widen = predates(dataset, parts);
	if (ah_ts_compile(dataset, params, paths, &q, err) < 0)
		goto done;
	if (explain) {
		json_t *list = json_array();

		json_array_foreach(parts, i, p)
			json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O}", "id",
				json_object_get(p, "id"), "day", json_object_get(p, "day"), "path",
				json_object_get(p, "path"), "rows", json_object_get(p, "rows")));
		*out = json_pack("{s:o, s:s, s:s}", "partitions", list, "sql", q.sql.buf, "mode",
				 q.downsampled ? "downsampled" : "raw");
		ret = 0;
		goto done;
	}
	/* no partition in the range: no rows, and DuckDB is not asked */
	if (!json_array_size(paths)) {
		*out = json_pack("{s:[], s:O, s:s}", "rows", "columns", q.columns, "mode",
				 q.downsampled ? "downsampled" : "raw");
		ret = 0;
		goto done;
	}
	if (ah_duck_connect(&conn, err) < 0)
		goto done;
	if (duckdb_prepare(conn, q.sql.buf, &ps) == DuckDBError) {
		ah_internal(err, "timestore query: %s", duckdb_prepare_error(ps));
		goto done;
	}
	if (bind_all(ps, &q) < 0) {
		ah_internal(err, "timestore query: cannot bind its values");
		goto done;
	}
	if (ah_duck_rows(ps, q.limit, 500, "timestore query", &rows, &cols, &truncated, err) < 0)
		goto done;
	/* the compiler's names and types: DuckDB's are its own (BIGINT, DOUBLE...) */
	*out = json_pack("{s:o, s:O, s:s}", "rows", rows, "columns", q.columns, "mode",
			 q.downsampled ? "downsampled" : "raw");
	rows = NULL;
	ret = 0;
done:
	if (ps)
		duckdb_destroy_prepare(&ps);
	if (conn)
		duckdb_disconnect(&conn);
	ah_ts_compiled_release(&q);
	json_decref(rows);
	json_decref(cols);
	json_decref(dataset);
	json_decref(parts);
	json_decref(paths);
	return ret;
}

/* The view of a dataset with no partition: its columns, no rows. */
static void empty_view(struct strbuf *sb, json_t *fields)
{
	static const char *const sql_types[] = { "TIMESTAMP", "VARCHAR", "DOUBLE", "BIGINT",
						 "BOOLEAN" };
	json_t *f;
	size_t i;

	strbuf_addstr(sb, "SELECT ");
	json_array_foreach(fields, i, f) {
		int t = ah_ts_type_of(json_string_value(json_object_get(f, "type")));

		strbuf_addf(sb, "%sCAST(NULL AS %s) AS \"%s\"", i ? ", " : "",
			    sql_types[t < 0 ? 1 : t], json_string_value(json_object_get(f, "name")));
	}
	strbuf_addstr(sb, " WHERE false");
}

/* A view a dataset, over its live files, into sb; its slug is checked, its names are. */
static int views(struct ah_state *st, struct strbuf *sb, struct ah_err *err)
{
	json_t *all = NULL, *d, *parts = NULL, *p, *paths;
	size_t i, j;

	if (ah_ts_datasets(st, &all, err) < 0)
		return -1;
	json_array_foreach(json_object_get(all, "datasets"), i, d) {
		const char *slug = json_string_value(json_object_get(d, "slug"));

		if (ah_ts_partitions(st, slug, NULL, NULL, &parts, err) < 0) {
			json_decref(all);
			return -1;
		}
		strbuf_addf(sb, "CREATE VIEW \"%s\" AS ", slug);
		if (!json_array_size(parts)) {
			empty_view(sb, json_object_get(d, "fields"));
		} else {
			paths = json_array();
			json_array_foreach(parts, j, p)
				json_array_append(paths, json_object_get(p, "path"));
			/* the same read_parquet() the queries use */
			strbuf_addstr(sb, "SELECT * FROM ");
			ah_ts_read_parquet_sql(sb, paths, predates(d, parts) ?
					       json_object_get(d, "fields") : NULL);
			json_decref(paths);
		}
		strbuf_addstr(sb, ";\n");
		json_decref(parts);
		parts = NULL;
	}
	json_decref(all);
	return 0;
}

/* A refused statement's kind, for its message. */
static const char *statement_kind(duckdb_statement_type t)
{
	switch (t) {
	case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
	case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
	case DUCKDB_STATEMENT_TYPE_EXPLAIN: return "EXPLAIN";
	case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
	case DUCKDB_STATEMENT_TYPE_PREPARE: return "PREPARE";
	case DUCKDB_STATEMENT_TYPE_CREATE: return "CREATE";
	case DUCKDB_STATEMENT_TYPE_EXECUTE: return "EXECUTE";
	case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
	case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "a transaction";
	case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
	case DUCKDB_STATEMENT_TYPE_ANALYZE: return "ANALYZE";
	case DUCKDB_STATEMENT_TYPE_VARIABLE_SET: return "SET";
	case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE FUNCTION";
	case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
	case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
	case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
	case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
	case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
	case DUCKDB_STATEMENT_TYPE_SET: return "SET";
	case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD or INSTALL";
	case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
	case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
	default: return "this kind of statement";
	}
}

int ah_ts_sql(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *sql;
	long limit;
	struct strbuf setup = STRBUF_INIT;
	duckdb_database db = NULL;
	duckdb_connection conn = NULL;
	duckdb_extracted_statements ex = NULL;
	duckdb_prepared_statement ps = NULL;
	json_t *rows = NULL, *cols = NULL;
	int truncated, ret = -1;
	char *dir = NULL;
	idx_t n;

	*out = NULL;
	if (ah_param_need_str(params, "sql", &sql, err) < 0 ||
	    ah_param_int(params, "limit", AH_TS_LIMIT_MAX, 1, AH_TS_LIMIT_MAX, &limit, err) < 0)
		return -1;
	if (strlen(sql) > 65536)
		return ah_invalid(err, "sql: at most 64 KiB");
	if (views(st, &setup, err) < 0)
		goto done;
	/*
	 * Its own database: what is locked here stays here, and serve's
	 * database keeps writing Parquet. Files are read from the timestore
	 * only, and the settings cannot be changed back. DuckDB allows its
	 * spill directory too (.tmp, under the current directory): none.
	 */
	dir = xstrfmt("%s/timestore/", st->dir);
	strbuf_addstr(&setup, "SET temp_directory = ''; SET allowed_directories = ['");
	{
		const char *c;

		for (c = dir; *c; c++) {
			if (*c == '\'')
				strbuf_addch(&setup, '\'');
			strbuf_addch(&setup, *c);
		}
	}
	/* and a query that runs away stops at a bound of memory, not the machine's */
	strbuf_addstr(&setup, "']; SET enable_external_access = false; SET memory_limit = '1GB';"
		      " SET lock_configuration = true;");
	if (ah_duck_open_private(&db, &conn, err) < 0 ||
	    ah_duck_exec(conn, setup.buf, "timestore sql: the datasets' views", err) < 0)
		goto done;
	n = duckdb_extract_statements(conn, sql, &ex);
	if (!n) {
		ah_invalid(err, "sql: %s", ex ? duckdb_extract_statements_error(ex) : "nothing to run");
		goto done;
	}
	if (n > 1) {
		ah_invalid(err, "sql: one statement at a time");
		goto done;
	}
	if (duckdb_prepare_extracted_statement(conn, ex, 0, &ps) == DuckDBError) {
		ah_invalid(err, "sql: %s", duckdb_prepare_error(ps));
		goto done;
	}
	if (duckdb_prepared_statement_type(ps) != DUCKDB_STATEMENT_TYPE_SELECT) {
		ah_invalid(err, "sql: only a query (SELECT, WITH ... SELECT) is allowed, not %s: the"
			   " timestore is read-only here",
			   statement_kind(duckdb_prepared_statement_type(ps)));
		goto done;
	}
	if (duckdb_nparams(ps)) {
		ah_invalid(err, "sql: parameters ($1, ?) have no values here");
		goto done;
	}
	if (ah_duck_rows(ps, limit, 400, "sql", &rows, &cols, &truncated, err) < 0)
		goto done;
	*out = json_pack("{s:o, s:o, s:b}", "rows", rows, "columns", cols, "truncated", truncated);
	rows = cols = NULL;
	ret = 0;
done:
	if (ps)
		duckdb_destroy_prepare(&ps);
	if (ex)
		duckdb_destroy_extracted(&ex);
	if (conn)
		duckdb_disconnect(&conn);
	if (db)
		duckdb_close(&db);
	json_decref(rows);
	json_decref(cols);
	strbuf_release(&setup);
	free(dir);
	return ret;
}
