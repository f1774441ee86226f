/*
 * apphub build: build apps now or work through the build queue, each build
 * in a child process (a worker that hangs past the time limit is killed,
 * one that dies is noticed at once, and its attempt counted); and the
 * build records: ls, show, logs, retry; --check parses a Dockerfile.
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
#include "../lib/builds.h"
#include "../lib/dockerfile.h"
#include "../lib/strbuf.h"
#include "../lib/timeutil.h"

static const char *const build_usage[] = {
	"apphub build [-j <n>] [--ref <ref>] [--engine <engine>] <id>...",
	"apphub build [-j <n>] [--watch]",
	"apphub build ls <id> [--limit <n>] [--offset <n>]",
	"apphub build show <build>",
	"apphub build logs <build> [-f]",
	"apphub build retry <build>",
	"apphub build --check <file>",
	NULL
};

#define MAX_JOBS 64
/* How long past the time limit a worker gets before it is killed. */
#define KILL_GRACE_MS 5000
/* The lines of a failed build's log shown on stderr. */
#define TAIL_LINES 20

struct worker {
	pid_t pid;
	int fd;
	struct ah_build_item item;
	struct strbuf out;
	int64_t renewed;
	int timed_out;
};

struct pool {
	struct ctx *ctx;
	struct ah_build_config cfg;
	char owner[128];
	struct worker w[MAX_JOBS];
	int nr, jobs;
	json_t *results;
	int failed, code;
	int ids;	/* ids given: print each record in full */
	/* ids given: claimed when queued, waiting for a worker slot */
	struct ah_build_item *waiting;
	int waiting_nr;
	int64_t renewed;
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

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void print_record(json_t *r)
{
	const char *v;

	printf("id:         %s\n", str(r, "id"));
	printf("app:        %s\n", str(r, "repositoryId"));
	printf("status:     %s\n", str(r, "status"));
	if (*(v = str(r, "imageTag")))
		printf("image:      %s\n", v);
	if (*(v = str(r, "commitSha")))
		printf("commit:     %s%s%s\n", v, *str(r, "gitBranch") ? " on " : "",
		       str(r, "gitBranch"));
	if (*(v = str(r, "gitRef")))
		printf("ref:        %s\n", v);
	if (*(v = str(r, "engine")))
		printf("engine:     %s\n", v);
	printf("attempt:    %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(r, "attempt")));
	if (*(v = str(r, "retryOf")))
		printf("retry of:   %s\n", v);
	printf("created:    %s\n", str(r, "createdAt"));
	if (*(v = str(r, "startedAt")))
		printf("started:    %s\n", v);
	if (*(v = str(r, "completedAt")))
		printf("completed:  %s\n", v);
	if (json_is_integer(json_object_get(r, "durationMs")))
		printf("duration:   %" JSON_INTEGER_FORMAT " ms\n",
		       json_integer_value(json_object_get(r, "durationMs")));
	if (*(v = str(r, "errorMessage")))
		printf("error:      %s\n", v);
	printf("log:        %" JSON_INTEGER_FORMAT " bytes\n",
	       json_integer_value(json_object_get(r, "logsSize")));
}

/* The last lines of a failed build's log preview, on stderr. */
static void print_tail(json_t *r)
{
	const char *p = str(r, "logsPreview"), *start = p + strlen(p);
	int lines = 0;

	while (start > p && start[-1] == '\n')
		start--;
	while (start > p && lines < TAIL_LINES)
		if (*--start == '\n')
			lines++;
	if (*start == '\n')
		start++;
	if (!*start)
		return;
	fputs(start, stderr);
	if (start[strlen(start) - 1] != '\n')
		fputc('\n', stderr);
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
	const char *status = str(res, "status");

	if (!strcmp(status, "succeeded")) {
		if (!p->ctx->json && !p->ctx->quiet && !p->ids)
			printf("%s succeeded %s %s (%" JSON_INTEGER_FORMAT " ms)\n",
			       str(res, "repositoryId"), str(res, "imageTag"), str(res, "id"),
			       json_integer_value(json_object_get(res, "durationMs")));
	} else if (!strcmp(status, "pending") && *str(res, "retryAt")) {
		if (p->ids)
			p->failed++;
		fprintf(stderr, "apphub: cannot build '%s' (%s): %s\n", str(res, "repositoryId"),
			str(res, "id"), str(res, "errorMessage"));
	} else {
		p->failed++;
		fprintf(stderr, "apphub: build '%s' of '%s' %s: %s\n", str(res, "id"),
			str(res, "repositoryId"), !strcmp(status, "failed") ? "failed" : status,
			str(res, "errorMessage"));
		if (!strcmp(status, "failed"))
			print_tail(res);
	}
	if (p->ctx->json && watch) {
		json_dumpf(res, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	if (watch)
		fflush(stdout);
	json_array_append(p->results, res);
}

/* The child: build the item with a connection of its own, then report on fd. */
static _Noreturn void run_child(struct pool *p, const struct ah_build_item *item, int fd,
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
	    ah_build_perform(st, &p->cfg, item, &res, &err) < 0)
		res = json_pack("{s:s, s:s, s:s, s:i, s:s, s:b}", "id", item->id, "repositoryId",
				item->app_id, "status", "error", "attempt", item->attempt,
				"errorMessage", err.msg, "internal", 1);
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
	_exit(0);
}

static int spawn(struct pool *p, const struct ah_build_item *claimed)
{
	struct worker *w = &p->w[p->nr];
	struct ah_build_item it = *claimed, *item = &it;
	pid_t parent = getpid(), pid;
	int fds[2];

	if (!it.started_ms)
		it.started_ms = ah_now_ms();

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
			msg = xstrfmt("the build took longer than the limit of %lld s (APPHUB_BUILD_TIMEOUT_MS)",
				      (long long)(p->cfg.timeout_ms / 1000));
		else if (WIFSIGNALED(status))
			msg = xstrfmt("the build worker was killed by signal %d", WTERMSIG(status));
		else
			msg = xstrfmt("the build worker exited with status %d", WEXITSTATUS(status));
		if (state(p, &st) < 0 || ah_build_fail(st, &p->cfg, &w->item, msg, &res, &err) < 0) {
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
			if (ah_build_renew(st, &p->cfg, &w->item, &err) < 0)
				fprintf(stderr, "apphub: %s\n", err.msg);
			w->renewed = now;
		}
	}
	/* Nothing may hold the database while a fork can come. */
	ah_ctx_release(&p->ctx->op);
	return 0;
}

static int claim(struct pool *p, const char *only_id, struct ah_build_item *item)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st;
	int r;

	if (state(p, &st) < 0)
		return -1;
	r = ah_build_claim(st, &p->cfg, p->owner, only_id, item, &err);
	if (r < 0)
		fprintf(stderr, "apphub: %s\n", err.msg);
	return r;
}

/* apphub build ID...: the builds claimed when queued, one attempt each, now. */
static int run_ids(struct pool *p)
{
	int i = 0;

	p->renewed = ah_now_ms();
	while (i < p->waiting_nr || p->nr) {
		while (i < p->waiting_nr && p->nr < p->jobs)
			if (spawn(p, &p->waiting[i++]) < 0)
				return APPHUB_EXIT_FATAL;
		if (p->nr && wait_workers(p, 200, 0) < 0)
			return APPHUB_EXIT_FATAL;
		if (i < p->waiting_nr && ah_now_ms() - p->renewed >= p->cfg.lease_ms / 3) {
			struct ah_err err = AH_ERR_INIT;
			struct ah_state *st;
			int k;

			if (state(p, &st) < 0)
				return APPHUB_EXIT_FATAL;
			for (k = i; k < p->waiting_nr; k++)
				if (ah_build_renew(st, &p->cfg, &p->waiting[k], &err) < 0)
					fprintf(stderr, "apphub: %s\n", err.msg);
			ah_ctx_release(&p->ctx->op);
			p->renewed = ah_now_ms();
		}
	}
	return 0;
}

/* apphub build [--watch]: until no item waits (or forever). */
static int run_queue(struct pool *p, int watch)
{
	for (;;) {
		struct ah_build_item item;
		struct ah_err err = AH_ERR_INIT;
		struct ah_state *st;
		int64_t when, now;
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
		if (state(p, &st) < 0)
			return APPHUB_EXIT_FATAL;
		if (ah_build_next_due(st, &when, &err) < 0) {
			fprintf(stderr, "apphub: %s\n", err.msg);
			return APPHUB_EXIT_FATAL;
		}
		ah_ctx_release(&p->ctx->op);
		if (!when && !watch)
			return 0;
		now = ah_now_ms();
		sleep_ms(!when ? 500 : when - now > 500 ? 500 : when - now);
	}
}

/* --server: the remote builds; builds.run per id, builds.next for the queue. */
static int build_remote(struct ctx *ctx, int argc, const char **argv, const char *ref,
			const char *engine)
{
	json_t *results = json_array(), *out = NULL;
	int i, code = 0, failed = 0;

	for (i = 0; i < argc || !argc; i++) {
		json_t *params = argc ? json_pack("{s:s, s:s?, s:s?}", "id", argv[i], "ref", ref,
						  "engine", engine) : NULL;
		json_t *rec;
		int c = run_op(ctx, argc ? "builds.run" : "builds.next", params, &out);

		json_decref(params);
		if (c) {
			code = c;
			if (!argc)
				break;
			continue;
		}
		rec = argc ? out : json_array_get(json_object_get(out, "data"), 0);
		if (!rec) {
			json_decref(out);
			break;
		}
		if (strcmp(str(rec, "status"), "succeeded")) {
			failed = 1;
			fprintf(stderr, "apphub: build '%s' of '%s' %s: %s\n", str(rec, "id"),
				str(rec, "repositoryId"), str(rec, "status"), str(rec, "errorMessage"));
			print_tail(rec);
		} else if (!ctx->json && !ctx->quiet) {
			printf("%s succeeded %s %s (%" JSON_INTEGER_FORMAT " ms)\n",
			       str(rec, "repositoryId"), str(rec, "imageTag"), str(rec, "id"),
			       json_integer_value(json_object_get(rec, "durationMs")));
		}
		json_array_append(results, rec);
		json_decref(out);
	}
	if (ctx->json) {
		json_t *o = argc == 1 && json_array_size(results) == 1 ?
			    json_incref(json_array_get(results, 0)) :
			    json_pack("{s:O}", "data", results);

		print_json(o);
		json_decref(o);
	}
	json_decref(results);
	return code ? code : failed ? APPHUB_EXIT_FAILED : 0;
}

/* apphub build --check FILE */
static int build_check(struct ctx *ctx, const char *file)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_dockerfile *df = NULL;
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	ssize_t n;
	int fd, code = APPHUB_EXIT_FAILED;

	fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0) {
		fprintf(stderr, "apphub: cannot read '%s': %s\n", file, strerror(errno));
		return errno == ENOENT ? APPHUB_EXIT_NOTFOUND : APPHUB_EXIT_FAILED;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		strbuf_add(&sb, buf, (size_t)n);
		if (sb.len > AH_DOCKERFILE_MAX_SIZE)
			break;
	}
	close(fd);
	if (n < 0) {
		fprintf(stderr, "apphub: cannot read '%s': %s\n", file, strerror(errno));
		goto done;
	}
	if (sb.len > AH_DOCKERFILE_MAX_SIZE) {
		fprintf(stderr, "apphub: %s: larger than %d bytes\n", file, AH_DOCKERFILE_MAX_SIZE);
		goto done;
	}
	if (ah_dockerfile_parse(sb.buf, sb.len, file, NULL, &df, &err) < 0) {
		if (ctx->json) {
			json_t *o = json_pack("{s:s, s:b, s:s}", "file", file, "ok", 0, "error", err.msg);

			print_json(o);
			json_decref(o);
		}
		fprintf(stderr, "apphub: %s\n", err.msg);
		goto done;
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:b, s:I, s:I}", "file", file, "ok", 1,
				      "stages", (json_int_t)df->stages_nr,
				      "instructions", (json_int_t)df->instrs_nr);

		print_json(o);
		json_decref(o);
	} else if (!ctx->quiet) {
		printf("%s: ok, %zu stage%s, %zu instruction%s\n", file, df->stages_nr,
		       df->stages_nr == 1 ? "" : "s", df->instrs_nr, df->instrs_nr == 1 ? "" : "s");
	}
	code = 0;
