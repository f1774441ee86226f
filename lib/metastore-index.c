/*
 * The metastore's queries over many records: search through the filter
 * compiler (lib/metastore-filter.c) and the expression indexes on
 * metadata fields that searches use (ENGINE: both need the compiler).
 */
#include <stdlib.h>
#include <string.h>
#include "metastore.h"
#include "metastore-filter.h"
#include "metastore-index.h"
#include "params.h"
#include "strbuf.h"
#include "timeutil.h"

#define SEARCH_LIMIT_MAX 200
#define SEARCH_LIMIT_DEFAULT 50
#define SORT_KEYS_MAX 5

/* Binds one of the filter's values: strings, integers, reals, null, booleans as 1/0. */
static void bind_value(sqlite3_stmt *stmt, int i, json_t *v)
{
	if (json_is_string(v))
		sqlite3_bind_text(stmt, i, json_string_value(v), (int)json_string_length(v),
				  SQLITE_TRANSIENT);
	else if (json_is_integer(v))
		sqlite3_bind_int64(stmt, i, json_integer_value(v));
	else if (json_is_real(v))
		sqlite3_bind_double(stmt, i, json_real_value(v));
	else if (json_is_boolean(v))
		sqlite3_bind_int(stmt, i, json_is_true(v));
	else
		sqlite3_bind_null(stmt, i);
}

/* ?1 the namespace, then the filter's values, then (when asked) limit and offset. */
static void bind_search(sqlite3_stmt *stmt, const char *ns, json_t *binds, long limit,
			long offset, int paged)
{
	json_t *v;
	size_t i;
	int n = 1;

	sqlite3_bind_text(stmt, n++, ns, -1, SQLITE_TRANSIENT);
	json_array_foreach(binds, i, v)
		bind_value(stmt, n++, v);
	if (paged) {
		sqlite3_bind_int64(stmt, n++, limit);
		sqlite3_bind_int64(stmt, n++, offset);
	}
}

static int prepare(struct ah_state *st, const char *sql, sqlite3_stmt **stmt, struct ah_err *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		*stmt = NULL;
		return ah_sql_error(st, err, "metastore search");
	}
	return 0;
}

/*
 * sort as the compiler takes it, [{field, direction}]: the CLI and query
 * strings give "field[:asc|desc]" strings, a body may give either.
 */
static int sort_of(json_t *params, json_t **out, struct ah_err *err)
{
	json_t *v = json_object_get(params, "sort"), *list, *item;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v) || json_is_object(v)) {
		list = json_array();
		json_array_append(list, v);
	} else if (json_is_array(v)) {
		list = json_incref(v);
	} else {
		return ah_invalid(err, "invalid sort: must be an array of {field, direction}");
	}
	if (json_array_size(list) > SORT_KEYS_MAX) {
		json_decref(list);
		return ah_invalid(err, "invalid sort: at most %d keys", SORT_KEYS_MAX);
	}
	*out = json_array();
	json_array_foreach(list, i, item) {
		if (json_is_string(item)) {
			const char *s = json_string_value(item), *colon = strrchr(s, ':');

			json_array_append_new(*out, json_pack("{s:s%, s:s}", "field", s,
							      colon ? (size_t)(colon - s) : strlen(s),
							      "direction", colon ? colon + 1 : "asc"));
		} else {
			json_array_append(*out, item);
		}
	}
	json_decref(list);
	return 0;
}

/* A copy of src's value at the dotted path into dst, objects made on the way. */
static void copy_path(json_t *dst, json_t *src, const char *path)
{
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		char *seg = xstrndup(path, (size_t)(dot - path));
		json_t *s = json_object_get(src, seg), *d;

		if (!json_is_object(s)) {
			free(seg);
			return;
		}
		d = json_object_get(dst, seg);
		if (!json_is_object(d)) {
			d = json_object();
			json_object_set_new(dst, seg, d);
		}
		free(seg);
		src = s;
		dst = d;
		path = dot + 1;
	}
	if (json_object_get(src, path))
		json_object_set(dst, path, json_object_get(src, path));
}

