/*
 * The timestore's records (lib/timestore.h): datasets, schema versions,
 * manifests and partitions in apphub.db. The files are the engine's
 * (lib/timestore-ingest.c); here is only what the records say of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "events.h"
#include "random-id.h"
#include "strbuf.h"
#include "timestore.h"
#include "timeutil.h"

static json_t *time_json(sqlite3_stmt *stmt, int col)
{
	char buf[AH_TIME_US_LEN];

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return json_null();
	ah_time_text_us(buf, sqlite3_column_int64(stmt, col));
	return json_string(buf);
}

/*
 * A dataset's row: n, slug, timestamp_column, schema_version, fields,
 * max_age_hours, max_total_bytes, created_at, updated_at, then its live
 * partitions' count, rows, bytes, start, end.
 */
#define DATASET_SELECT \
	"SELECT d.n, d.slug, d.timestamp_column, d.schema_version, d.fields, d.max_age_hours," \
	" d.max_total_bytes, d.created_at, d.updated_at, count(p.id), ifnull(sum(p.rows), 0)," \
	" ifnull(sum(p.bytes), 0), min(p.start_us), max(p.end_us)" \
	" FROM ts_datasets d LEFT JOIN ts_partitions p ON p.dataset = d.n AND p.removed_ms IS NULL"

static json_t *dataset_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "slug", ah_col_string(stmt, 1),
			 "timestampColumn", ah_col_string(stmt, 2),
			 "schemaVersion", ah_col_integer(stmt, 3),
			 "fields", ah_col_json(stmt, 4),
			 "retention",
			 "maxAgeHours", ah_col_integer(stmt, 5),
			 "maxTotalBytes", ah_col_integer(stmt, 6),
			 "partitions", ah_col_integer(stmt, 9),
			 "rows", ah_col_integer(stmt, 10),
			 "bytes", ah_col_integer(stmt, 11),
			 "start", time_json(stmt, 12),
			 "end", time_json(stmt, 13),
			 "createdAt", ah_col_string(stmt, 7),
			 "updatedAt", ah_col_string(stmt, 8));
}

