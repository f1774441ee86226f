/*
 * The build worker: performs one "build" item of the work queue: checks the
 * item's commit out of the app's mirror (libgit2) into a fresh context and
 * runs the engine (lib/build.h) on it, then records the outcome in the build
 * record (lib/builds.h): the work kind "build" of the runner (lib/runner.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "apps.h"
#include "build.h"
#include "builds.h"
#include "env.h"
#include "events.h"
#include "fsutil.h"
#include "log-page.h"
#include "params.h"
#include "runner.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"
#include "utf8.h"
#include "work.h"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_init_once(void)
{
	git_libgit2_init();
	/* Read-only use of the mirrors apphub itself wrote: no owner check. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "error";
}

struct extract {
	git_repository *repo;
	git_odb *odb;
	int64_t bytes, max, max_file;
	size_t entries;
};

/*
 * The size of a blob from its header, before anything inflates it: a few
 * megabytes of a repository can hold gigabytes of one repeated byte.
 */
static int blob_size(struct extract *x, const git_tree_entry *e, const char *full, size_t *size,
		     struct ah_err *err)
{
	git_object_t type;

	if (git_odb_read_header(size, &type, x->odb, git_tree_entry_id(e)) < 0 ||
	    type != GIT_OBJECT_BLOB)
		return ah_internal(err, "cannot read '%s': %s", full, git_msg());
	return 0;
}

/* A directory is inflated whole: sized first, against the per-file limit. */
static int tree_lookup_sized(struct extract *x, const git_oid *id, const char *full,
			     git_tree **out, struct ah_err *err)
{
	git_object_t type;
	size_t size;

	*out = NULL;
	if (git_odb_read_header(&size, &type, x->odb, id) < 0 || type != GIT_OBJECT_TREE)
		return ah_internal(err, "cannot read directory '%s': %s", full, git_msg());
	if ((int64_t)size > x->max_file)
		return ah_error(err, 413, "too_large",
				"directory '%s' is larger than the limit of %lld bytes (APPHUB_BUILD_MAX_FILE_BYTES)",
				*full ? full : "/", (long long)x->max_file);
	if (git_tree_lookup(out, x->repo, id) < 0)
		return ah_internal(err, "cannot read directory '%s': %s", full, git_msg());
	return 0;
}

#define EXTRACT_MAX_ENTRIES 1000000
#define EXTRACT_MAX_DEPTH 64

/*
 * Writes tree into the directory dirfd: files with their mode, symbolic
 * links as links, submodules as empty directories. Every entry is created
 * anew relative to a directory this walk made, never through a link.
 */
static int extract_tree(struct extract *x, git_tree *tree, int dirfd, const char *path,
			int depth, struct ah_err *err)
{
	size_t i, nr = git_tree_entrycount(tree);

	if (depth > EXTRACT_MAX_DEPTH)
		return ah_invalid(err, "repository directories nest deeper than %d levels at '%s'",
				  EXTRACT_MAX_DEPTH, path);
	for (i = 0; i < nr; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_blob *blob = NULL;
		git_tree *sub = NULL;
		char *full = xstrfmt("%s%s%s", path, *path ? "/" : "", name);
		size_t size;
		int fd = -1, ret = -1;

		if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
			ah_invalid(err, "repository entry '%s' is not a valid file name", full);
			goto next;
		}
		if (!strcmp(name, ".git")) {
			ret = 0;
			goto next;
		}
		if (++x->entries > EXTRACT_MAX_ENTRIES) {
			ah_invalid(err, "repository has more than %d entries", EXTRACT_MAX_ENTRIES);
			goto next;
		}
		switch (mode) {
		case GIT_FILEMODE_TREE:
			if (mkdirat(dirfd, name, 0755) < 0 ||
			    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				ah_internal(err, "cannot create directory '%s': %s", full, strerror(errno));
				goto next;
			}
			if (tree_lookup_sized(x, git_tree_entry_id(e), full, &sub, err) < 0)
				goto next;
			if (extract_tree(x, sub, fd, full, depth + 1, err) < 0)
				goto next;
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			if (blob_size(x, e, full, &size, err) < 0)
				goto next;
			if ((int64_t)size > x->max_file) {
				ah_error(err, 413, "too_large",
					 "file '%s' is larger than the limit of %lld bytes (APPHUB_BUILD_MAX_FILE_BYTES)",
					 full, (long long)x->max_file);
				goto next;
			}
			x->bytes += (int64_t)size;
			if (x->bytes > x->max) {
				ah_error(err, 413, "too_large",
					 "the build context is larger than the limit of %lld bytes (APPHUB_BUILD_MAX_CONTEXT_BYTES) at '%s'",
					 (long long)x->max, full);
				goto next;
			}
			if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) < 0) {
				ah_internal(err, "cannot read '%s': %s", full, git_msg());
				goto next;
			}
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0 || ah_write_full(fd, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) < 0 ||
			    fchmod(fd, mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644) < 0) {
				ah_internal(err, "cannot write '%s': %s", full, strerror(errno));
				goto next;
			}
			break;
		case GIT_FILEMODE_LINK: {
			char target[PATH_MAX];
			size_t len;

			if (blob_size(x, e, full, &len, err) < 0)
				goto next;
			if (len >= sizeof(target)) {
				ah_invalid(err, "symlink '%s' has an invalid target", full);
				goto next;
			}
			if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) < 0) {
				ah_internal(err, "cannot read symlink '%s': %s", full, git_msg());
				goto next;
			}
			len = (size_t)git_blob_rawsize(blob);
			if (!len || len >= sizeof(target) || memchr(git_blob_rawcontent(blob), 0, len)) {
				ah_invalid(err, "symlink '%s' has an invalid target", full);
				goto next;
			}
			memcpy(target, git_blob_rawcontent(blob), len);
			target[len] = '\0';
			if (symlinkat(target, dirfd, name) < 0) {
				ah_internal(err, "cannot create symlink '%s': %s", full, strerror(errno));
				goto next;
			}
			break;
		}
		default:	/* a submodule: its directory, empty */
			if (mkdirat(dirfd, name, 0755) < 0) {
				ah_internal(err, "cannot create directory '%s': %s", full, strerror(errno));
				goto next;
			}
			break;
		}
		ret = 0;
