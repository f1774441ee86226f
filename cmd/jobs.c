/*
 * apphub jobs: job bundles (init, package, keygen, test, publish, trust, ls,
 * show, rm) and their runs (run, runs, show, logs, cancel, work).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd.h"
#include "../lib/fsutil.h"
#include "../lib/random-id.h"

static const char *const jobs_usage[] = {
	"apphub jobs [ls]",
	"apphub jobs init <dir> [--runtime node|python|exec] [--slug <slug>]",
	"apphub jobs package <dir> [--force] [--out <dir>] [--key <file>]",
	"apphub jobs keygen [--out <file>] [--force]",
	"apphub jobs test <dir> [--input-json <json> | --input <file>]",
	"apphub jobs run <slug>[@<version>] [--param <k=v>]... [--input-json <json>] [--detach] [--timeout <duration>]",
	"apphub jobs runs [<slug>] [--status <status>] [--limit <n>]",
	"apphub jobs publish <dir>|<tgz> [--key <file>]",
	"apphub jobs show <slug>[@<version>] | <run>",
	"apphub jobs rm <slug>@<version>",
	"apphub jobs trust <pubkey-file> [--name <name>]",
	"apphub jobs trust --list",
	"apphub jobs logs [-f] <run>",
	"apphub jobs cancel <run>",
	"apphub jobs work [-j <n>] [--watch]",
	NULL
};

/* A string field to show, "-" when absent or empty. */
static const char *str(json_t *o, const char *key)
{
	return *jstr(o, key) ? jstr(o, key) : "-";
}

/* A log chunk to stderr, as it comes; fd-3 lines are in the result. */
static void test_progress(struct ah_ctx *op, json_t *line, const struct ah_err *refusal)
{
	json_t *data = json_object_get(line, "data");

	(void)op;
	(void)refusal;
	if (!strcmp(json_string_value(json_object_get(line, "type")) ?
		    json_string_value(json_object_get(line, "type")) : "", "log") && data) {
		fwrite(json_string_value(data), 1, json_string_length(data), stderr);
		fflush(stderr);
	}
}

static int jobs_test(int argc, const char **argv, struct ctx *ctx)
{
	const char *input_json = NULL, *input = NULL;
	struct option opts[] = {
		OPT_STRING(0, "input-json", &input_json, "json", "the handler's parameters (JSON)"),
		OPT_STRING(0, "input", &input, "file", "the handler's parameters from a file"),
		OPT_END(),
	};
	json_t *params, *out = NULL, *result;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a bundle directory",
			    &code) < 0)
		return code;
	params = json_pack("{s:s}", "dir", argv[0]);
	if (input_json)
		json_object_set_new(params, "inputJson", json_string(input_json));
	if (input)
		json_object_set_new(params, "input", json_string(input));
	ctx->op.progress = test_progress;
	code = run_op(ctx, "jobs.test", params, &out);
	ctx->op.progress = NULL;
	json_decref(params);
	if (code)
		return code;
	if (!json_is_true(json_object_get(out, "ok"))) {
		fprintf(stderr, "apphub: jobs test: %s\n",
			json_string_value(json_object_get(out, "errorMessage")));
		if (ctx->json)
			print_json(out);
		json_decref(out);
		return 1;
	}
	result = json_object_get(out, "result");
	if (ctx->json)
		print_json(out);
	else {
		char *s = json_dumps(result, JSON_ENCODE_ANY | JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
	}
	json_decref(out);
	return 0;
}

static int run_final(const char *status)
{
	return strcmp(status, "pending") && strcmp(status, "running");
}

