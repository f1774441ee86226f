/*
 * apphub serve's body: the operations over HTTP (lib/http.c), the event
 * stream and webhooks, the runner's worker threads for ingests and builds
 * (lib/runner.h), and the reconciling of launches whose supervisor died,
 * in one process until a signal stops it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "builds.h"
#include "env.h"
#include "http.h"
#include "ingest.h"
#include "job-runs.h"
#include "launch.h"
#include "netcheck.h"
#include "ops.h"
#include "params.h"
#include "runner.h"
#include "serve.h"
#include "strbuf.h"
#include "timeutil.h"
#include "workflow.h"

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

/* What serve tells its operator, through the caller's progress: {message}. */
static void say(struct ah_ctx *ctx, const char *fmt, ...) APPHUB_FMT(2, 3);

static void say(struct ah_ctx *ctx, const char *fmt, ...)
{
	json_t *m;
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!ctx->progress)
		return;
	m = json_pack("{s:s}", "message", buf);
	ctx->progress(ctx, m, NULL);
	json_decref(m);
}

/*
 * Launches whose supervisor died become failed (or stopped), and their
 * cgroups are emptied; at start (a restarted serve finds the ones still
 * running, their supervisors alive) and every 5 s.
 */
static void reap_launches(struct ah_ctx *ctx)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	int changed = 0;

	if (ah_state_open(&st, ctx->dir, &err) < 0 || ah_launch_reconcile(st, &changed, &err) < 0)
		error("launches: %s", err.msg);
	else if (changed)
		say(ctx, "launches: %d whose supervisor exited reconciled", changed);
	ah_state_close(st);
}

/* A list parameter and an environment variable joined, comma-separated (NULL: none). */
static char *join_list(json_t *list, const char *env_name)
{
	const char *env = env_name ? getenv(env_name) : NULL;
	struct strbuf sb = STRBUF_INIT;
	json_t *v;
	size_t i;

	if (env && *env)
		strbuf_addstr(&sb, env);
	json_array_foreach(list, i, v)
		strbuf_addf(&sb, "%s%s", sb.len ? "," : "", json_string_value(v));
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* A thousand event streams need a thousand descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The scheduler's tick, every second: runs it makes are the runner's to drive. */
static void tick_workflows(struct ah_ctx *ctx, struct ah_runner *runner)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st;
	json_t *out = NULL;

	if (ah_ctx_state(ctx, &st, &err) < 0 || ah_workflow_tick(st, ah_now_ms(), &out, &err) < 0) {
		say(ctx, "workflow tick: %s", err.msg);
		return;
	}
	if (json_array_size(json_object_get(out, "runs")) ||
	    json_array_size(json_object_get(out, "expired")))
		ah_runner_wake(runner);
	json_decref(out);
}

/*
 * The timestore's retention, applied to every dataset each
 * APPHUB_TIMESTORE_RETENTION_INTERVAL (1h) through the operations serve
 * carries (its apphub-timestore's), in a thread of its own: a long pass
 * holds up neither the ticks nor a stop.
 */
struct ts_retention {
	struct ah_ctx *ctx;
	int64_t every_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started, stop;
};

static void ts_retention_pass(struct ah_ctx *ctx)
{
	struct ah_ctx c = { .dir = ctx->dir, .subject = "serve" };
	struct ah_err err = AH_ERR_INIT;
	char *dir = ah_state_resolve_dir(ctx->dir), *data = NULL;
	json_t *list = NULL, *ds;
	struct stat sb;
	size_t i;

	/* No timestore yet: no helper started for nothing. */
	if (!dir || stat(data = xstrfmt("%s/timestore", dir), &sb) < 0)
		goto done;
	if (ah_op_call(&c, "timestore.datasets", NULL, &list, &err) < 0) {
		say(ctx, "timestore retention: %s", err.msg);
		goto done;
	}
	json_array_foreach(json_object_get(list, "datasets"), i, ds) {
		const char *slug = json_string_value(json_object_get(ds, "slug"));
		json_t *params = json_pack("{s:s?, s:b}", "slug", slug, "apply", 1), *out = NULL;
		size_t n;

		if (ah_op_call(&c, "timestore.retention", params, &out, &err) < 0)
			say(ctx, "timestore retention: %s", err.msg);
		else if ((n = json_array_size(json_object_get(out, "partitions"))))
			say(ctx, "timestore retention: %s: %zu partition%s dropped", slug, n,
			    n == 1 ? "" : "s");
		json_decref(params);
		json_decref(out);
	}
done:
	json_decref(list);
	ah_ctx_release(&c);
	free(data);
	free(dir);
}

