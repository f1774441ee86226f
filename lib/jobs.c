/*
 * Job records (see jobs.h): jobs, their bundles and the trusted signers,
 * as SQL over migration 10's tables. The files of a bundle are the
 * publisher's (lib/ops-jobs.c); here only their paths.
 */
#include <stdlib.h>
#include <string.h>
#include "jobs.h"
#include "strbuf.h"
#include "timeutil.h"

int ah_job_spec_split(const char *spec, char **slug, char **version, struct ah_err *err)
{
	const char *at = strchr(spec, '@');

	*slug = *version = NULL;
	if (!*spec || at == spec || (at && !at[1]))
		return ah_invalid(err, "invalid job '%s': expects SLUG or SLUG@VERSION", spec);
	*slug = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	*version = at ? xstrdup(at + 1) : NULL;
	return 0;
}

char *ah_job_bundle_dir(const char *state_dir, const char *slug, const char *version)
{
	return xstrfmt("%s/bundles/%s/%s", state_dir, slug, version);
}

char *ah_job_bundle_tgz(const char *state_dir, const char *slug, const char *version)
{
	return xstrfmt("%s/bundles/%s/%s/%s-%s.tgz", state_dir, slug, version, slug, version);
}

static json_t *bundle_row(sqlite3_stmt *stmt)
{
	json_t *r = json_object(), *manifest = json_loads(ah_col_text(stmt, 2), 0, NULL);

	json_object_set_new(r, "slug", json_string(ah_col_text(stmt, 0)));
	json_object_set_new(r, "version", json_string(ah_col_text(stmt, 1)));
	json_object_set_new(r, "manifest", manifest ? manifest : json_object());
	json_object_set_new(r, "runtime", json_string(ah_col_text(stmt, 3)));
	json_object_set_new(r, "checksum", json_string(ah_col_text(stmt, 4)));
	json_object_set_new(r, "size", json_integer(sqlite3_column_int64(stmt, 5)));
	json_object_set_new(r, "signer", ah_col_string(stmt, 6));
	json_object_set_new(r, "createdBy", ah_col_string(stmt, 7));
	json_object_set_new(r, "createdAt", json_string(ah_col_text(stmt, 8)));
	return r;
}

int ah_job_bundle_find(struct ah_state *st, const char *slug, const char *version,
		       json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT j.slug, b.version, b.manifest, b.runtime, b.checksum, b.size, b.signer,"
		" b.created_by, b.created_at FROM job_bundles b JOIN jobs j ON j.n = b.job"
		" WHERE j.slug = ? AND b.version = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*out = NULL;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, version);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = bundle_row(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read job bundle");
	return *out ? 1 : 0;
}

/* The job's row number and default version; 0 when there is no job slug. */
static int job_find(struct ah_state *st, const char *slug, sqlite3_int64 *n, char **def,
		    struct ah_err *err)
{
	static const char sql[] = "SELECT n, default_version FROM jobs WHERE slug = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, slug);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(stmt, 0);
		if (def)
			*def = sqlite3_column_type(stmt, 1) == SQLITE_NULL ? NULL :
			       xstrdup(ah_col_text(stmt, 1));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read job");
	return rc == SQLITE_ROW;
}

json_t *ah_job_bundle_json(struct ah_state *st, const char *slug, const char *version,
			   struct ah_err *err)
{
	json_t *out = NULL;
	sqlite3_int64 n;
	int rc = ah_job_bundle_find(st, slug, version, &out, err);

	if (rc)
		return out;
	rc = job_find(st, slug, &n, NULL, err);
	if (rc == 0)
		ah_not_found(err, "job '%s' not found", slug);
	else if (rc > 0)
		ah_not_found(err, "job '%s' has no version '%s'", slug, version);
	return NULL;
}

int ah_job_resolve(struct ah_state *st, const char *spec, struct ah_job_ref *ref,
		   struct ah_err *err)
{
	char *slug = NULL, *version = NULL;
	json_t *b = NULL;
	sqlite3_int64 n;
	int rc, ret = -1;