static void print_run(json_t *r)
{
	json_t *v, *o;
	size_t i;
	char *text;

	printf("id:         %s\n", jstr(r, "id"));
	printf("job:        %s@%s\n", jstr(r, "jobSlug"), jstr(r, "version"));
	printf("status:     %s\n", jstr(r, "status"));
	printf("attempt:    %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(r, "attempt")));
	printf("trigger:    %s\n", jstr(json_object_get(r, "trigger"), "type"));
	text = json_dumps(json_object_get(r, "parameters"), JSON_COMPACT);
	printf("parameters: %s\n", text ? text : "{}");
	free(text);
	printf("created:    %s\n", jstr(r, "createdAt"));
	if (*jstr(r, "startedAt"))
		printf("started:    %s\n", jstr(r, "startedAt"));
	if (*jstr(r, "completedAt"))
		printf("completed:  %s\n", jstr(r, "completedAt"));
	if (json_is_integer(v = json_object_get(r, "durationMs")))
		printf("duration:   %" JSON_INTEGER_FORMAT " ms\n", json_integer_value(v));
	if (*jstr(r, "errorMessage"))
		printf("error:      %s\n", jstr(r, "errorMessage"));
	if ((v = json_object_get(r, "result")) && !json_is_null(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("result:     %s\n", text ? text : "");
		free(text);
	}
	json_array_foreach(json_object_get(r, "outputs"), i, o) {
		const char *type = jstr(o, "type");

		if (!strcmp(type, "result") || !strcmp(type, "error"))
			continue;
		text = json_dumps(json_object_get(o, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
		printf("output:     %-7s %s %s%s\n", type, jstr(o, "name"),
		       *jstr(o, "path") ? jstr(o, "path") : "", text ? text : "");
		free(text);
	}
}

/* What jobs run prints of an ended run: its result, else why it failed. Exit status. */
static int show_ended_run(struct ctx *ctx, json_t *r)
{
	const char *status = jstr(r, "status");
	int ok = !strcmp(status, "succeeded");

	if (ctx->json) {
		print_json(r);
	} else if (ok) {
		char *text = json_dumps(json_object_get(r, "result") ?: json_null(),
					JSON_INDENT(2) | JSON_ENCODE_ANY);

		puts(text ? text : "null");
		free(text);
	}
	if (!ok) {
		if (!ctx->json && *jstr(r, "logsPreview"))
			fputs(jstr(r, "logsPreview"), stderr);
		error("jobs run: %s %s: %s", jstr(r, "id"), status,
		      *jstr(r, "errorMessage") ? jstr(r, "errorMessage") : status);
		return APPHUB_EXIT_FAILED;
	}
	return 0;
}

static int jobs_run(int argc, const char **argv, struct ctx *ctx)
{
	const char *input_json = NULL, *timeout = NULL;
	json_t *param = NULL, *params = NULL, *out = NULL, *parameters = NULL;
	int detach = 0, code;
	struct option opts[] = {
		OPT_LIST(0, "param", &param, "k=v", "a parameter (repeatable), typed as the schema says"),
		OPT_STRING(0, "input-json", &input_json, "json", "the parameters as a JSON object"),
		OPT_BOOL(0, "detach", &detach, "queue the run and print its id; workers run it"),
		OPT_STRING(0, "timeout", &timeout, "duration", "end the run after this long"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a job (SLUG[@VERSION])",
			    &code) < 0)
		goto done;
	if (input_json) {
		json_error_t je;
		char why[AH_JSON_WHY_MAX];

		parameters = json_loads(input_json, 0, &je);
		if (!json_is_object(parameters)) {
			code = usage_error(jobs_usage, opts, "--input-json: %s",
					   parameters ? "must be a JSON object" :
					   ah_json_why(&je, why, sizeof(why)));
			goto done;
		}
	}
	params = json_pack("{s:s, s:O?, s:O?, s:s?}", "slug", argv[0], "parameters", parameters,
			   "param", param, "timeoutMs", timeout);
	if (detach || ctx->server) {
		if ((code = run_op(ctx, "jobs.run", params, &out)))
			goto done;
		if (detach) {
			if (ctx->json)
				print_json(out);
			else if (ctx->quiet)
				puts(jstr(out, "id"));
			else
				printf("%s queued for %s@%s; 'apphub jobs work' runs it\n", jstr(out, "id"),
				       jstr(out, "jobSlug"), jstr(out, "version"));
			goto done;
		}
		/* Through --server the hub's workers run it: followed until it ends. */
		while (!run_final(jstr(out, "status"))) {
			json_t *p = json_pack("{s:s}", "id", jstr(out, "id"));

			nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
			json_decref(out);
			out = NULL;
			code = run_op(ctx, "job-runs.show", p, &out);
			json_decref(p);
			if (code)
				goto done;
		}
	} else if ((code = run_op(ctx, "job-runs.run", params, &out))) {
		goto done;
	}
	code = show_ended_run(ctx, out);
done:
	json_decref(param);
	json_decref(parameters);
	json_decref(params);
	json_decref(out);
	return code;
}

static void run_row(json_t *r)
{
	json_t *d = json_object_get(r, "durationMs");
	char job[160], dur[32] = "-";

	snprintf(job, sizeof(job), "%s@%s", jstr(r, "jobSlug"), jstr(r, "version"));
	if (json_is_integer(d))
		snprintf(dur, sizeof(dur), "%" JSON_INTEGER_FORMAT " ms", json_integer_value(d));
	printf("%-14s  %-9s  %-24s  %-24s  %s\n", jstr(r, "id"), jstr(r, "status"), job,
	       jstr(r, "createdAt"), dur);
}

static const struct runs_front jobs_runs_front = {
	.what = "a job slug",
	.op_one = "jobs.runs",
	.op_all = "job-runs.list",
	.header = "RUN             STATUS     JOB                       CREATED                   DURATION",
	.row = run_row,
};

static int jobs_runs(int argc, const char **argv, struct ctx *ctx)
{
	return list_runs(ctx, &jobs_runs_front, jobs_usage, argc, argv);
}

static void show_run(json_t *out, int quiet)
{
	if (quiet)
		puts(jstr(out, "status"));
	else
		print_run(out);
}

/* A run id as show's operand. */
static int is_run_id(const char *arg)
{
	return ah_random_id_valid(arg, 'r');
}

static int jobs_logs(int argc, const char **argv, struct ctx *ctx)
{
	int follow = 0, code;
	struct option opts[] = {
		OPT_BOOL('f', "follow", &follow, "keep printing while the run runs"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a run id", &code) < 0)
		return code;
	if (follow && ctx->json)
		return usage_error(jobs_usage, opts, "-f prints text; leave out --json");
	return print_log(ctx, "job-runs.logs", argv[0], follow, run_final);
}

static void show_canceled(json_t *out, int quiet)
{
	if (quiet)
		puts(jstr(out, "id"));
	else
		printf("%s canceled\n", jstr(out, "id"));
}

static int jobs_cancel(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a run id", &code) < 0)
		return code;
	return run_op_show(ctx, "job-runs.cancel", json_pack("{s:s}", "id", argv[0]),
			   show_canceled);
}

/* jobs work: a line per run as it ends, failures on stderr (as apphub build's). */
static void show_worked(struct ctx *ctx, json_t *r, int ids)
{
	const char *status = jstr(r, "status");

	(void)ids;
	if (!strcmp(status, "succeeded")) {
		if (!ctx->json && !ctx->quiet)
			printf("%s %s@%s succeeded (%" JSON_INTEGER_FORMAT " ms)\n", jstr(r, "id"),
			       jstr(r, "jobSlug"), jstr(r, "version"),
			       json_integer_value(json_object_get(r, "durationMs")));
	} else if (!strcmp(status, "pending") && *jstr(r, "retryAt")) {
		error("cannot run job run '%s' of %s@%s: %s", jstr(r, "id"), jstr(r, "jobSlug"),
		      jstr(r, "version"), jstr(r, "errorMessage"));
	} else {
		error("job run '%s' of %s@%s %s: %s", jstr(r, "id"), jstr(r, "jobSlug"),
		      jstr(r, "version"), status, jstr(r, "errorMessage"));
	}
}

static const struct work_front jobs_front = {
	.work_op = "job-runs.work",
	.next_op = "job-runs.next",
	.done = "succeeded",
	.show = show_worked,
};

static int jobs_work(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "run n jobs at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new runs"),
		OPT_END(),
	};
	json_t *params, *results;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 0, 0, "nothing", &code) < 0)
		return code;
	if (jobs < 1 || jobs > 64)
		return usage_error(jobs_usage, opts, "invalid -j %ld: must be from 1 to 64", jobs);
	params = json_pack("{s:I, s:b}", "jobs", (json_int_t)jobs, "watch", watch);
	code = run_work(ctx, &jobs_front, params, 0, argv, &results);
	if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", results);

		print_json(out);
		json_decref(out);
	}
	json_decref(results);
	json_decref(params);
	return code;
}

static void show_init(json_t *out, int quiet)
{
	json_t *f;
	size_t i;

	if (quiet)
		return;
	json_array_foreach(json_object_get(out, "created"), i, f)
		printf("created %s/%s\n", jstr(out, "dir"), json_string_value(f));
	if (!json_array_size(json_object_get(out, "created")))
		printf("%s: %s bundle '%s' has every file already\n", jstr(out, "dir"),
		       jstr(out, "runtime"), jstr(out, "slug"));
}

static int jobs_init(int argc, const char **argv, struct ctx *ctx)
{
	const char *runtime = NULL, *slug = NULL;
	struct option opts[] = {
		OPT_STRING(0, "runtime", &runtime, "runtime", "node (default), python or exec"),
		OPT_STRING(0, "slug", &slug, "slug", "the job's slug (default: from the directory)"),
		OPT_END(),
	};
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a directory", &code) < 0)
		return code;
	return run_op_show(ctx, "jobs.init", json_pack("{s:s, s:s*, s:s*}", "dir", argv[0],
						       "runtime", runtime, "slug", slug), show_init);
}

static void show_package(json_t *out, int quiet)
{
	if (quiet) {
		puts(jstr(out, "path"));
		return;
	}
	printf("%s: %" JSON_INTEGER_FORMAT " files, %" JSON_INTEGER_FORMAT " bytes\n",
	       jstr(out, "path"), json_integer_value(json_object_get(out, "files")),
	       json_integer_value(json_object_get(out, "size")));
	printf("sha256:%s%s\n", jstr(out, "checksum"), *jstr(out, "signature") ? " (signed)" : "");
}

static int jobs_package(int argc, const char **argv, struct ctx *ctx)
{
	const char *out = NULL, *key = NULL;
	int force = 0, code;
	struct option opts[] = {
		OPT_BOOL(0, "force", &force, "replace a package that exists"),
		OPT_STRING(0, "out", &out, "dir", "write it there (default: the bundle's artifactDir)"),
		OPT_STRING(0, "key", &key, "file", "sign it with this private key (apphub jobs keygen)"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a bundle directory", &code) < 0)
		return code;
	return run_op_show(ctx, "jobs.package", json_pack("{s:s, s:s*, s:s*, s:b}", "dir", argv[0],
							  "out", out, "key", key, "force", force),
			   show_package);
}

static void show_keygen(json_t *out, int quiet)
{
	if (quiet) {
		puts(jstr(out, "fingerprint"));
		return;
	}
	printf("private key: %s (keep it secret)\npublic key:  %s (apphub jobs trust it on the hub)\n"
	       "fingerprint: %s\n", jstr(out, "privateKey"), jstr(out, "publicKey"),
	       jstr(out, "fingerprint"));
}

static int jobs_keygen(int argc, const char **argv, struct ctx *ctx)
{
	const char *out = NULL;
	int force = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "out", &out, "file", "the private key's file (default apphub-signing-key.pem)"),
		OPT_BOOL(0, "force", &force, "replace keys that exist"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 0, 0, "no operand", &code) < 0)
		return code;
	return run_op_show(ctx, "jobs.keygen", json_pack("{s:s*, s:b}", "out", out, "force", force),
			   show_keygen);
}

static void text_jobs(json_t *out, int quiet)
{
	json_t *job;
	size_t i;

	json_array_foreach(json_object_get(out, "data"), i, job) {
		if (quiet)
			printf("%s\n", str(job, "slug"));
		else
			printf("%-24s %-12s %3zu %s\n", str(job, "slug"), str(job, "defaultVersion"),
			       json_array_size(json_object_get(job, "versions")), str(job, "name"));
	}
}

static int jobs_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 0, 0, "no operand", &code) < 0)
		return code;
	return run_op_show(ctx, "jobs.list", json_object(), text_jobs);
}