static const char *const record_fields[] = {
	"namespace", "key", "metadata", "tags", "owner", "schemaHash", "version", "createdAt",
	"updatedAt", "deletedAt", "createdBy", "updatedBy", NULL
};

/*
 * The record with only the projected fields (namespace and key always, as
 * they name it): record fields by name, metadata.<path> (or a bare name
 * that is not one) inside metadata.
 */
static json_t *project(json_t *rec, json_t *projection)
{
	json_t *out = json_pack("{s:O, s:O}", "namespace", json_object_get(rec, "namespace"),
				"key", json_object_get(rec, "key")), *f;
	size_t i, j;

	json_array_foreach(projection, i, f) {
		const char *name = json_string_value(f);
		int column = 0;

		if (!name)
			continue;
		for (j = 0; record_fields[j]; j++)
			if (!strcmp(record_fields[j], name))
				column = 1;
		if (column) {
			json_object_set(out, name, json_object_get(rec, name));
			continue;
		}
		if (!strncmp(name, "metadata.", 9))
			name += 9;
		if (!json_is_object(json_object_get(out, "metadata")))
			json_object_set_new(out, "metadata", json_object());
		copy_path(json_object_get(out, "metadata"), json_object_get(rec, "metadata"), name);
	}
	return out;
}

/*
 * The index names in EXPLAIN QUERY PLAN details ("... USING [COVERING]
 * INDEX name (...)"); an element lookup is "SEARCH e USING PRIMARY KEY",
 * named by its table.
 */
static void add_index_names(json_t *names, const char *detail)
{
	const char *p = detail;

	if (!strncmp(detail, "SEARCH e USING PRIMARY KEY", 26))
		json_array_append_new(names, json_string("metastore_elements"));

	while ((p = strstr(p, "INDEX "))) {
		size_t n;
		json_t *v;
		size_t i;
		int seen = 0;
		char *name;

		p += 6;
		n = strcspn(p, " ()");
		/* json_each's own "INDEX 3:" is not an index of the table */
		if (!n || p[n - 1] == ':' || strspn(p, "0123456789") == n)
			continue;
		name = xstrndup(p, n);
		json_array_foreach(names, i, v)
			seen |= !strcmp(json_string_value(v), name);
		if (!seen)
			json_array_append_new(names, json_string(name));
		free(name);
		p += n;
	}
}

static int explain(struct ah_state *st, const char *sql, const char *ns, struct ah_mfilter *f,
		   long limit, long offset, json_t **out, struct ah_err *err)
{
	char *q = xstrfmt("EXPLAIN QUERY PLAN %s", sql);
	json_t *plan = json_array(), *names = json_array();
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	if (prepare(st, q, &stmt, err) < 0)
		goto done;
	bind_search(stmt, ns, f->binds, limit, offset, 1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(stmt, 3);

		json_array_append_new(plan, json_string(detail ? detail : ""));
		add_index_names(names, detail ? detail : "");
	}
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "metastore search: explain");
		goto done;
	}
	*out = json_pack("{s:O, s:O, s:s}", "plan", plan, "indexes", names, "sql", sql);
	ret = 0;
done:
	sqlite3_finalize(stmt);
	json_decref(plan);
	json_decref(names);
	free(q);
	return ret;
}

/*
 * When where tests a field of ns that has an index, order's columns are
 * written "+r.x": the planner, without statistics, would rather walk the
 * (namespace, updated_at) index in order than look the field up in its own,
 * and a selective lookup then sorts a few rows instead of scanning them all.
 */
static int uses_index(struct ah_state *st, const char *ns, const char *where,
		      struct strbuf *order, struct ah_err *err)
{
	static const char sql[] = "SELECT field FROM metastore_indexes WHERE namespace = ?";
	sqlite3_stmt *stmt = NULL;
	struct strbuf expr = STRBUF_INIT, plus = STRBUF_INIT;
	const char *p;
	int rc, hit = 0;