	memset(ref, 0, sizeof(*ref));
	if (ah_job_spec_split(spec, &slug, &version, err) < 0)
		goto done;
	if (!version) {
		rc = job_find(st, slug, &n, &version, err);
		if (rc < 0)
			goto done;
		if (!rc || !version) {
			ah_not_found(err, "job '%s' not found", slug);
			goto done;
		}
	}
	b = ah_job_bundle_json(st, slug, version, err);
	if (!b)
		goto done;
	ref->slug = slug;
	ref->version = version;
	slug = version = NULL;
	ref->manifest = json_incref(json_object_get(b, "manifest"));
	ref->checksum = xstrdup(json_string_value(json_object_get(b, "checksum")));
	ref->dir = ah_job_bundle_dir(st->dir, ref->slug, ref->version);
	ref->root = xstrfmt("%s/root", ref->dir);
	ret = 0;
done:
	json_decref(b);
	free(slug);
	free(version);
	return ret;
}

void ah_job_ref_release(struct ah_job_ref *ref)
{
	free(ref->slug);
	free(ref->version);
	json_decref(ref->manifest);
	free(ref->dir);
	free(ref->root);
	free(ref->checksum);
	memset(ref, 0, sizeof(*ref));
}

static json_t *version_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:s}", "version", ah_col_text(stmt, 0),
			 "checksum", ah_col_text(stmt, 1), "size",
			 (json_int_t)sqlite3_column_int64(stmt, 2), "signer", ah_col_string(stmt, 3),
			 "createdAt", ah_col_text(stmt, 4));
}

static int version_order(const void *a, const void *b, void *cmp)
{
	const char *va = json_string_value(json_object_get(*(json_t *const *)a, "version"));
	const char *vb = json_string_value(json_object_get(*(json_t *const *)b, "version"));

	/* newest first */
	return ((ah_version_cmp)cmp)(vb, va);
}

/* The versions of job n, newest first: [{version, checksum, size, signer, createdAt}]. */
static json_t *job_versions(struct ah_state *st, sqlite3_int64 n, ah_version_cmp cmp,
			    struct ah_err *err)
{
	static const char sql[] =
		"SELECT version, checksum, size, signer, created_at FROM job_bundles WHERE job = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *rows, **items;
	size_t i, nr;

	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, n);
	rows = ah_step_rows(st, stmt, version_row, "cannot read job versions", err);
	if (!rows || !(nr = json_array_size(rows)))
		return rows;
	items = xcalloc(nr, sizeof(*items));
	for (i = 0; i < nr; i++)
		items[i] = json_incref(json_array_get(rows, i));
	qsort_r(items, nr, sizeof(*items), version_order, (void *)cmp);
	json_array_clear(rows);
	for (i = 0; i < nr; i++)
		json_array_append_new(rows, items[i]);
	free(items);
	return rows;
}

/* Makes the newest version of job n its default, or removes the job without any. */
static int job_refresh(struct ah_state *st, sqlite3_int64 n, ah_version_cmp cmp, int *gone,
		       struct ah_err *err)
{
	static const char sql_set[] =
		"UPDATE jobs SET default_version = ?, updated_at = ? WHERE n = ?";
	static const char sql_rm[] = "DELETE FROM jobs WHERE n = ?";
	json_t *versions = job_versions(st, n, cmp, err);
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN];
	int ret = -1;

	if (!versions)
		return -1;
	*gone = !json_array_size(versions);
	if (!(stmt = ah_stmt(st, *gone ? sql_rm : sql_set, err)))
		goto done;
	if (*gone) {
		sqlite3_bind_int64(stmt, 1, n);
	} else {
		ah_now_iso(now);
		ah_bind_text(stmt, 1, json_string_value(json_object_get(json_array_get(versions, 0),
									  "version")));
		ah_bind_text(stmt, 2, now);
		sqlite3_bind_int64(stmt, 3, n);
	}
	ret = ah_step_done(st, stmt, "cannot update job", err);
done:
	json_decref(versions);
	return ret;
}