next:
		if (fd >= 0)
			close(fd);
		git_blob_free(blob);
		git_tree_free(sub);
		free(full);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/*
 * The log pipe's reader: appends to the log file up to its limit (the
 * runner keeps the item's lease alive meanwhile).
 */
struct copier {
	int in, out;
	int64_t budget;
	int done, cut;
	int64_t max;
};

static void *copier_main(void *arg)
{
	struct copier *c = arg;
	char buf[16384];

	for (;;) {
		struct pollfd pfd = { c->in, POLLIN, 0 };
		ssize_t n;
		int r = poll(&pfd, 1, 100);

		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0) {
			if (__atomic_load_n(&c->done, __ATOMIC_SEQ_CST))
				break;
			continue;
		}
		n = read(c->in, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EAGAIN && __atomic_load_n(&c->done, __ATOMIC_SEQ_CST))
				break;
			continue;
		}
		if (n <= 0)
			break;
		if (c->budget > 0) {
			size_t take = (int64_t)n > c->budget ? (size_t)c->budget : (size_t)n;

			if (ah_write_full(c->out, buf, take) < 0)
				c->budget = 0;
			else
				c->budget -= (int64_t)take;
			if ((size_t)n > take && !c->cut) {
				char note[128];
				int len = snprintf(note, sizeof(note),
						   "\n[apphub: log cut at %lld bytes (APPHUB_BUILD_MAX_LOG_BYTES)]\n",
						   (long long)c->max);

				ah_write_full(c->out, note, (size_t)len);
				c->cut = 1;
			}
		}
	}
	return NULL;
}

/* Runs the engine with its output through the copier into logfd. */
static int run_engine(struct ah_build_opts *opts, const struct ah_build_config *cfg, int logfd,
		      json_t **report, struct ah_err *err)
{
	struct copier c;
	pthread_t thread;
	struct stat sb;
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return ah_internal(err, "cannot make the log pipe: %s", strerror(errno));
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	memset(&c, 0, sizeof(c));
	c.in = fds[0];
	c.out = logfd;
	c.max = cfg->max_log;
	c.budget = cfg->max_log - (fstat(logfd, &sb) == 0 ? (int64_t)sb.st_size : 0);
	if (pthread_create(&thread, NULL, copier_main, &c)) {
		close(fds[0]);
		close(fds[1]);
		return ah_internal(err, "cannot start the log reader");
	}
	opts->log_fd = fds[1];
	ret = ah_build_image(opts, report, err);
	close(fds[1]);
	__atomic_store_n(&c.done, 1, __ATOMIC_SEQ_CST);
	pthread_join(thread, NULL);
	close(fds[0]);
	return ret;
}

struct build_row {
	char *sha, *ref, *engine, *dockerfile;
};

static void build_row_release(struct build_row *r)
{
	free(r->sha);
	free(r->ref);
	free(r->engine);
	free(r->dockerfile);
}