static void *ts_retention_main(void *cls)
{
	struct ts_retention *r = cls;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		int64_t at = ah_now_ms() + r->every_ms;
		struct timespec ts = { at / 1000, (at % 1000) * 1000000 };

		while (!r->stop && ah_now_ms() < at)
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->lock);
		ts_retention_pass(r->ctx);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Only where the timestore's operations are carried (apphub-serve). */
static int ts_retention_start(struct ts_retention *r, struct ah_ctx *ctx, struct ah_err *err)
{
	if (!ah_op_find("timestore.retention"))
		return 0;
	if (ah_env_duration("APPHUB_TIMESTORE_RETENTION_INTERVAL", 1000, 3600000, 1000,
			    &r->every_ms, err) < 0)
		return -1;
	r->ctx = ctx;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, ts_retention_main, r))
		return ah_internal(err, "timestore retention: cannot start its thread");
	r->started = 1;
	return 0;
}

static void ts_retention_stop(struct ts_retention *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->started = 0;
}

static void wake_runner(void *cls)
{
	ah_runner_wake(cls);
}

int ah_serve(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	static const struct ah_work_kind *const kinds[] = { &ah_ingest_work, &ah_build_work,
							    &ah_job_work, &ah_workflow_work,
							    NULL };
	const char *listen_addr;
	long workers, threads, max_conns, max_per_ip;
	int64_t timeout_ms = 30000, request_timeout_ms = 30000, heartbeat_ms;
	json_t *branches = NULL, *hosts = NULL, *origins = NULL;
	char *allow_hosts = NULL, *cors_origins = NULL, *hook_branches = NULL;
	struct ah_http_opts hopts = { 0 };
	struct ah_runner *runner = NULL;
	struct ts_retention retention = { 0 };
	struct ah_auth *auth = NULL;
	struct ah_http *http = NULL;
	struct ah_state *st = NULL;
	struct sockaddr_storage sa;
	sigset_t sigs;
	int loopback, sig = 0, ret = -1;

	*out = NULL;
	if (ah_param_str(params, "listen", &listen_addr, err) < 0 ||
	    ah_param_int(params, "workers", 2, 0, 64, &workers, err) < 0 ||
	    ah_param_int(params, "threads", 0, 0, 256, &threads, err) < 0 ||
	    ah_param_int(params, "maxConnections", 4096, 1, 1000000, &max_conns, err) < 0 ||
	    ah_param_int(params, "maxConnectionsPerIp", 256, 1, 1000000, &max_per_ip, err) < 0 ||
	    ah_param_strlist(params, "hookBranches", &branches, err) < 0 ||
	    ah_param_strlist(params, "allowHosts", &hosts, err) < 0 ||
	    ah_param_strlist(params, "corsOrigins", &origins, err) < 0 ||
	    ah_param_duration_ms(params, "timeout", 1000, 86400000, &timeout_ms, err) < 0 ||
	    ah_param_duration_ms(params, "requestTimeout", 1000, 86400000, &request_timeout_ms,
				 err) < 0 ||
	    ah_env_duration_ms("APPHUB_SSE_HEARTBEAT_MS", 15000, &heartbeat_ms, err) < 0)
		goto done;
	if (!listen_addr)
		listen_addr = "127.0.0.1:4000";
	if ((hook_branches = join_list(branches, NULL)))
		setenv("APPHUB_HOOK_BRANCHES", hook_branches, 1);
	if (ah_http_parse_listen(listen_addr, &sa, &loopback, err) < 0 ||
	    ah_auth_load(&auth, err) < 0)
		goto done;
	/* Reachable from the network: no fetches from its own host or network. */
	ah_netcheck_beyond_loopback = !loopback;
	if (!ah_auth_count(auth) && !loopback) {
		ah_invalid(err, "refusing to listen on '%s': no tokens configured (APPHUB_TOKENS or APPHUB_TOKENS_FILE); without them serve listens on loopback only",
			   listen_addr);
		goto done;
	}
	/* The state must be usable before anything listens. */
	if (ah_state_open(&st, ctx->dir, err) < 0)
		goto done;
	ah_state_close(st);
	if (!threads) {
		threads = sysconf(_SC_NPROCESSORS_ONLN);
		threads = threads < 2 ? 2 : threads > 16 ? 16 : threads;
	}
	raise_nofile();
	/* The signals are for this thread's sigwait: blocked before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ah_runner_start(&runner, ctx->dir, kinds, (unsigned)workers, err) < 0)
		goto done;
	hopts.dir = ctx->dir;
	hopts.listen = listen_addr;
	hopts.threads = (unsigned)threads;
	hopts.timeout_s = (unsigned)(timeout_ms / 1000);
	hopts.request_timeout_s = (unsigned)(request_timeout_ms / 1000);
	hopts.max_conns = (unsigned)max_conns;
	hopts.max_conns_per_ip = (unsigned)max_per_ip;
	hopts.allow_hosts = allow_hosts = join_list(hosts, "APPHUB_SERVE_HOSTS");
	hopts.cors_origins = cors_origins = join_list(origins, "APPHUB_SERVE_CORS_ORIGINS");
	hopts.heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
	hopts.auth = auth;
	hopts.version = APPHUB_VERSION;
	hopts.on_write = wake_runner;
	hopts.on_write_cls = runner;
	if (ts_retention_start(&retention, ctx, err) < 0 || ah_http_start(&http, &hopts, err) < 0)
		goto done;
	if (!ah_auth_count(auth))
		say(ctx, "no tokens configured (APPHUB_TOKENS or APPHUB_TOKENS_FILE): serving loopback only, without authentication");
	say(ctx, "serving %s with %ld worker%s", ah_http_url(http), workers,
	    workers == 1 ? "" : "s");
	reap_launches(ctx);
	for (unsigned n = 1;; n++) {
		struct timespec every = { 1, 0 };

		sig = sigtimedwait(&sigs, NULL, &every);
		if (sig > 0)
			break;
		if (errno != EAGAIN)
			continue;
		tick_workflows(ctx, runner);
		if (n % 5 == 0)
			reap_launches(ctx);
	}
	say(ctx, "%s: stopping%s", strsignal(sig),
	    ah_runner_busy(runner) ? ", letting the work in flight finish" : "");
	ret = 0;
done:
	/* Answer no more requests, take no more work, finish what runs. */
	ah_http_stop(http);
	ts_retention_stop(&retention);
	ah_runner_stop(runner);
	if (!ret) {
		say(ctx, "stopped");
		*out = json_object();
	}
	json_decref(branches);
	json_decref(hosts);
	json_decref(origins);
	free(hook_branches);
	free(allow_hosts);
	free(cors_origins);
	ah_auth_free(auth);
	return ret;
}

/* Local only (no route): it runs until stopped. */
const struct ah_op ops_serve[] = {
	{ .name = "serve", .fn = ah_serve,
	  .summary = "Serve the operations over HTTP, with the workers, until stopped" },
	{ NULL },
};
