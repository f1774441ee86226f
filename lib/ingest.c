/*
 * Ingestion: the work queue's "ingest" items, claimed with a lease, fetched
 * with libgit2 into a bare mirror and analysed from the object database.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>
#include "analyze.h"
#include "apps.h"
#include "env.h"
#include "events.h"
#include "fetch-local.h"
#include "history.h"
#include "ingest.h"
#include "netcheck.h"
#include "params.h"
#include "runner.h"
#include "strbuf.h"
#include "tags.h"
#include "timeutil.h"
#include "tmpdir.h"
#include "utf8.h"
#include "work.h"

int ah_ingest_config_load(struct ah_ingest_config *cfg, struct ah_err *err)
{
	int64_t attempts;

	if (ah_env_int("APPHUB_INGEST_ATTEMPTS", 3, 1, &attempts, err) < 0 ||
	    ah_env_duration("APPHUB_INGEST_BACKOFF_MS", 1, 10000, 0, &cfg->backoff_ms, err) < 0 ||
	    ah_env_size("APPHUB_INGEST_MAX_BYTES", 200 << 20, 1, &cfg->max_bytes, err) < 0 ||
	    ah_env_duration("APPHUB_INGEST_TIMEOUT_MS", 1, 600000, 1, &cfg->timeout_ms, err) < 0 ||
	    ah_env_duration("APPHUB_INGEST_LEASE_MS", 1, 60000, 100, &cfg->lease_ms, err) < 0 ||
	    ah_env_size("APPHUB_INGEST_MAX_FILE_BYTES", AH_ANALYZE_MAX_FILE, 1, &cfg->max_file,
			err) < 0)
		return -1;
	cfg->attempts = attempts > 100 ? 100 : (int)attempts;
	return 0;
}

static int set_status(struct ah_state *st, sqlite3_int64 app, const char *status,
		      struct ah_err *err)
{
	static const char sql[] = "UPDATE apps SET status = ?2, updated_at = ?3 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, app);
	ah_bind_text(stmt, 2, status);
	ah_bind_text(stmt, 3, now);
	return ah_step_done(st, stmt, "cannot update app status", err);
}

/* ah_ingest_request() inside the caller's transaction. */
static int request_locked(struct ah_state *st, const char *id, struct ah_err *err)
{
	static const char sql_work[] =
		"SELECT claimed_by, lease_until FROM work WHERE kind = 'ingest' AND subject = ?";
	static const char sql_status[] = "SELECT status FROM apps WHERE n = ?";
	sqlite3_stmt *stmt;
	sqlite3_int64 n;
	int rc, pending = 0;

	if (ah_app_lookup(st, id, &n, err) < 0 || !(stmt = ah_stmt(st, sql_work, err)))
		return -1;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL &&
	    sqlite3_column_int64(stmt, 1) >= ah_now_ms()) {
		ah_conflict(err, "app '%s' is being ingested (by %s)", id, ah_col_text(stmt, 0));
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	if (!(stmt = ah_stmt(st, sql_status, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		pending = !strcmp(ah_col_text(stmt, 0), "pending");
	sqlite3_reset(stmt);
	if (ah_work_queue(st, "ingest", id, err) < 0)
		return -1;
	if (!pending && (set_status(st, n, "pending", err) < 0 || ah_ingest_queued(st, n, id, err) < 0))
		return -1;
	return 0;
}

int ah_ingest_request(struct ah_state *st, const char *id, struct ah_err *err)
{
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (request_locked(st, id, err) < 0 || ah_commit(st, err) < 0) {
		ah_rollback(st);
		return -1;
	}
	return 0;
}

/* The failure transition; inside the caller's transaction. */
static int record_failure(struct ah_state *st, const struct ah_ingest_config *cfg,
			  const struct ah_ingest_item *item, const char *message, int permanent,
			  int64_t duration_ms, json_t **result, struct ah_err *err)
{
	static const char sql_app[] =
		"UPDATE apps SET status = 'failed', ingest_error = ?2, updated_at = ?3 WHERE n = ?1";
	char *msg = xstrndup_utf8(message, AH_INGEST_ERROR_MAX), now[AH_ISO_LEN], retry_at[AH_ISO_LEN] = "";
	int retry = !permanent && item->lease.attempt < cfg->attempts, rc, ret = -1;
	sqlite3_stmt *stmt;
	json_t *data;

	ah_now_iso(now);
	if (!(stmt = ah_stmt(st, sql_app, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, item->app);
	ah_bind_text(stmt, 2, msg);
	ah_bind_text(stmt, 3, now);
	if (ah_step_done(st, stmt, "cannot record ingest failure", err) < 0)
		goto done;
	if (retry) {
		int64_t due = ah_work_retry_at(cfg->backoff_ms, item->lease.attempt);

		ah_iso_time(retry_at, due);
		rc = ah_work_release(st, item->lease.work_id, due, err);
	} else {
		rc = ah_work_finish(st, item->lease.work_id, err);
	}
	if (rc < 0 ||
	    ah_ingest_event(st, item->app, "failed", msg, item->lease.attempt, NULL, duration_ms, err) < 0)
		goto done;
	data = json_pack("{s:s, s:i, s:s?}", "errorMessage", msg, "attempt", item->lease.attempt,
			 "retryAt", retry ? retry_at : NULL);
	if (ah_event(st, "app.ingest.failed", item->id, data, err) < 0)
		goto done;
	*result = json_pack("{s:s, s:s, s:i, s:i, s:n, s:I, s:s, s:s?, s:b}", "id", item->id,
			    "status", "failed", "attempt", item->lease.attempt, "attempts", cfg->attempts,
			    "commitSha", "durationMs", (json_int_t)duration_ms, "errorMessage", msg,
			    "retryAt", retry ? retry_at : NULL, "permanent", permanent);
	ret = 0;
done:
	free(msg);
	return ret;
}

/*
 * Whether the item is still ours: its lease may have run out and it been
 * taken, or a request may have queued it again (its attempts reset).
 */
static int still_ours(struct ah_state *st, const void *it, struct ah_err *err)
{
	const struct ah_ingest_item *item = it;

	return ah_work_is_ours(st, item->lease.work_id, item->lease.owner, item->lease.attempt, err);
}

static json_t *lost_result(const void *it)
{
	const struct ah_ingest_item *item = it;

	return json_pack("{s:s, s:s, s:i, s:s}", "id", item->id, "status", "lost",
			 "attempt", item->lease.attempt,
			 "errorMessage", "the lease ran out and another worker took the item");
}

/* The runner's fail: a worker that ended without a result. */
static int work_fail(struct ah_state *st, const void *cfgp, const void *it, const char *message,
		     json_t **result, struct ah_err *err)
{
	const struct ah_ingest_item *item = it;

	return record_failure(st, cfgp, item, message, 0, ah_now_ms() - item->lease.started_ms,
			      result, err);
}

/*
 * The runner's claim, inside its transaction: the next due item (only app
 * only_id's when not NULL), the app marked processing. An item whose
 * worker went away on its last attempt is failed here instead.
 */
static int work_claim(struct ah_state *st, const void *cfgp, const char *owner,
		      const char *only_id, void *it, struct ah_err *err)
{
	static const char sql_app[] =
		"UPDATE apps SET status = 'processing', ingest_attempts = ?2, updated_at = ?3"
		" WHERE n = ?1";
	const struct ah_ingest_config *cfg = cfgp;
	struct ah_ingest_item *item = it;
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN];
	int rc;

	for (;;) {
		struct ah_work_item w;
		char *msg;

		if ((rc = ah_work_next(st, "ingest", only_id, &w, err)) <= 0)
			return rc;
		memset(item, 0, sizeof(*item));
		item->lease.work_id = w.id;
		item->app = w.app;
		snprintf(item->id, sizeof(item->id), "%s", w.subject);
		snprintf(item->lease.owner, sizeof(item->lease.owner), "%s", owner);
		item->lease.attempt = w.attempts + 1;
		item->lease.started_ms = w.at;
		/* an ingest's status is the app's: its attempts are the queue's */
		if ((msg = ah_work_abandoned(&w, 1, w.attempts, cfg->attempts, "ingest worker"))) {
			/* The worker of the last attempt went away: that attempt failed. */
			struct ah_ingest_item last = *item;
			json_t *res = NULL;

			last.lease.attempt = w.attempts;
			rc = record_failure(st, cfg, &last, msg, 0, -1, &res, err);
			free(msg);
			json_decref(res);
			if (rc < 0)
				return -1;
			continue;
		}
		if (ah_work_claim(st, w.id, owner, item->lease.attempt, w.at + cfg->lease_ms, err) < 0)
			return -1;
		ah_now_iso(now);
		if (!(stmt = ah_stmt(st, sql_app, err)))
			return -1;
		sqlite3_bind_int64(stmt, 1, item->app);
		sqlite3_bind_int(stmt, 2, item->lease.attempt);
		ah_bind_text(stmt, 3, now);
		if (ah_step_done(st, stmt, "cannot update app status", err) < 0 ||
		    ah_ingest_event(st, item->app, "processing",
				    w.stale ? "Ingestion started (the previous worker went away)"
					    : "Ingestion started",
				    item->lease.attempt, NULL, -1, err) < 0 ||
		    ah_event(st, "app.ingest.started", item->id,
			     json_pack("{s:i}", "attempt", item->lease.attempt), err) < 0)
			return -1;
		return 1;
	}
}

/* The runner's request: app id made due now and claimed, in one transaction. */
static int work_request(struct ah_state *st, const void *cfg, const char *owner, const char *id,
			json_t *params, void *item, struct ah_err *err)
{
	int r;

	(void)params;
	if (ah_begin_write(st, err) < 0)
		return -1;
	r = request_locked(st, id, err);
	if (!r)
		r = work_claim(st, cfg, owner, id, item, err);
	if (!r)
		r = ah_conflict(err, "app '%s' is being ingested", id);
	if (r >= 0 && ah_commit(st, err) < 0)
		r = -1;
	if (r < 0) {
		ah_rollback(st);
		return -1;
	}
	return 0;
}

/* Appends url and its spellings: with and without file://, ".git", "/". */
static void add_spellings(json_t *list, const char *url)
{
	const char *path = strncasecmp(url, "file://", 7) ? url : url + 7;
	size_t len = strlen(path);
	char *base;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len > 5 && !strncmp(path + len - 5, "/.git", 5))
		len -= 5;
	else if (len > 4 && !strncmp(path + len - 4, ".git", 4))
		len -= 4;
	base = xstrndup(path, len);
	json_array_append_new(list, json_string(url));
	json_array_append_new(list, json_sprintf("%s", base));
	json_array_append_new(list, json_sprintf("%s/", base));
	json_array_append_new(list, json_sprintf("%s.git", base));
	json_array_append_new(list, json_sprintf("%s/.git", base));
	if (base[0] == '/') {
		json_array_append_new(list, json_sprintf("file://%s", base));
		json_array_append_new(list, json_sprintf("file://%s/", base));
		json_array_append_new(list, json_sprintf("file://%s.git", base));
		json_array_append_new(list, json_sprintf("file://%s/.git", base));
	}
	free(base);
}

int ah_ingest_apps_for_repo(struct ah_state *st, const char *url, json_t **ids,
			    struct ah_err *err)
{
	static const char sql[] =
		"SELECT id FROM apps WHERE repo_url IN (SELECT value FROM json_each(?)) ORDER BY id";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *list = json_array();
	char *text;
	int rc;

	*ids = NULL;
	if (!stmt) {
		json_decref(list);
		return -1;
	}
	add_spellings(list, url);
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	ah_bind_text(stmt, 1, text);
	free(text);
	*ids = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(*ids, json_string(ah_col_text(stmt, 0)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(*ids);
		*ids = NULL;
		return ah_sql_error(st, err, "cannot look up apps");
	}
	return 0;
}

/* ------------------------------------------------------------ libgit2 */

static int git_initialized;

void ah_ingest_global_init(void)
{
	if (git_initialized++)
		return;
	git_libgit2_init();
	/* Read-only use of other people's repositories: no owner check. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	git_libgit2_opts(GIT_OPT_SET_USER_AGENT, "apphub/" APPHUB_VERSION);
}

void ah_ingest_global_cleanup(void)
{
	if (git_initialized && !--git_initialized)
		git_libgit2_shutdown();
}

struct fetch_state {
	const struct ah_ingest_config *cfg;
	int64_t deadline;
	int credential_calls;
	char why[256];		/* set when a callback aborted */
	int permanent;		/* ... for a reason no retry changes (a limit) */
	unsigned received_objects, total_objects;
	size_t received_bytes;
};

static int check_limits(struct fetch_state *fs, size_t bytes)
{
	if (bytes > (size_t)fs->cfg->max_bytes) {
		fs->permanent = 1;
		snprintf(fs->why, sizeof(fs->why),
			 "repository is larger than the limit of %lld bytes (APPHUB_INGEST_MAX_BYTES)",
			 (long long)fs->cfg->max_bytes);
		return -1;
	}
	if (ah_now_ms() > fs->deadline) {
		snprintf(fs->why, sizeof(fs->why),
			 "fetch took longer than the limit of %lld s (APPHUB_INGEST_TIMEOUT_MS)",
			 (long long)(fs->cfg->timeout_ms / 1000));
		return -1;
	}
	return 0;
}

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
	struct fetch_state *fs = payload;

	fs->received_objects = stats->received_objects;
	fs->total_objects = stats->total_objects;
	fs->received_bytes = stats->received_bytes;
	return check_limits(fs, stats->received_bytes);
}

static int on_sideband(const char *str, int len, void *payload)
{
	struct fetch_state *fs = payload;

	(void)str;
	(void)len;
	return check_limits(fs, fs->received_bytes);
}

static int on_credentials(git_credential **out, const char *url, const char *user,
			  unsigned int allowed, void *payload)
{
	struct fetch_state *fs = payload;

	(void)url;
	if (fs->credential_calls++ < 1 && (allowed & GIT_CREDENTIAL_SSH_KEY))
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	return GIT_PASSTHROUGH;
}

static void git_fail(struct ah_err *err, struct fetch_state *fs, const char *what,
		     const char *url)
{
	const git_error *e = git_error_last();

	if (fs && fs->why[0])
		ah_error(err, fs->permanent ? AH_INGEST_PERMANENT : 400,
			 fs->permanent ? "too_large" : "invalid", "%s '%s': %s", what, url, fs->why);
	else
		ah_invalid(err, "%s '%s': %s", what, url, e && e->message ? e->message : "unknown error");
}

/* A repository URL as libgit2 takes it: a plain path stays a path. */
static int mkdir_repos(const char *dir, struct ah_err *err)
{
	char *path = xstrfmt("%s/repos", dir);
	int ret = 0;

	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		ret = ah_internal(err, "cannot create '%s': %s", path, strerror(errno));
	free(path);
	return ret;
}

/*
 * Fetches url's branches into the bare mirror at path; *branch gets the
 * remote's default branch ("refs/heads/main").
 */
static int fetch_mirror(const char *url, const char *path, struct fetch_state *fs,
			git_repository **repo_out, char **branch, struct ah_err *err)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_fetch_options fopts;
	git_remote_create_options ropts;
	git_remote_connect_options copts;
	git_buf head = { 0 };
	const char *local = !strncasecmp(url, "file://", 7) ? url + 7 : url[0] == '/' ? url : NULL;
	char *mirror_refs[] = { "+refs/heads/*:refs/heads/*" }, *head_name = NULL;
	git_strarray refspecs = { mirror_refs, 1 };
	int ret = -1;

	*repo_out = NULL;
	*branch = NULL;
	git_fetch_options_init(&fopts, GIT_FETCH_OPTIONS_VERSION);
	if (git_repository_open_bare(&repo, path) < 0 &&
	    git_repository_init(&repo, path, 1) < 0) {
		git_fail(err, NULL, "cannot create mirror for", url);
		goto done;
	}
	if (local) {
		struct ah_fetch_local_stats stats;

		if (ah_fetch_local(local, url, repo, fs->cfg->max_bytes, &stats, &head_name, err) < 0)
			goto done;
		fs->received_objects = stats.objects;
		fs->received_bytes = (size_t)stats.bytes;
		goto fetched;
	}
	/*
	 * An anonymous remote with the refspec given at download, and no
	 * url.*.insteadOf lookup: libgit2 1.5 matches config entries against a
	 * regex and leaks the match data of every miss (libgit2 #6382), which
	 * in serve's long-lived workers adds up with every ingest.
	 */
	git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ropts.repository = repo;
	ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url, &ropts) < 0) {
		git_fail(err, NULL, "cannot set up remote", url);
		goto done;
	}
	fopts.callbacks.transfer_progress = on_transfer;
	fopts.callbacks.sideband_progress = on_sideband;
	fopts.callbacks.credentials = on_credentials;
	fopts.callbacks.payload = fs;
	fopts.prune = GIT_FETCH_PRUNE;
	fopts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fopts.update_fetchhead = 0;
	git_remote_connect_options_init(&copts, GIT_REMOTE_CONNECT_OPTIONS_VERSION);
	copts.callbacks = fopts.callbacks;
	/* A redirect to another host would skip the address check. */
	if (ah_netcheck_active())
		copts.follow_redirects = fopts.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
	if (git_remote_connect_ext(remote, GIT_DIRECTION_FETCH, &copts) < 0) {
		git_fail(err, fs, "cannot reach repository", url);
		goto done;
	}
	if (git_remote_default_branch(&head, remote) < 0) {
		ah_invalid(err, "repository '%s' has no default branch (is it empty?)", url);
		goto done;
	}
	if (git_remote_download(remote, &refspecs, &fopts) < 0) {
		git_fail(err, fs, "cannot fetch", url);
		goto done;
	}
	if (git_remote_update_tips(remote, &fopts.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE,
				   "apphub: fetch") < 0 ||
	    git_remote_prune(remote, &fopts.callbacks) < 0) {
		git_fail(err, fs, "cannot update mirror of", url);
		goto done;
	}
	head_name = xstrdup(head.ptr);
fetched:
	git_repository_set_head(repo, head_name);
	*branch = head_name;
	head_name = NULL;
	*repo_out = repo;
	repo = NULL;
	ret = 0;
done:
	free(head_name);
	git_buf_dispose(&head);
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	git_repository_free(repo);
	return ret;
}

