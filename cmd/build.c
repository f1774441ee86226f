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
#include "../lib/base64.h"
#include "../lib/dockerfile.h"
#include "../lib/strbuf.h"

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

static void print_record(json_t *r)
{
	const char *v;

	printf("id:         %s\n", jstr(r, "id"));
	printf("app:        %s\n", jstr(r, "repositoryId"));
	printf("status:     %s\n", jstr(r, "status"));
	if (*(v = jstr(r, "imageTag")))
		printf("image:      %s\n", v);
	if (*(v = jstr(r, "commitSha")))
		printf("commit:     %s%s%s\n", v, *jstr(r, "gitBranch") ? " on " : "",
		       jstr(r, "gitBranch"));
	if (*(v = jstr(r, "gitRef")))
		printf("ref:        %s\n", v);
	if (*(v = jstr(r, "engine")))
		printf("engine:     %s\n", v);
	printf("attempt:    %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(r, "attempt")));
	if (*(v = jstr(r, "retryOf")))
		printf("retry of:   %s\n", v);
	printf("created:    %s\n", jstr(r, "createdAt"));
	if (*(v = jstr(r, "startedAt")))
		printf("started:    %s\n", v);
	if (*(v = jstr(r, "completedAt")))
		printf("completed:  %s\n", v);
	if (json_is_integer(json_object_get(r, "durationMs")))
		printf("duration:   %" JSON_INTEGER_FORMAT " ms\n",
		       json_integer_value(json_object_get(r, "durationMs")));
	if (*(v = jstr(r, "errorMessage")))
		printf("error:      %s\n", v);
	printf("log:        %" JSON_INTEGER_FORMAT " bytes\n",
	       json_integer_value(json_object_get(r, "logsSize")));
}

/* The last lines of a failed build's log preview, on stderr. */
static void print_tail(json_t *r)
{
	const char *p = jstr(r, "logsPreview"), *start = p + strlen(p);
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

static void show(struct ctx *ctx, json_t *res, int ids)
{
	const char *status = jstr(res, "status");

	if (!strcmp(status, "succeeded")) {
		/* ids given: each record is printed in full at the end */
		if (!ctx->json && !ctx->quiet && !ids)
			printf("%s succeeded %s %s (%" JSON_INTEGER_FORMAT " ms)\n",
			       jstr(res, "repositoryId"), jstr(res, "imageTag"), jstr(res, "id"),
			       json_integer_value(json_object_get(res, "durationMs")));
	} else if (!strcmp(status, "pending") && *jstr(res, "retryAt")) {
		error("cannot build '%s' (%s): %s", jstr(res, "repositoryId"), jstr(res, "id"),
		      jstr(res, "errorMessage"));
	} else {
		error("build '%s' of '%s' %s: %s", jstr(res, "id"), jstr(res, "repositoryId"), status,
		      jstr(res, "errorMessage"));
		if (!strcmp(status, "failed"))
			print_tail(res);
	}
}

static const struct work_front build_front = {
	.work_op = "builds.work",
	.run_op = "builds.run",
	.next_op = "builds.next",
	.done = "succeeded",
	.show = show,
};

/* apphub build --check FILE: the file read here, parsed by the operation. */
static int build_check(struct ctx *ctx, const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *params = NULL, *out = NULL;
	char buf[65536], *text;
	ssize_t n = 0;
	int fd, code = APPHUB_EXIT_FAILED;

	fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0) {
		error("cannot read '%s': %s", file, strerror(errno));
		return errno == ENOENT ? APPHUB_EXIT_NOTFOUND : APPHUB_EXIT_FAILED;
	}
	while (sb.len <= AH_DOCKERFILE_MAX_SIZE && (n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&sb, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		error("cannot read '%s': %s", file, strerror(errno));
		goto done;
	}
	if (sb.len > AH_DOCKERFILE_MAX_SIZE) {
		error("%s: larger than %d bytes", file, AH_DOCKERFILE_MAX_SIZE);
		goto done;
	}
	text = ah_base64_encode(sb.buf, sb.len);
	params = json_pack("{s:s, s:s}", "file", file, "text", text);
	free(text);
	if ((code = run_op(ctx, "dockerfile.check", params, &out)))
		goto done;
	if (ctx->json)
		print_json(out);
	if (!json_is_true(json_object_get(out, "ok"))) {
		error("%s", jstr(out, "errorMessage"));
		code = APPHUB_EXIT_FAILED;
	} else if (!ctx->json && !ctx->quiet) {
		json_int_t stages = json_integer_value(json_object_get(out, "stages"));
		json_int_t instrs = json_integer_value(json_object_get(out, "instructions"));

		printf("%s: ok, %" JSON_INTEGER_FORMAT " stage%s, %" JSON_INTEGER_FORMAT
		       " instruction%s\n", file, stages, stages == 1 ? "" : "s", instrs,
		       instrs == 1 ? "" : "s");
	}
done:
	json_decref(params);
	json_decref(out);
	strbuf_release(&sb);
	return code;
}

static int build_main(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code;
	const char *ref = NULL, *engine = NULL, *check = NULL;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "build n apps at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new items"),
		OPT_STRING(0, "ref", &ref, "ref", "build this branch, tag or commit of the mirror"),
		OPT_STRING(0, "engine", &engine, "engine", "native (default), podman or docker"),
		OPT_STRING(0, "check", &check, "file", "parse a Dockerfile and report"),
		OPT_END(),
	};
	json_t *params, *results, *r;
	size_t k;

	argc = parse_verb_args(ctx, argc - 1, argv + 1, opts, build_usage, 0, -1, "app ids",
			       &code);
	if (argc < 0)
		return code;
	argv++;
	if (check) {
		if (argc || watch || ref || engine)
			return usage_error(build_usage, opts, "--check takes a file and nothing else");
		return build_check(ctx, check);
	}
	if (jobs < 1 || jobs > 64)
		return usage_error(build_usage, opts, "invalid -j %ld: must be from 1 to 64", jobs);
	if (watch && argc)
		return usage_error(build_usage, opts, "--watch works on the queue, not on given apps");
	if ((ref || engine) && !argc)
		return usage_error(build_usage, opts, "--ref and --engine need an app id");
	if (ref && argc > 1)
		return usage_error(build_usage, opts, "--ref builds one app");
	if (ctx->server && watch) {
		error("build --watch: cannot run with --server: it waits on this machine's queue; serve's workers work the server's");
		return APPHUB_EXIT_FAILED;
	}
	params = json_pack("{s:I, s:b, s:s?, s:s?}", "jobs", (json_int_t)jobs, "watch", watch,
			   "ref", ref, "engine", engine);
	code = run_work(ctx, &build_front, params, argc, argv, &results);
	if (argc && ctx->json) {
		json_t *out = argc == 1 && json_array_size(results) == 1 ?
			      json_incref(json_array_get(results, 0)) :
			      json_pack("{s:O}", "data", results);

		print_json(out);
		json_decref(out);
	} else if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", results);

		print_json(out);
		json_decref(out);
	} else if (argc && ctx->quiet) {
		json_array_foreach(results, k, r)
			puts(jstr(r, "id"));
	} else if (argc && json_array_size(results) == 1) {
		print_record(json_array_get(results, 0));
	} else if (argc) {
		json_array_foreach(results, k, r)
			printf("%s %s %s %s\n", jstr(r, "repositoryId"), jstr(r, "status"),
			       *jstr(r, "imageTag") ? jstr(r, "imageTag") : "-", jstr(r, "id"));
	}
	json_decref(results);
	json_decref(params);
	return code;
}

