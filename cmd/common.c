/*
 * What every command shares: its options with --json and -q, a verb's
 * arguments, running a verb from a table, calling an operation here or
 * with --server, exit statuses and JSON output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/remote.h"

int usage_error(const char *const *usage, const struct option *opts, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	parse_options_usage(&sb, usage, opts);
	fputs(sb.buf, stderr);
	strbuf_release(&sb);
	return APPHUB_EXIT_USAGE;
}

int parse_cmd_options(struct ctx *ctx, int argc, const char **argv, const struct option *opts,
		      const char *const *usage, int *code)
{
	struct strbuf msg = STRBUF_INIT;
	struct option *all;
	size_t n = 0;
	int ret;

	while (opts[n].type != OPTION_END)
		n++;
	all = xcalloc(n + 3, sizeof(*all));
	memcpy(all, opts, n * sizeof(*all));
	all[n] = (struct option)OPT_BOOL(0, "json", &ctx->json, "print the result as JSON");
	all[n + 1] = (struct option)OPT_BOOL('q', "quiet", &ctx->quiet, "print less");
	all[n + 2] = (struct option)OPT_END();
	ret = parse_options(argc, argv, all, &msg);
	if (ret == PARSE_OPT_HELP) {
		struct strbuf sb = STRBUF_INIT;

		parse_options_usage(&sb, usage, all);
		fputs(sb.buf, stdout);
		strbuf_release(&sb);
		*code = 0;
		ret = -1;
	} else if (ret == PARSE_OPT_ERROR) {
		*code = usage_error(usage, all, "%s", msg.buf);
		ret = -1;
	}
	free(all);
	strbuf_release(&msg);
	return ret;
}

int parse_verb_args(struct ctx *ctx, int argc, const char **argv, const struct option *opts,
		    const char *const *usage, int min, int max, const char *what, int *code)
{
	const char *name = *ctx->name ? ctx->name : "";
	const char *sep = *name ? ": " : "";

	argc = parse_cmd_options(ctx, argc, argv, opts, usage, code);
	if (argc < 0)
		return -1;
	if (argc < min) {
		*code = usage_error(usage, opts, "%s%s%s %s required", name, sep, what,
				    min > 1 ? "are" : "is");
		return -1;
	}
	if (max >= 0 && argc > max) {
		*code = usage_error(usage, opts, "%s%stoo many arguments, expects %s", name, sep,
				    max ? what : "none");
		return -1;
	}
	return argc;
}

/*
 * What cannot run with --server, and why: a command that is this machine's
 * (serve), a verb that reads or writes a path of this machine which the
 * server cannot see and which is not uploaded. verb NULL: the whole command.
 */
static const struct {
	const char *cmd, *verb, *why;
} local_only[] = {
	{ "image", "build", "the build context is a directory of this machine" },
	{ "image", "export", "the file would be written on the server's machine" },
	{ "image", "import", "the file is on this machine and is not uploaded" },
	{ "image", "unpack", "the directory would be written on the server's machine" },
	{ "jobs", "init", "the bundle is a directory of this machine" },
	{ "jobs", "keygen", "the keys are files of this machine" },
	{ "jobs", "package", "the bundle is a directory of this machine" },
	{ "jobs", "test", "the bundle is a directory of this machine" },
	{ "serve", NULL, "it serves this machine's state directory; run it on the server" },
};

int refuse_remote(const struct ctx *ctx, const char *cmd, const char *verb)
{
	size_t i;

	if (!ctx->server)
		return 0;
	for (i = 0; i < sizeof(local_only) / sizeof(local_only[0]); i++) {
		if (strcmp(local_only[i].cmd, cmd) ||
		    (local_only[i].verb && (!verb || strcmp(local_only[i].verb, verb))) ||
		    (!local_only[i].verb && verb))
			continue;
		error("%s%s%s: cannot run with --server: %s", cmd, verb ? " " : "", verb ? verb : "",
		      local_only[i].why);
		return APPHUB_EXIT_FAILED;
	}
	return 0;
}