	if (!*where)
		return 0;
	if (prepare(st, sql, &stmt, err) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
	hit = strstr(where, "metastore_elements") != NULL;
	while (!hit && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		strbuf_reset(&expr);
		if (ah_mfilter_field_sql((const char *)sqlite3_column_text(stmt, 0), &expr, err) == 0)
			hit = strstr(where, expr.buf) != NULL;
	}
	sqlite3_finalize(stmt);
	strbuf_release(&expr);
	if (!hit)
		return 0;
	if (!order->len)
		strbuf_addstr(order, "r.updated_at DESC, r.n DESC");
	for (p = order->buf; *p; p++) {
		if (!strncmp(p, "r.", 2) && (p == order->buf || p[-1] == ' '))
			strbuf_addch(&plus, '+');
		strbuf_addch(&plus, *p);
	}
	strbuf_reset(order);
	strbuf_addstr(order, plus.buf);
	strbuf_release(&plus);
	return 0;
}

/* An index's element id: its name's hash (index_of), as SQLite's signed integer. */
static sqlite3_int64 element_id(const char *name)
{
	return (sqlite3_int64)strtoull(name + strlen("metastore_ix_"), NULL, 16);
}

/* ns's indexed metadata fields: {field's SQL: element id} for ah_mfilter.elements. */
static int element_indexes(struct ah_state *st, const char *ns, json_t **out, struct ah_err *err)
{
	/*
	 * An index's elements are kept by lib/metastore.c (a row of
	 * metastore_element_ids), or, made before migration 17, by its
	 * triggers; one made before element indexes were has neither.
	 */
	static const char sql[] =
		"SELECT i.field, i.name FROM metastore_indexes i"
		" WHERE i.namespace = ? AND i.field LIKE 'metadata.%' AND (EXISTS (SELECT 1"
		"  FROM metastore_element_ids e WHERE e.namespace = i.namespace AND e.field = i.field)"
		"  OR EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'trigger'"
		"   AND m.name = i.name || '_ai'))";
	struct strbuf expr = STRBUF_INIT;
	sqlite3_stmt *stmt = NULL;
	struct ah_err ignored = AH_ERR_INIT;

	*out = NULL;
	if (prepare(st, sql, &stmt, err) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		strbuf_reset(&expr);
		if (ah_mfilter_field_sql(ah_col_text(stmt, 0), &expr, &ignored) < 0)
			continue;
		if (!*out)
			*out = json_object();
		json_object_set_new(*out, expr.buf,
				    json_integer(element_id(ah_col_text(stmt, 1))));
	}
	sqlite3_finalize(stmt);
	strbuf_release(&expr);
	return 0;
}

int ah_ms_search(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *ns, *q = NULL;
	struct ah_mfilter f;
	struct strbuf where = STRBUF_INIT, sql = STRBUF_INIT, count = STRBUF_INIT;
	json_t *filter = NULL, *sort = NULL, *projection = NULL, *records = NULL;
	sqlite3_stmt *stmt = NULL;
	long limit, offset;
	int deleted, want_plan, rc, ret = -1, began = 0;
	sqlite3_int64 total = 0;

	*out = NULL;
	ah_mfilter_init(&f);
	if (ah_param_need_str(params, "namespace", &ns, err) < 0 ||
	    ah_ms_namespace_check(ns, err) < 0 ||
	    ah_param_str(params, "q", &q, err) < 0 ||
	    ah_param_int(params, "limit", SEARCH_LIMIT_DEFAULT, 1, SEARCH_LIMIT_MAX, &limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 1000000000, &offset, err) < 0 ||
	    ah_param_bool(params, "includeDeleted", &deleted, err) < 0 ||
	    ah_param_bool(params, "explain", &want_plan, err) < 0 ||
	    sort_of(params, &sort, err) < 0)
		goto done;
	filter = json_object_get(params, "filter");
	if (json_is_string(filter)) {
		/* a query string's filter= */
		json_error_t je;
		char why[AH_JSON_WHY_MAX];

		if (!(filter = json_loads(json_string_value(filter), 0, &je))) {
			ah_invalid(err, "invalid filter: %s", ah_json_why(&je, why, sizeof(why)));
			goto done;
		}
	} else if (filter && !json_is_null(filter)) {
		json_incref(filter);
	} else {
		filter = NULL;
	}
	if (filter && !json_is_object(filter)) {
		ah_invalid(err, "invalid filter: must be a JSON object");
		goto done;
	}
	if (json_object_get(params, "projection") &&
	    ah_param_strlist(params, "projection", &projection, err) < 0)
		goto done;
	if (!deleted && element_indexes(st, ns, &f.elements, err) < 0)
		goto done;
	if (ah_mfilter_compile(filter, q && *q ? q : NULL, sort,
			       json_array_size(projection) ? projection : NULL, &f, err) < 0)
		goto done;

	strbuf_addstr(&where, " FROM metastore_records r WHERE r.namespace = ?");
	if (!deleted)
		strbuf_addstr(&where, " AND r.deleted_at IS NULL");
	if (f.where.len)
		strbuf_addf(&where, " AND %s", f.where.buf);
	if (uses_index(st, ns, f.where.buf, &f.order, err) < 0)
		goto done;
	strbuf_addf(&sql, "SELECT " AH_MS_RECORD_COLUMNS "%s ORDER BY %s LIMIT ? OFFSET ?",
		    where.buf, f.order.len ? f.order.buf : "r.updated_at DESC, r.n DESC");
	if (want_plan) {
		ret = explain(st, sql.buf, ns, &f, limit, offset, out, err);
		goto done;
	}
	/* The page and its total from one snapshot. */
	if (ah_begin_read(st, err) < 0)
		goto done;
	began = 1;
	if (f.count.len)
		strbuf_addstr(&count, f.count.buf);
	else
		strbuf_addf(&count, "SELECT count(*)%s", where.buf);
	if (prepare(st, count.buf, &stmt, err) < 0)
		goto done;
	bind_search(stmt, ns, f.binds, limit, offset, 0);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		ah_sql_error(st, err, "metastore search");
		goto done;
	}
	total = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (prepare(st, sql.buf, &stmt, err) < 0)
		goto done;
	bind_search(stmt, ns, f.binds, limit, offset, 1);
	records = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *rec = ah_ms_record_row(stmt, 0);