static void text_job(json_t *job, int quiet)
{
	char *manifest;
	json_t *v;
	size_t i;

	/* -q: the versions, one a line (completion reads them) */
	if (quiet) {
		json_array_foreach(json_object_get(job, "versions"), i, v)
			puts(str(v, "version"));
		return;
	}
	printf("%-10s%s\n", "slug:", str(job, "slug"));
	printf("%-10s%s\n", "name:", str(job, "name"));
	printf("%-10s%s%s\n", "version:", str(job, "version"),
	       strcmp(str(job, "version"), str(job, "defaultVersion")) ? "" : " (default)");
	printf("%-10s%s\n", "runtime:", str(job, "runtime"));
	printf("%-10ssha256:%s\n", "checksum:", str(job, "checksum"));
	printf("%-10s%" JSON_INTEGER_FORMAT "\n", "size:",
	       json_integer_value(json_object_get(job, "size")));
	printf("%-10s%s\n", "signer:", str(job, "signer"));
	printf("versions:\n");
	json_array_foreach(json_object_get(job, "versions"), i, v)
		printf("  %-12s %s %s\n", str(v, "version"), str(v, "createdAt"), str(v, "signer"));
	manifest = json_dumps(json_object_get(job, "manifest"),
			      JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("manifest: %s\n", manifest ? manifest : "{}");
	free(manifest);
}

/*
 * What `show` shows, by the form of its operand: the first row whose
 * match() takes it (NULL matches anything, so it comes last).
 */
static const struct {
	int (*match)(const char *arg);
	const char *op, *key;
	void (*text)(json_t *out, int quiet);
} shown[] = {
	{ is_run_id, "job-runs.show", "id", show_run },
	{ NULL, "jobs.show", "slug", text_job },
};

static int jobs_show(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	size_t i;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1,
			    "a job (slug[@version]) or a run id", &code) < 0)
		return code;
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (!shown[i].match || shown[i].match(argv[0]))
			break;
	return run_op_show(ctx, shown[i].op, json_pack("{s:s}", shown[i].key, argv[0]),
			   shown[i].text);
}