static int read_build_row(struct ah_state *st, sqlite3_int64 n, struct build_row *row,
			  struct ah_err *err)
{
	static const char sql[] =
		"SELECT b.commit_sha, b.git_ref, b.engine, a.dockerfile_path"
		" FROM builds b JOIN apps a ON a.n = b.app WHERE b.n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	memset(row, 0, sizeof(*row));
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
#define DUP_OR_NULL(i) (sqlite3_column_type(stmt, i) == SQLITE_NULL ? NULL : xstrdup(ah_col_text(stmt, i)))
		row->sha = DUP_OR_NULL(0);
		row->ref = DUP_OR_NULL(1);
		row->engine = DUP_OR_NULL(2);
		row->dockerfile = xstrdup(ah_col_text(stmt, 3));
#undef DUP_OR_NULL
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return ah_not_found(err, "build not found");
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot read build");
	return 0;
}

/* The commit to build, and its branch when it is one's head. */
static int resolve_commit(git_repository *repo, const struct build_row *row, const char *app_id,
			  git_commit **commit, char **branch, struct ah_err *err)
{
	git_object *obj = NULL, *peeled = NULL;
	git_reference *ref = NULL, *head = NULL;
	git_oid oid;
	int ret = -1;

	*commit = NULL;
	*branch = NULL;
	if (row->ref) {
		if (git_revparse_ext(&obj, &ref, repo, row->ref) < 0) {
			ah_invalid(err, "ref '%s' is not a branch, tag or commit of app '%s'", row->ref,
				   app_id);
			goto done;
		}
		if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
			ah_invalid(err, "ref '%s' of app '%s' does not name a commit", row->ref, app_id);
			goto done;
		}
		if (ref && git_reference_is_branch(ref))
			*branch = xstrdup(git_reference_shorthand(ref));
		*commit = (git_commit *)peeled;
		peeled = NULL;
	} else {
		if (!row->sha || git_oid_fromstr(&oid, row->sha) < 0 ||
		    git_commit_lookup(commit, repo, &oid) < 0) {
			ah_invalid(err, "commit %s of app '%s' is not in its mirror (ingest it again)",
				   row->sha ? row->sha : "(none)", app_id);
			goto done;
		}
		if (git_repository_head(&head, repo) == 0 && git_reference_is_branch(head))
			*branch = xstrdup(git_reference_shorthand(head));
	}
	ret = 0;
done:
	git_object_free(obj);
	git_object_free(peeled);
	git_reference_free(ref);
	git_reference_free(head);
	return ret;
}

static int mkdir_ok(const char *path, struct ah_err *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return ah_fatal(err, "cannot create '%s': %s", path, strerror(errno));
	return 0;
}

struct build_out {
	char sha[GIT_OID_HEXSZ + 1];
	char *branch, *tag;
	json_t *report;
};

/* Checkout and engine; a failure here is the build's, in gerr. */
static int build_it(struct ah_state *st, const struct ah_build_config *cfg,
		    const struct ah_build_item *item, const struct build_row *row, int logfd,
		    struct build_out *bo, struct ah_err *gerr)
{
	char *mirror = xstrfmt("%s/repos/%s.git", st->dir, item->app_id);
	char *tmp_root = xstrfmt("%s/builds/tmp", st->dir), *ctx_dir = NULL;
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	struct ah_build_opts opts;
	struct extract x;
	struct ah_err rm = AH_ERR_INIT;
	int dirfd = -1, ret = -1;