int run_verb(const struct verb *verbs, size_t nr, const char *def, const char *cmd,
	     const char *const *usage, int argc, const char **argv, struct ctx *ctx)
{
	const char *name = def;
	size_t i;

	if (argc > 0 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
		struct strbuf sb = STRBUF_INIT;

		parse_options_usage(&sb, usage, NULL);
		fputs(sb.buf, stdout);
		strbuf_release(&sb);
		return 0;
	}
	if (argc > 0 && argv[0][0] != '-') {
		name = argv[0];
		argc--;
		argv++;
	}
	for (i = 0; i < nr; i++)
		if (!strcmp(verbs[i].name, name)) {
			snprintf(ctx->name, sizeof(ctx->name), "%s %s", cmd, name);
			if (refuse_remote(ctx, cmd, name))
				return APPHUB_EXIT_FAILED;
			return verbs[i].fn(argc, argv, ctx);
		}
	return usage_error(usage, NULL, "'%s' is not an apphub %s verb", name, cmd);
}

int exit_status(const struct ah_err *err)
{
	switch (err->status) {
	case 404:
		return APPHUB_EXIT_NOTFOUND;
	case 409:
		return APPHUB_EXIT_CONFLICT;
	case 500:
		return err->code && !strcmp(err->code, "fatal") ? APPHUB_EXIT_FATAL
								 : APPHUB_EXIT_FAILED;
	default:
		return APPHUB_EXIT_FAILED;
	}
}

int run_op(struct ctx *ctx, const char *name, json_t *params, json_t **out)
{
	struct ah_err err = AH_ERR_INIT;
	int r = ctx->server ? ah_remote_call(ctx->server, name, params, out, &err)
			    : ah_op_call(&ctx->op, name, params, out, &err);

	if (!r)
		return 0;
	/* An empty message: apphub-remote failed and has said why. */
	if (*err.msg)
		error("%s", err.msg);
	return exit_status(&err);
}

int run_op_show(struct ctx *ctx, const char *name, json_t *params,
		void (*text)(json_t *out, int quiet))
{
	json_t *out = NULL;
	int code = run_op(ctx, name, params, &out);

	json_decref(params);
	if (code)
		return code;
	if (ctx->json)
		print_json(out);
	else if (text)
		text(out, ctx->quiet);
	json_decref(out);
	return 0;
}

void print_two(json_t *out, const char *a, const char *b, int quiet)
{
	if (!quiet)
		printf("%s %s\n", json_string_value(json_object_get(out, a)),
		       json_string_value(json_object_get(out, b)));
}

void print_json(json_t *v)
{
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;

	flags |= isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT;
	json_dumpf(v, stdout, flags);
	putchar('\n');
}

/* The run of a work operation, as its results come. */
struct work_run {
	struct ctx *ctx;
	const struct work_front *f;
	json_t *results;
	int ids, watch, code, failed;
};