/* The analysis tree over a git tree object. */
struct git_tree_src {
	git_repository *repo;
	git_tree *root;
	git_odb *odb;
};

/*
 * Commits and directories are inflated whole to be read: sized from their
 * headers first, against a bound far above any real one (a directory of
 * 16 MiB lists some 400,000 entries).
 */
#define OBJECT_MAX (16 << 20)

static int object_sized(git_odb *odb, const git_oid *id, const char *what, const char *path,
			struct ah_err *err)
{
	git_object_t type;
	size_t len;

	if (git_odb_read_header(&len, &type, odb, id) < 0)
		return ah_internal(err, "cannot read %s '%s' from the repository", what, path);
	if (len > OBJECT_MAX)
		return ah_invalid(err, "%s '%s' is larger than the %d MiB limit", what, path,
				  OBJECT_MAX >> 20);
	return 0;
}

static int tree_lookup_sized(git_tree **out, git_repository *repo, git_odb *odb,
			     const git_oid *id, const char *path, struct ah_err *err)
{
	*out = NULL;
	if (object_sized(odb, id, "directory", *path ? path : "/", err) < 0)
		return -1;
	if (git_tree_lookup(out, repo, id) < 0)
		return ah_internal(err, "cannot read directory '%s' from the repository", path);
	return 0;
}