	memset(&x, 0, sizeof(x));
	pthread_once(&git_once, git_init_once);
	if (git_repository_open_bare(&repo, mirror) < 0) {
		ah_invalid(gerr, "the mirror of app '%s' is missing (ingest it first): %s", item->app_id,
			   git_msg());
		goto done;
	}
	if (resolve_commit(repo, row, item->app_id, &commit, &bo->branch, gerr) < 0)
		goto done;
	git_oid_tostr(bo->sha, sizeof(bo->sha), git_commit_id(commit));
	bo->tag = xstrfmt("apphub/%s:%.12s", item->app_id, bo->sha);
	dprintf(logfd, "apphub: build %s of %s at %s%s%s, attempt %d\n", item->id, item->app_id,
		bo->sha, bo->branch ? " on " : "", bo->branch ? bo->branch : "", item->lease.attempt);
	if (mkdir_ok(tmp_root, gerr) < 0)
		goto done;
	ctx_dir = xstrfmt("%s/%s-XXXXXX", tmp_root, item->id);
	/* dirfd holds its lock: a crashed build's context is reclaimed (lib/tmpdir.h) */
	if ((dirfd = ah_tmp_mkdir(ctx_dir, gerr)) < 0) {
		free(ctx_dir);
		ctx_dir = NULL;
		goto done;
	}
	if (fchmod(dirfd, 0755) < 0) {
		ah_internal(gerr, "cannot open '%s': %s", ctx_dir, strerror(errno));
		goto done;
	}
	x.repo = repo;
	x.max = cfg->max_context;
	x.max_file = cfg->max_file;
	if (git_repository_odb(&x.odb, repo) < 0) {
		ah_internal(gerr, "cannot read the mirror of '%s': %s", item->app_id, git_msg());
		goto done;
	}
	if (tree_lookup_sized(&x, git_commit_tree_id(commit), "", &tree, gerr) < 0)
		goto done;
	if (extract_tree(&x, tree, dirfd, "", 0, gerr) < 0)
		goto done;
	dprintf(logfd, "apphub: context %lld bytes in %zu entries; %s into %s\n",
		(long long)x.bytes, x.entries, row->dockerfile, bo->tag);
	memset(&opts, 0, sizeof(opts));
	opts.state_dir = st->dir;
	opts.context = ctx_dir;
	opts.dockerfile = row->dockerfile;
	opts.tag = bo->tag;
	opts.engine = row->engine;
	opts.run_timeout_ms = cfg->timeout_ms;
	if (run_engine(&opts, cfg, logfd, &bo->report, gerr) < 0)
		goto done;
	ret = 0;
done:
	if (ctx_dir && ah_remove_tree(ctx_dir, &rm) < 0)
		dprintf(logfd, "apphub: %s\n", rm.msg);
	if (dirfd >= 0)
		close(dirfd);
	git_odb_free(x.odb);
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	free(ctx_dir);
	free(tmp_root);
	free(mirror);
	return ret;
}

