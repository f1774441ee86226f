/*
 * apphub jobs: job bundles and their runs. Here the records' verbs: ls,
 * show, rm, publish (a directory is packaged first), trust.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "../lib/strbuf.h"

static const char *const jobs_usage[] = {
	"apphub jobs [ls]",
	"apphub jobs show <slug>[@<version>]",
	"apphub jobs rm <slug>@<version>",
	"apphub jobs publish <dir>|<tgz> [--key <file>]",
	"apphub jobs trust <pubkey-file> [--name <name>]",
	"apphub jobs trust --list",
	NULL
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
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

	if (quiet)
		return;
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
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (!f) {
		error("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(max + 1);
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		error("cannot read '%s': %s", path, n > max ? "larger than 16 KiB" : strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(f);
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
	{ "ls", jobs_ls },
	{ "publish", jobs_publish },
	{ "rm", jobs_rm },
	{ "show", jobs_show },
	{ "trust", jobs_trust },
};

int cmd_jobs(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(jobs_verbs, sizeof(jobs_verbs) / sizeof(jobs_verbs[0]), "ls", "jobs",
			jobs_usage, argc - 1, argv + 1, ctx);
}