/* The entry at path, each directory on the way sized before it is read. */
static int gt_entry(struct git_tree_src *src, const char *path, git_tree_entry **out,
		    struct ah_err *err)
{
	struct strbuf dir = STRBUF_INIT;
	git_tree *tree = src->root, *next = NULL;
	const char *p = path;
	int ret = -1;

	*out = NULL;
	for (;;) {
		size_t n = strcspn(p, "/");
		char *name = xstrndup(p, n);
		const git_tree_entry *e = git_tree_entry_byname(tree, name);

		free(name);
		if (dir.len)
			strbuf_addch(&dir, '/');
		strbuf_add(&dir, p, n);
		p += n;
		if (!e) {
			ret = 0;
			break;
		}
		if (!*p) {
			if (git_tree_entry_dup(out, e) < 0) {
				ah_internal(err, "out of memory");
				break;
			}
			ret = 0;
			break;
		}
		p++;
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			ret = 0;
			break;
		}
		if (tree_lookup_sized(&next, src->repo, src->odb, git_tree_entry_id(e), dir.buf,
				      err) < 0)
			break;
		if (tree != src->root)
			git_tree_free(tree);
		tree = next;
	}
	if (tree != src->root)
		git_tree_free(tree);
	strbuf_release(&dir);
	return ret;
}