static int record_outcome(struct ah_state *st, const struct ah_build_item *item, int ok,
			  const struct build_out *bo, const char *msg, int logfd, int64_t duration,
			  struct ah_err *err)
{
	static const char sql_common[] =
		"UPDATE builds SET commit_sha = coalesce(?2, commit_sha),"
		" git_branch = coalesce(?3, git_branch), logs_preview = ?4, logs_truncated = ?5,"
		" logs_size = ?6 WHERE n = ?1";
	static const char sql_ok[] =
		"UPDATE builds SET status = 'succeeded', image_tag = ?2, error_message = NULL,"
		" completed_at = ?3, duration_ms = ?4, engine = coalesce(?5, engine) WHERE n = ?1";
	const char *engine = json_string_value(json_object_get(bo->report, "engine"));
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN], *preview;
	int64_t size;
	int ret = -1;

	preview = ah_log_tail(logfd, AH_BUILD_PREVIEW_MAX, &size);
	if (!(stmt = ah_stmt(st, sql_common, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, item->build);
	ah_bind_text(stmt, 2, *bo->sha ? bo->sha : NULL);
	ah_bind_text(stmt, 3, bo->branch);
	ah_bind_text(stmt, 4, preview);
	sqlite3_bind_int(stmt, 5, size > AH_BUILD_PREVIEW_MAX);
	sqlite3_bind_int64(stmt, 6, size);
	if (ah_step_done(st, stmt, "cannot record build", err) < 0)
		goto done;
	if (!ok) {
		if (ah_build_record_failed(st, item, msg, duration, err) < 0)
			goto done;
	} else {
		if (!(stmt = ah_stmt(st, sql_ok, err)))
			goto done;
		ah_now_iso(now);
		sqlite3_bind_int64(stmt, 1, item->build);
		ah_bind_text(stmt, 2, bo->tag);
		ah_bind_text(stmt, 3, now);
		sqlite3_bind_int64(stmt, 4, duration);
		ah_bind_text(stmt, 5, engine);
		if (ah_step_done(st, stmt, "cannot record build", err) < 0 ||
		    ah_event(st, "build.succeeded", item->app_id,
			     json_pack("{s:s, s:s, s:s, s:I, s:i}", "buildId", item->id, "imageTag",
				       bo->tag, "commitSha", bo->sha, "durationMs", (json_int_t)duration,
				       "attempt", item->lease.attempt), err) < 0)
			goto done;
	}
	if (ah_work_finish_attempt(st, item->lease.work_id, item->lease.attempt, err) < 0)
		goto done;
	ret = 0;
done:
	free(preview);
	return ret;
}

/* What a build came to, recorded by record_settled(). */
struct outcome {
	const struct ah_build_item *item;
	int ok;
	const struct build_out *bo;
	const char *msg;
	int logfd;
	int64_t duration;
};

static int record_settled(struct ah_state *st, void *cls, json_t **result, struct ah_err *err)
{
	struct outcome *o = cls;

	if (record_outcome(st, o->item, o->ok, o->bo, o->msg, o->logfd, o->duration, err) < 0 ||
	    !(*result = ah_build_json(st, NULL, o->item->build, err)))
		return -1;
	return 0;
}

/*
 * The runner's perform: checks the item's commit out, builds it with the
 * engine (lib/build.h) and records the outcome; *result is the record.
 * -1 only when the outcome could not be recorded.
 */
static int work_perform(struct ah_state *st, const void *cfgp, const void *it, json_t **result,
			struct ah_err *err)
{
	const struct ah_build_config *cfg = cfgp;
	const struct ah_build_item *item = it;
	struct build_row row;
	struct build_out bo;
	struct ah_err gerr = AH_ERR_INIT;
	char *dir = xstrfmt("%s/builds", st->dir), *log = NULL;
	int64_t duration;
	int logfd = -1, ok, ret = -1;

	*result = NULL;
	memset(&bo, 0, sizeof(bo));
	if (read_build_row(st, item->build, &row, err) < 0)
		goto out;
	if (mkdir_ok(dir, err) < 0)
		goto out;
	log = ah_build_log_path(st->dir, item->id);
	logfd = open(log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_fatal(err, "cannot open build log '%s': %s", log, strerror(errno));
		goto out;
	}
	ok = build_it(st, cfg, item, &row, logfd, &bo, &gerr) == 0;
	duration = ah_now_ms() - item->lease.started_ms;
	if (ok)
		dprintf(logfd, "apphub: built %s in %lld ms\n", bo.tag, (long long)duration);
	else
		dprintf(logfd, "apphub: build failed: %s\n", gerr.msg);
	{
		struct outcome o = { item, ok, &bo, gerr.msg, logfd, duration };

		ret = ah_runner_settle(st, &ah_build_work, item, record_settled, &o, result, err);
	}
out:
	if (logfd >= 0)
		close(logfd);
	build_row_release(&row);
	free(bo.branch);
	free(bo.tag);
	json_decref(bo.report);
	free(log);
	free(dir);
	return ret;
}

static int work_config_load(void *cfg, struct ah_err *err)
{
	return ah_build_config_load(cfg, err);
}

static void work_limits(const void *cfgp, int64_t *lease_ms, int64_t *timeout_ms)
{
	const struct ah_build_config *cfg = cfgp;

	*lease_ms = cfg->lease_ms;
	*timeout_ms = cfg->timeout_ms;
}

static int work_claim(struct ah_state *st, const void *cfg, const char *owner,
		      const char *only_id, void *item, struct ah_err *err)
{
	return ah_build_claim(st, cfg, owner, only_id, item, err);
}

/* The runner's request: a build of app id queued and claimed, at params' ref with its engine. */
static int work_request(struct ah_state *st, const void *cfg, const char *owner, const char *id,
			json_t *params, void *item, struct ah_err *err)
{
	const char *ref, *engine;
	json_t *rec = NULL;

	if (ah_param_str(params, "ref", &ref, err) < 0 ||
	    ah_param_str(params, "engine", &engine, err) < 0 ||
	    ah_build_request(st, id, ref && *ref ? ref : NULL, engine, cfg, owner, item, &rec,
			     err) < 0)
		return -1;
	json_decref(rec);
	return 0;
}

static int work_fail(struct ah_state *st, const void *cfg, const void *item, const char *message,
		     json_t **result, struct ah_err *err)
{
	return ah_build_fail(st, cfg, item, message, result, err);
}

static json_t *work_internal_error(const void *it, const char *message)
{
	const struct ah_build_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:b}", "id", item->id, "repositoryId",
			 item->app_id, "status", "error", "attempt", item->lease.attempt,
			 "errorMessage", message, "internal", 1);
}

const struct ah_work_kind ah_build_work = {
	.name = "build",
	.what = "the build",
	.worker = "the build worker",
	.timeout_env = "APPHUB_BUILD_TIMEOUT_MS",
	.item_size = sizeof(struct ah_build_item),
	.config_size = sizeof(struct ah_build_config),
	.config_load = work_config_load,
	.limits = work_limits,
	.claim = work_claim,
	.request = work_request,
	.perform = work_perform,
	.fail = work_fail,
	.still_ours = ah_build_still_ours,
	.lost = ah_build_lost_result,
	.internal_error = work_internal_error,
};
