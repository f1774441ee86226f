/*
 * apphub image: the OCI image store (list, inspect, remove, import,
 * export, unpack) and the registry (pull, push).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/strbuf.h"

static const char *const image_usage[] = {
	"apphub image [ls]",
	"apphub image inspect <name>",
	"apphub image rm <name>...",
	"apphub image import <file> <name>[:<tag>] [--cmd <cmd>] [--entrypoint <json>] [--env <k=v>]... [--workdir <dir>]",
	"apphub image export <name> <file>",
	"apphub image unpack <name> <dir>",
	"apphub image pull <ref> [--name <name>] [--platform <os/arch>] [--creds <user:pass>] [--insecure]",
	"apphub image push <name> [<ref>] [--creds <user:pass>] [--insecure] [--chunk-size <n>]",
	"apphub image build [-f <file>] -t <name>[:<tag>] [--build-arg <k=v>]... [--target <stage>] [--platform <os/arch>] [--network none|host] [--engine native|podman|docker] [--no-cache] [--timeout <duration>] <context>",
	NULL
};

/* A path made absolute against the current directory, as the operation may run elsewhere. */
static char *abs_path(const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(p);
	return xstrfmt("%s/%s", cwd, p);
}

static void human_size(char *buf, size_t n, json_int_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)size;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%lld B", (long long)size);
	else
		snprintf(buf, n, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
}

static void text_name_digest(json_t *out, int quiet)
{
	print_two(out, "name", "digest", quiet);
}

static void text_ref_digest(json_t *out, int quiet)
{
	print_two(out, "ref", "digest", quiet);
}

/* A table of the images (their names only with -q). */
static void text_images(json_t *out, int quiet)
{
	json_t *img;
	size_t i, w = 4;

	json_array_foreach(json_object_get(out, "data"), i, img) {
		size_t l = strlen(json_string_value(json_object_get(img, "name")));

		if (l > w)
			w = l;
	}
	if (!quiet && json_array_size(json_object_get(out, "data")))
		printf("%-*s  %-19s  %9s  %s\n", (int)w, "NAME", "DIGEST", "SIZE", "CREATED");
	json_array_foreach(json_object_get(out, "data"), i, img) {
		const char *name = json_string_value(json_object_get(img, "name"));
		const char *digest = json_string_value(json_object_get(img, "digest"));
		const char *created = json_string_value(json_object_get(img, "createdAt"));
		char size[32];

		if (quiet) {
			puts(name);
			continue;
		}
		human_size(size, sizeof(size), json_integer_value(json_object_get(img, "size")));
		printf("%-*s  %-19.19s  %9s  %s\n", (int)w, name, digest ? digest : "-", size,
		       created ? created : "-");
	}
}

static int image_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 0, 0, "", &code) < 0)
		return code;
	return run_op_show(ctx, "image.ls", NULL, text_images);
}

static void print_list(const char *label, json_t *v)
{
	json_t *x;
	size_t i;

	if (!json_is_array(v) || !json_array_size(v))
		return;
	printf("%-12s", label);
	json_array_foreach(v, i, x)
		printf("%s%s", i ? " " : "", json_is_string(x) ? json_string_value(x) : "?");
	putchar('\n');
}