		if (f.projection && json_array_size(f.projection)) {
			json_t *p = project(rec, f.projection);

			json_decref(rec);
			rec = p;
		}
		json_array_append_new(records, rec);
	}
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "metastore search");
		goto done;
	}
	*out = json_pack("{s:O, s:{s:I, s:I, s:I}}", "records", records, "pagination",
			 "total", (json_int_t)total, "limit", (json_int_t)limit,
			 "offset", (json_int_t)offset);
	ret = 0;
done:
	sqlite3_finalize(stmt);
	if (began)
		ah_rollback(st);
	ah_mfilter_release(&f);
	strbuf_release(&where);
	strbuf_release(&sql);
	strbuf_release(&count);
	json_decref(filter);
	json_decref(sort);
	json_decref(projection);
	json_decref(records);
	return ret;
}

/*
 * A field's index: its expression as the filter writes it without the
 * table alias (an index names its table's columns bare; SQLite matches
 * the expression whatever alias a query gives the table), the field as
 * stored (metadata.<path> for a metadata field), and a name from a hash
 * of namespace and expression, so one field has one index however it is
 * spelled.
 */
static int index_of(const char *ns, const char *field, struct strbuf *expr, char **canon,
		    char name[40], struct ah_err *err)
{
	struct strbuf sql = STRBUF_INIT;
	const char *p;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	size_t i;

	if (ah_mfilter_field_sql(field, &sql, err) < 0) {
		strbuf_release(&sql);
		return -1;
	}
	for (p = sql.buf; *p; ) {
		if (!strncmp(p, "r.", 2) && (p == sql.buf || !strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'", p[-1]))) {
			p += 2;
			continue;
		}
		/* a JSON path literal is copied whole: its text is the field's, not SQL */
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');
			size_t n = end ? (size_t)(end - p) + 1 : strlen(p);

			strbuf_add(expr, p, n);
			p += n;
			continue;
		}
		strbuf_addch(expr, *p++);
	}
	strbuf_release(&sql);
	if (!strncmp(expr->buf, "json_extract", 12) && strncmp(field, "metadata.", 9))
		*canon = xstrfmt("metadata.%s", field);
	else
		*canon = xstrdup(field);
	for (i = 0; ns[i]; i++)
		h = (h ^ (unsigned char)ns[i]) * 1099511628211ULL;
	h = (h ^ 0) * 1099511628211ULL;
	for (i = 0; i < expr->len; i++)
		h = (h ^ (unsigned char)expr->buf[i]) * 1099511628211ULL;
	snprintf(name, 40, "metastore_ix_%016llx", (unsigned long long)h);
	return 0;
}