static int gt_stat(void *data, const char *path, enum ah_tree_type *type, struct strbuf *target,
		   struct ah_err *err)
{
	struct git_tree_src *src = data;
	git_tree_entry *e;
	git_blob *blob = NULL;
	int ret = -1;

	*type = AH_TREE_NONE;
	if (!*path) {
		*type = AH_TREE_DIR;
		return 0;
	}
	if (gt_entry(src, path, &e, err) < 0)
		return -1;
	if (!e)
		return 0;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_TREE:
		*type = AH_TREE_DIR;
		break;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		*type = AH_TREE_FILE;
		break;
	case GIT_FILEMODE_LINK: {
		git_object_t otype;
		size_t len;

		*type = AH_TREE_LINK;
		/* Its size from the header: a link's blob may be a bomb too. */
		if (git_odb_read_header(&len, &otype, src->odb, git_tree_entry_id(e)) < 0) {
			ah_internal(err, "cannot read symlink '%s'", path);
			goto done;
		}
		if (len > PATH_MAX) {
			ah_invalid(err, "symlink '%s' has a target longer than %d bytes", path, PATH_MAX);
			goto done;
		}
		if (git_blob_lookup(&blob, src->repo, git_tree_entry_id(e)) < 0) {
			ah_internal(err, "cannot read symlink '%s'", path);
			goto done;
		}
		if (git_blob_rawsize(blob) > PATH_MAX) {
			ah_invalid(err, "symlink '%s' has a target longer than %d bytes", path, PATH_MAX);
			goto done;
		}
		strbuf_add(target, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
		break;
	}
	default:
		*type = AH_TREE_OTHER;
		break;
	}
	ret = 0;
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return ret;
}