static int image_inspect(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	json_t *params, *out, *cfg, *c, *ports;
	char size[32];
	const char *key;
	json_t *v;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 1, 1, "an image name", &code) < 0)
		return code;
	params = json_pack("{s:s}", "name", argv[0]);
	code = run_op(ctx, "image.inspect", params, &out);
	json_decref(params);
	if (code)
		return code;
	cfg = json_object_get(out, "config");
	if (ctx->json) {
		print_json(cfg);
		json_decref(out);
		return 0;
	}
	c = json_object_get(cfg, "config");
	human_size(size, sizeof(size), json_integer_value(json_object_get(out, "size")));
	printf("%-12s%s\n", "name:", json_string_value(json_object_get(out, "name")) ?: "-");
	printf("%-12s%s\n", "digest:", json_string_value(json_object_get(out, "digest")));
	printf("%-12s%s\n", "created:", json_string_value(json_object_get(cfg, "created")) ?: "-");
	printf("%-12s%s/%s\n", "platform:", json_string_value(json_object_get(cfg, "os")) ?: "?",
	       json_string_value(json_object_get(cfg, "architecture")) ?: "?");
	printf("%-12s%s\n", "size:", size);
	printf("%-12s%zu\n", "layers:",
	       json_array_size(json_object_get(json_object_get(out, "manifest"), "layers")));
	print_list("entrypoint:", json_object_get(c, "Entrypoint"));
	print_list("cmd:", json_object_get(c, "Cmd"));
	if (json_string_value(json_object_get(c, "WorkingDir")) &&
	    *json_string_value(json_object_get(c, "WorkingDir")))
		printf("%-12s%s\n", "workdir:", json_string_value(json_object_get(c, "WorkingDir")));
	if (json_string_value(json_object_get(c, "User")) &&
	    *json_string_value(json_object_get(c, "User")))
		printf("%-12s%s\n", "user:", json_string_value(json_object_get(c, "User")));
	ports = json_object_get(c, "ExposedPorts");
	if (json_object_size(ports)) {
		int first = 1;

		printf("%-12s", "ports:");
		json_object_foreach(ports, key, v) {
			printf("%s%s", first ? "" : " ", key);
			first = 0;
		}
		putchar('\n');
	}
	{
		json_t *e;
		size_t i;

		json_array_foreach(json_object_get(c, "Env"), i, e)
			printf("%-12s%s\n", i ? "" : "env:", json_string_value(e) ?: "");
	}
	json_decref(out);
	return 0;
}

static int image_rm(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	json_t *params, *out, *all = json_array();
	int code, i, status = 0;

	argc = parse_verb_args(ctx, argc, argv, opts, image_usage, 1, -1, "an image name", &code);
	if (argc < 0) {
		json_decref(all);
		return code;
	}
	for (i = 0; i < argc; i++) {
		params = json_pack("{s:s}", "name", argv[i]);
		code = run_op(ctx, "image.rm", params, &out);
		json_decref(params);
		if (code) {
			if (!status)
				status = code;
			continue;
		}
		json_array_append_new(all, out);
	}
	if (ctx->json) {
		out = json_pack("{s:o}", "data", all);
		print_json(out);
		json_decref(out);
	} else {
		json_decref(all);
	}
	return status;
}