/*
 * An array field's elements, for array_contains: an index holds one value
 * a row, so each live record's elements of an indexed metadata field are
 * rows of metastore_elements (as a GIN index holds them), kept as records
 * change by lib/metastore.c (elements_keep), for the indexes of
 * metastore_element_ids. Scalars only: null, object and
 * array elements are left to the scan (lib/metastore-filter.c asks the
 * table for nothing else), and so are deleted records (a search that
 * includes them scans). The SQL for field (metadata.<path>, checked) of
 * index name in ns: the elements of the records there (create), or those
 * rows and an index's triggers of before migration 17 gone.
 */
static char *elements_sql(const char *ns, const char *field, const char *name, int create)
{
	static const char table[] =
		"CREATE TABLE IF NOT EXISTS metastore_elements (ix INTEGER NOT NULL,"
		" type TEXT NOT NULL, value NOT NULL, n INTEGER NOT NULL,"
		" PRIMARY KEY (ix, value, type, n)) WITHOUT ROWID;";
	sqlite3_int64 id = element_id(name);
	char *path = xstrfmt("$.%s", field + strlen("metadata."));
	char *sql;

	if (!create)
		sql = sqlite3_mprintf("%s DROP TRIGGER IF EXISTS %s_ai; DROP TRIGGER IF EXISTS %s_au;"
				      " DROP TRIGGER IF EXISTS %s_ad;"
				      " DELETE FROM metastore_element_ids WHERE namespace = %Q AND field = %Q;"
				      " DELETE FROM metastore_elements WHERE ix = %lld;",
				      table, name, name, name, ns, field, id);
	else
		sql = sqlite3_mprintf(
			"%s INSERT OR REPLACE INTO metastore_element_ids(namespace, field, ix)"
			" VALUES (%Q, %Q, %lld);"
			" INSERT OR IGNORE INTO metastore_elements SELECT %lld, j.type, j.atom, r.n"
			" FROM metastore_records r, json_each(r.metadata, %Q) j WHERE r.namespace = %Q"
			" AND r.deleted_at IS NULL AND json_type(r.metadata, %Q) = 'array'"
			" AND j.type NOT IN ('null', 'object', 'array');",
			table, ns, field, id, id, path, ns, path);
	free(path);
	return sql;
}

static const char sql_index_get[] =
	"SELECT field, name, created_at FROM metastore_indexes WHERE namespace = ? AND name = ?";
static const char sql_index_put[] =
	"INSERT INTO metastore_indexes(namespace, field, name, created_at) VALUES (?, ?, ?, ?)";
static const char sql_index_del[] =
	"DELETE FROM metastore_indexes WHERE namespace = ? AND name = ?";
static const char sql_index_list[] =
	"SELECT namespace, field, name, created_at FROM metastore_indexes WHERE namespace = ?"
	" ORDER BY field";

static int index_params(json_t *params, const char **ns, const char **field, struct ah_err *err)
{
	if (ah_param_need_str(params, "namespace", ns, err) < 0 ||
	    ah_ms_namespace_check(*ns, err) < 0 ||
	    ah_param_need_str(params, "field", field, err) < 0)
		return -1;
	return 0;
}