/* The dataset's number: 0 with *n, 404, 400 for a bad slug. */
static int dataset_n(struct ah_state *st, const char *slug, sqlite3_int64 *n, struct ah_err *err)
{
	static const char sql[] = "SELECT n FROM ts_datasets WHERE slug = ?";
	sqlite3_stmt *stmt;
	int rc;

	if (ah_ts_slug_check(slug, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read datasets");
	return ah_not_found(err, "dataset '%s': not found", slug);
}

int ah_ts_dataset(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err)
{
	static const char sql[] = DATASET_SELECT " WHERE d.slug = ? GROUP BY d.n";
	sqlite3_stmt *stmt;
	int rc;

	*out = NULL;
	if (ah_ts_slug_check(slug, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = dataset_row(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read datasets");
	return ah_not_found(err, "dataset '%s': not found", slug);
}

int ah_ts_datasets(struct ah_state *st, json_t **out, struct ah_err *err)
{
	static const char sql[] = DATASET_SELECT " GROUP BY d.n ORDER BY d.slug";
	sqlite3_stmt *stmt;
	json_t *rows;

	*out = NULL;
	if (!(stmt = ah_stmt(st, sql, err)) ||
	    !(rows = ah_step_rows(st, stmt, dataset_row, "cannot read datasets", err)))
		return -1;
	*out = json_pack("{s:o}", "datasets", rows);
	return 0;
}

int ah_ts_slugs(struct ah_state *st, json_t **out, struct ah_err *err)
{
	static const char sql[] = "SELECT slug FROM ts_datasets ORDER BY slug";
	sqlite3_stmt *stmt;
	json_t *res = json_array();
	int rc;

	*out = NULL;
	if (!(stmt = ah_stmt(st, sql, err))) {
		json_decref(res);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(res, json_string(ah_col_text(stmt, 0)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(res);
		return ah_sql_error(st, err, "cannot read datasets");
	}
	*out = res;
	return 0;
}

/* A partition's row: id, day, path, rows, bytes, start_us, end_us, schema_version, created_at. */
#define PART_COLUMNS \
	"id, day, path, rows, bytes, start_us, end_us, schema_version, created_at"

static json_t *part_json(sqlite3_stmt *stmt, const char *dir)
{
	json_t *path;

	if (dir) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s/%s", dir, ah_col_text(stmt, 2));
		path = json_string(sb.buf);
		strbuf_release(&sb);
	} else {
		path = ah_col_string(stmt, 2);
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", ah_col_string(stmt, 0),
			 "day", ah_col_string(stmt, 1),
			 "path", path,
			 "rows", ah_col_integer(stmt, 3),
			 "bytes", ah_col_integer(stmt, 4),
			 "start", time_json(stmt, 5),
			 "end", time_json(stmt, 6),
			 "schemaVersion", ah_col_integer(stmt, 7),
			 "createdAt", ah_col_string(stmt, 8));
}

/* Every row of stmt as part_json (dir: absolute paths), reset after. */
static int part_rows(struct ah_state *st, sqlite3_stmt *stmt, const char *dir, json_t **out,
		     struct ah_err *err)
{
	json_t *res = json_array();
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(res, part_json(stmt, dir));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(res);
		*out = NULL;
		return ah_sql_error(st, err, "cannot read partitions");
	}
	*out = res;
	return 0;
}

int ah_ts_partitions(struct ah_state *st, const char *slug, const char *from, const char *to,
		     json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT " PART_COLUMNS " FROM ts_partitions"
		" WHERE dataset = ?1 AND removed_ms IS NULL AND end_us >= ?2 AND start_us < ?3"
		" ORDER BY start_us, created_at, id";
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;

	*out = NULL;
	if (from && ah_time_parse_us(from, strlen(from), &lo) < 0)
		return ah_invalid(err, "invalid from '%.80s': not an RFC 3339 time", from);
	if (to && ah_time_parse_us(to, strlen(to), &hi) < 0)
		return ah_invalid(err, "invalid to '%.80s': not an RFC 3339 time", to);
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int64(stmt, 2, lo);
	sqlite3_bind_int64(stmt, 3, hi);
	return part_rows(st, stmt, st->dir, out, err);
}

int ah_ts_day_partitions(struct ah_state *st, const char *slug, const char *day, json_t **out,
			 struct ah_err *err)
{
	static const char sql[] =
		"SELECT " PART_COLUMNS " FROM ts_partitions"
		" WHERE dataset = ? AND day = ? AND removed_ms IS NULL"
		" ORDER BY start_us, created_at, id";
	sqlite3_int64 n;
	sqlite3_stmt *stmt;

	*out = NULL;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, day);
	return part_rows(st, stmt, NULL, out, err);
}

int ah_ts_compactable_days(struct ah_state *st, const char *slug, json_t **out,
			   struct ah_err *err)
{
	static const char sql[] =
		"SELECT day FROM ts_partitions WHERE dataset = ? AND removed_ms IS NULL"
		" GROUP BY day HAVING count(*) > 1 ORDER BY day";
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	json_t *res;
	int rc;

	*out = NULL;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	res = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(res, json_string(ah_col_text(stmt, 0)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(res);
		return ah_sql_error(st, err, "cannot read partitions");
	}
	*out = res;
	return 0;
}

static json_t *schema_version_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "version", ah_col_integer(stmt, 0),
			 "fields", ah_col_json(stmt, 1), "added", ah_col_json(stmt, 2),
			 "createdAt", ah_col_string(stmt, 3));
}

static json_t *manifest_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", ah_col_string(stmt, 0),
			 "shard", ah_col_string(stmt, 1), "version", ah_col_integer(stmt, 2),
			 "partitionCount", ah_col_integer(stmt, 3), "rows", ah_col_integer(stmt, 4),
			 "bytes", ah_col_integer(stmt, 5), "createdAt", ah_col_string(stmt, 6));
}

int ah_ts_show(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err)
{
	static const char versions_sql[] =
		"SELECT version, fields, added, created_at FROM ts_schema_versions"
		" WHERE dataset = ? ORDER BY version";
	/* each day's newest manifest, while the day has partitions */
	static const char manifests_sql[] =
		"SELECT m.id, m.day, m.version, m.partition_count, m.rows, m.bytes, m.created_at"
		" FROM ts_manifests m WHERE m.dataset = ?1 AND m.partition_count > 0"
		" AND m.version = (SELECT max(version) FROM ts_manifests"
		"  WHERE dataset = ?1 AND day = m.day) ORDER BY m.day";
	json_t *ds = NULL, *versions, *manifests, *parts;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	int ret = -1;

	*out = NULL;
	if (ah_begin_read(st, err) < 0)
		return -1;
	if (dataset_n(st, slug, &n, err) < 0 || ah_ts_dataset(st, slug, &ds, err) < 0)
		goto done;
	if (!(stmt = ah_stmt(st, versions_sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	if (!(versions = ah_step_rows(st, stmt, schema_version_row, "cannot read schema versions",
				      err)))
		goto done;
	json_object_set_new(ds, "schemaVersions", versions);
	if (!(stmt = ah_stmt(st, manifests_sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	if (!(manifests = ah_step_rows(st, stmt, manifest_row, "cannot read manifests", err)))
		goto done;
	json_object_set_new(ds, "manifests", manifests);
	if (ah_ts_partitions(st, slug, NULL, NULL, &parts, err) < 0)
		goto done;
	json_object_set_new(ds, "partitions", parts);
	*out = ds;
	ds = NULL;
	ret = 0;
done:
	ah_rollback(st);
	json_decref(ds);
	return ret;
}

int ah_ts_idem_lookup(struct ah_state *st, const char *slug, const char *key, const char *hash,
		      json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT payload_hash, response FROM ts_idempotency"
		" WHERE dataset = ? AND idempotency_key = ?";
	sqlite3_stmt *stmt;
	int rc, ret = 0;

	*out = NULL;
	if (!key || !*key)
		return 0;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (strcmp(ah_col_text(stmt, 0), hash)) {
			ret = ah_conflict(err, "idempotency key '%.100s' was used with another"
					  " payload", key);
		} else if ((*out = json_loads(ah_col_text(stmt, 1), 0, NULL))) {
			json_object_set_new(*out, "idempotent", json_true());
			ret = 1;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read idempotency keys");
	return ret;
}

static int idem_store(struct ah_state *st, const char *slug, const char *key, const char *hash,
		      json_t *res, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO ts_idempotency(dataset, idempotency_key, payload_hash, response,"
		" created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	char now[AH_ISO_LEN], *text;
	sqlite3_stmt *stmt;
	int rc;

	if (!key || !*key)
		return 0;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_now_iso(now);
	text = json_dumps(res, JSON_COMPACT);
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, key);
	ah_bind_text(stmt, 3, hash);
	ah_bind_text(stmt, 4, text);
	ah_bind_text(stmt, 5, now);
	rc = ah_step_done(st, stmt, "cannot record idempotency key", err);
	free(text);
	return rc;
}

/* The dataset's current fields and schema version (in the caller's transaction); 0 none, 1. */
static int dataset_fields(struct ah_state *st, const char *slug, sqlite3_int64 *n,
			  json_t **fields, int64_t *version, struct ah_err *err)
{
	static const char sql[] =
		"SELECT n, fields, schema_version FROM ts_datasets WHERE slug = ?";
	sqlite3_stmt *stmt;
	int rc;

	*fields = NULL;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(stmt, 0);
		*fields = json_loads(ah_col_text(stmt, 1), 0, NULL);
		*version = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return *fields ? 1 : ah_internal(err, "dataset '%s': its fields do not read", slug);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read datasets");
	return 0;
}

static int schema_version_add(struct ah_state *st, sqlite3_int64 n, int64_t version,
			      json_t *fields, json_t *added, const char *now, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO ts_schema_versions(dataset, version, fields, added, created_at)"
		" VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *stmt;
	char *ft, *at;
	int rc;

	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ft = json_dumps(fields, JSON_COMPACT);
	at = json_dumps(added, JSON_COMPACT);
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int64(stmt, 2, version);
	ah_bind_text(stmt, 3, ft);
	ah_bind_text(stmt, 4, at);
	ah_bind_text(stmt, 5, now);
	rc = ah_step_done(st, stmt, "cannot record schema version", err);
	free(ft);
	free(at);
	return rc;
}

/*
 * The dataset made (fields its first schema) or its schema evolved by
 * fields, in the caller's transaction: *n, *version (the schema version
 * the batch is written under).
 */
static int dataset_evolve(struct ah_state *st, const char *slug, json_t *fields, int declared,
			  sqlite3_int64 *n, int64_t *version, struct ah_err *err)
{
	static const char insert_sql[] =
		"INSERT INTO ts_datasets(slug, timestamp_column, schema_version, fields, created_at,"
		" updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?4)";
	static const char update_sql[] =
		"UPDATE ts_datasets SET fields = ?2, schema_version = ?3, updated_at = ?4"
		" WHERE n = ?1";
	json_t *current = NULL, *merged = NULL, *added = NULL;
	char now[AH_ISO_LEN], *text = NULL;
	sqlite3_stmt *stmt;
	int rc, ret = -1;

	ah_now_iso(now);
	if ((rc = dataset_fields(st, slug, n, &current, version, err)) < 0)
		goto done;
	if (ah_ts_schema_merge(current, fields, declared, &merged, &added, err) < 0)
		goto done;
	if (!rc) {
		if (!(stmt = ah_stmt(st, insert_sql, err)))
			goto done;
		text = json_dumps(merged, JSON_COMPACT);
		ah_bind_text(stmt, 1, slug);
		ah_bind_text(stmt, 2, ah_ts_time_field(merged));
		ah_bind_text(stmt, 3, text);
		ah_bind_text(stmt, 4, now);
		if (ah_step_done(st, stmt, "cannot record dataset", err) < 0)
			goto done;
		*n = sqlite3_last_insert_rowid(st->db);
		*version = 1;
		json_decref(added);
		added = json_deep_copy(merged);
		if (schema_version_add(st, *n, 1, merged, added, now, err) < 0)
			goto done;
	} else if (json_array_size(added)) {
		if (!(stmt = ah_stmt(st, update_sql, err)))
			goto done;
		text = json_dumps(merged, JSON_COMPACT);
		++*version;
		sqlite3_bind_int64(stmt, 1, *n);
		ah_bind_text(stmt, 2, text);
		sqlite3_bind_int64(stmt, 3, *version);
		ah_bind_text(stmt, 4, now);
		if (ah_step_done(st, stmt, "cannot record dataset", err) < 0 ||
		    schema_version_add(st, *n, *version, merged, added, now, err) < 0)
			goto done;
	}
	ret = 0;
done:
	free(text);
	json_decref(current);
	json_decref(merged);
	json_decref(added);
	return ret;
}

/*
 * A new manifest version for a day of dataset n, once its partitions are
 * in place (in the caller's transaction): counts the live partitions.
 */
static int manifest_add(struct ah_state *st, sqlite3_int64 n, const char *day, int64_t version,
			json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO ts_manifests(id, dataset, day, version, partition_count, rows, bytes,"
		" created_at) SELECT ?1, ?2, ?3, ?4, count(*), ifnull(sum(rows), 0),"
		" ifnull(sum(bytes), 0), ?5 FROM ts_partitions"
		" WHERE dataset = ?2 AND day = ?3 AND removed_ms IS NULL"
		" RETURNING partition_count";
	char id[AH_RANDOM_ID_MAX], now[AH_ISO_LEN];
	sqlite3_stmt *stmt;
	int64_t count = 0;
	int rc;

	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_random_id(id, sizeof(id), 'm');
	ah_now_iso(now);
	ah_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, n);
	ah_bind_text(stmt, 3, day);
	sqlite3_bind_int64(stmt, 4, version);
	ah_bind_text(stmt, 5, now);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		count = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot record manifest");
	if (out)
		*out = json_pack("{s:s, s:s, s:I, s:I}", "id", id, "shard", day, "version",
				 (json_int_t)version, "partitionCount", (json_int_t)count);
	return 0;
}

/* The next manifest version of a day (in the caller's write transaction). */
static int manifest_next(struct ah_state *st, sqlite3_int64 n, const char *day, int64_t *version,
			 struct ah_err *err)
{
	static const char sql[] =
		"SELECT ifnull(max(version), 0) + 1 FROM ts_manifests WHERE dataset = ? AND day = ?";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, day);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*version = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : ah_sql_error(st, err, "cannot read manifests");
}

static int part_insert(struct ah_state *st, sqlite3_int64 n, const struct ah_ts_new_part *p,
		       int64_t version, int64_t schema_version, const char *key, json_t *attributes,
		       const char *slug, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO ts_partitions(id, dataset, day, manifest_version, partition_key,"
		" attributes, path, rows, bytes, start_us, end_us, schema_version, created_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char now[AH_ISO_LEN], *attr = NULL;
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_now_iso(now);
	if (attributes)
		attr = json_dumps(attributes, JSON_COMPACT);
	ah_bind_text(stmt, 1, p->id);
	sqlite3_bind_int64(stmt, 2, n);
	ah_bind_text(stmt, 3, p->day);
	sqlite3_bind_int64(stmt, 4, version);
	ah_bind_text(stmt, 5, key);
	ah_bind_text(stmt, 6, attr);
	ah_bind_text(stmt, 7, p->path);
	sqlite3_bind_int64(stmt, 8, p->rows);
	sqlite3_bind_int64(stmt, 9, p->bytes);
	sqlite3_bind_int64(stmt, 10, p->start_us);
	sqlite3_bind_int64(stmt, 11, p->end_us);
	sqlite3_bind_int64(stmt, 12, schema_version);
	ah_bind_text(stmt, 13, now);
	rc = ah_step_done(st, stmt, "cannot record partition", err);
	free(attr);
	if (rc < 0)
		return -1;
	return ah_event(st, "timestore.partition.created", p->id,
			json_pack("{s:s, s:s, s:s, s:I, s:I}", "dataset", slug, "partition", p->id,
				  "day", p->day, "rows", (json_int_t)p->rows,
				  "bytes", (json_int_t)p->bytes), err);
}

static int part_json_by_id(struct ah_state *st, const char *id, json_t **out, struct ah_err *err)
{
	static const char sql[] = "SELECT " PART_COLUMNS " FROM ts_partitions WHERE id = ?";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*out = part_json(stmt, st->dir);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : ah_sql_error(st, err, "cannot read partitions");
}

/* Each part's file is there: a dataset removed meanwhile took it (409). */
static int parts_present(struct ah_state *st, const struct ah_ts_commit *c, struct ah_err *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat sbuf;
	size_t i;
	int ret = 0;

	for (i = 0; i < c->nr && !ret; i++) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/%s", st->dir, c->parts[i].path);
		if (stat(sb.buf, &sbuf) < 0)
			ret = ah_conflict(err, "dataset '%s': partition file removed meanwhile"
					  " (dataset removed or collected)", c->slug);
	}
	strbuf_release(&sb);
	return ret;
}

int ah_ts_ingest_commit(struct ah_state *st, const struct ah_ts_commit *c, json_t **out,
			struct ah_err *err)
{
	json_t *res = NULL, *manifests = json_array(), *parts = json_array(), *ds = NULL;
	int64_t schema_version = 1, rows = 0;
	sqlite3_int64 n = 0;
	size_t i, j;
	int rc, ret = -1;

	*out = NULL;
	if (ah_begin_write(st, err) < 0)
		goto done;
	if ((rc = ah_ts_idem_lookup(st, c->slug, c->idem_key, c->idem_hash, &res, err)) != 0) {
		ret = rc < 0 ? -1 : 1;
		*out = res;
		res = NULL;
		goto done;
	}
	if (parts_present(st, c, err) < 0 ||
	    dataset_evolve(st, c->slug, c->fields, c->declared, &n, &schema_version, err) < 0)
		goto done;
	/* the parts come grouped by day, in order */
	for (i = 0; i < c->nr; i = j) {
		int64_t version;
		json_t *m;

		if (manifest_next(st, n, c->parts[i].day, &version, err) < 0)
			goto done;
		for (j = i; j < c->nr && !strcmp(c->parts[j].day, c->parts[i].day); j++) {
			json_t *pj = NULL;

			if (part_insert(st, n, &c->parts[j], version, schema_version,
					c->partition_key, c->attributes, c->slug, err) < 0 ||
			    part_json_by_id(st, c->parts[j].id, &pj, err) < 0)
				goto done;
			json_array_append_new(parts, pj);
			rows += c->parts[j].rows;
		}
		if (manifest_add(st, n, c->parts[i].day, version, &m, err) < 0)
			goto done;
		json_array_append_new(manifests, m);
	}
	if (ah_ts_dataset(st, c->slug, &ds, err) < 0)
		goto done;
	res = json_pack("{s:o, s:O, s:O, s:O, s:I, s:b}", "dataset", ds, "manifest",
			json_array_size(manifests) ? json_array_get(manifests, 0) : json_null(),
			"manifests", manifests, "partitions", parts, "rows", (json_int_t)rows,
			"idempotent", 0);
	ds = NULL;
	if (idem_store(st, c->slug, c->idem_key, c->idem_hash, res, err) < 0 ||
	    ah_commit(st, err) < 0)
		goto done;
	*out = res;
	res = NULL;
	ret = 0;
done:
	if (ret)
		ah_rollback(st);
	json_decref(ds);
	json_decref(res);
	json_decref(manifests);
	json_decref(parts);
	return ret;
}

int ah_ts_retention_set(struct ah_state *st, const char *slug, int has_age, int64_t max_age_hours,
			int has_bytes, int64_t max_bytes, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE ts_datasets SET max_age_hours = CASE WHEN ?2 THEN ?3 ELSE max_age_hours END,"
		" max_total_bytes = CASE WHEN ?4 THEN ?5 ELSE max_total_bytes END, updated_at = ?6"
		" WHERE n = ?1";
	char now[AH_ISO_LEN];
	sqlite3_int64 n;
	sqlite3_stmt *stmt;

	*out = NULL;
	if (has_age && max_age_hours < 1)
		return ah_invalid(err, "invalid maxAgeHours: at least 1");
	if (has_bytes && max_bytes < 0 && max_bytes != -1)
		return ah_invalid(err, "invalid maxTotalBytes: at least 0");
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		goto fail;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int(stmt, 2, has_age);
	sqlite3_bind_int64(stmt, 3, max_age_hours);
	sqlite3_bind_int(stmt, 4, has_bytes);
	if (max_bytes >= 0)
		sqlite3_bind_int64(stmt, 5, max_bytes);
	else
		sqlite3_bind_null(stmt, 5);
	ah_bind_text(stmt, 6, now);
	if (ah_step_done(st, stmt, "cannot record retention", err) < 0 ||
	    ah_ts_dataset(st, slug, out, err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	ah_rollback(st);
	json_decref(*out);
	*out = NULL;
	return -1;
}

int ah_ts_retention_plan(struct ah_state *st, const char *slug, int64_t now_ms, json_t **out,
			 struct ah_err *err)
{
	static const char policy_sql[] =
		"SELECT max_age_hours, max_total_bytes FROM ts_datasets WHERE n = ?";
	static const char parts_sql[] =
		"SELECT id, day, rows, bytes, start_us, end_us FROM ts_partitions"
		" WHERE dataset = ? AND removed_ms IS NULL ORDER BY end_us, start_us, created_at, id";
	int64_t max_age = 720, max_bytes = -1, total = 0, cutoff;
	json_t *res = json_array(), *all = json_array(), *p;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	size_t i;
	int rc, ret = -1;

	*out = NULL;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, policy_sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		max_age = sqlite3_column_int64(stmt, 0);
		if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
			max_bytes = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read datasets");
		goto done;
	}
	if (!(stmt = ah_stmt(st, parts_sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		total += sqlite3_column_int64(stmt, 3);
		json_array_append_new(all, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
						     "id", ah_col_string(stmt, 0),
						     "day", ah_col_string(stmt, 1),
						     "rows", ah_col_integer(stmt, 2),
						     "bytes", ah_col_integer(stmt, 3),
						     "start", time_json(stmt, 4),
						     "end", time_json(stmt, 5),
						     "endUs", (json_int_t)sqlite3_column_int64(stmt, 5)));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read partitions");
		goto done;
	}
	cutoff = (now_ms - max_age * 3600 * 1000) * 1000;
	/* oldest (by end) first: the expired are a prefix, then the oldest go for size */
	json_array_foreach(all, i, p) {
		const char *reason = NULL;

		if (json_integer_value(json_object_get(p, "endUs")) < cutoff)
			reason = "expired";
		else if (max_bytes >= 0 && total > max_bytes)
			reason = "size";
		else
			break;
		total -= json_integer_value(json_object_get(p, "bytes"));
		json_object_del(p, "endUs");
		json_object_set_new(p, "reason", json_string(reason));
		json_array_append(res, p);
	}
	*out = res;
	res = NULL;
	ret = 0;
done:
	json_decref(res);
	json_decref(all);
	return ret;
}

/*
 * Marks the partitions ids (those live) removed at the next manifest
 * version of their days, a manifest each (in the caller's transaction).
 * *removed gets the ids removed; manifests (when not NULL) the manifests.
 */
static int parts_remove(struct ah_state *st, sqlite3_int64 n, const char *slug, json_t *ids,
			const char *only_day, json_t *removed, json_t *manifests,
			struct ah_err *err)
{
	static const char sel_sql[] =
		"SELECT day, rows, bytes FROM ts_partitions"
		" WHERE id = ? AND dataset = ? AND removed_ms IS NULL";
	static const char upd_sql[] =
		"UPDATE ts_partitions SET removed_at = ?2, removed_ms = ?3, removed_version = ?4"
		" WHERE id = ?1";
	json_t *days = json_object(), *id, *v;
	const char *day;
	sqlite3_stmt *stmt;
	size_t i;
	int rc, ret = -1;

	json_array_foreach(ids, i, id) {
		const char *pid = json_string_value(id);
		char pday[16] = "";
		int64_t prows = 0, pbytes = 0, version;
		char now[AH_ISO_LEN];

		if (!pid || !(stmt = ah_stmt(st, sel_sql, err)))
			goto done;
		ah_bind_text(stmt, 1, pid);
		sqlite3_bind_int64(stmt, 2, n);
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			snprintf(pday, sizeof(pday), "%s", ah_col_text(stmt, 0));
			prows = sqlite3_column_int64(stmt, 1);
			pbytes = sqlite3_column_int64(stmt, 2);
		}
		sqlite3_reset(stmt);
		if (rc == SQLITE_DONE) {
			if (only_day) {
				ah_conflict(err, "partition '%s': no longer live", pid);
				goto done;
			}
			continue;
		}
		if (rc != SQLITE_ROW) {
			ah_sql_error(st, err, "cannot read partitions");
			goto done;
		}
		if (only_day && strcmp(only_day, pday)) {
			ah_invalid(err, "partition '%s': not of day %s", pid, only_day);
			goto done;
		}
		if (!(v = json_object_get(days, pday))) {
			if (manifest_next(st, n, pday, &version, err) < 0)
				goto done;
			json_object_set_new(days, pday, v = json_integer(version));
		}
		version = json_integer_value(v);
		if (!(stmt = ah_stmt(st, upd_sql, err)))
			goto done;
		ah_now_iso(now);
		ah_bind_text(stmt, 1, pid);
		ah_bind_text(stmt, 2, now);
		sqlite3_bind_int64(stmt, 3, ah_now_ms());
		sqlite3_bind_int64(stmt, 4, version);
		if (ah_step_done(st, stmt, "cannot remove partition", err) < 0 ||
		    ah_event(st, "timestore.partition.deleted", pid,
			     json_pack("{s:s, s:s, s:s, s:I, s:I}", "dataset", slug, "partition", pid,
				       "day", pday, "rows", (json_int_t)prows, "bytes",
				       (json_int_t)pbytes), err) < 0)
			goto done;
		json_array_append_new(removed, json_string(pid));
	}
	if (!only_day)
		json_object_foreach(days, day, v) {
			json_t *m = NULL;

			if (manifest_add(st, n, day, json_integer_value(v), manifests ? &m : NULL,
					 err) < 0)
				goto done;
			if (m)
				json_array_append_new(manifests, m);
		}
	ret = 0;
done:
	json_decref(days);
	return ret;
}

int ah_ts_partitions_drop(struct ah_state *st, const char *slug, json_t *ids, json_t **out,
			  struct ah_err *err)
{
	json_t *removed = json_array(), *manifests = json_array();
	sqlite3_int64 n;

	*out = NULL;
	if (ah_begin_write(st, err) < 0)
		goto fail;
	if (dataset_n(st, slug, &n, err) < 0 ||
	    parts_remove(st, n, slug, ids, NULL, removed, manifests, err) < 0 ||
	    ah_commit(st, err) < 0) {
		ah_rollback(st);
		goto fail;
	}
	*out = json_pack("{s:o, s:o}", "removed", removed, "manifests", manifests);
	return 0;
fail:
	json_decref(removed);
	json_decref(manifests);
	return -1;
}

int ah_ts_compact_commit(struct ah_state *st, const char *slug, const char *day, json_t *old,
			 const struct ah_ts_new_part *part, json_t **out, struct ah_err *err)
{
	static const char schema_sql[] = "SELECT schema_version FROM ts_datasets WHERE n = ?";
	json_t *removed = json_array();
	int64_t version, schema_version = 1;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	struct ah_ts_commit c = { .slug = slug, .parts = (struct ah_ts_new_part *)part, .nr = 1 };
	int ret = -1;

	*out = NULL;
	if (ah_begin_write(st, err) < 0)
		goto done;
	if (dataset_n(st, slug, &n, err) < 0 || parts_present(st, &c, err) < 0 ||
	    manifest_next(st, n, day, &version, err) < 0 ||
	    parts_remove(st, n, slug, old, day, removed, NULL, err) < 0)
		goto fail;
	if (!(stmt = ah_stmt(st, schema_sql, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, n);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		schema_version = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (part_insert(st, n, part, version, schema_version, NULL, NULL, slug, err) < 0 ||
	    manifest_add(st, n, day, version, out, err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	json_object_set_new(*out, "removed", removed);
	removed = NULL;
	ret = 0;
	goto done;
fail:
	ah_rollback(st);
	json_decref(*out);
	*out = NULL;
done:
	json_decref(removed);
	return ret;
}

int ah_ts_known_paths(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err)
{
	static const char sql[] = "SELECT path, removed_ms FROM ts_partitions WHERE dataset = ?";
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	json_t *res;
	int rc;

	*out = NULL;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	res = json_object();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_object_set_new(res, ah_col_text(stmt, 0), ah_col_integer(stmt, 1));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(res);
		return ah_sql_error(st, err, "cannot read partitions");
	}
	*out = res;
	return 0;
}

int ah_ts_forget_path(struct ah_state *st, const char *slug, const char *path,
		      struct ah_err *err)
{
	static const char sql[] =
		"DELETE FROM ts_partitions WHERE dataset = ? AND path = ? AND removed_ms IS NOT NULL";
	sqlite3_int64 n;
	sqlite3_stmt *stmt;

	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, path);
	return ah_step_done(st, stmt, "cannot forget partition", err);
}

int ah_ts_dataset_delete(struct ah_state *st, const char *slug, json_t **out, struct ah_err *err)
{
	static const char live_sql[] =
		"SELECT id, day, rows, bytes FROM ts_partitions"
		" WHERE dataset = ? AND removed_ms IS NULL ORDER BY start_us";
	static const char del_sql[] = "DELETE FROM ts_datasets WHERE n = ?";
	static const char idem_sql[] = "DELETE FROM ts_idempotency WHERE dataset = ?";
	int64_t parts = 0, rows = 0, bytes = 0;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	int rc;

	*out = NULL;
	if (dataset_n(st, slug, &n, err) < 0 || !(stmt = ah_stmt(st, live_sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		parts++;
		rows += sqlite3_column_int64(stmt, 2);
		bytes += sqlite3_column_int64(stmt, 3);
		if (ah_event(st, "timestore.partition.deleted", ah_col_text(stmt, 0),
			     json_pack("{s:s, s:s, s:s, s:I, s:I}", "dataset", slug,
				       "partition", ah_col_text(stmt, 0), "day", ah_col_text(stmt, 1),
				       "rows", (json_int_t)sqlite3_column_int64(stmt, 2),
				       "bytes", (json_int_t)sqlite3_column_int64(stmt, 3)), err) < 0) {
			sqlite3_reset(stmt);
			return -1;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read partitions");
	/* the schema versions, manifests and partitions go with it (ON DELETE CASCADE) */
	if (!(stmt = ah_stmt(st, del_sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	if (ah_step_done(st, stmt, "cannot remove dataset", err) < 0 ||
	    !(stmt = ah_stmt(st, idem_sql, err)))
		return -1;
	ah_bind_text(stmt, 1, slug);
	if (ah_step_done(st, stmt, "cannot remove dataset", err) < 0)
		return -1;
	*out = json_pack("{s:s, s:I, s:I, s:I}", "dataset", slug, "partitions", (json_int_t)parts,
			 "rows", (json_int_t)rows, "bytes", (json_int_t)bytes);
	return 0;
}