static int gt_read(void *data, const char *path, size_t max, struct strbuf *out, size_t *size,
		   struct ah_err *err)
{
	struct git_tree_src *src = data;
	git_tree_entry *e;
	git_blob *blob = NULL;
	git_object_t otype;
	size_t len;
	int ret = -1;

	*size = 0;
	if (gt_entry(src, path, &e, err) < 0)
		return -1;
	if (!e)
		return ah_internal(err, "'%s' vanished from the repository", path);
	if (git_odb_read_header(&len, &otype, src->odb, git_tree_entry_id(e)) < 0) {
		ah_internal(err, "cannot read '%s' from the repository", path);
		goto done;
	}
	*size = len;
	/* The size is the header's: a blob over the cap is never inflated. */
	if (len > max) {
		ret = 0;
		goto done;
	}
	if (git_blob_lookup(&blob, src->repo, git_tree_entry_id(e)) < 0) {
		ah_internal(err, "cannot read '%s' from the repository", path);
		goto done;
	}
	strbuf_add(out, git_blob_rawcontent(blob), len < max ? len : max);
	ret = 0;
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return ret;
}

static int gt_list(void *data, const char *dir, ah_tree_list_fn fn, void *cb, struct ah_err *err)
{
	struct git_tree_src *src = data;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	size_t i, nr;
	int ret = -1;

	if (!*dir) {
		tree = src->root;
	} else {
		if (gt_entry(src, dir, &e, err) < 0)
			return -1;
		if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			ret = 0;
			goto done;
		}
		if (tree_lookup_sized(&tree, src->repo, src->odb, git_tree_entry_id(e), dir, err) < 0)
			goto done;
	}
	nr = git_tree_entrycount(tree);
	for (i = 0; i < nr; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		enum ah_tree_type type;

		switch (git_tree_entry_filemode(te)) {
		case GIT_FILEMODE_TREE:
			type = AH_TREE_DIR;
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			type = AH_TREE_FILE;
			break;
		case GIT_FILEMODE_LINK:
			type = AH_TREE_LINK;
			break;
		default:
			type = AH_TREE_OTHER;
			break;
		}
		if (fn(cb, git_tree_entry_name(te), type))
			break;
	}
	ret = 0;
