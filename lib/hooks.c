/*
 * POST /hooks/git: git servers and the contrib hooks announce a push; the
 * apps of that repository are queued for ingestion, once per commit.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "apps.h"
#include "events.h"
#include "hooks.h"
#include "ingest.h"
#include "params.h"
#include "strbuf.h"

/* The branches hooks follow: $APPHUB_HOOK_BRANCHES, globs, comma-separated. */
static const char *watched_branches(void)
{
	const char *v = getenv("APPHUB_HOOK_BRANCHES");

	return v && *v ? v : "main,master";
}

static int branch_watched(const char *ref)
{
	const char *list = watched_branches(), *branch = ref;
	char *copy, *tok, *save = NULL;
	int ok = 0;

	if (!strncmp(ref, "refs/heads/", 11))
		branch = ref + 11;
	else if (!strncmp(ref, "refs/", 5))
		return 0;	/* tags, notes, pull requests */
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && !ok; tok = strtok_r(NULL, ",", &save))
		ok = !fnmatch(tok, branch, 0);
	free(copy);
	return ok;
}

/* Whether sql finds a row for app id ?1 and commit ?2: *dup 1 or 0. */
static int id_commit_exists(struct ah_state *st, const char *sql, const char *what,
			    const char *id, const char *commit, int *dup, struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	*dup = 0;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, id);
	ah_bind_text(stmt, 2, commit);
	*dup = ah_step_exists(st, stmt, what, err);
	return *dup < 0 ? -1 : 0;
}

/*
 * The last commit a hook announced for app id while its ingest waits
 * (events written before the names were unified call it commit).
 */
static int already_queued(struct ah_state *st, const char *id, const char *commit, int *dup,
			  struct ah_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM work WHERE kind = 'ingest' AND subject = ?1 AND EXISTS ("
		" SELECT 1 FROM (SELECT data FROM events WHERE type = 'app.hook' AND subject = ?1"
		"  ORDER BY id DESC LIMIT 1)"
		" WHERE coalesce(json_extract(data, '$.commitSha'), json_extract(data, '$.commit')) = ?2)";

	return id_commit_exists(st, sql, "cannot read work queue", id, commit, dup, err);
}

static int ingested_at(struct ah_state *st, const char *id, const char *commit, int *dup,
		       struct ah_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM apps WHERE id = ?1 AND status = 'ready' AND commit_sha = ?2";

	return id_commit_exists(st, sql, "cannot read app", id, commit, dup, err);
}

/* Queues one app; item tells what happened. */
static int hook_one(struct ah_state *st, const char *id, const char *ref, const char *commit,
		    json_t *item, struct ah_err *err)
{
	struct ah_err qerr = AH_ERR_INIT;
	int dup = 0, ret = -1;

	if (commit && ingested_at(st, id, commit, &dup, err) < 0)
		return -1;
	if (dup) {
		json_object_set_new(item, "queued", json_false());
		json_object_set_new(item, "reason", json_string("already ingested at this commit"));
		return 0;
	}
	if (commit && already_queued(st, id, commit, &dup, err) < 0)
		return -1;
	if (dup) {
		json_object_set_new(item, "queued", json_false());
		json_object_set_new(item, "reason", json_string("already queued for this commit"));
		return 0;
	}
	if (ah_ingest_request(st, id, &qerr) < 0) {
		if (qerr.status != 409) {
			*err = qerr;
			return -1;
		}
		json_object_set_new(item, "queued", json_false());
		json_object_set_new(item, "reason", json_string(qerr.msg));
		return 0;
	}
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (ah_event(st, "app.hook", id, json_pack("{s:s?, s:s?}", "gitRef", ref, "commitSha", commit),
		     err) < 0 || ah_commit(st, err) < 0)
		goto done;
	json_object_set_new(item, "queued", json_true());
	ret = 0;
done:
	if (ret < 0)
		ah_rollback(st);
	return ret;
}

static int valid_commit(const char *c)
{
	size_t n = strspn(c, "0123456789abcdef");

	return !c[n] && n >= 4 && n <= 64;
}

/*
 * The push announced by hooks.git (lib/ops-hooks.c). A ref outside the watched branches, a
 * commit already ingested or already waiting, queue nothing.
 */
int ah_hooks_git(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql_repo[] = "SELECT id FROM apps WHERE repo_url = ? ORDER BY id";
	const char *id, *url, *ref, *commit;
	sqlite3_stmt *stmt;
	json_t *ids = NULL, *items = NULL, *v;
	size_t i;
	int any = 0, ret = -1, rc;

	if (ah_param_str(params, "id", &id, err) < 0 ||
	    ah_param_str(params, "repoUrl", &url, err) < 0 ||
	    ah_param_str(params, "ref", &ref, err) < 0 ||
	    ah_param_str(params, "commit", &commit, err) < 0)
		return -1;
	if (!id && !url)
		return ah_invalid(err, "invalid hook: needs id or repoUrl");
	if (commit && !valid_commit(commit))
		return ah_invalid(err, "invalid commit '%s': must be a hexadecimal object name",
				  commit);
	if (ref && !branch_watched(ref)) {
		*out = json_pack("{s:b, s:s, s:[]}", "queued", 0, "reason", "ref is not a watched branch",
				 "items");
		return 0;
	}
	ids = json_array();
	if (id) {
		sqlite3_int64 n;

		if (ah_app_lookup(st, id, &n, err) < 0)
			goto done;
		json_array_append_new(ids, json_string(id));
	} else {
		if (!(stmt = ah_stmt(st, sql_repo, err)))
			goto done;
		ah_bind_text(stmt, 1, url);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			json_array_append_new(ids, json_string(ah_col_text(stmt, 0)));
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			ah_sql_error(st, err, "cannot find apps");
			goto done;
		}
		if (!json_array_size(ids)) {
			ah_not_found(err, "no app has repoUrl '%s'", url);
			goto done;
		}
	}
	items = json_array();
	json_array_foreach(ids, i, v) {
		json_t *item = json_pack("{s:s, s:s, s:s?, s:s?}", "id", json_string_value(v),
					 "kind", "ingest", "gitRef", ref, "commitSha", commit);

		json_array_append_new(items, item);
		if (hook_one(st, json_string_value(v), ref, commit, item, err) < 0)
			goto done;
		any |= json_is_true(json_object_get(item, "queued"));
	}
	*out = json_pack("{s:b, s:O}", "queued", any, "items", items);
	ret = 0;
done:
	json_decref(ids);
	json_decref(items);
	return ret;
}
