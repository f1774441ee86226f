/*
 * apphub launch: run an app's build in a sandbox with a preview URL; list,
 * show, follow the logs of and stop launches.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/launch.h"
#include "../lib/strbuf.h"

static const char *const launch_usage[] = {
	"apphub launch [start] <app> [--build <id> | --image <name>] [--env <k=v>]... [--command <cmd>]\n"
	"       [--port <n>] [--profile <name>] [--memory <size>] [--cpus <n>] [--cpu-time <duration>]\n"
	"       [--pids <n>] [--nofile <n>] [--disk <size>] [--ttl <duration>] [--network none|loopback]\n"
	"       [--engine native|podman|docker] [--user <user>[:<group>]] [--id <launch-id>] [--no-wait]",
	"apphub launch ls [<app>] [--status <status>] [--limit <n>]",
	"apphub launch show <launch>",
	"apphub launch logs <launch> [-f]",
	"apphub launch stop <launch> [--no-wait]",
	NULL
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void print_limits(json_t *limits)
{
	const char *key;
	json_t *l, *by;
	size_t i;

	json_object_foreach(limits, key, l) {
		json_t *v = json_object_get(l, "value");

		printf("  %-10s", key);
		if (json_is_real(v))
			printf("%g", json_real_value(v));
		else
			printf("%lld", (long long)json_integer_value(v));
		printf(" (");
		json_array_foreach(json_object_get(l, "enforcedBy"), i, by)
			printf("%s%s", i ? ", " : "", json_string_value(by));
		printf(")\n");
	}
}

static void print_record(json_t *r)
{
	json_t *v;

	printf("%-13s%s\n", "id:", str(r, "id"));
	printf("%-13s%s\n", "app:", str(r, "repositoryId"));
	printf("%-13s%s\n", "status:", str(r, "status"));
	if (json_is_string(json_object_get(r, "errorMessage")))
		printf("%-13s%s\n", "error:", str(r, "errorMessage"));
	printf("%-13s%s\n", "preview:", str(r, "previewUrl"));
	printf("%-13s%s\n", "build:", str(r, "buildId"));
	printf("%-13s%s\n", "image:", str(r, "image"));
	printf("%-13s%s\n", "engine:", str(r, "engine"));
	printf("%-13s%s\n", "network:", str(r, "network"));
	if (json_is_integer(v = json_object_get(r, "port")))
		printf("%-13s%lld\n", "port:", (long long)json_integer_value(v));
	if (json_is_integer(v = json_object_get(r, "hostPort")))
		printf("%-13s%lld\n", "host port:", (long long)json_integer_value(v));
	if (json_is_integer(v = json_object_get(r, "pid")))
		printf("%-13s%lld\n", "supervisor:", (long long)json_integer_value(v));
	printf("%-13s%s\n", "created:", str(r, "createdAt"));
	if (json_is_string(json_object_get(r, "expiresAt")))
		printf("%-13s%s\n", "expires:", str(r, "expiresAt"));
	if (json_is_string(json_object_get(r, "stoppedAt")))
		printf("%-13s%s\n", "stopped:", str(r, "stoppedAt"));
	if (json_object_size(json_object_get(r, "limits"))) {
		printf("limits:\n");
		print_limits(json_object_get(r, "limits"));
	}
}

static int failed_exit(json_t *r)
{
	const char *status = str(r, "status");

	if (!strcmp(status, "failed")) {
		error("launch '%s' failed: %s", str(r, "id"), str(r, "errorMessage"));
		return APPHUB_EXIT_FAILED;
	}
	return 0;
}

static void set_profile(json_t *prof, const char *key, const char *v)
{
	if (v)
		json_object_set_new(prof, key, json_string(v));
}

static int launch_start(int argc, const char **argv, struct ctx *ctx)
{
	const char *build = NULL, *image = NULL, *command = NULL, *memory = NULL, *cpus = NULL;
	const char *cpu_time = NULL, *disk = NULL, *ttl = NULL, *network = NULL, *engine = NULL;
	const char *id = NULL, *profile = NULL, *user = NULL;
	long port = -1, pids = -1, nofile = -1;
	int no_wait = 0, code;
	json_t *env = NULL, *params = NULL, *prof = json_object(), *out = NULL;
	struct option opts[] = {
		OPT_STRING(0, "build", &build, "id", "launch this build (default: the latest succeeded)"),
		OPT_STRING(0, "image", &image, "name", "launch this image of the store instead of a build"),
		OPT_LIST('e', "env", &env, "k=v", "an environment variable (repeatable, at most 32)"),
		OPT_STRING(0, "command", &command, "cmd", "run this shell command instead of the image's"),
		OPT_INT(0, "port", &port, "n", "the app's port (default: env PORT, EXPOSE, 3000)"),
		OPT_STRING(0, "profile", &profile, "name", "small, standard (default) or large"),
		OPT_STRING(0, "memory", &memory, "size", "address space and cgroup memory (1G)"),
		OPT_STRING(0, "cpus", &cpus, "n", "CPU share through the cgroup (0.5, 2)"),
		OPT_STRING(0, "cpu-time", &cpu_time, "duration", "CPU time (RLIMIT_CPU)"),
		OPT_INT(0, "pids", &pids, "n", "processes (RLIMIT_NPROC, pids.max; 256)"),
		OPT_INT(0, "nofile", &nofile, "n", "open files (RLIMIT_NOFILE; 1024)"),
		OPT_STRING(0, "disk", &disk, "size", "writable space over the image (1G)"),
		OPT_STRING(0, "ttl", &ttl, "duration", "stop after this long (90s, 15m, 2h)"),
		OPT_STRING(0, "network", &network, "mode", "loopback (default: relayed) or none"),
		OPT_STRING(0, "engine", &engine, "name", "native (default), podman or docker"),
		OPT_STRING(0, "user", &user, "user[:group]", "run the app as this user of the image (default: its USER)"),
		OPT_STRING(0, "id", &id, "launch-id", "the launch's id (default: generated)"),
		OPT_BOOL(0, "no-wait", &no_wait, "return once started, before it answers"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, launch_usage, 1, 1, "an app id", &code) < 0)
		goto done;
	params = json_pack("{s:s, s:b}", "id", argv[0], "wait", !no_wait);
	if (build)
		json_object_set_new(params, "buildId", json_string(build));
	if (image)
		json_object_set_new(params, "image", json_string(image));
	if (env)
		json_object_set(params, "env", env);
	if (command)
		json_object_set_new(params, "command", json_string(command));
	if (port >= 0)
		json_object_set_new(params, "port", json_integer(port));
	if (ttl)
		json_object_set_new(params, "ttl", json_string(ttl));
	if (network)
		json_object_set_new(params, "network", json_string(network));
	if (engine)
		json_object_set_new(params, "engine", json_string(engine));
	if (id)
		json_object_set_new(params, "launchId", json_string(id));
	if (user)
		json_object_set_new(params, "user", json_string(user));
	set_profile(prof, "name", profile);
	set_profile(prof, "memory", memory);
	set_profile(prof, "cpus", cpus);
	set_profile(prof, "cpuTime", cpu_time);
	set_profile(prof, "disk", disk);
	if (pids >= 0)
		json_object_set_new(prof, "pids", json_integer(pids));
	if (nofile >= 0)
		json_object_set_new(prof, "nofile", json_integer(nofile));
	if (json_object_size(prof))
		json_object_set(params, "resourceProfile", prof);
	if ((code = run_op(ctx, "launch.start", params, &out)))
		goto done;
	if (ctx->json)
		print_json(out);
	else if (ctx->quiet)
		puts(str(out, "id"));
	else
		print_record(out);
	code = failed_exit(out);
	if (code && !ctx->json && json_is_string(json_object_get(out, "logsPreview")))
		fprintf(stderr, "%s", str(out, "logsPreview"));
done:
	json_decref(env);
	json_decref(prof);
	json_decref(params);
	json_decref(out);
	return code;
}

/* A table of the launches (their ids only with -q). */
static void text_launches(json_t *out, int quiet)
{
	json_t *data = json_object_get(out, "data"), *r;
	size_t i;

	if (!quiet && json_array_size(data))
		printf("%-20s %-20s %-9s %-28s %s\n", "ID", "APP", "STATUS", "PREVIEW", "CREATED");
	json_array_foreach(data, i, r) {
		if (quiet)
			puts(str(r, "id"));
		else
			printf("%-20s %-20s %-9s %-28s %s\n", str(r, "id"), str(r, "repositoryId"),
			       str(r, "status"), str(r, "previewUrl"), str(r, "createdAt"));
	}
}