done:
	if (tree != src->root)
		git_tree_free(tree);
	git_tree_entry_free(e);
	return ret;
}

struct app_row {
	char *repo_url, *dockerfile;
	int explicit;
	int dockerfile_given;	/* the author's path, not discovery's */
};

static int read_app(struct ah_state *st, sqlite3_int64 n, struct app_row *row, struct ah_err *err)
{
	static const char sql[] =
		"SELECT repo_url, dockerfile_path, metadata_strategy, dockerfile_auto"
		" FROM apps WHERE n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	memset(row, 0, sizeof(*row));
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		row->repo_url = xstrdup(ah_col_text(stmt, 0));
		row->dockerfile = xstrdup(ah_col_text(stmt, 1));
		row->explicit = !strcmp(ah_col_text(stmt, 2), "explicit");
		row->dockerfile_given = !sqlite3_column_int(stmt, 3);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return ah_not_found(err, "app not found");
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot read app");
	return 0;
}

/* The success transition, with the analysis; inside the caller's transaction. */
static int record_success(struct ah_state *st, const struct ah_ingest_item *item,
			  const struct ah_analysis *an, const char *sha, int64_t duration_ms,
			  struct ah_err *err)
{
	static const char sql[] =
		"UPDATE apps SET status = 'ready', commit_sha = ?2, readme = ?3,"
		" last_ingested_at = ?4, ingest_error = NULL,"
		" dockerfile_path = CASE WHEN dockerfile_auto THEN ?5 ELSE dockerfile_path END,"
		" name = CASE WHEN name_auto THEN coalesce(?6, id) ELSE name END,"
		" description = CASE WHEN description_auto THEN coalesce(?7, '') ELSE description END,"
		" updated_at = ?4 WHERE n = ?1";
	static const char *const sources[] = {
		"ingestion:package", "ingestion:tags-file", "ingestion:dockerfile",
	};
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];
	size_t i;

	if (!stmt)
		return -1;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, item->app);
	ah_bind_text(stmt, 2, sha);
	ah_bind_text(stmt, 3, an->readme);
	ah_bind_text(stmt, 4, now);
	ah_bind_text(stmt, 5, an->dockerfile);
	ah_bind_text(stmt, 6, an->name);
	ah_bind_text(stmt, 7, an->description);
	if (ah_step_done(st, stmt, "cannot record ingest", err) < 0)
		return -1;
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (ah_tags_unlink_source(st, item->app, sources[i], err) < 0)
			return -1;
	/* An author tag already linked stays the author's (the link is kept). */
	for (i = 0; i < an->nr_tags; i++)
		if (ah_tag_link(st, item->app, &an->tags[i].tag, an->tags[i].source, err) < 0)
			return -1;
	if (ah_apps_reindex(st, &item->app, 1, err) < 0 ||
	    ah_ingest_event(st, item->app, "ready", "Ingestion succeeded", item->lease.attempt, sha,
			    duration_ms, err) < 0 ||
	    ah_event(st, "app.ingest.succeeded", item->id,
		     json_pack("{s:s, s:I, s:i}", "commitSha", sha, "durationMs",
			       (json_int_t)duration_ms, "attempt", item->lease.attempt), err) < 0 ||
	    ah_work_finish(st, item->lease.work_id, err) < 0)
		return -1;
	return ah_work_queue(st, "build", item->id, err);
}

