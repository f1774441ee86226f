/*
 * libFuzzer target for lib/metastore-filter.c. The input is a filter (JSON),
 * a NUL, a q string, a NUL, a sort (JSON), a NUL and a projection (JSON);
 * a part that is not JSON is left out. Whatever the bytes, compiling ends
 * with a result or a 400 with a message; a result's SQL prepares over
 * migration 12's metastore_records in an in-memory SQLite with one
 * parameter per bound value, and its only literals are JSON type names and
 * checked metadata paths ('$.a.b'): nothing of the input is written into
 * the SQL otherwise.
 * Seeds: t/fuzz/seeds-mfilter. Build and run: make fuzz FUZZTIME=60
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "../../lib/metastore-filter.h"
#include "../../lib/state.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static sqlite3 *db;

static const char *const words[] = { "text", "integer", "real", "true", "false", "null",
				     "object", "array" };

static int literal_ok(const char *s, size_t n)
{
	size_t i, seg = 0;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !memcmp(words[i], s, n))
			return 1;
	if (!n || s[0] != '$')
		return 0;
	if (n == 1)
		return 1;
	for (i = 1; i < n; i++) {
		if (s[i] == '.') {
			if (i > 1 && !seg)
				return 0;
			seg = 0;
		} else if (i == 1 || !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-')) {
			return 0;
		} else {
			seg++;
		}
	}
	return seg > 0;
}

static void check_literals(const char *sql)
{
	const char *p = sql, *e;

	while ((p = strchr(p, '\''))) {
		if (!(e = strchr(p + 1, '\'')) || !literal_ok(p + 1, e - p - 1))
			abort();
		p = e + 1;
	}
}

static const char *part(const unsigned char **p, const unsigned char *end, size_t *len)
{
	const unsigned char *s = *p, *nul = s < end ? memchr(s, 0, end - s) : NULL;

	*len = nul ? (size_t)(nul - s) : (size_t)(end - s);
	*p = nul ? nul + 1 : end;
	return (const char *)s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;
	const char *s;
	size_t n;
	json_t *filter, *sort, *proj, *qf = NULL;
	char *q;
	struct ah_mfilter f;
	struct ah_err err = AH_ERR_INIT;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *stmt = NULL;

	if (!db) {
		if (sqlite3_open(":memory:", &db) != SQLITE_OK || ah_sql_functions(db) != SQLITE_OK ||
		    sqlite3_exec(db, "CREATE TABLE metastore_records (n INTEGER PRIMARY KEY,"
				 " namespace TEXT NOT NULL, key TEXT NOT NULL,"
				 " metadata TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',"
				 " owner TEXT, schema_hash TEXT, version INTEGER NOT NULL DEFAULT 1,"
				 " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT,"
				 " created_by TEXT, updated_by TEXT, UNIQUE(namespace, key));"
				 "CREATE TABLE metastore_elements (ix INTEGER NOT NULL,"
				 " type TEXT NOT NULL, value NOT NULL, n INTEGER NOT NULL,"
				 " PRIMARY KEY (ix, value, type, n)) WITHOUT ROWID;",
				 NULL, NULL, NULL) != SQLITE_OK)
			abort();
	}
	s = part(&p, end, &n);
	filter = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	s = part(&p, end, &n);
	q = strndup(s, n);
	s = part(&p, end, &n);
	sort = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	s = part(&p, end, &n);
	proj = json_loadb(s, n, JSON_DECODE_ANY, NULL);

	if (ah_mfilter_parse_q(q, &qf, &err)) {
		if (err.status != 400 || !*err.msg || qf)
			abort();
	} else if (!json_is_object(qf)) {
		abort();
	}
	err = (struct ah_err)AH_ERR_INIT;
	ah_mfilter_init(&f);
	/* two fields' elements indexed, as a namespace with indexes on them has */
	f.elements = json_pack("{s:i, s:i}", "json_extract(r.metadata, '$.a')", 7,
			       "json_extract(r.metadata, '$.labels')", -3);
	if (ah_mfilter_compile(filter, q, sort, proj, &f, &err)) {
		if (err.status != 400 || !*err.msg)
			abort();
		goto done;
	}
	strbuf_addf(&sql, "SELECT r.key FROM metastore_records r WHERE r.namespace = ?%s%s"
		    " ORDER BY %s", f.where.len ? " AND " : "", f.where.buf, f.order.buf);
	check_literals(sql.buf);
	if (sqlite3_prepare_v2(db, sql.buf, -1, &stmt, NULL) != SQLITE_OK)
		abort();
	if ((size_t)sqlite3_bind_parameter_count(stmt) != json_array_size(f.binds) + 1)
		abort();
	if (f.projection && !json_is_array(f.projection))
		abort();
	/* a count of its own takes the same parameters */
	if (f.count.len) {
		sqlite3_finalize(stmt);
		stmt = NULL;
		check_literals(f.count.buf);
		if (sqlite3_prepare_v2(db, f.count.buf, -1, &stmt, NULL) != SQLITE_OK ||
		    (size_t)sqlite3_bind_parameter_count(stmt) != json_array_size(f.binds) + 1)
			abort();
	}
done:
	sqlite3_finalize(stmt);
	strbuf_release(&sql);
	ah_mfilter_release(&f);
	json_decref(qf);
	json_decref(filter);
	json_decref(sort);
	json_decref(proj);
	free(q);
	return 0;
}