done:
	ah_dockerfile_free(df);
	strbuf_release(&sb);
	return code;
}

static int build_main(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code, i;
	const char *ref = NULL, *engine = NULL, *check = NULL;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "build n apps at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new items"),
		OPT_STRING(0, "ref", &ref, "ref", "build this branch, tag or commit of the mirror"),
		OPT_STRING(0, "engine", &engine, "engine", "native (default), podman or docker"),
		OPT_STRING(0, "check", &check, "file", "parse a Dockerfile and report"),
		OPT_END(),
	};
	struct ah_err err = AH_ERR_INIT;
	struct pool *p;

	argv++;
	argc = parse_cmd_options(ctx, argc - 1, argv, opts, build_usage, &code);
	if (argc < 0)
		return code;
	if (check) {
		if (argc || watch || ref || engine)
			return usage_error(build_usage, opts, "--check takes a file and nothing else");
		return build_check(ctx, check);
	}
	if (jobs < 1 || jobs > MAX_JOBS)
		return usage_error(build_usage, opts, "invalid -j %ld: must be from 1 to %d", jobs,
				   MAX_JOBS);
	if (watch && argc)
		return usage_error(build_usage, opts, "--watch works on the queue, not on given apps");
	if ((ref || engine) && !argc)
		return usage_error(build_usage, opts, "--ref and --engine need an app id");
	if (ref && argc > 1)
		return usage_error(build_usage, opts, "--ref builds one app");
	if (ctx->server) {
		if (watch)
			return usage_error(build_usage, opts, "--watch works on a local state directory");
		return build_remote(ctx, argc, argv, ref, engine);
	}
	p = xcalloc(1, sizeof(*p));
	p->ctx = ctx;
	p->jobs = (int)jobs;
	p->ids = argc > 0;
	p->results = json_array();
	p->waiting = xcalloc((size_t)argc + 1, sizeof(*p->waiting));
	ah_build_owner(p->owner, sizeof(p->owner));
	if (ah_build_config_load(&p->cfg, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		code = APPHUB_EXIT_FAILED;
		goto done;
	}
	/* Ids first: each queued and claimed (or refused) before any work starts. */
	for (i = 0; i < argc; i++) {
		struct ah_state *st;
		json_t *rec = NULL;

		if (state(p, &st) < 0) {
			code = APPHUB_EXIT_FATAL;
			goto done;
		}
		err = (struct ah_err)AH_ERR_INIT;
		if (ah_build_request(st, argv[i], ref, engine, &p->cfg, p->owner,
				     &p->waiting[p->waiting_nr], &rec, &err) == 0) {
			p->waiting[p->waiting_nr].started_ms = 0;
			p->waiting_nr++;
		} else {
			int c = exit_status(&err);

			fprintf(stderr, "apphub: %s\n", err.msg);
			if (c > p->code)
				p->code = c;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			i--;
		}
		json_decref(rec);
	}
	if (p->code == APPHUB_EXIT_FATAL) {
		code = p->code;
		goto done;
	}
	ah_ctx_release(&ctx->op);
	if (p->code && !argc)
		code = 0;
	else
		code = argc ? run_ids(p) : run_queue(p, watch);
	while (p->nr) {
		/* Only after a fatal error: let the workers finish, record them. */
		if (wait_workers(p, 200, watch) < 0)
			break;
	}
	if (!code && p->code)
		code = p->code;
	if (!code && p->failed)
		code = APPHUB_EXIT_FAILED;
	if (p->ids && json_array_size(p->results) == 1 && !ctx->json && !ctx->quiet)
		print_record(json_array_get(p->results, 0));
	else if (p->ids && !ctx->json && !ctx->quiet)
		for (i = 0; i < (int)json_array_size(p->results); i++) {
			json_t *r = json_array_get(p->results, (size_t)i);

			printf("%s %s %s %s\n", str(r, "repositoryId"), str(r, "status"),
			       *str(r, "imageTag") ? str(r, "imageTag") : "-", str(r, "id"));
		}
	if (p->ids && ctx->quiet && !ctx->json)
		for (i = 0; i < (int)json_array_size(p->results); i++)
			puts(str(json_array_get(p->results, (size_t)i), "id"));
	if (ctx->json && !watch) {
		json_t *out = p->ids && argc == 1 && json_array_size(p->results) == 1 ?
			      json_incref(json_array_get(p->results, 0)) :
			      json_pack("{s:O}", "data", p->results);

		print_json(out);
		json_decref(out);
	}
done:
	json_decref(p->results);
	free(p->waiting);
	free(p);
	return code;
}