/* Fetch and analysis; a failure here is the app's, reported in gerr. */
static int fetch_and_analyze(struct ah_state *st, const struct ah_ingest_config *cfg,
			     const struct ah_ingest_item *item, const struct app_row *row,
			     struct fetch_state *fs, struct ah_analysis *an, char *sha,
			     struct ah_err *gerr)
{
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_oid oid;
	struct git_tree_src src = { NULL, NULL, NULL };
	struct ah_tree tree = { &src, gt_stat, gt_read, gt_list };
	struct ah_analyze_opts opts;
	char *path = xstrfmt("%s/repos/%s.git", st->dir, item->id), *branch = NULL;
	int ret = -1;

	/* Again at fetch time: what a name resolves to may have changed. */
	if (ah_netcheck_repo_url(row->repo_url, gerr) < 0) {
		if (gerr->status == 403)
			gerr->status = AH_INGEST_PERMANENT;
		goto done;
	}
	if (mkdir_repos(st->dir, gerr) < 0 ||
	    fetch_mirror(row->repo_url, path, fs, &repo, &branch, gerr) < 0)
		goto done;
	if (git_reference_name_to_id(&oid, repo, branch) < 0 || git_repository_odb(&src.odb, repo) < 0) {
		ah_invalid(gerr, "cannot read branch '%s' of '%s': %s", branch, row->repo_url,
			   git_error_last() ? git_error_last()->message : "error");
		goto done;
	}
	if (object_sized(src.odb, &oid, "commit", branch, gerr) < 0 ||
	    git_commit_lookup(&commit, repo, &oid) < 0 ||
	    tree_lookup_sized(&src.root, repo, src.odb, git_commit_tree_id(commit), "", gerr) < 0) {
		if (!gerr->status)
			ah_invalid(gerr, "cannot read branch '%s' of '%s': %s", branch, row->repo_url,
				   git_error_last() ? git_error_last()->message : "error");
		else if (gerr->status == 400)
			gerr->status = AH_INGEST_PERMANENT;
		goto done;
	}
	git_oid_tostr(sha, GIT_OID_HEXSZ + 1, &oid);
	src.repo = repo;
	/* Discovery starts afresh each time; only the author's path is kept. */
	opts.dockerfile_path = row->dockerfile_given ? row->dockerfile : NULL;
	opts.explicit = row->explicit;
	opts.max_file = (size_t)cfg->max_file;
	/* What the commit holds does not change on a retry. */
	if (ah_analyze(&tree, &opts, an, gerr) < 0) {
		if (gerr->status == 400)
			gerr->status = AH_INGEST_PERMANENT;
		goto done;
	}
	ret = 0;
done:
	git_odb_free(src.odb);
	git_tree_free(src.root);
	git_commit_free(commit);
	git_repository_free(repo);
	free(branch);
	free(path);
	return ret;
}

/* What an ingest came to, recorded by record_outcome(). */
struct outcome {
	const struct ah_ingest_config *cfg;
	const struct ah_ingest_item *item;
	struct fetch_state fs;
	struct ah_analysis an;
	struct ah_err gerr;
	char sha[GIT_OID_HEXSZ + 1];
	int64_t duration;
	int ok;
};