static void work_result(struct work_run *w, json_t *res)
{
	const char *status = json_string_value(json_object_get(res, "status"));
	int retry = json_is_string(json_object_get(res, "retryAt"));

	if (json_is_true(json_object_get(res, "internal")))
		w->code = APPHUB_EXIT_FATAL;
	/* On the queue a retry to come is no failure yet; asked for by id, it is. */
	if (!status || strcmp(status, w->f->done) ? !retry || w->ids : 0)
		w->failed = 1;
	w->f->show(w->ctx, res, w->ids);
	if (!w->watch) {
		json_array_append(w->results, res);
		return;
	}
	if (w->ctx->json) {
		json_dumpf(res, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	fflush(stdout);
}

static void work_progress(struct ah_ctx *op, json_t *res, const struct ah_err *refusal)
{
	struct work_run *w = op->progress_cls;

	if (res) {
		work_result(w, res);
	} else {
		int c = exit_status(refusal);

		error("%s", refusal->msg);
		if (c > w->code)
			w->code = c;
	}
}

/* --server: <kind>.run for each id, or <kind>.next until nothing is due. */
static int work_remote(struct work_run *w, json_t *params)
{
	json_t *ids = json_object_get(params, "ids"), *out = NULL;
	size_t i;

	for (i = 0; ids ? i < json_array_size(ids) : 1; i++) {
		json_t *p = NULL, *rec;
		int c;

		if (ids) {
			p = json_deep_copy(params);
			json_object_del(p, "ids");
			json_object_del(p, "jobs");
			json_object_set(p, "id", json_array_get(ids, i));
		}
		c = run_op(w->ctx, ids ? w->f->run_op : w->f->next_op, p, &out);
		json_decref(p);
		if (c) {
			if (c > w->code)
				w->code = c;
			if (!ids)
				break;
			continue;
		}
		rec = ids ? out : json_array_get(json_object_get(out, "data"), 0);
		if (rec)
			work_result(w, rec);
		json_decref(out);
		if (!rec)
			break;
	}
	return 0;
}

int run_work(struct ctx *ctx, const struct work_front *f, json_t *params, int argc,
	     const char **argv, json_t **results)
{
	struct work_run w = { .ctx = ctx, .f = f, .results = json_array() };
	json_t *out = NULL;
	int i;

	if (argc) {
		json_t *ids = json_array();

		for (i = 0; i < argc; i++)
			json_array_append_new(ids, json_string(argv[i]));
		json_object_set_new(params, "ids", ids);
	}
	/* ingest --repo names its apps too */
	w.ids = argc || json_is_string(json_object_get(params, "repo"));
	w.watch = json_is_true(json_object_get(params, "watch"));
	if (ctx->server) {
		work_remote(&w, params);
	} else {
		ctx->op.progress = work_progress;
		ctx->op.progress_cls = &w;
		int c = run_op(ctx, f->work_op, params, &out);

		if (c > w.code)
			w.code = c;
		ctx->op.progress = NULL;
		json_decref(out);
	}
	*results = w.results;
	if (w.code)
		return w.code;
	return w.failed ? APPHUB_EXIT_FAILED : 0;
}

int print_log(struct ctx *ctx, const char *op, const char *id, int follow,
	      int (*final)(const char *status))
{
	struct strbuf all = STRBUF_INIT;
	json_int_t offset = 0;
	const char *status = "";
	json_t *out = NULL;
	int code = 0;

	for (;;) {
		json_t *params = json_pack("{s:s, s:I}", "id", id, "offset", offset);
		json_int_t next, size;
		const char *data;

		json_decref(out);
		out = NULL;
		code = run_op(ctx, op, params, &out);
		json_decref(params);
		if (code)
			break;
		data = json_string_value(json_object_get(out, "data")) ?: "";
		status = json_string_value(json_object_get(out, "status")) ?: "";
		next = json_integer_value(json_object_get(out, "nextOffset"));
		size = json_integer_value(json_object_get(out, "size"));
		if (ctx->json) {
			strbuf_addstr(&all, data);
		} else if (*data) {
			fputs(data, stdout);
			fflush(stdout);
		}
		/* A long log comes in pages: the next one at once. */
		if (next > offset && next < size) {
			offset = next;
			continue;
		}
		offset = next;
		if (!follow || final(status))
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

const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

int list_runs(struct ctx *ctx, const struct runs_front *f, const char *const *usage, int argc,
	      const char **argv)
{
	const char *status = NULL;
	long limit = 50;
	struct option opts[] = {
		OPT_STRING(0, "status", &status, "status", "only runs in this status"),
		OPT_INT(0, "limit", &limit, "n", "at most n runs (default 50)"),
		OPT_END(),
	};
	json_t *params, *out = NULL, *r;
	size_t i;
	int code;

	if ((argc = parse_verb_args(ctx, argc, argv, opts, usage, 0, 1, f->what, &code)) < 0)
		return code;
	params = json_pack("{s:s?, s:s?, s:I}", "slug", argc ? argv[0] : NULL, "status", status,
			   "limit", (json_int_t)limit);
	code = run_op(ctx, argc ? f->op_one : f->op_all, params, &out);
	json_decref(params);
	if (code)
		return code;
	if (ctx->json) {
		print_json(out);
	} else {
		if (!ctx->quiet && json_array_size(json_object_get(out, "data")))
			puts(f->header);
		json_array_foreach(json_object_get(out, "data"), i, r) {
			if (ctx->quiet)
				puts(jstr(r, "id"));
			else
				f->row(r);
		}
	}
	json_decref(out);
	return 0;
}