/* A verb's one required argument: returns it, or NULL with *code set. */
static const char *one_arg(struct ctx *ctx, int argc, const char **argv,
			   const struct option *opts, const char *what, int *code)
{
	argc = parse_cmd_options(ctx, argc, argv, opts, build_usage, code);
	if (argc < 0)
		return NULL;
	if (argc != 1) {
		*code = usage_error(build_usage, opts, argc ? "too many arguments" : "%s required", what);
		return NULL;
	}
	return argv[0];
}

static int build_ls(int argc, const char **argv, struct ctx *ctx)
{
	long limit = 25, offset = 0;
	struct option opts[] = {
		OPT_INT(0, "limit", &limit, "n", "at most n builds (default 25)"),
		OPT_INT(0, "offset", &offset, "n", "skip the newest n"),
		OPT_END(),
	};
	const char *id;
	json_t *params, *out, *r;
	size_t i;
	int code;

	if (!(id = one_arg(ctx, argc, argv, opts, "app id", &code)))
		return code;
	params = json_pack("{s:s, s:I, s:I}", "id", id, "limit", (json_int_t)limit, "offset",
			   (json_int_t)offset);
	code = run_op(ctx, "builds.list", params, &out);
	json_decref(params);
	if (code)
		return code;
	if (ctx->json) {
		print_json(out);
	} else {
		json_t *data = json_object_get(out, "data");

		if (!ctx->quiet && json_array_size(data))
			printf("%-14s  %-9s  %-12s  %-24s  %s\n", "BUILD", "STATUS", "COMMIT",
			       "CREATED", "IMAGE");
		json_array_foreach(data, i, r) {
			if (ctx->quiet) {
				puts(str(r, "id"));
				continue;
			}
			printf("%-14s  %-9s  %-12.12s  %-24s  %s\n", str(r, "id"), str(r, "status"),
			       *str(r, "commitSha") ? str(r, "commitSha") : "-", str(r, "createdAt"),
			       *str(r, "imageTag") ? str(r, "imageTag") : "-");
		}
	}
	json_decref(out);
	return 0;
}