static int record_outcome(struct ah_state *st, void *cls, json_t **result, struct ah_err *err)
{
	struct outcome *o = cls;
	const struct ah_ingest_item *item = o->item;

	if (!o->ok)
		return record_failure(st, o->cfg, item, o->gerr.msg,
				      o->gerr.status == AH_INGEST_PERMANENT, o->duration, result, err);
	if (record_success(st, item, &o->an, o->sha, o->duration, err) < 0)
		return -1;
	*result = json_pack("{s:s, s:s, s:i, s:s, s:I, s:n, s:s, s:I, s:I}", "id", item->id,
			    "status", "ready", "attempt", item->lease.attempt, "commitSha", o->sha,
			    "durationMs", (json_int_t)o->duration, "errorMessage",
			    "dockerfilePath", o->an.dockerfile,
			    "receivedObjects", (json_int_t)o->fs.received_objects,
			    "receivedBytes", (json_int_t)o->fs.received_bytes);
	return 0;
}

/*
 * The runner's perform: fetches and analyses a claimed item and records the
 * outcome. -1 only when it could not be recorded.
 */
static int work_perform(struct ah_state *st, const void *cfgp, const void *it, json_t **result,
			struct ah_err *err)
{
	const struct ah_ingest_config *cfg = cfgp;
	const struct ah_ingest_item *item = it;
	struct outcome o = { .cfg = cfg, .item = item, .gerr = AH_ERR_INIT };
	struct app_row row;
	int ret = -1;

	*result = NULL;
	o.fs.cfg = cfg;
	o.fs.deadline = item->lease.started_ms + cfg->timeout_ms;
	ah_ingest_global_init();
	/* what crashed processes left in the state directory goes first (a few readdirs) */
	{
		struct ah_err ignore = AH_ERR_INIT;

		ah_tmp_reclaim(st->dir, 0, NULL, NULL, &ignore);
	}
	if (read_app(st, item->app, &row, err) < 0)
		goto out;
	o.ok = fetch_and_analyze(st, cfg, item, &row, &o.fs, &o.an, o.sha, &o.gerr) == 0;
	o.duration = ah_now_ms() - item->lease.started_ms;
	ret = ah_runner_settle(st, &ah_ingest_work, item, record_outcome, &o, result, err);
out:
	free(row.repo_url);
	free(row.dockerfile);
	ah_analysis_release(&o.an);
	return ret;
}

/* ingest.queue: {} -> {data:[{id, attempts, notBefore, claimedBy, leaseUntil}]}. */
int ah_ingest_queue(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT subject, attempts, not_before, claimed_by, lease_until FROM work"
		" WHERE kind = 'ingest' ORDER BY not_before, id";
	sqlite3_stmt *stmt;
	json_t *data;
	int rc;

	(void)params;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	data = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char nb[AH_ISO_LEN], lu[AH_ISO_LEN];
		int claimed = sqlite3_column_type(stmt, 3) != SQLITE_NULL;

		ah_iso_time(nb, sqlite3_column_int64(stmt, 2));
		ah_iso_time(lu, sqlite3_column_int64(stmt, 4));
		json_array_append_new(data, json_pack("{s:s, s:i, s:s, s:s?, s:s?}",
						      "id", ah_col_text(stmt, 0),
						      "attempts", sqlite3_column_int(stmt, 1),
						      "notBefore", nb,
						      "claimedBy", claimed ? ah_col_text(stmt, 3) : NULL,
						      "leaseUntil", claimed ? lu : NULL));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(data);
		return ah_sql_error(st, err, "cannot read work queue");
	}
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

static int work_config_load(void *cfg, struct ah_err *err)
{
	return ah_ingest_config_load(cfg, err);
}

static void work_limits(const void *cfgp, int64_t *lease_ms, int64_t *timeout_ms)
{
	const struct ah_ingest_config *cfg = cfgp;

	*lease_ms = cfg->lease_ms;
	*timeout_ms = cfg->timeout_ms;
}

static json_t *work_internal_error(const void *it, const char *message)
{
	const struct ah_ingest_item *item = it;

	return json_pack("{s:s, s:s, s:i, s:s, s:b}", "id", item->id, "status", "error",
			 "attempt", item->lease.attempt, "errorMessage", message, "internal", 1);
}

const struct ah_work_kind ah_ingest_work = {
	.name = "ingest",
	.what = "ingest",
	.worker = "the ingest worker",
	.timeout_env = "APPHUB_INGEST_TIMEOUT_MS",
	.item_size = sizeof(struct ah_ingest_item),
	.config_size = sizeof(struct ah_ingest_config),
	.config_load = work_config_load,
	.limits = work_limits,
	.claim = work_claim,
	.request = work_request,
	.perform = work_perform,
	.fail = work_fail,
	.still_ours = still_ours,
	.lost = lost_result,
	.internal_error = work_internal_error,
	.init = ah_ingest_global_init,
	.cleanup = ah_ingest_global_cleanup,
};
