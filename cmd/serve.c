/*
 * apphub serve: the operations over HTTP, the event stream, webhooks, and
 * the workers, in one process (the operation serve, lib/serve.c).
 */
#include <stdio.h>
#include "cmd.h"

static const char *const serve_usage[] = {
	"apphub serve [--listen <addr:port>] [--workers <n>] [--threads <n>] [--timeout <duration>]",
	"             [--hook-branch <glob>]... [--allow-host <name>]... [--cors-origin <origin>]...",
	"             [--request-timeout <duration>] [--max-connections <n>] [--max-connections-per-ip <n>]",
	NULL
};

/* What serve tells its operator, on stderr. */
static void say(struct ah_ctx *op, json_t *m, const struct ah_err *refusal)
{
	(void)op;
	(void)refusal;
	error("%s", json_string_value(json_object_get(m, "message")));
}

int cmd_serve(int argc, const char **argv, struct ctx *ctx)
{
	const char *listen_addr = NULL;
	long nr_workers = 2, threads = 0, max_conns = 4096, max_per_ip = 256;
	int64_t timeout = 30000, request_timeout = 30000;
	json_t *branches = NULL, *hosts = NULL, *origins = NULL, *params, *out = NULL;
	struct option opts[] = {
		OPT_STRING(0, "listen", &listen_addr, "addr:port",
			   "where to listen (default 127.0.0.1:4000; port 0 picks one)"),
		OPT_INT(0, "workers", &nr_workers, "n", "ingest and build workers (default 2)"),
		OPT_INT(0, "threads", &threads, "n", "request threads (default: the CPUs)"),
		OPT_DURATION(0, "timeout", &timeout,
			     "close idle connections after this long (30s; a bare number: seconds)"),
		OPT_LIST(0, "hook-branch", &branches, "glob",
			 "branches /hooks/git follows (default main, master)"),
		OPT_LIST(0, "allow-host", &hosts, "name",
			 "a Host name serve answers to besides its own addresses"),
		OPT_LIST(0, "cors-origin", &origins, "origin",
			 "an origin whose pages may call the API (CORS)"),
		OPT_DURATION(0, "request-timeout", &request_timeout,
			     "close a connection whose request takes longer than this to arrive (30s)"),
		OPT_INT(0, "max-connections", &max_conns, "n", "connections at once (4096)"),
		OPT_INT(0, "max-connections-per-ip", &max_per_ip, "n",
			"connections at once from one address (256)"),
		OPT_END(),
	};
	int code;

	argc = parse_verb_args(ctx, argc - 1, argv + 1, opts, serve_usage, 0, 0, "no argument",
			       &code);
	if (argc < 0)
		return code;
	if (nr_workers < 0 || nr_workers > 64)
		return usage_error(serve_usage, opts, "invalid workers %ld: must be from 0 to 64", nr_workers);
	if (threads < 0 || threads > 256)
		return usage_error(serve_usage, opts, "invalid threads %ld: must be from 1 to 256", threads);
	if (timeout < 1000 || timeout > 86400000)
		return usage_error(serve_usage, opts, "invalid timeout: must be from 1s to 1d");
	if (request_timeout < 1000 || request_timeout > 86400000)
		return usage_error(serve_usage, opts, "invalid request-timeout: must be from 1s to 1d");
	if (max_conns < 1 || max_conns > 1000000)
		return usage_error(serve_usage, opts, "invalid max-connections %ld: must be from 1 to 1000000",
				   max_conns);
	if (max_per_ip < 1 || max_per_ip > 1000000)
		return usage_error(serve_usage, opts,
				   "invalid max-connections-per-ip %ld: must be from 1 to 1000000", max_per_ip);
	params = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:o?, s:o?, s:o?}",
			   "listen", listen_addr, "workers", (json_int_t)nr_workers,
			   "threads", (json_int_t)threads, "timeout", (json_int_t)timeout,
			   "requestTimeout", (json_int_t)request_timeout,
			   "maxConnections", (json_int_t)max_conns,
			   "maxConnectionsPerIp", (json_int_t)max_per_ip,
			   "hookBranches", branches, "allowHosts", hosts, "corsOrigins", origins);
	ctx->op.progress = say;
	code = run_op(ctx, "serve", params, &out);
	ctx->op.progress = NULL;
	json_decref(out);
	json_decref(params);
	return code;
}