static int launch_ls(int argc, const char **argv, struct ctx *ctx)
{
	const char *status = NULL;
	long limit = -1;
	struct option opts[] = {
		OPT_STRING(0, "status", &status, "status", "only launches with this status"),
		OPT_INT(0, "limit", &limit, "n", "at most n launches (default 100)"),
		OPT_END(),
	};
	json_t *params;
	int code;

	argc = parse_verb_args(ctx, argc, argv, opts, launch_usage, 0, 1, "one app id at most", &code);
	if (argc < 0)
		return code;
	params = json_object();
	if (argc)
		json_object_set_new(params, "id", json_string(argv[0]));
	if (status)
		json_object_set_new(params, "status", json_string(status));
	if (limit > 0)
		json_object_set_new(params, "limit", json_integer(limit));
	return run_op_show(ctx, argc ? "launch.ls" : "launch.list", params, text_launches);
}

/* The one operand, *id, after the options (which may come before or after it). */
static int one_launch(int argc, const char **argv, struct ctx *ctx, const struct option *opts,
		      const char **id)
{
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, launch_usage, 1, 1, "a launch id", &code) < 0)
		return -code - 1;
	*id = argv[0];
	return 0;
}

/* The record, and a failed launch's log tail; with -q too. */
static void text_shown(json_t *out, int quiet)
{
	(void)quiet;
	print_record(out);
	if (json_is_string(json_object_get(out, "logsPreview")) && !strcmp(str(out, "status"), "failed"))
		printf("log:\n%s", str(out, "logsPreview"));
}