static int image_import(int argc, const char **argv, struct ctx *ctx)
{
	const char *cmd = NULL, *entrypoint = NULL, *workdir = NULL;
	json_t *env = NULL, *config = json_object(), *params, *v;
	struct option opts[] = {
		OPT_STRING(0, "cmd", &cmd, "cmd", "the image's Cmd: a JSON array, or a shell command"),
		OPT_STRING(0, "entrypoint", &entrypoint, "json", "the image's Entrypoint, a JSON array"),
		OPT_LIST(0, "env", &env, "k=v", "a variable of the image's Env (repeatable)"),
		OPT_STRING(0, "workdir", &workdir, "dir", "the image's WorkingDir"),
		OPT_END(),
	};
	char *file = NULL;
	size_t i;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 2, 2, "a file and an image name",
			    &code) < 0)
		goto done;
	if (cmd) {
		v = cmd[0] == '[' ? json_loads(cmd, 0, NULL)
				  : json_pack("[s, s, s]", "/bin/sh", "-c", cmd);
		if (!json_is_array(v)) {
			json_decref(v);
			code = usage_error(image_usage, opts, "invalid --cmd: not a JSON array");
			goto done;
		}
		json_object_set_new(config, "Cmd", v);
	}
	if (entrypoint) {
		v = json_loads(entrypoint, 0, NULL);
		if (!json_is_array(v)) {
			json_decref(v);
			code = usage_error(image_usage, opts, "invalid --entrypoint: not a JSON array");
			goto done;
		}
		json_object_set_new(config, "Entrypoint", v);
	}
	if (env) {
		json_t *list = json_array();

		json_array_append_new(list, json_string(
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
		json_array_foreach(env, i, v) {
			if (!strchr(json_string_value(v), '=')) {
				json_decref(list);
				code = usage_error(image_usage, opts, "invalid --env '%s': must be k=v",
						   json_string_value(v));
				goto done;
			}
			if (!strncmp(json_string_value(v), "PATH=", 5))
				json_array_remove(list, 0);
			json_array_append(list, v);
		}
		json_object_set_new(config, "Env", list);
	}
	if (workdir)
		json_object_set_new(config, "WorkingDir", json_string(workdir));
	file = abs_path(argv[0]);
	params = json_pack("{s:s, s:s, s:O}", "file", file, "name", argv[1], "config", config);
	code = run_op_show(ctx, "image.import", params, text_name_digest);
done:
	free(file);
	json_decref(env);
	json_decref(config);
	return code;
}

/* export NAME FILE and unpack NAME DIR: an image and a local path. */
static int image_to_path(int argc, const char **argv, struct ctx *ctx, const char *op,
			 const char *key)
{
	struct option opts[] = { OPT_END() };
	json_t *params;
	char *path;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 2, 2, "an image name and a path",
			    &code) < 0)
		return code;
	path = abs_path(argv[1]);
	params = json_pack("{s:s, s:s}", "name", argv[0], key, path);
	free(path);
	return run_op_show(ctx, op, params, NULL);
}

static int image_export(int argc, const char **argv, struct ctx *ctx)
{
	return image_to_path(argc, argv, ctx, "image.export", "file");
}

static int image_unpack(int argc, const char **argv, struct ctx *ctx)
{
	return image_to_path(argc, argv, ctx, "image.unpack", "dir");
}

static int image_pull(int argc, const char **argv, struct ctx *ctx)
{
	const char *name = NULL, *creds = NULL, *platform = NULL;
	int insecure = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "name", &name, "name", "store the image under this name"),
		OPT_STRING(0, "platform", &platform, "os/arch", "from an index, this platform's image (default: this machine's)"),
		OPT_STRING(0, "creds", &creds, "user:pass", "registry credentials (else $APPHUB_REGISTRY_AUTH)"),
		OPT_BOOL(0, "insecure", &insecure, "use http:// for this registry"),
		OPT_END(),
	};
	json_t *params;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 1, 1, "a reference", &code) < 0)
		return code;
	params = json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:b}", "ref", argv[0], "name", name,
			   "platform", platform, "creds", creds, "insecure", insecure, "verbose",
			   !ctx->quiet && !ctx->json);
	return run_op_show(ctx, "image.pull", params, text_name_digest);
}

static int image_push(int argc, const char **argv, struct ctx *ctx)
{
	const char *creds = NULL;
	int64_t chunk = 0;
	int insecure = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "creds", &creds, "user:pass", "registry credentials (else $APPHUB_REGISTRY_AUTH)"),
		OPT_BOOL(0, "insecure", &insecure, "use http:// for this registry"),
		OPT_SIZE(0, "chunk-size", &chunk, "upload blobs in chunks of this size (bytes, 64k, 5M)"),
		OPT_END(),
	};
	json_t *params;

	argc = parse_verb_args(ctx, argc, argv, opts, image_usage, 1, 2,
			       "an image name and a reference at most", &code);
	if (argc < 0)
		return code;
	params = json_pack("{s:s, s:s, s:s?, s:b, s:I, s:b}", "name", argv[0], "ref",
			   argc > 1 ? argv[1] : argv[0], "creds", creds, "insecure", insecure,
			   "chunkSize", (json_int_t)chunk, "verbose", !ctx->quiet && !ctx->json);
	return run_op_show(ctx, "image.push", params, text_ref_digest);
}