static void text_removed(json_t *out, int quiet)
{
	if (!quiet)
		printf("removed %s@%s%s\n", str(out, "slug"), str(out, "version"),
		       json_is_true(json_object_get(out, "jobRemoved")) ? " (its last version)" : "");
}

static int jobs_rm(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	const char *at;
	char *slug;
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a job's slug@version",
			    &code) < 0)
		return code;
	at = strchr(argv[0], '@');
	if (!at || at == argv[0] || !at[1])
		return usage_error(jobs_usage, opts, "'%s': expects <slug>@<version>", argv[0]);
	slug = xstrndup(argv[0], (size_t)(at - argv[0]));
	params = json_pack("{s:s, s:s}", "slug", slug, "version", at + 1);
	free(slug);
	return run_op_show(ctx, "jobs.rm", params, text_removed);
}

static void text_published(json_t *out, int quiet)
{
	if (quiet)
		return;
	printf("%s %s@%s sha256:%s%s%s\n",
	       json_is_false(json_object_get(out, "created")) ? "unchanged" : "published",
	       str(out, "slug"), str(out, "version"), str(out, "checksum"),
	       json_is_string(json_object_get(out, "signer")) ? " signed by " : "",
	       json_is_string(json_object_get(out, "signer")) ? str(out, "signer") : "");
}

