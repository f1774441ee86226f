/*
 * apphub build: build apps now or work through the build queue, each build
 * in a child process (a worker that hangs past the time limit is killed,
 * one that dies is noticed at once, and its attempt counted); and the
 * build records: ls, show, logs, retry; --check parses a Dockerfile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/runner.h"
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

/* The lines of a failed build's log shown on stderr. */
#define TAIL_LINES 20

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

static void build_report(struct pool *p, json_t *res, int watch)
{
	struct ctx *ctx = p->cls;
	const char *status = str(res, "status");

	if (!strcmp(status, "succeeded")) {
		/* ids given: build_main prints each record in full */
		if (!ctx->json && !ctx->quiet && !p->ids)
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
	print_watched(ctx, res, watch);
}

POOL_KIND_CALLS(build)

static json_t *build_internal_error(const void *it, const char *message)
{
	const struct ah_build_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:b}", "id", item->id, "repositoryId",
			 item->app_id, "status", "error", "attempt", item->attempt,
			 "errorMessage", message, "internal", 1);
}

static const struct pool_kind build_kind = {
	.what = "the build",
	.worker = "the build worker",
	.timeout_env = "APPHUB_BUILD_TIMEOUT_MS",
	POOL_KIND_INIT(build),
};

/*
 * apphub build ID...: the builds claimed when queued, one attempt each,
 * now; the parent keeps the leases of those waiting for a slot alive.
 */
static int run_ids(struct pool *p, const struct ah_build_config *cfg,
		   struct ah_build_item *waiting, int waiting_nr)
{
	int64_t renewed = ah_now_ms();
	int i = 0;

	while (i < waiting_nr || p->nr) {
		while (i < waiting_nr && p->nr < p->jobs)
			if (pool_spawn(p, &waiting[i++]) < 0)
				return APPHUB_EXIT_FATAL;
		if (p->nr && pool_wait(p, 200, 0) < 0)
			return APPHUB_EXIT_FATAL;
		if (i < waiting_nr && ah_now_ms() - renewed >= cfg->lease_ms / 3) {
			struct ah_err err = AH_ERR_INIT;
			struct ah_state *st;
			int k;

			if (pool_state(p, &st) < 0)
				return APPHUB_EXIT_FATAL;
			for (k = i; k < waiting_nr; k++)
				if (ah_build_renew(st, cfg, &waiting[k], &err) < 0)
					fprintf(stderr, "apphub: %s\n", err.msg);
			ah_ctx_release(p->ctx);
			renewed = ah_now_ms();
		}
	}
	return 0;
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
	struct ah_build_config cfg;
	/* ids given: claimed when queued, waiting for a worker slot */
	struct ah_build_item *waiting;
	int waiting_nr = 0;
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
	if (jobs < 1 || jobs > POOL_MAX_JOBS)
		return usage_error(build_usage, opts, "invalid -j %ld: must be from 1 to %d", jobs,
				   POOL_MAX_JOBS);
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
	p = pool_new(&build_kind, &ctx->op, ctx, (int)jobs);
	p->ids = argc > 0;
	waiting = xcalloc((size_t)argc + 1, sizeof(*waiting));
	ah_build_owner(p->owner, sizeof(p->owner));
	if (ah_build_config_load(&cfg, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		code = APPHUB_EXIT_FAILED;
		goto done;
	}
	p->cfg = &cfg;
	p->timeout_ms = cfg.timeout_ms;
	p->lease_ms = cfg.lease_ms;
	/* Ids first: each queued and claimed (or refused) before any work starts. */
	for (i = 0; i < argc; i++) {
		struct ah_state *st;
		json_t *rec = NULL;

		if (pool_state(p, &st) < 0) {
			code = APPHUB_EXIT_FATAL;
			goto done;
		}
		err = (struct ah_err)AH_ERR_INIT;
		if (ah_build_request(st, argv[i], ref, engine, &cfg, p->owner, &waiting[waiting_nr],
				     &rec, &err) == 0) {
			/* Its time starts when a worker takes it. */
			waiting[waiting_nr].started_ms = 0;
			waiting_nr++;
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
		code = argc ? run_ids(p, &cfg, waiting, waiting_nr) : pool_run_queue(p, watch);
	code = pool_finish(p, code, watch);
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
	free(waiting);
	pool_free(p);
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
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
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