static const char *str_or(json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : def;
}

int ah_job_bundle_insert(struct ah_state *st, const struct ah_job_bundle_row *row,
			 ah_version_cmp cmp, struct ah_err *err)
{
	static const char sql_job[] =
		"INSERT INTO jobs (slug, name, description, created_at, updated_at)"
		" VALUES (?, ?, ?, ?, ?)"
		" ON CONFLICT(slug) DO UPDATE SET name = excluded.name,"
		" description = excluded.description, updated_at = excluded.updated_at";
	static const char sql_bundle[] =
		"INSERT INTO job_bundles (job, version, manifest, runtime, checksum, size, signer,"
		" created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN], *text = NULL;
	sqlite3_int64 n = 0;
	int gone, ret = -1;

	ah_now_iso(now);
	if (!(stmt = ah_stmt(st, sql_job, err)))
		goto done;
	ah_bind_text(stmt, 1, row->slug);
	ah_bind_text(stmt, 2, str_or(row->manifest, "name", row->slug));
	ah_bind_text(stmt, 3, str_or(row->manifest, "description", ""));
	ah_bind_text(stmt, 4, now);
	ah_bind_text(stmt, 5, now);
	if (ah_step_done(st, stmt, "cannot write job", err) < 0 ||
	    job_find(st, row->slug, &n, NULL, err) < 0)
		goto done;
	if (!(stmt = ah_stmt(st, sql_bundle, err)))
		goto done;
	text = json_dumps(row->manifest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, row->version);
	ah_bind_text(stmt, 3, text ? text : "{}");
	ah_bind_text(stmt, 4, row->runtime);
	ah_bind_text(stmt, 5, row->checksum);
	sqlite3_bind_int64(stmt, 6, row->size);
	ah_bind_text(stmt, 7, row->signer);
	ah_bind_text(stmt, 8, row->created_by);
	ah_bind_text(stmt, 9, now);
	if (ah_step_done(st, stmt, "cannot write job bundle", err) < 0)
		goto done;
	ret = job_refresh(st, n, cmp, &gone, err);
done:
	free(text);
	return ret;
}

int ah_job_bundle_delete(struct ah_state *st, const char *slug, const char *version,
			 ah_version_cmp cmp, int *job_gone, struct ah_err *err)
{
	static const char sql[] = "DELETE FROM job_bundles WHERE job = ? AND version = ?";
	sqlite3_stmt *stmt;
	sqlite3_int64 n;
	int rc;

	*job_gone = 0;
	rc = job_find(st, slug, &n, NULL, err);
	if (rc <= 0)
		return rc < 0 ? -1 : ah_not_found(err, "job '%s' not found", slug);
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, version);
	if (ah_step_done(st, stmt, "cannot remove job bundle", err) < 0)
		return -1;
	if (!sqlite3_changes(st->db))
		return ah_not_found(err, "job '%s' has no version '%s'", slug, version);
	return job_refresh(st, n, cmp, job_gone, err);
}

#define JOB_COLUMNS \
	"SELECT n, slug, name, description, default_version, created_at, updated_at FROM jobs"

static json_t *job_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s}",
			 "n", (json_int_t)sqlite3_column_int64(stmt, 0),
			 "slug", ah_col_text(stmt, 1), "name", ah_col_text(stmt, 2),
			 "description", ah_col_text(stmt, 3),
			 "defaultVersion", ah_col_string(stmt, 4),
			 "createdAt", ah_col_text(stmt, 5), "updatedAt", ah_col_text(stmt, 6));
}

/* Replaces each job's row number "n" by its "versions". */
static int add_versions(struct ah_state *st, json_t *jobs, ah_version_cmp cmp,
			struct ah_err *err)
{
	json_t *job, *versions;
	size_t i;

	json_array_foreach(jobs, i, job) {
		versions = job_versions(st, json_integer_value(json_object_get(job, "n")), cmp,
					err);
		if (!versions)
			return -1;
		json_object_del(job, "n");
		json_object_set_new(job, "versions", versions);
	}
	return 0;
}