static int build_show(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *id;
	json_t *params, *out;
	int code;

	if (!(id = one_arg(ctx, argc, argv, opts, "build id", &code)))
		return code;
	params = json_pack("{s:s}", "id", id);
	code = run_op(ctx, "builds.show", params, &out);
	json_decref(params);
	if (code)
		return code;
	if (ctx->json)
		print_json(out);
	else
		print_record(out);
	json_decref(out);
	return 0;
}

static int is_final(const char *status)
{
	return !strcmp(status, "succeeded") || !strcmp(status, "failed");
}

static int build_logs(int argc, const char **argv, struct ctx *ctx)
{
	int follow = 0, code = 0;
	struct option opts[] = {
		OPT_BOOL('f', "follow", &follow, "keep printing while the build runs"),
		OPT_END(),
	};
	struct strbuf all = STRBUF_INIT;
	json_int_t offset = 0;
	const char *id, *status = "";
	json_t *out = NULL;

	if (!(id = one_arg(ctx, argc, argv, opts, "build id", &code)))
		return code;
	if (follow && ctx->json)
		return usage_error(build_usage, opts, "-f prints text; leave out --json");
	for (;;) {
		json_t *params = json_pack("{s:s, s:I}", "id", id, "offset", offset);
		json_int_t next, size;
		const char *data;

		json_decref(out);
		out = NULL;
		code = run_op(ctx, "builds.logs", params, &out);
		json_decref(params);
		if (code)
			break;
		data = str(out, "data");
		status = str(out, "status");
		next = json_integer_value(json_object_get(out, "nextOffset"));
		size = json_integer_value(json_object_get(out, "size"));
		if (ctx->json) {
			strbuf_addstr(&all, data);
		} else if (*data) {
			fputs(data, stdout);
			fflush(stdout);
		}
		if (next > offset && next < size) {
			offset = next;
			continue;
		}
		offset = next;
		if (!follow || is_final(status))
			break;
		ah_ctx_release(&ctx->op);
		sleep_ms(200);
	}
	if (!code && ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "status", status,
				      "size", (json_int_t)offset, "data", all.buf);

		print_json(o);
		json_decref(o);
	}
	json_decref(out);
	strbuf_release(&all);
	return code;
}

static int build_retry(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *id;
	json_t *params, *out;
	int code;

	if (!(id = one_arg(ctx, argc, argv, opts, "build id", &code)))
		return code;
	params = json_pack("{s:s}", "id", id);
	code = run_op(ctx, "builds.retry", params, &out);
	json_decref(params);
	if (code)
		return code;
	if (ctx->json)
		print_json(out);
	else if (ctx->quiet)
		puts(str(out, "id"));
	else
		printf("%s queued for '%s' (retry of %s); 'apphub build' builds it\n", str(out, "id"),
		       str(out, "repositoryId"), id);
	json_decref(out);
	return 0;
}

/* apphub build run ID...: the explicit form, for an app named like a verb. */
static int build_run(int argc, const char **argv, struct ctx *ctx)
{
	return build_main(argc + 1, argv - 1, ctx);
}

int cmd_build(int argc, const char **argv, struct ctx *ctx)
{
	static const struct verb verbs[] = {
		{ "logs", build_logs },
		{ "ls", build_ls },
		{ "retry", build_retry },
		{ "run", build_run },
		{ "show", build_show },
	};
	size_t i;

	if (argc > 1 && argv[1][0] != '-')
		for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (!strcmp(argv[1], verbs[i].name))
				return verbs[i].fn(argc - 2, argv + 2, ctx);
	return build_main(argc, argv, ctx);
}
