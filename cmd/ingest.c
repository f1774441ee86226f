/*
 * apphub ingest: work through the ingest queue, or ingest the given apps
 * now. Each ingest runs in a child process: a worker that hangs past the
 * time limit is killed and its attempt failed, and one that dies is
 * noticed at once; the parent keeps the leases of its children alive.
 * With --server the server ingests and nothing is opened locally.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "../lib/runner.h"
#include "../lib/ingest.h"

static const char *const ingest_usage[] = {
	"apphub ingest [-j <n>] [--watch]",
	"apphub ingest [-j <n>] <id>...",
	"apphub ingest [-j <n>] --repo <url>",
	NULL
};

static void ingest_report(struct pool *p, json_t *res, int watch)
{
	struct ctx *ctx = p->cls;
	const char *status = json_string_value(json_object_get(res, "status"));
	const char *id = json_string_value(json_object_get(res, "id"));

	if (!status)
		status = "failed";
	if (!strcmp(status, "ready")) {
		if (!ctx->json && !ctx->quiet)
			printf("%s ready %s (%" JSON_INTEGER_FORMAT " ms)\n", id,
			       json_string_value(json_object_get(res, "commitSha")),
			       json_integer_value(json_object_get(res, "durationMs")));
	} else {
		const char *retry = json_string_value(json_object_get(res, "retryAt"));

		/* ids given: every failed attempt counts */
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
	print_watched(ctx, res, watch);
}

POOL_KIND_CALLS(ingest)

static json_t *ingest_internal_error(const void *it, const char *message)
{
	const struct ah_ingest_item *item = it;

	return json_pack("{s:s, s:s, s:i, s:s, s:b}", "id", item->id, "status", "error",
			 "attempt", item->attempt, "error", message, "internal", 1);
}

static const struct pool_kind ingest_kind = {
	.what = "ingest",
	.worker = "the ingest worker",
	.timeout_env = "APPHUB_INGEST_TIMEOUT_MS",
	POOL_KIND_INIT(ingest),
	.child_cleanup = ah_ingest_global_cleanup,
};

/*
 * --server: the remote ingests; ingest.run per id, ingest.next for the queue
 * until it has nothing due. Nothing is opened locally.
 */
static int ingest_remote(struct ctx *ctx, int argc, const char **argv)
{
	json_t *results = json_array(), *out = NULL;
	int i, code = 0, failed = 0;

	for (i = 0; i < argc || !argc; i++) {
		json_t *params = argc ? json_pack("{s:s}", "id", argv[i]) : NULL;
		json_t *rec;
		const char *status;
		int c = run_op(ctx, argc ? "ingest.run" : "ingest.next", params, &out);

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
		status = json_string_value(json_object_get(rec, "status"));
		if (status && !strcmp(status, "ready")) {
			if (!ctx->json && !ctx->quiet)
				printf("%s ready %s (%" JSON_INTEGER_FORMAT " ms)\n",
				       json_string_value(json_object_get(rec, "id")),
				       json_string_value(json_object_get(rec, "commitSha")),
				       json_integer_value(json_object_get(rec, "durationMs")));
		} else {
			failed = 1;
			fprintf(stderr, "apphub: cannot ingest '%s': %s\n",
				json_string_value(json_object_get(rec, "id")),
				json_string_value(json_object_get(rec, "error")));
		}
		json_array_append(results, rec);
		json_decref(out);
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:O}", "data", results);

		print_json(o);
		json_decref(o);
	}
	json_decref(results);
	return code ? code : failed ? APPHUB_EXIT_FAILED : 0;
}

/* apphub ingest ID...: one attempt each, now. */
static int run_ids(struct pool *p, int argc, const char **argv)
{
	int i = 0;

	while (i < argc || p->nr) {
		while (i < argc && p->nr < p->jobs) {
			struct ah_ingest_item item;
			int r = pool_claim(p, argv[i], &item);

			if (r < 0)
				return APPHUB_EXIT_FATAL;
			if (!r) {
				fprintf(stderr, "apphub: app '%s' is being ingested\n", argv[i]);
				p->code = APPHUB_EXIT_CONFLICT;
			} else if (pool_spawn(p, &item) < 0) {
				return APPHUB_EXIT_FATAL;
			}
			i++;
		}
		if (p->nr && pool_wait(p, 200, 0) < 0)
			return APPHUB_EXIT_FATAL;
	}
	return 0;
}

int cmd_ingest(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code, i;
	const char *repo = NULL;
	const char **ids = NULL;
	json_t *repo_ids = NULL;
	struct ah_ingest_config cfg;
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
	if (jobs < 1 || jobs > POOL_MAX_JOBS)
		return usage_error(ingest_usage, opts, "invalid -j %ld: must be from 1 to %d", jobs,
				   POOL_MAX_JOBS);
	if (watch && (argc || repo))
		return usage_error(ingest_usage, opts, "--watch works on the queue, not on given apps");
	if (repo && argc)
		return usage_error(ingest_usage, opts, "give either ids or --repo, not both");
	if (ctx->server) {
		if (watch || repo)
			return usage_error(ingest_usage, opts, "--%s works on a local state directory",
					   watch ? "watch" : "repo");
		return ingest_remote(ctx, argc, argv);
	}
	p = pool_new(&ingest_kind, &ctx->op, ctx, (int)jobs);
	p->ids = argc > 0 || repo;
	ah_ingest_owner(p->owner, sizeof(p->owner));
	if (ah_ingest_config_load(&cfg, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		code = APPHUB_EXIT_FAILED;
		goto done;
	}
	p->cfg = &cfg;
	p->timeout_ms = cfg.timeout_ms;
	p->lease_ms = cfg.lease_ms;
	if (repo) {
		struct ah_state *st;
		size_t j;

		if (pool_state(p, &st) < 0) {
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

		if (pool_state(p, &st) < 0) {
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
		code = argc || p->code ? run_ids(p, argc, argv) : pool_run_queue(p, watch);
	code = pool_finish(p, code, watch);
	if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", p->results);

		print_json(out);
		json_decref(out);
	}
done:
	json_decref(repo_ids);
	free(ids);
	pool_free(p);
	return code;
}
