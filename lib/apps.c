/*
 * The app records: validating a registration, registering, updating,
 * removing and tagging apps, an app as JSON, and its full-text row.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <unistd.h>
#include "apps.h"
#include "events.h"
#include "fsutil.h"
#include "history.h"
#include "netcheck.h"
#include "params.h"
#include "strbuf.h"
#include "tags.h"
#include "timeutil.h"
#include "utf8.h"
#include "work.h"

int ah_valid_app_id(const char *id, struct ah_err *err)
{
	size_t i, len = strlen(id);

	if (len < 3 || len > 64 || !islower((unsigned char)id[0]))
		goto bad;
	for (i = 1; i < len; i++)
		if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) && id[i] != '-')
			goto bad;
	return 0;
bad:
	return ah_invalid(err, "invalid id '%s': must match ^[a-z][a-z0-9-]{2,63}$", id);
}

static int has_space_or_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 1;
	return 0;
}

/* "scheme://host..." with a non-empty host. */
static int url_with_host(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);

	return !strncasecmp(url, scheme, n) && url[n] && url[n] != '/';
}

/* scp-style "[user@]host:path", as git accepts it. */
static int scp_like(const char *url)
{
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/'), *p;

	if (!colon || colon == url || !colon[1] || (slash && slash < colon))
		return 0;
	for (p = url; p < colon; p++)
		if (!isalnum((unsigned char)*p) && !strchr("@._-", *p))
			return 0;
	return 1;
}

int ah_valid_repo_url(const char *url, struct ah_err *err)
{
	size_t len = strlen(url);

	if (!len)
		return ah_invalid(err, "invalid repoUrl: must not be empty");
	if (len > AH_REPO_URL_MAX || has_space_or_control(url) || !ah_utf8_valid(url, len))
		goto bad;
	if (url_with_host(url, "http://") || url_with_host(url, "https://") ||
	    url_with_host(url, "git://") || url_with_host(url, "ssh://"))
		return 0;
	if (!strncasecmp(url, "file://", 7))
		return url[7] == '/' && url[8] ? 0 : ah_invalid(err,
			"invalid repoUrl '%s': a file URL needs an absolute path (file:///path)", url);
	if (url[0] == '/' && url[1])
		return 0;
	if (!strstr(url, "://") && scp_like(url))
		return 0;
bad:
	return ah_invalid(err, "invalid repoUrl '%s': must be an http(s), git, ssh or file URL, an absolute path, or user@host:path",
			  url);
}

int ah_valid_dockerfile_path(const char *path, struct ah_err *err)
{
	const char *base = strrchr(path, '/'), *p = path;

	base = base ? base + 1 : path;
	if (!*path || path[0] == '/' || strlen(path) > 1024 || has_space_or_control(path))
		goto bad;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		p += n;
		if (*p)
			p++;
	}
	if (strncasecmp(base, "dockerfile", 10) || (base[10] && (base[10] != '.' || !base[11])))
		goto bad;
	return 0;
bad:
	return ah_invalid(err, "invalid dockerfilePath '%s': must be a relative path inside the repository to a file named Dockerfile or Dockerfile.<name>",
			  path);
}

char *ah_derive_app_id(const char *repo_url)
{
	struct strbuf id = STRBUF_INIT;
	const char *end = repo_url + strlen(repo_url), *start;
	struct ah_err err;

	while (end > repo_url && end[-1] == '/')
		end--;
	start = end;
	while (start > repo_url && start[-1] != '/' && start[-1] != ':')
		start--;
	if (end - start > 4 && !strncasecmp(end - 4, ".git", 4))
		end -= 4;
	for (; start < end; start++) {
		unsigned char c = (unsigned char)*start;

		if (isalnum(c) && c < 0x80)
			strbuf_addch(&id, tolower(c));
		else if (id.len && id.buf[id.len - 1] != '-')
			strbuf_addch(&id, '-');
	}
	while (id.len && id.buf[id.len - 1] == '-')
		strbuf_setlen(&id, id.len - 1);
	if (id.len && isdigit((unsigned char)id.buf[0])) {
		char *rest = strbuf_detach(&id, NULL);

		strbuf_addf(&id, "app-%s", rest);
		free(rest);
	}
	if (id.len > 64)
		strbuf_setlen(&id, 64);
	while (id.len && id.buf[id.len - 1] == '-')
		strbuf_setlen(&id, id.len - 1);
	if (!id.len || ah_valid_app_id(id.buf, &err) < 0) {
		strbuf_release(&id);
		return NULL;
	}
	return strbuf_detach(&id, NULL);
}