int ah_ms_index_create(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *ns, *field;
	struct strbuf expr = STRBUF_INIT;
	char name[40], now[AH_ISO_LEN], *canon = NULL, *ddl = NULL;
	sqlite3_stmt *stmt;
	int ret = -1, r;

	*out = NULL;
	if (index_params(params, &ns, &field, err) < 0 ||
	    index_of(ns, field, &expr, &canon, name, err) < 0)
		goto done;
	if (ah_begin_write(st, err) < 0)
		goto done;
	if (!(stmt = ah_stmt(st, sql_index_get, err)))
		goto fail;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, name);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*out = json_pack("{s:s, s:s, s:s, s:s, s:b}", "namespace", ns,
				 "field", ah_col_text(stmt, 0), "name", name,
				 "createdAt", ah_col_text(stmt, 2), "created", 0);
		sqlite3_reset(stmt);
		ah_rollback(st);
		ret = 0;
		goto done;
	}
	sqlite3_reset(stmt);
	/* name is hex and expr the filter's own text: nothing of the caller's is SQL here */
	ddl = xstrfmt("CREATE INDEX IF NOT EXISTS %s ON metastore_records(namespace, %s)", name,
		      expr.buf);
	if (ah_exec(st, ddl, err) < 0)
		goto fail;
	if (!strncmp(canon, "metadata.", 9)) {
		char *el = elements_sql(ns, canon, name, 1);

		r = ah_exec(st, el, err);
		sqlite3_free(el);
		if (r < 0)
			goto fail;
	}
	ah_now_iso(now);
	if (!(stmt = ah_stmt(st, sql_index_put, err)))
		goto fail;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, canon);
	ah_bind_text(stmt, 3, name);
	ah_bind_text(stmt, 4, now);
	if ((r = ah_step_done(st, stmt, "cannot record the index", err)) < 0)
		goto fail;
	/* the planner learns of the new index's selectivity */
	if (ah_ms_analyze(st, 1, err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	*out = json_pack("{s:s, s:s, s:s, s:s, s:b}", "namespace", ns, "field", canon, "name",
			 name, "createdAt", now, "created", 1);
	ret = 0;
	goto done;
fail:
	ah_rollback(st);
done:
	strbuf_release(&expr);
	free(canon);
	free(ddl);
	return ret;
}

int ah_ms_index_drop(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *ns, *field;
	struct strbuf expr = STRBUF_INIT;
	char name[40], *canon = NULL, *ddl = NULL;
	sqlite3_stmt *stmt;
	int ret = -1;

	*out = NULL;
	if (index_params(params, &ns, &field, err) < 0 ||
	    index_of(ns, field, &expr, &canon, name, err) < 0)
		goto done;
	if (ah_begin_write(st, err) < 0)
		goto done;
	if (!(stmt = ah_stmt(st, sql_index_get, err)))
		goto fail;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, name);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		ah_not_found(err, "no index on '%s' in namespace '%s'", canon, ns);
		goto fail;
	}
	sqlite3_reset(stmt);
	ddl = xstrfmt("DROP INDEX IF EXISTS %s", name);
	if (ah_exec(st, ddl, err) < 0)
		goto fail;
	if (!strncmp(canon, "metadata.", 9)) {
		char *el = elements_sql(ns, canon, name, 0);
		int r = ah_exec(st, el, err);

		sqlite3_free(el);
		if (r < 0)
			goto fail;
	}
	if (!(stmt = ah_stmt(st, sql_index_del, err)))
		goto fail;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, name);
	if (ah_step_done(st, stmt, "cannot drop the index", err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	*out = json_pack("{s:s, s:s, s:s, s:b}", "namespace", ns, "field", canon, "name", name,
			 "dropped", 1);
	ret = 0;
	goto done;
fail:
	ah_rollback(st);
done:
	strbuf_release(&expr);
	free(canon);
	free(ddl);
	return ret;
}

static json_t *index_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "namespace", ah_col_string(stmt, 0),
			 "field", ah_col_string(stmt, 1), "name", ah_col_string(stmt, 2),
			 "createdAt", ah_col_string(stmt, 3));
}

int ah_ms_indexes(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *ns;
	sqlite3_stmt *stmt;
	json_t *rows;

	*out = NULL;
	if (ah_param_need_str(params, "namespace", &ns, err) < 0 ||
	    ah_ms_namespace_check(ns, err) < 0 || !(stmt = ah_stmt(st, sql_index_list, err)))
		return -1;
	ah_bind_text(stmt, 1, ns);
	if (!(rows = ah_step_rows(st, stmt, index_row, "cannot list indexes", err)))
		return -1;
	*out = json_pack("{s:o}", "indexes", rows);
	return 0;
}