static int launch_show(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *id = NULL;
	int code = one_launch(argc, argv, ctx, opts, &id);

	if (code < 0)
		return -code - 1;
	return run_op_show(ctx, "launch.show", json_pack("{s:s}", "id", id), text_shown);
}

static void text_stopped(json_t *out, int quiet)
{
	print_two(out, "id", "status", quiet);
}

static int launch_stop(int argc, const char **argv, struct ctx *ctx)
{
	int no_wait = 0;
	struct option opts[] = {
		OPT_BOOL(0, "no-wait", &no_wait, "return once asked, before it has stopped"),
		OPT_END(),
	};
	const char *id = NULL;
	int code = one_launch(argc, argv, ctx, opts, &id);

	if (code < 0)
		return -code - 1;
	return run_op_show(ctx, "launch.stop", json_pack("{s:s, s:b}", "id", id, "wait", !no_wait),
			   text_stopped);
}

static int terminal(const char *status)
{
	return !strcmp(status, "stopped") || !strcmp(status, "failed");
}

static int launch_logs(int argc, const char **argv, struct ctx *ctx)
{
	int follow = 0, code;
	struct option opts[] = {
		OPT_BOOL('f', "follow", &follow, "keep printing what the launch writes until it ends"),
		OPT_END(),
	};
	const char *id = NULL;
	json_t *params, *out;
	json_int_t offset = -1;

	code = one_launch(argc, argv, ctx, opts, &id);
	if (code < 0)
		return -code - 1;
	for (;;) {
		const char *data;
		int done;

		params = json_pack("{s:s}", "id", id);
		if (offset >= 0)
			json_object_set_new(params, "offset", json_integer(offset));
		code = run_op(ctx, "launch.logs", params, &out);
		json_decref(params);
		if (code)
			return code;
		data = json_string_value(json_object_get(out, "data"));
		if (ctx->json && !follow)
			print_json(out);
		else if (data)
			fwrite(data, 1, strlen(data), stdout);
		fflush(stdout);
		done = terminal(str(out, "status"));
		offset = json_integer_value(json_object_get(out, "nextOffset"));
		if (!follow || (done && (!data || !*data))) {
			json_decref(out);
			return 0;
		}
		json_decref(out);
		if (!data || !*data)
			usleep(200000);
	}
}

/*
 * apphub-launch supervise <state-dir> <launch-id> [--notify-fd <fd>]: the
 * supervisor of one launch, started by launch.start, as long as the launch
 * lives; only the helper apphub-launch carries its operation. Always here:
 * it is the serve or CLI on this machine that started it.
 */
static int launch_supervise(int argc, const char **argv, struct ctx *ctx)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *params, *out = NULL;
	int code;

	if (!(argc == 2 || (argc == 4 && !strcmp(argv[2], "--notify-fd")))) {
		error("usage: apphub-launch supervise <state-dir> <launch-id> [--notify-fd <fd>]");
		return APPHUB_EXIT_USAGE;
	}
	ctx->op.dir = argv[0];
	params = json_pack("{s:s, s:s}", "id", argv[1], "notifyFd", argc == 4 ? argv[3] : "-1");
	if (ah_op_call(&ctx->op, "launch.supervise", params, &out, &err) < 0) {
		error("%s", err.msg);
		code = exit_status(&err);
	} else {
		code = (int)json_integer_value(json_object_get(out, "exitStatus"));
	}
	json_decref(params);
	json_decref(out);
	return code;
}

static const struct verb launch_verbs[] = {
	{ "logs", launch_logs },
	{ "ls", launch_ls },
	{ "show", launch_show },
	{ "start", launch_start },
	{ "stop", launch_stop },
	{ "supervise", launch_supervise },
};

int cmd_launch(int argc, const char **argv, struct ctx *ctx)
{
	size_t i;

	if (argc >= 2) {
		for (i = 0; i < sizeof(launch_verbs) / sizeof(launch_verbs[0]); i++)
			if (!strcmp(argv[1], launch_verbs[i].name))
				return run_verb(launch_verbs, sizeof(launch_verbs) / sizeof(launch_verbs[0]),
						"ls", "launch", launch_usage, argc - 1, argv + 1, ctx);
	}
	/* "apphub launch <app> ..." is "apphub launch start <app> ...". */
	if (argc >= 2 && argv[1][0] != '-') {
		snprintf(ctx->name, sizeof(ctx->name), "launch start");
		return launch_start(argc - 1, argv + 1, ctx);
	}
	return run_verb(launch_verbs, sizeof(launch_verbs) / sizeof(launch_verbs[0]), "ls", "launch",
			launch_usage, argc - 1, argv + 1, ctx);
}