int ah_app_lookup(struct ah_state *st, const char *id, sqlite3_int64 *n, struct ah_err *err)
{
	static const char sql[] = "SELECT n FROM apps WHERE id = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*n = 0;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot look up app");
	if (!*n)
		return ah_not_found(err, "app '%s' not found", id);
	return 0;
}

json_t *ah_app_json(struct ah_state *st, sqlite3_int64 n, struct ah_err *err)
{
	static const char sql_app[] =
		"SELECT id, name, description, repo_url, dockerfile_path, status,"
		" metadata_strategy, created_at, updated_at, commit_sha, readme,"
		" last_ingested_at, ingest_error, ingest_attempts FROM apps WHERE n = ?";
	static const char sql_tags[] =
		"SELECT t.key, t.value, at.source FROM app_tags at JOIN tags t ON t.n = at.tag"
		" WHERE at.app = ? ORDER BY t.key, t.value";
	sqlite3_stmt *stmt;
	json_t *app = NULL, *tags;
	int rc;

	if (!(stmt = ah_stmt(st, sql_app, err)))
		return NULL;
	sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(stmt);
		if (rc == SQLITE_DONE)
			ah_not_found(err, "app not found");
		else
			ah_sql_error(st, err, "cannot read app");
		return NULL;
	}
	tags = json_array();
	app = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}",
			"id", ah_col_text(stmt, 0),
			"name", ah_col_text(stmt, 1),
			"description", ah_col_text(stmt, 2),
			"repoUrl", ah_col_text(stmt, 3),
			"dockerfilePath", ah_col_text(stmt, 4),
			"status", ah_col_text(stmt, 5),
			"metadataStrategy", ah_col_text(stmt, 6),
			"tags", tags,
			"createdAt", ah_col_text(stmt, 7),
			"updatedAt", ah_col_text(stmt, 8));
	/* What the last ingest found (null before the first). */
	json_object_set_new(app, "commitSha", sqlite3_column_type(stmt, 9) == SQLITE_NULL ?
			    json_null() : json_string(ah_col_text(stmt, 9)));
	json_object_set_new(app, "readme", sqlite3_column_type(stmt, 10) == SQLITE_NULL ?
			    json_null() : json_string(ah_col_text(stmt, 10)));
	json_object_set_new(app, "lastIngestedAt", sqlite3_column_type(stmt, 11) == SQLITE_NULL ?
			    json_null() : json_string(ah_col_text(stmt, 11)));
	json_object_set_new(app, "errorMessage", sqlite3_column_type(stmt, 12) == SQLITE_NULL ?
			    json_null() : json_string(ah_col_text(stmt, 12)));
	json_object_set_new(app, "ingestAttempts", json_integer(sqlite3_column_int(stmt, 13)));
	sqlite3_reset(stmt);
	if (!(stmt = ah_stmt(st, sql_tags, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, n);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(tags, json_pack("{s:s, s:s, s:s}",
						      "key", ah_col_text(stmt, 0),
						      "value", ah_col_text(stmt, 1),
						      "source", ah_col_text(stmt, 2)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read app tags");
		goto fail;
	}
	return app;
fail:
	json_decref(app);
	return NULL;
}

int ah_apps_reindex(struct ah_state *st, const sqlite3_int64 *ns, size_t nr, struct ah_err *err)
{
	/*
	 * One statement each for the whole list: FTS5 flushes its pending terms
	 * at every statement's savepoint, so a row at a time costs a segment.
	 */
	static const char sql_del[] =
		"DELETE FROM apps_fts WHERE rowid IN (SELECT value FROM json_each(?))";
	static const char sql_ins[] =
		"INSERT INTO apps_fts(rowid, name, description, tags, dockerfile)"
		" SELECT a.n, a.name, a.description,"
		"  (SELECT group_concat(t.key || ' ' || t.value, ' ')"
		"   FROM app_tags at JOIN tags t ON t.n = at.tag WHERE at.app = a.n),"
		"  " AH_FTS_DOCKERFILE("a.dockerfile_path")
		" FROM apps a WHERE a.n IN (SELECT value FROM json_each(?))";
	struct strbuf list = STRBUF_INIT;
	sqlite3_stmt *stmt;
	int ret = -1;
	size_t i;

	if (!nr)
		return 0;
	strbuf_addch(&list, '[');
	for (i = 0; i < nr; i++)
		strbuf_addf(&list, "%s%lld", i ? "," : "", (long long)ns[i]);
	strbuf_addch(&list, ']');
	if (!(stmt = ah_stmt(st, sql_del, err)))
		goto done;
	ah_bind_text(stmt, 1, list.buf);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto sql_fail;
	if (!(stmt = ah_stmt(st, sql_ins, err)))
		goto done;
	ah_bind_text(stmt, 1, list.buf);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto sql_fail;
	ret = 0;
	goto done;
sql_fail:
	ah_sql_error(st, err, "cannot index apps");
done:
	if (stmt)
		sqlite3_reset(stmt);
	strbuf_release(&list);
	return ret;
}

/* A registration, validated; the strings point into the parameters. */
struct app_input {
	const char *id, *name, *description, *repo_url, *dockerfile, *strategy;
	char *derived_id;
	struct ah_tag *tags;
	size_t nr_tags;
	int has_tags;
};

static void app_input_release(struct app_input *in)
{
	free(in->derived_id);
	free(in->tags);
}

static int check_text(const char *field, const char *s, size_t max, struct ah_err *err)
{
	size_t len = strlen(s);
	const char *p;

	if (len > max)
		return ah_invalid(err, "invalid %s: longer than %zu characters", field, max);
	if (!ah_utf8_valid(s, len))
		return ah_invalid(err, "invalid %s: not valid UTF-8", field);
	for (p = s; *p; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
			return ah_invalid(err, "invalid %s: contains control characters", field);
	return 0;
}

static int app_input_parse(json_t *p, struct app_input *in, struct ah_err *err)
{
	memset(in, 0, sizeof(*in));
	if (!json_is_object(p))
		return ah_invalid(err, "invalid app: must be a JSON object");
	if (ah_param_str(p, "repoUrl", &in->repo_url, err) < 0 ||
	    ah_param_str(p, "id", &in->id, err) < 0 ||
	    ah_param_str(p, "name", &in->name, err) < 0 ||
	    ah_param_str(p, "description", &in->description, err) < 0 ||
	    ah_param_str(p, "dockerfilePath", &in->dockerfile, err) < 0 ||
	    ah_param_str(p, "metadataStrategy", &in->strategy, err) < 0)
		return -1;
	if (!in->repo_url)
		return ah_invalid(err, "invalid repoUrl: required");
	if (ah_valid_repo_url(in->repo_url, err) < 0 || ah_netcheck_repo_url(in->repo_url, err) < 0)
		return -1;
	if (!in->id) {
		in->id = in->derived_id = ah_derive_app_id(in->repo_url);
		if (!in->id)
			return ah_invalid(err, "invalid id: cannot derive one from '%s': give one with --id",
					  in->repo_url);
	} else if (ah_valid_app_id(in->id, err) < 0) {
		return -1;
	}
	if (in->name && !*in->name)
		return ah_invalid(err, "invalid name: must not be empty");
	if (in->name && check_text("name", in->name, AH_NAME_MAX, err) < 0)
		return -1;
	if (in->description && check_text("description", in->description, AH_DESCRIPTION_MAX, err) < 0)
		return -1;
	if (in->dockerfile) {
		while (!strncmp(in->dockerfile, "./", 2))
			in->dockerfile += 2;
		if (ah_valid_dockerfile_path(in->dockerfile, err) < 0)
			return -1;
	}
	if (in->strategy && strcmp(in->strategy, "auto") && strcmp(in->strategy, "explicit"))
		return ah_invalid(err, "invalid metadataStrategy '%s': must be auto or explicit",
				  in->strategy);
	in->has_tags = json_object_get(p, "tags") != NULL;
	return ah_tags_from_json(json_object_get(p, "tags"), &in->tags, &in->nr_tags, "tag", err);
}

/*
 * Inserts the app; *n is 0 when its id is taken. The insert finds that out
 * itself: a lookup first cost a fifth of the insert in a bulk import.
 */
static int app_insert(struct ah_state *st, struct app_input *in, const char *now,
		      sqlite3_int64 *n, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO apps(id, name, name_auto, description, description_auto, repo_url,"
		" dockerfile_path, dockerfile_auto, metadata_strategy, created_at, updated_at)"
		" VALUES (?1, coalesce(?2, ?1), ?2 IS NULL, coalesce(?3, ''), ?3 IS NULL, ?4,"
		" coalesce(?5, 'Dockerfile'), ?5 IS NULL, coalesce(?6, 'auto'), ?7, ?7)"
		" ON CONFLICT(id) DO NOTHING";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*n = 0;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, in->id);
	ah_bind_text(stmt, 2, in->name);
	ah_bind_text(stmt, 3, in->description);
	ah_bind_text(stmt, 4, in->repo_url);
	ah_bind_text(stmt, 5, in->dockerfile);
	ah_bind_text(stmt, 6, in->strategy);
	ah_bind_text(stmt, 7, now);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot register app");
	if (sqlite3_changes(st->db))
		*n = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int app_update(struct ah_state *st, struct app_input *in, sqlite3_int64 n,
		      const char *now, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE apps SET name = coalesce(?2, name), name_auto = name_auto AND ?2 IS NULL,"
		" description = coalesce(?3, description),"
		" description_auto = description_auto AND ?3 IS NULL,"
		" repo_url = ?4, dockerfile_path = coalesce(?5, dockerfile_path),"
		" dockerfile_auto = dockerfile_auto AND ?5 IS NULL,"
		" metadata_strategy = coalesce(?6, metadata_strategy), status = 'pending',"
		" updated_at = ?7 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, in->name);
	ah_bind_text(stmt, 3, in->description);
	ah_bind_text(stmt, 4, in->repo_url);
	ah_bind_text(stmt, 5, in->dockerfile);
	ah_bind_text(stmt, 6, in->strategy);
	ah_bind_text(stmt, 7, now);
	return ah_step_done(st, stmt, "cannot update app", err);
}

/*
 * The full-text row of a new app as app_insert() stored it: name,
 * description, its tags as "key value ..." (the tag words are what
 * search matches; their case and order do not matter to it) and its
 * Dockerfile path.
 */
static void fts_row_add(struct ah_text_rows *rows, sqlite3_int64 n, const struct app_input *in)
{
	struct strbuf tags = STRBUF_INIT;
	char *cells[4];
	size_t i;

	for (i = 0; i < in->nr_tags; i++)
		strbuf_addf(&tags, "%s%s %s", i ? " " : "", in->tags[i].key, in->tags[i].value);
	cells[0] = xstrdup(in->name ? in->name : in->id);
	cells[1] = xstrdup(in->description ? in->description : "");
	cells[2] = strbuf_detach(&tags, NULL);
	/* NULL, the default path, is none to the index (AH_FTS_DOCKERFILE) */
	cells[3] = in->dockerfile ? xstrdup(in->dockerfile) : NULL;
	ah_text_rows_add(rows, n, cells);
}

/* An app's row for import_rows(): time, event type, id, event data. */
static void later_row_add(struct ah_text_rows *rows, sqlite3_int64 n, const char *now,
			  const char *type, const struct app_input *in)
{
	json_t *data = json_pack("{s:s}", "repoUrl", in->repo_url);
	char *cells[4];

	cells[0] = xstrdup(now);
	cells[1] = xstrdup(type);
	cells[2] = xstrdup(in->id);
	cells[3] = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!cells[3])
		cells[3] = xstrdup("{}");
	json_decref(data);
	ah_text_rows_add(rows, n, cells);
}

/*
 * Registers (or with update, re-registers) one app inside the caller's
 * transaction: the row, its author tags, an event and an ingest work item.
 * A bad registration is refused before anything is written; an error while
 * writing is a 500, and the caller rolls the transaction back. The caller
 * indexes the app: a new one from its row added to fts (when given, else
 * *created tells), an updated one with ah_apps_reindex(). With later, the
 * event, work item and history row are only added to it, for import_rows().
 */
static int app_register(struct ah_state *st, json_t *params, int update, sqlite3_int64 *n_out,
			int *created, struct ah_text_rows *fts, struct ah_text_rows *later,
			struct ah_err *err)
{
	struct app_input in;
	char now[AH_ISO_LEN];
	sqlite3_int64 n = 0;
	struct ah_err lookup = AH_ERR_INIT;
	int exists = 0, ret = -1;
	size_t i;

	if (app_input_parse(params, &in, err) < 0)
		goto done;
	ah_now_iso(now);
	if (update) {
		exists = ah_app_lookup(st, in.id, &n, &lookup) == 0;
		if (!exists && lookup.status != 404) {
			*err = lookup;
			goto done;
		}
	}
	if (exists) {
		/* The app may be one this import created: its links go in first. */
		if (ah_tags_flush_links(st, err) < 0 || app_update(st, &in, n, now, err) < 0)
			goto done;
		if (in.has_tags && ah_tags_unlink_source(st, n, "author", err) < 0)
			goto done;
	} else {
		if (app_insert(st, &in, now, &n, err) < 0)
			goto done;
		if (!n) {
			ah_conflict(err, "app '%s' already exists (use --update)", in.id);
			goto done;
		}
	}
	for (i = 0; i < in.nr_tags; i++)
		if ((exists ? ah_tag_link : ah_tag_link_new)(st, n, &in.tags[i], "author", err) < 0)
			goto done;
	if (later)
		later_row_add(later, n, now, exists ? "app.updated" : "app.registered", &in);
	else if (ah_event(st, exists ? "app.updated" : "app.registered", in.id,
			  json_pack("{s:s}", "repoUrl", in.repo_url), err) < 0 ||
		 ah_work_queue(st, "ingest", in.id, err) < 0 ||
		 ah_ingest_event(st, n, "pending", "Queued for ingestion", 0, NULL, -1, err) < 0)
		goto done;
	if (!exists && fts)
		fts_row_add(fts, n, &in);
	*n_out = n;
	*created = !exists;
	ret = 0;
done:
	app_input_release(&in);
	return ret;
}

/*
 * Indexes new apps from their rows, in one statement: FTS5 writes its
 * pending terms out as a segment at the end of every statement.
 */
static int index_new(struct ah_state *st, struct ah_text_rows *rows, struct ah_err *err)
{
	static const char sql[] =
		AH_ROWS_WITH
		" INSERT INTO apps_fts(rowid, name, description, tags, dockerfile)"
		" SELECT ah_text_row(?1, x, 0), ah_text_row(?1, x, 1), ah_text_row(?1, x, 2),"
		"  ah_text_row(?1, x, 3), " AH_FTS_DOCKERFILE("ah_text_row(?1, x, 4)") " FROM i";
	sqlite3_stmt *stmt;
	int r = ah_rows_stmt(st, sql, rows, AH_TEXT_ROWS_PTR, rows->nr, &stmt, err);

	return r <= 0 ? r : ah_step_done(st, stmt, "cannot index apps", err);
}

/* Registers an app: a registration body -> the app (apps.add). */
int ah_apps_add(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	sqlite3_int64 n;
	int update, created;

	if (ah_param_bool(params, "update", &update, err) < 0 || ah_begin_write(st, err) < 0)
		return -1;
	if (app_register(st, params, update, &n, &created, NULL, NULL, err) < 0 ||
	    ah_apps_reindex(st, &n, 1, err) < 0 || !(*out = ah_app_json(st, n, err)) ||
	    ah_commit(st, err) < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * Registers many apps (apps.import): {items:[registration...], lines?:[n...],
 * update?} -> {imported, failed, errors:[{line, message}]}. One transaction for the
 * batch. app_register refuses a bad item before writing anything, so the
 * item is reported and skipped; an error while writing fails the batch.
 */
int ah_apps_import(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *items = json_object_get(params, "items"), *lines, *errors = NULL;
	struct ah_text_rows fts = { .ncols = 4 }, later = { .ncols = 4 };
	sqlite3_int64 *updated = NULL;
	size_t i, imported = 0, nr_updated = 0;
	int update;

	lines = json_object_get(params, "lines");
	if (!json_is_array(items))
		return ah_invalid(err, "invalid items: must be a list of apps");
	if (json_array_size(items) > 10000)
		return ah_error(err, 413, "too_large", "too many items: at most 10000 a request");
	if (ah_param_bool(params, "update", &update, err) < 0)
		return -1;
	/* The next batch is written while the last one is checkpointed. */
	ah_checkpoint_behind(st);
	if (ah_begin_write(st, err) < 0)
		return -1;
	ah_tags_defer_counts(st);
	errors = json_array();
	updated = xcalloc(json_array_size(items), sizeof(*updated));
	for (i = 0; i < json_array_size(items); i++) {
		struct ah_err item_err = AH_ERR_INIT;
		json_t *line = json_array_get(lines, i);
		sqlite3_int64 n;
		int created;

		if (app_register(st, json_array_get(items, i), update, &n, &created, &fts, &later,
				 &item_err) < 0) {
			if (item_err.status >= 500) {
				*err = item_err;
				goto fail;
			}
			json_array_append_new(errors, json_pack("{s:I, s:s}", "line",
				(json_int_t)(json_is_integer(line) ? json_integer_value(line) : (json_int_t)i + 1),
				"message", item_err.msg));
			continue;
		}
		if (!created)
			updated[nr_updated++] = n;
		imported++;
	}
	if (ah_tags_flush_links(st, err) < 0 || ah_tags_flush_counts(st, err) < 0 ||
	    ah_events_rows(st, &later, err) < 0 ||
	    ah_work_queue_rows(st, "ingest", &later, err) < 0 ||
	    ah_ingest_events_rows(st, "pending", "Queued for ingestion", &later, err) < 0 ||
	    index_new(st, &fts, err) < 0 ||
	    ah_apps_reindex(st, updated, nr_updated, err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	*out = json_pack("{s:I, s:I, s:o}", "imported", (json_int_t)imported,
			 "failed", (json_int_t)json_array_size(errors), "errors", errors);
	ah_text_rows_release(&fts);
	ah_text_rows_release(&later);
	free(updated);
	return 0;
fail:
	ah_rollback(st);
	ah_tags_cancel_counts(st);
	json_decref(errors);
	ah_text_rows_release(&fts);
	ah_text_rows_release(&later);
	free(updated);
	return -1;
}

int ah_apps_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;
	sqlite3_int64 n;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (ah_app_lookup(st, id, &n, err) < 0)
		return -1;
	*out = ah_app_json(st, n, err);
	return *out ? 0 : -1;
}

/* The ids of app n's builds, whose logs outlive the rows (STATE/builds/<id>.log). */
static int app_build_ids(struct ah_state *st, sqlite3_int64 n, json_t *ids, struct ah_err *err)
{
	static const char sql[] = "SELECT id FROM builds WHERE app = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(ids, json_string(ah_col_text(stmt, 0)));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : ah_sql_error(st, err, "cannot remove app");
}

int ah_apps_rm(struct ah_state *st, const char *id, json_t *builds, struct ah_err *err)
{
	static const char sql[] = "DELETE FROM apps WHERE n = ?";
	static const char sql_fts[] = "DELETE FROM apps_fts WHERE rowid = ?";
	struct ah_err rm_err = AH_ERR_INIT;
	sqlite3_stmt *stmt;
	char *mirror;
	sqlite3_int64 n;

	if (ah_begin_write(st, err) < 0)
		return -1;
	if (ah_app_lookup(st, id, &n, err) < 0 || app_build_ids(st, n, builds, err) < 0)
		goto fail;
	if (!(stmt = ah_stmt(st, sql_fts, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, n);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto sql_fail;
	if (!(stmt = ah_stmt(st, sql, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, n);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto sql_fail;
	sqlite3_reset(stmt);
	if (ah_work_drop(st, NULL, id, err) < 0 ||
	    ah_event(st, "app.removed", id, NULL, err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	/*
	 * The mirror goes after the commit: a crash in between leaves a stray
	 * mirror, which a later app of that id fetches over, never an app
	 * without its mirror.
	 */
	mirror = xstrfmt("%s/repos/%s.git", st->dir, id);
	if (ah_remove_tree(mirror, &rm_err) < 0)
		warning("%s", rm_err.msg);
	free(mirror);
	return 0;
sql_fail:
	sqlite3_reset(stmt);
	ah_sql_error(st, err, "cannot remove app");
fail:
	ah_rollback(st);
	return -1;
}

/* Tags an app (apps.tag): {id, add?:[k:v...], remove?:[k:v...]} -> the app. */
int ah_apps_tag(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_tag *add = NULL, *rm = NULL;
	size_t nr_add = 0, nr_rm = 0, i;
	json_t *add_list = NULL, *rm_list = NULL, *data = NULL;
	char now[AH_ISO_LEN];
	const char *id;
	sqlite3_int64 n;
	sqlite3_stmt *stmt;
	int ret = -1, in_tx = 0;

	if (ah_param_str(params, "id", &id, err) < 0 ||
	    ah_param_strlist(params, "add", &add_list, err) < 0 ||
	    ah_param_strlist(params, "remove", &rm_list, err) < 0 ||
	    ah_tags_from_json(add_list, &add, &nr_add, "tag", err) < 0 ||
	    ah_tags_from_json(rm_list, &rm, &nr_rm, "tag", err) < 0)
		goto done;
	if (!id) {
		ah_invalid(err, "invalid id: required");
		goto done;
	}
	if (ah_begin_write(st, err) < 0)
		goto done;
	in_tx = 1;
	if (ah_app_lookup(st, id, &n, err) < 0)
		goto done;
	for (i = 0; i < nr_rm; i++)
		if (ah_tag_unlink(st, n, &rm[i], err) < 0)
			goto done;
	for (i = 0; i < nr_add; i++)
		if (ah_tag_link(st, n, &add[i], "author", err) < 0)
			goto done;
	ah_now_iso(now);
	if (!(stmt = ah_stmt(st, "UPDATE apps SET updated_at = ?2 WHERE n = ?1", err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, now);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot tag app");
		goto done;
	}
	sqlite3_reset(stmt);
	data = json_pack("{s:O, s:O}", "added", add_list, "removed", rm_list);
	if (ah_apps_reindex(st, &n, 1, err) < 0 || ah_event(st, "app.tagged", id, data, err) < 0 ||
	    !(*out = ah_app_json(st, n, err)) || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0 && in_tx) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
	}
	json_decref(add_list);
	json_decref(rm_list);
	free(add);
	free(rm);
	return ret;
}

json_t *ah_apps_retry(struct ah_state *st, const char *id, struct ah_err *err)
{
	static const char sql_status[] = "SELECT status FROM apps WHERE n = ?";
	static const char sql_pending[] =
		"UPDATE apps SET status = 'pending', updated_at = ?2 WHERE n = ?1";
	char now[AH_ISO_LEN], *status = NULL;
	json_t *out = NULL;
	sqlite3_stmt *stmt;
	sqlite3_int64 n;
	int rc, ret = -1;

	if (ah_begin_write(st, err) < 0)
		return NULL;
	if (ah_app_lookup(st, id, &n, err) < 0 || !(stmt = ah_stmt(st, sql_status, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		status = xstrdup(ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read app");
		goto done;
	}
	if (!strcmp(status, "pending") || !strcmp(status, "processing")) {
		ah_conflict(err, "app '%s' is already %s", id,
			    !strcmp(status, "pending") ? "queued for ingestion" : "being ingested");
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_pending, err)))
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, now);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot queue app");
		goto done;
	}
	if (ah_work_queue(st, "ingest", id, err) < 0 || ah_ingest_queued(st, n, id, err) < 0 ||
	    !(out = ah_app_json(st, n, err)) || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		ah_rollback(st);
		json_decref(out);
		out = NULL;
	}
	free(status);
	return out;
}