static int jobs_publish(int argc, const char **argv, struct ctx *ctx)
{
	const char *key = NULL;
	struct option opts[] = {
		OPT_STRING(0, "key", &key, "file", "sign with this private key (PEM)"),
		OPT_END(),
	};
	struct ah_err err = AH_ERR_INIT;
	json_t *files, *params = NULL;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1,
			    "a bundle directory or .tgz", &code) < 0)
		return code;
	/* The files are read here, even with --server: the hub gets their bytes. */
	files = json_pack("{s:s, s:s?}", "path", argv[0], "key", key);
	code = ah_op_call(&ctx->op, "jobs.prepare", files, &params, &err);
	json_decref(files);
	if (code < 0) {
		error("%s", err.msg);
		return exit_status(&err);
	}
	return run_op_show(ctx, "jobs.publish", params, text_published);
}

static void text_signer(json_t *out, int quiet)
{
	print_two(out, "fingerprint", "name", quiet);
}

static void text_signers(json_t *out, int quiet)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(out, "data"), i, s)
		text_signer(s, quiet);
}

/* A public key file's text, at most max bytes. */
static char *read_key(const char *path, size_t max)
{
	char *buf = NULL;
	size_t len;

	if (ah_read_fd_max(open(path, O_RDONLY | O_CLOEXEC), max, &buf, &len) < 0) {
		error("cannot read '%s': %s", path, errno == EFBIG ? "larger than 16 KiB" : strerror(errno));
		return NULL;
	}
	return buf;
}

static int jobs_trust(int argc, const char **argv, struct ctx *ctx)
{
	const char *name = NULL;
	int list = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "name", &name, "name", "what to call the key"),
		OPT_BOOL(0, "list", &list, "list the trusted keys"),
		OPT_END(),
	};
	char *pem;

	argc = parse_verb_args(ctx, argc, argv, opts, jobs_usage, 0, 1, "a public key file",
			       &code);
	if (argc < 0)
		return code;
	if (list) {
		if (argc)
			return usage_error(jobs_usage, opts, "--list takes no key file");
		return run_op_show(ctx, "jobs.signers", json_object(), text_signers);
	}
	if (!argc)
		return usage_error(jobs_usage, opts, "a public key file is required");
	if (!(pem = read_key(argv[0], 16384)))
		return 1;
	code = run_op_show(ctx, "jobs.trust",
			   json_pack("{s:s, s:s?}", "publicKey", pem, "name", name), text_signer);
	free(pem);
	return code;
}

static const struct verb jobs_verbs[] = {
	{ "cancel", jobs_cancel },
	{ "init", jobs_init },
	{ "keygen", jobs_keygen },
	{ "logs", jobs_logs },
	{ "ls", jobs_ls },
	{ "package", jobs_package },
	{ "publish", jobs_publish },
	{ "rm", jobs_rm },
	{ "run", jobs_run },
	{ "runs", jobs_runs },
	{ "show", jobs_show },
	{ "test", jobs_test },
	{ "trust", jobs_trust },
	{ "work", jobs_work },
};

int cmd_jobs(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(jobs_verbs, sizeof(jobs_verbs) / sizeof(jobs_verbs[0]), "ls", "jobs",
			jobs_usage, argc - 1, argv + 1, ctx);
}