static int image_build(int argc, const char **argv, struct ctx *ctx)
{
	const char *file = NULL, *tag = NULL, *target = NULL, *network = NULL, *engine = NULL;
	const char *platform = NULL;
	int64_t tmo = 0;
	json_t *args = NULL, *params = NULL, *out = NULL, *step;
	int no_cache = 0, code;
	struct option opts[] = {
		OPT_STRING('f', "file", &file, "file", "the Dockerfile (default: <context>/Dockerfile)"),
		OPT_STRING('t', "tag", &tag, "name:tag", "the name the image gets"),
		OPT_LIST(0, "build-arg", &args, "k=v", "a build argument (repeatable)"),
		OPT_STRING(0, "target", &target, "stage", "build this stage (default: the last)"),
		OPT_STRING(0, "platform", &platform, "os/arch", "the image's platform (default: this machine's)"),
		OPT_STRING(0, "network", &network, "none|host", "RUN's network (default: none)"),
		OPT_STRING(0, "engine", &engine, "engine", "native, podman or docker (default: $APPHUB_BUILD_ENGINE, else native)"),
		OPT_BOOL(0, "no-cache", &no_cache, "run every step, reusing no cached layer"),
		OPT_DURATION(0, "timeout", &tmo, "the limit on each RUN (30s, 5m, ...; at most 7d)"),
		OPT_END(),
	};
	char *context = NULL, *df = NULL;
	size_t i;

	if (parse_verb_args(ctx, argc, argv, opts, image_usage, 1, 1, "a context directory",
			    &code) < 0)
		goto done;
	if (!tag) {
		code = usage_error(image_usage, opts, "-t <name:tag> is required");
		goto done;
	}
	if (tmo > 7LL * 86400 * 1000) {
		code = usage_error(image_usage, opts, "invalid --timeout: at most 7d");
		goto done;
	}
	if (!engine)
		engine = getenv("APPHUB_BUILD_ENGINE");
	context = abs_path(argv[0]);
	/* -f is relative to the current directory, as docker build's */
	if (file)
		df = abs_path(file);
	params = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:b, s:b, s:O?}",
			   "context", context, "tag", tag, "dockerfile", df, "target", target,
			   "platform", platform, "network", network, "engine", engine, "timeoutMs",
			   (json_int_t)tmo, "noCache", no_cache, "verbose", !ctx->quiet, "buildArgs",
			   args);
	if ((code = run_op(ctx, "image.build", params, &out)))
		goto done;
	if (ctx->json) {
		print_json(out);
	} else if (!ctx->quiet) {
		size_t n = 0, cached = 0;

		json_array_foreach(json_object_get(out, "steps"), i, step) {
			n++;
			cached += json_is_true(json_object_get(step, "cached"));
		}
		printf("%s %s (%zu steps, %zu cached, %.1f s)\n",
		       json_string_value(json_object_get(out, "image")),
		       json_string_value(json_object_get(out, "digest")), n, cached,
		       (double)json_integer_value(json_object_get(out, "durationMs")) / 1000);
	}
done:
	free(context);
	free(df);
	json_decref(args);
	json_decref(params);
	json_decref(out);
	return code;
}

static const struct verb image_verbs[] = {
	{ "build", image_build },
	{ "export", image_export },
	{ "import", image_import },
	{ "inspect", image_inspect },
	{ "ls", image_ls },
	{ "pull", image_pull },
	{ "push", image_push },
	{ "rm", image_rm },
	{ "unpack", image_unpack },
};

int cmd_image(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(image_verbs, sizeof(image_verbs) / sizeof(image_verbs[0]), "ls", "image",
			image_usage, argc - 1, argv + 1, ctx);
}