/* A verb's one required argument: returns it, or NULL with *code set. */
static const char *one_arg(struct ctx *ctx, int argc, const char **argv,
			   const struct option *opts, const char *what, int *code)
{
	if (parse_verb_args(ctx, argc, argv, opts, build_usage, 1, 1, what, code) < 0)
		return NULL;
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

	if (!(id = one_arg(ctx, argc, argv, opts, "an app id", &code)))
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
				puts(jstr(r, "id"));
				continue;
			}
			printf("%-14s  %-9s  %-12.12s  %-24s  %s\n", jstr(r, "id"), jstr(r, "status"),
			       *jstr(r, "commitSha") ? jstr(r, "commitSha") : "-", jstr(r, "createdAt"),
			       *jstr(r, "imageTag") ? jstr(r, "imageTag") : "-");
		}
	}
	json_decref(out);
	return 0;
}

static void show_record(json_t *out, int quiet)
{
	(void)quiet;
	print_record(out);
}

static int build_show(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *id;
	int code;

	if (!(id = one_arg(ctx, argc, argv, opts, "a build id", &code)))
		return code;
	return run_op_show(ctx, "builds.show", json_pack("{s:s}", "id", id), show_record);
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
	const char *id;

	if (!(id = one_arg(ctx, argc, argv, opts, "a build id", &code)))
		return code;
	if (follow && ctx->json)
		return usage_error(build_usage, opts, "-f prints text; leave out --json");
	return print_log(ctx, "builds.logs", id, follow, is_final);
}

static void show_retried(json_t *out, int quiet)
{
	if (quiet)
		puts(jstr(out, "id"));
	else
		printf("%s queued for '%s' (retry of %s); 'apphub build' builds it\n", jstr(out, "id"),
		       jstr(out, "repositoryId"), jstr(out, "retryOf"));
}

static int build_retry(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *id;
	int code;

	if (!(id = one_arg(ctx, argc, argv, opts, "a build id", &code)))
		return code;
	return run_op_show(ctx, "builds.retry", json_pack("{s:s}", "id", id), show_retried);
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

	/* Not run_verb(): without a verb, the first argument is an app id. */
	if (argc > 1 && argv[1][0] != '-')
		for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (!strcmp(argv[1], verbs[i].name)) {
				snprintf(ctx->name, sizeof(ctx->name), "build %s", argv[1]);
				return verbs[i].fn(argc - 2, argv + 2, ctx);
			}
	return build_main(argc, argv, ctx);
}
