/*
 * apphub ingest: work through the ingest queue, or ingest the given apps
 * now (the operation ingest.work: each ingest in a worker process of the
 * runner, lib/runner.h). With --server the server ingests, one app at a
 * time, and nothing is opened locally.
 */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

static const char *const ingest_usage[] = {
	"apphub ingest [-j <n>] [--watch]",
	"apphub ingest [-j <n>] <id>...",
	"apphub ingest [-j <n>] --repo <url>",
	NULL
};

static void show(struct ctx *ctx, json_t *res, int ids)
{
	(void)ids;
	if (!strcmp(jstr(res, "status"), "ready")) {
		if (!ctx->json && !ctx->quiet)
			printf("%s ready %s (%" JSON_INTEGER_FORMAT " ms)\n", jstr(res, "id"),
			       jstr(res, "commitSha"),
			       json_integer_value(json_object_get(res, "durationMs")));
	} else if (*jstr(res, "retryAt")) {
		error("cannot ingest '%s' (attempt %" JSON_INTEGER_FORMAT ", retry at %s): %s",
		      jstr(res, "id"), json_integer_value(json_object_get(res, "attempt")),
		      jstr(res, "retryAt"), jstr(res, "errorMessage"));
	} else {
		error("cannot ingest '%s': %s", jstr(res, "id"), jstr(res, "errorMessage"));
	}
}

static const struct work_front ingest_front = {
	.work_op = "ingest.work",
	.run_op = "ingest.run",
	.next_op = "ingest.next",
	.done = "ready",
	.show = show,
};

int cmd_ingest(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code;
	const char *repo = NULL;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "ingest n apps at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new items"),
		OPT_STRING(0, "repo", &repo, "url", "ingest the apps of this repository (for hooks)"),
		OPT_END(),
	};
	json_t *params, *results;

	argc = parse_verb_args(ctx, argc - 1, argv + 1, opts, ingest_usage, 0, -1, "app ids",
			       &code);
	if (argc < 0)
		return code;
	argv++;
	if (jobs < 1 || jobs > 64)
		return usage_error(ingest_usage, opts, "invalid -j %ld: must be from 1 to 64", jobs);
	if (watch && (argc || repo))
		return usage_error(ingest_usage, opts, "--watch works on the queue, not on given apps");
	if (repo && argc)
		return usage_error(ingest_usage, opts, "give either ids or --repo, not both");
	if (ctx->server && (watch || repo)) {
		error("ingest --%s: cannot run with --server: %s", watch ? "watch" : "repo",
			     watch ? "it waits on this machine's queue; serve's workers work the server's"
				   : "it is the hooks' form, for the machine whose state it ingests");
		return APPHUB_EXIT_FAILED;
	}
	params = json_pack("{s:I, s:b, s:s?}", "jobs", (json_int_t)jobs, "watch", watch, "repo",
			   repo);
	code = run_work(ctx, &ingest_front, params, argc, argv, &results);
	if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", results);

		print_json(out);
		json_decref(out);
	}
	json_decref(results);
	json_decref(params);
	return code;
}