json_t *ah_jobs_json(struct ah_state *st, ah_version_cmp cmp, struct ah_err *err)
{
	static const char sql[] = JOB_COLUMNS " ORDER BY slug";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *jobs = stmt ? ah_step_rows(st, stmt, job_row, "cannot list jobs", err) : NULL;

	if (jobs && add_versions(st, jobs, cmp, err) < 0) {
		json_decref(jobs);
		jobs = NULL;
	}
	return jobs;
}

json_t *ah_job_json(struct ah_state *st, const char *slug, ah_version_cmp cmp,
		    struct ah_err *err)
{
	static const char sql[] = JOB_COLUMNS " WHERE slug = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *jobs, *job = NULL;

	if (!stmt)
		return NULL;
	ah_bind_text(stmt, 1, slug);
	jobs = ah_step_rows(st, stmt, job_row, "cannot read job", err);
	if (jobs && !json_array_size(jobs))
		ah_not_found(err, "job '%s' not found", slug);
	else if (jobs && add_versions(st, jobs, cmp, err) == 0)
		job = json_incref(json_array_get(jobs, 0));
	json_decref(jobs);
	return job;
}

static json_t *signer_row_keys(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:o, s:s, s:s}", "fingerprint", ah_col_text(stmt, 0),
			 "name", ah_col_string(stmt, 1), "createdAt", ah_col_text(stmt, 2),
			 "publicKey", ah_col_text(stmt, 3));
}

static json_t *signer_row(sqlite3_stmt *stmt)
{
	json_t *r = signer_row_keys(stmt);

	json_object_del(r, "publicKey");
	return r;
}

#define SIGNER_COLUMNS "SELECT fingerprint, name, created_at, public_key FROM job_signers"

json_t *ah_job_signers_json(struct ah_state *st, int keys, struct ah_err *err)
{
	static const char sql[] = SIGNER_COLUMNS " ORDER BY n";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	return stmt ? ah_step_rows(st, stmt, keys ? signer_row_keys : signer_row,
				   "cannot list signers", err) : NULL;
}

int ah_job_signer_add(struct ah_state *st, const char *fingerprint, const char *public_key,
		      const char *name, json_t **out, struct ah_err *err)
{
	static const char sql_add[] =
		"INSERT INTO job_signers (fingerprint, public_key, name, created_at)"
		" VALUES (?, ?, ?, ?)"
		" ON CONFLICT(fingerprint) DO UPDATE SET name = coalesce(excluded.name, name)";
	static const char sql_get[] = SIGNER_COLUMNS " WHERE fingerprint = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql_add, err);
	char now[AH_ISO_LEN];
	json_t *rows;

	if (!stmt)
		return -1;
	ah_now_iso(now);
	ah_bind_text(stmt, 1, fingerprint);
	ah_bind_text(stmt, 2, public_key);
	ah_bind_text(stmt, 3, name);
	ah_bind_text(stmt, 4, now);
	if (ah_step_done(st, stmt, "cannot add signer", err) < 0 ||
	    !(stmt = ah_stmt(st, sql_get, err)))
		return -1;
	ah_bind_text(stmt, 1, fingerprint);
	if (!(rows = ah_step_rows(st, stmt, signer_row, "cannot read signer", err)))
		return -1;
	*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return 0;
}

int ah_job_url_key(struct ah_state *st, char buf[AH_JOB_URL_KEY_LEN + 1], struct ah_err *err)
{
	static const char sql_make[] =
		"INSERT OR IGNORE INTO job_url_key (n, key) VALUES (1, lower(hex(randomblob(32))))";
	static const char sql_get[] = "SELECT key FROM job_url_key WHERE n = 1";
	sqlite3_stmt *stmt = ah_stmt(st, sql_make, err);
	int rc;

	if (!stmt || ah_step_done(st, stmt, "cannot make the download key", err) < 0 ||
	    !(stmt = ah_stmt(st, sql_get, err)))
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(buf, AH_JOB_URL_KEY_LEN + 1, "%s", ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot read the download key");
	return 0;
}
