/*
 * apphub ingest: work through the ingest queue, or ingest the given apps
 * now. Each ingest runs in a child process: a worker that hangs past the
 * time limit is killed and its attempt failed, and one that dies is
 * noticed at once; the parent keeps the leases of its children alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/ingest.h"
#include "../lib/strbuf.h"
#include "../lib/timeutil.h"

static const char *const ingest_usage[] = {
	"apphub ingest [-j <n>] [--watch]",
	"apphub ingest [-j <n>] <id>...",
	"apphub ingest [-j <n>] --repo <url>",
	NULL
};

#define MAX_JOBS 64
/* How long past the time limit a worker gets before it is killed. */
#define KILL_GRACE_MS 5000

struct worker {
	pid_t pid;
	int fd;
	struct ah_ingest_item item;
	struct strbuf out;
	int64_t renewed;
	int timed_out;
};

struct pool {
	struct ctx *ctx;
	struct ah_ingest_config cfg;
	char owner[128];
	struct worker w[MAX_JOBS];
	int nr, jobs;
	json_t *results;
	int failed, code;
	int ids;	/* ids given: every failed attempt counts */
};

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

static int state(struct pool *p, struct ah_state **st)
{
	struct ah_err err = AH_ERR_INIT;

	if (ah_ctx_state(&p->ctx->op, st, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void report(struct pool *p, json_t *res, int watch)
{
	const char *status = json_string_value(json_object_get(res, "status"));
	const char *id = json_string_value(json_object_get(res, "id"));

	if (!status)
		status = "failed";
	if (!strcmp(status, "ready")) {
		if (!p->ctx->json && !p->ctx->quiet)
			printf("%s ready %s (%" JSON_INTEGER_FORMAT " ms)\n", id,
			       json_string_value(json_object_get(res, "commitSha")),
			       json_integer_value(json_object_get(res, "durationMs")));
	} else {
		const char *retry = json_string_value(json_object_get(res, "retryAt"));

		if (!retry || p->ids)
			p->failed++;
		if (retry)
			fprintf(stderr, "apphub: cannot ingest '%s' (attempt %" JSON_INTEGER_FORMAT
				", retry at %s): %s\n", id,
				json_integer_value(json_object_get(res, "attempt")), retry,
				json_string_value(json_object_get(res, "error")));
		else
			fprintf(stderr, "apphub: cannot ingest '%s': %s\n", id,
				json_string_value(json_object_get(res, "error")));
	}
	if (p->ctx->json && watch) {
		json_dumpf(res, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	if (watch)
		fflush(stdout);
	json_array_append(p->results, res);
}

/* The child: ingest the item with a connection of its own, then report on fd. */
static _Noreturn void run_child(struct pool *p, const struct ah_ingest_item *item, int fd,
				pid_t parent)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	json_t *res = NULL;
	char *text;
	size_t off = 0, len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (ah_state_open(&st, p->ctx->op.dir, &err) < 0 ||
	    ah_ingest_perform(st, &p->cfg, item, &res, &err) < 0)
		res = json_pack("{s:s, s:s, s:i, s:s, s:b}", "id", item->id, "status", "error",
				"attempt", item->attempt, "error", err.msg, "internal", 1);
	text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	len = text ? strlen(text) : 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
	json_decref(res);
	ah_state_close(st);
	ah_ingest_global_cleanup();
	_exit(0);
}

static int spawn(struct pool *p, const struct ah_ingest_item *item)
{
	struct worker *w = &p->w[p->nr];
	pid_t parent = getpid(), pid;
	int fds[2];

	/* SQLite connections must not cross a fork: close ours first. */
	ah_ctx_release(&p->ctx->op);
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0) {
		fprintf(stderr, "apphub: cannot start worker: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "apphub: cannot start worker: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid) {
		close(fds[0]);
		run_child(p, item, fds[1], parent);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->fd = fds[0];
	w->item = *item;
	strbuf_init(&w->out, 0);
	w->renewed = ah_now_ms();
	w->timed_out = 0;
	p->nr++;
	return 0;
}

static void drain(struct worker *w)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		strbuf_add(&w->out, buf, (size_t)n);
}

/* A worker has ended: its result, or a failure recorded on its behalf. */
static int reap(struct pool *p, int i, int status, int watch)
{
	struct worker *w = &p->w[i];
	json_t *res = NULL;
	int ret = 0;

	drain(w);
	close(w->fd);
	if (w->out.len)
		res = json_loadb(w->out.buf, w->out.len, 0, NULL);
	if (!res) {
		struct ah_err err = AH_ERR_INIT;
		struct ah_state *st;
		char *msg;

		if (w->timed_out)
			msg = xstrfmt("ingest took longer than the limit of %lld s (APPHUB_INGEST_TIMEOUT_MS)",
				      (long long)(p->cfg.timeout_ms / 1000));
		else if (WIFSIGNALED(status))
			msg = xstrfmt("the ingest worker was killed by signal %d", WTERMSIG(status));
		else
			msg = xstrfmt("the ingest worker exited with status %d", WEXITSTATUS(status));
		if (state(p, &st) < 0 || ah_ingest_fail(st, &p->cfg, &w->item, msg, &res, &err) < 0) {
			if (err.status)
				fprintf(stderr, "apphub: %s\n", err.msg);
			ret = -1;
		}
		free(msg);
	}
	if (res) {
		if (json_is_true(json_object_get(res, "internal")))
			p->code = APPHUB_EXIT_FATAL;
		report(p, res, watch);
		json_decref(res);
	}
	strbuf_release(&w->out);
	p->w[i] = p->w[--p->nr];
	return ret;
}

/* Waits up to ms for workers to end; renews leases, kills the overdue. */
static int wait_workers(struct pool *p, int64_t ms, int watch)
{
	struct pollfd fds[MAX_JOBS];
	int64_t now;
	int i, status;

	for (i = 0; i < p->nr; i++) {
		fds[i].fd = p->w[i].fd;
		fds[i].events = POLLIN;
	}
	if (poll(fds, (nfds_t)p->nr, (int)ms) > 0)
		for (i = 0; i < p->nr; i++)
			if (fds[i].revents & POLLIN)
				drain(&p->w[i]);
	for (i = 0; i < p->nr; i++) {
		pid_t r = waitpid(p->w[i].pid, &status, WNOHANG);

		if (r == p->w[i].pid) {
			if (reap(p, i, status, watch) < 0)
				return -1;
			i--;
		}
	}
	now = ah_now_ms();
	for (i = 0; i < p->nr; i++) {
		struct worker *w = &p->w[i];

		if (!w->timed_out && now > w->item.started_ms + p->cfg.timeout_ms + KILL_GRACE_MS) {
			w->timed_out = 1;
			kill(w->pid, SIGKILL);
		}
		if (now - w->renewed >= p->cfg.lease_ms / 3) {
			struct ah_err err = AH_ERR_INIT;
			struct ah_state *st;

			if (state(p, &st) < 0)
				return -1;
			if (ah_ingest_renew(st, &p->cfg, &w->item, &err) < 0)
				fprintf(stderr, "apphub: %s\n", err.msg);
			w->renewed = now;
		}
	}
	/* Nothing may hold the database while a fork can come. */
	ah_ctx_release(&p->ctx->op);
	return 0;
}

static int claim(struct pool *p, const char *only_id, struct ah_ingest_item *item)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st;
	int r;

	if (state(p, &st) < 0)
		return -1;
	r = ah_ingest_claim(st, &p->cfg, p->owner, only_id, item, &err);
	if (r < 0)
		fprintf(stderr, "apphub: %s\n", err.msg);
	return r;
}

/* apphub ingest ID...: one attempt each, now. */
static int run_ids(struct pool *p, int argc, const char **argv)
{
	int i = 0;

	while (i < argc || p->nr) {
		while (i < argc && p->nr < p->jobs) {
			struct ah_ingest_item item;
			int r = claim(p, argv[i], &item);

			if (r < 0)
				return APPHUB_EXIT_FATAL;
			if (!r) {
				fprintf(stderr, "apphub: app '%s' is being ingested\n", argv[i]);
				p->code = APPHUB_EXIT_CONFLICT;
			} else if (spawn(p, &item) < 0) {
				return APPHUB_EXIT_FATAL;
			}
			i++;
		}
		if (p->nr && wait_workers(p, 200, 0) < 0)
			return APPHUB_EXIT_FATAL;
	}
	return 0;
}

/* apphub ingest [--watch]: until no item waits (or forever). */
static int run_queue(struct pool *p, int watch)
{
	for (;;) {
		struct ah_ingest_item item;
		int r = 0;

		while (p->nr < p->jobs && (r = claim(p, NULL, &item)) > 0)
			if (spawn(p, &item) < 0)
				return APPHUB_EXIT_FATAL;
		if (r < 0)
			return APPHUB_EXIT_FATAL;
		if (p->nr) {
			if (wait_workers(p, 200, watch) < 0)
				return APPHUB_EXIT_FATAL;
			continue;
		}
		{
			struct ah_err err = AH_ERR_INIT;
			struct ah_state *st;
			int64_t when, now = ah_now_ms();

			if (state(p, &st) < 0)
				return APPHUB_EXIT_FATAL;
			if (ah_ingest_next_due(st, &when, &err) < 0) {
				fprintf(stderr, "apphub: %s\n", err.msg);
				return APPHUB_EXIT_FATAL;
			}
			ah_ctx_release(&p->ctx->op);
			if (!when && !watch)
				return 0;
			sleep_ms(!when ? 500 : when - now > 500 ? 500 : when - now);
		}
	}
}

int cmd_ingest(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code, i;
	const char *repo = NULL;
	const char **ids = NULL;
	json_t *repo_ids = NULL;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "ingest n apps at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new items"),
		OPT_STRING(0, "repo", &repo, "url", "ingest the apps of this repository (for hooks)"),
		OPT_END(),
	};
	struct ah_err err = AH_ERR_INIT;
	struct pool *p;

	argv++;
	argc = parse_cmd_options(ctx, argc - 1, argv, opts, ingest_usage, &code);
	if (argc < 0)
		return code;
	if (jobs < 1 || jobs > MAX_JOBS)
		return usage_error(ingest_usage, opts, "invalid -j %ld: must be from 1 to %d", jobs,
				   MAX_JOBS);
	if (watch && (argc || repo))
		return usage_error(ingest_usage, opts, "--watch works on the queue, not on given apps");
	if (repo && argc)
		return usage_error(ingest_usage, opts, "give either ids or --repo, not both");
	p = xcalloc(1, sizeof(*p));
	p->ctx = ctx;
	p->jobs = (int)jobs;
	p->ids = argc > 0 || repo;
	p->results = json_array();
	ah_ingest_owner(p->owner, sizeof(p->owner));
	if (ah_ingest_config_load(&p->cfg, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		code = APPHUB_EXIT_FAILED;
		goto done;
	}
	if (repo) {
		struct ah_state *st;
		size_t j;

		if (state(p, &st) < 0) {
			code = APPHUB_EXIT_FATAL;
			goto done;
		}
		if (ah_ingest_apps_for_repo(st, repo, &repo_ids, &err) < 0) {
			fprintf(stderr, "apphub: %s\n", err.msg);
			code = exit_status(&err);
			goto done;
		}
		if (!json_array_size(repo_ids)) {
			fprintf(stderr, "apphub: no app is registered with repository '%s'\n", repo);
			code = APPHUB_EXIT_NOTFOUND;
			goto done;
		}
		ids = xcalloc(json_array_size(repo_ids), sizeof(*ids));
		for (j = 0; j < json_array_size(repo_ids); j++)
			ids[j] = json_string_value(json_array_get(repo_ids, j));
		argv = ids;
		argc = (int)j;
	}
	/* Ids first: each made due now (or refused) before any work starts. */
	for (i = 0; i < argc; i++) {
		struct ah_state *st;

		if (state(p, &st) < 0) {
			code = APPHUB_EXIT_FATAL;
			goto done;
		}
		err = (struct ah_err)AH_ERR_INIT;
		if (ah_ingest_request(st, argv[i], &err) < 0) {
			int c = exit_status(&err);

			fprintf(stderr, "apphub: %s\n", err.msg);
			if (c > p->code)
				p->code = c;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (p->code == APPHUB_EXIT_FATAL) {
		code = p->code;
		goto done;
	}
	ah_ctx_release(&ctx->op);
	if (p->code && !argc)
		code = 0;
	else
		code = argc || p->code ? run_ids(p, argc, argv) : run_queue(p, watch);
	while (p->nr) {
		/* Only after a fatal error: let the workers finish, record them. */
		if (wait_workers(p, 200, watch) < 0)
			break;
	}
	if (!code && p->code)
		code = p->code;
	if (!code && p->failed)
		code = APPHUB_EXIT_FAILED;
	if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", p->results);

		print_json(out);
		json_decref(out);
	}
done:
	json_decref(p->results);
	json_decref(repo_ids);
	free(ids);
	free(p);
	return code;
}
