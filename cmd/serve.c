/*
 * apphub serve: the operations over HTTP, the event stream, webhooks, and
 * the ingestion workers, in one process.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/auth.h"
#include "../lib/builds.h"
#include "../lib/http.h"
#include "../lib/ingest.h"
#include "../lib/launch.h"
#include "../lib/netcheck.h"
#include "../lib/strbuf.h"
#include "../lib/timeutil.h"

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

static const char *const serve_usage[] = {
	"apphub serve [--listen <addr:port>] [--workers <n>] [--threads <n>] [--timeout <s>] [--hook-branch <glob>]...",
	"             [--allow-host <name>]... [--cors-origin <origin>]... [--request-timeout <s>]",
	"             [--max-connections <n>] [--max-connections-per-ip <n>]",
	NULL
};

/*
 * The workers: each a thread with its own connection, taking ingests and
 * builds, from the work queue.
 */
struct workers {
	const char *dir;
	struct ah_ingest_config cfg;
	struct ah_build_config bcfg;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int stopping;
	unsigned nr, busy;
	pthread_t *threads;
};

struct worker {
	struct workers *w;
	unsigned index;
};

/* Waits up to ms for a wake-up (new work, or stop); the mutex is held. */
static void wait_ms(struct workers *w, int64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&w->cond, &w->mutex, &until);
}

/*
 * Keeps an item's lease alive while a worker thread performs it, as the
 * processes of apphub ingest have theirs kept: a third of the lease apart,
 * on a connection of its own (the worker's is busy).
 */
struct renewer {
	const char *dir;
	const struct ah_ingest_config *cfg;
	const struct ah_ingest_item *item;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int done;
	pthread_t thread;
};

static void *renewer_main(void *arg)
{
	struct renewer *r = arg;
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	struct timespec until;
	int64_t ms = r->cfg->lease_ms / 3;

	pthread_mutex_lock(&r->mutex);
	while (!r->done) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&r->cond, &r->mutex, &until) == 0 || r->done)
			continue;
		pthread_mutex_unlock(&r->mutex);
		err = (struct ah_err)AH_ERR_INIT;
		if ((!st && ah_state_open(&st, r->dir, &err) < 0) ||
		    ah_ingest_renew(st, r->cfg, r->item, &err) < 0)
			fprintf(stderr, "apphub: ingest '%s': %s\n", r->item->id, err.msg);
		pthread_mutex_lock(&r->mutex);
	}
	pthread_mutex_unlock(&r->mutex);
	ah_state_close(st);
	return NULL;
}

static int renewer_start(struct renewer *r)
{
	r->done = 0;
	pthread_mutex_init(&r->mutex, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (!pthread_create(&r->thread, NULL, renewer_main, r))
		return 0;
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mutex);
	return -1;
}

static void renewer_stop(struct renewer *r)
{
	pthread_mutex_lock(&r->mutex);
	r->done = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mutex);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mutex);
}

static void *worker_main(void *arg)
{
	struct worker *self = arg;
	struct workers *w = self->w;
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	struct ah_ingest_item item;
	char owner[96];

	ah_ingest_owner(owner, sizeof(owner) - 16);
	snprintf(owner + strlen(owner), 16, "/%u", self->index);
	pthread_mutex_lock(&w->mutex);
	while (!w->stopping) {
		int64_t when = 0, wait = 1000;
		json_t *result = NULL;
		int r;

		pthread_mutex_unlock(&w->mutex);
		if (!st && ah_state_open(&st, w->dir, &err) < 0) {
			fprintf(stderr, "apphub: ingest worker: %s\n", err.msg);
			r = -1;
		} else {
			r = ah_ingest_claim(st, &w->cfg, owner, NULL, &item, &err);
			if (r < 0)
				fprintf(stderr, "apphub: ingest worker: %s\n", err.msg);
		}
		if (r == 1) {
			struct renewer renew = { .dir = w->dir, .cfg = &w->cfg, .item = &item };
			int renewing = renewer_start(&renew) == 0;

			__atomic_add_fetch(&w->busy, 1, __ATOMIC_SEQ_CST);
			if (ah_ingest_perform(st, &w->cfg, &item, &result, &err) < 0)
				fprintf(stderr, "apphub: ingest '%s': %s\n", item.id, err.msg);
			if (renewing)
				renewer_stop(&renew);
			__atomic_sub_fetch(&w->busy, 1, __ATOMIC_SEQ_CST);
			json_decref(result);
			pthread_mutex_lock(&w->mutex);
			continue;
		}
		if (r == 0) {
			struct ah_build_item bitem;
			int b = ah_build_claim(st, &w->bcfg, owner, NULL, &bitem, &err);

			if (b < 0)
				fprintf(stderr, "apphub: build worker: %s\n", err.msg);
			if (b == 1) {
				__atomic_add_fetch(&w->busy, 1, __ATOMIC_SEQ_CST);
				if (ah_build_perform(st, &w->bcfg, &bitem, &result, &err) < 0)
					fprintf(stderr, "apphub: build '%s': %s\n", bitem.id, err.msg);
				__atomic_sub_fetch(&w->busy, 1, __ATOMIC_SEQ_CST);
				json_decref(result);
				pthread_mutex_lock(&w->mutex);
				continue;
			}
		}
		if (r == 0) {
			int64_t bwhen = 0;

			if (ah_build_next_due(st, &bwhen, &err) == 0 && bwhen &&
			    ah_ingest_next_due(st, &when, &err) == 0 && (!when || bwhen < when))
				when = bwhen;
		}
		if (r == 0 && when) {
			wait = when - ah_now_ms();
			if (wait < 10)
				wait = 10;
			if (wait > 1000)
				wait = 1000;
		} else
		if (r == 0 && ah_ingest_next_due(st, &when, &err) == 0 && when) {
			wait = when - ah_now_ms();
			if (wait < 10)
				wait = 10;
			if (wait > 1000)
				wait = 1000;
		}
		pthread_mutex_lock(&w->mutex);
		if (!w->stopping)
			wait_ms(w, wait);
	}
	pthread_mutex_unlock(&w->mutex);
	ah_state_close(st);
	return NULL;
}

static int start_workers(struct workers *w, struct worker *each)
{
	unsigned i;

	for (i = 0; i < w->nr; i++) {
		each[i].w = w;
		each[i].index = i + 1;
		if (pthread_create(&w->threads[i], NULL, worker_main, &each[i])) {
			w->nr = i;
			return -1;
		}
	}
	return 0;
}

static void stop_workers(struct workers *w)
{
	unsigned i;

	pthread_mutex_lock(&w->mutex);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mutex);
	for (i = 0; i < w->nr; i++)
		pthread_join(w->threads[i], NULL);
}

/* A thousand event streams need a thousand descriptors. */
/*
 * Launches whose supervisor died become failed (or stopped), and their
 * cgroups are emptied; at start (a restarted serve finds the ones still
 * running, their supervisors alive) and every 5 s.
 */
static void reap_launches(const char *dir)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	int changed = 0;

	if (ah_state_open(&st, dir, &err) < 0 || ah_launch_reconcile(st, &changed, &err) < 0)
		fprintf(stderr, "apphub: launches: %s\n", err.msg);
	else if (changed)
		fprintf(stderr, "apphub: launches: %d whose supervisor exited reconciled\n", changed);
	ah_state_close(st);
}

/* A list option and an environment variable joined, comma-separated (NULL: none). */
static char *join_list(json_t *list, const char *env_name)
{
	const char *env = getenv(env_name);
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

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cmd_serve(int argc, const char **argv, struct ctx *ctx)
{
	const char *listen_addr = "127.0.0.1:4000";
	long nr_workers = 2, threads = 0, timeout = 30, request_timeout = 30;
	long max_conns = 4096, max_per_ip = 256;
	json_t *branches = NULL, *hosts = NULL, *origins = NULL;
	char *allow_hosts = NULL, *cors_origins = NULL;
	struct option opts[] = {
		OPT_STRING(0, "listen", &listen_addr, "addr:port",
			   "where to listen (default 127.0.0.1:4000; port 0 picks one)"),
		OPT_INT(0, "workers", &nr_workers, "n", "ingestion workers (default 2)"),
		OPT_INT(0, "threads", &threads, "n", "request threads (default: the CPUs)"),
		OPT_INT(0, "timeout", &timeout, "s", "close idle connections after s seconds (30)"),
		OPT_LIST(0, "hook-branch", &branches, "glob",
			 "branches /hooks/git follows (default main, master)"),
		OPT_LIST(0, "allow-host", &hosts, "name",
			 "a Host name serve answers to besides its own addresses"),
		OPT_LIST(0, "cors-origin", &origins, "origin",
			 "an origin whose pages may call the API (CORS)"),
		OPT_INT(0, "request-timeout", &request_timeout, "s",
			"close a connection whose request takes over s seconds to arrive (30)"),
		OPT_INT(0, "max-connections", &max_conns, "n", "connections at once (4096)"),
		OPT_INT(0, "max-connections-per-ip", &max_per_ip, "n",
			"connections at once from one address (256)"),
		OPT_END(),
	};
	struct ah_http_opts hopts = { 0 };
	struct workers w = { 0 };
	struct worker *each = NULL;
	struct ah_err err = AH_ERR_INIT;
	struct ah_auth *auth = NULL;
	struct ah_http *http = NULL;
	struct ah_state *st = NULL;
	struct sockaddr_storage sa;
	sigset_t sigs;
	const char *hb;
	int loopback, sig = 0, code;

	argc = parse_cmd_options(ctx, argc - 1, argv + 1, opts, serve_usage, &code);
	if (argc < 0)
		return code;
	if (argc)
		return usage_error(serve_usage, opts, "unexpected argument '%s'", argv[0]);
	if (nr_workers < 0 || nr_workers > 64)
		return usage_error(serve_usage, opts, "invalid workers %ld: must be from 0 to 64", nr_workers);
	if (threads < 0 || threads > 256)
		return usage_error(serve_usage, opts, "invalid threads %ld: must be from 1 to 256", threads);
	if (timeout < 1 || timeout > 86400)
		return usage_error(serve_usage, opts, "invalid timeout %ld: must be from 1 to 86400", timeout);
	if (request_timeout < 1 || request_timeout > 86400)
		return usage_error(serve_usage, opts, "invalid request-timeout %ld: must be from 1 to 86400",
				   request_timeout);
	if (max_conns < 1 || max_conns > 1000000)
		return usage_error(serve_usage, opts, "invalid max-connections %ld: must be from 1 to 1000000",
				   max_conns);
	if (max_per_ip < 1 || max_per_ip > 1000000)
		return usage_error(serve_usage, opts,
				   "invalid max-connections-per-ip %ld: must be from 1 to 1000000", max_per_ip);
	if (branches) {
		struct strbuf sb = STRBUF_INIT;
		json_t *b;
		size_t i;

		json_array_foreach(branches, i, b)
			strbuf_addf(&sb, "%s%s", i ? "," : "", json_string_value(b));
		setenv("APPHUB_HOOK_BRANCHES", sb.buf, 1);
		strbuf_release(&sb);
		json_decref(branches);
	}
	code = APPHUB_EXIT_FAILED;
	if (ah_http_parse_listen(listen_addr, &sa, &loopback, &err) < 0 ||
	    ah_auth_load(&auth, &err) < 0 ||
	    ah_ingest_config_load(&w.cfg, &err) < 0)
		goto fail;
	if (ah_build_config_load(&w.bcfg, &err) < 0)
		goto fail;
	/* Reachable from the network: no fetches from its own host or network. */
	ah_netcheck_beyond_loopback = !loopback;
	if (!ah_auth_count(auth) && !loopback) {
		fprintf(stderr, "apphub: refusing to listen on '%s': no tokens configured (APPHUB_TOKENS or APPHUB_TOKENS_FILE); without them serve listens on loopback only\n",
			listen_addr);
		goto done;
	}
	/* The state must be usable before anything listens. */
	if (ah_state_open(&st, ctx->op.dir, &err) < 0)
		goto fail;
	ah_state_close(st);
	if (!threads) {
		threads = sysconf(_SC_NPROCESSORS_ONLN);
		if (threads < 2)
			threads = 2;
		if (threads > 16)
			threads = 16;
	}
	hb = getenv("APPHUB_SSE_HEARTBEAT_MS");
	raise_nofile();
	/* The signals are for the main thread's sigwait: block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	ah_ingest_global_init();

	w.dir = ctx->op.dir;
	w.nr = (unsigned)nr_workers;
	w.threads = xcalloc(w.nr + 1, sizeof(*w.threads));
	each = xcalloc(w.nr + 1, sizeof(*each));
	pthread_mutex_init(&w.mutex, NULL);
	pthread_cond_init(&w.cond, NULL);

	hopts.dir = ctx->op.dir;
	hopts.listen = listen_addr;
	hopts.threads = (unsigned)threads;
	hopts.timeout_s = (unsigned)timeout;
	hopts.request_timeout_s = (unsigned)request_timeout;
	hopts.max_conns = (unsigned)max_conns;
	hopts.max_conns_per_ip = (unsigned)max_per_ip;
	hopts.allow_hosts = allow_hosts = join_list(hosts, "APPHUB_SERVE_HOSTS");
	hopts.cors_origins = cors_origins = join_list(origins, "APPHUB_SERVE_CORS_ORIGINS");
	hopts.heartbeat_ms = hb && atol(hb) > 0 ? atol(hb) : 15000;
	hopts.auth = auth;
	hopts.version = APPHUB_VERSION;
	hopts.work_cond = &w.cond;
	hopts.work_mutex = &w.mutex;
	if (ah_http_start(&http, &hopts, &err) < 0)
		goto fail_started;
	if (start_workers(&w, each) < 0) {
		ah_fatal(&err, "cannot start ingestion workers: %s", strerror(errno));
		goto fail_started;
	}
	if (!ah_auth_count(auth))
		fprintf(stderr, "apphub: no tokens configured (APPHUB_TOKENS or APPHUB_TOKENS_FILE): serving loopback only, without authentication\n");
	fprintf(stderr, "apphub: serving %s with %u ingestion worker%s\n", ah_http_url(http),
		w.nr, w.nr == 1 ? "" : "s");
	reap_launches(ctx->op.dir);
	for (;;) {
		struct timespec every = { 5, 0 };

		sig = sigtimedwait(&sigs, NULL, &every);
		if (sig > 0)
			break;
		if (errno == EAGAIN)
			reap_launches(ctx->op.dir);
	}
	fprintf(stderr, "apphub: %s: stopping%s\n", strsignal(sig),
		__atomic_load_n(&w.busy, __ATOMIC_SEQ_CST) ?
		", letting the ingests in flight finish" : "");
	/* Take no more work, answer no more requests, finish what runs. */
	pthread_mutex_lock(&w.mutex);
	w.stopping = 1;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.mutex);
	ah_http_stop(http);
	http = NULL;
	stop_workers(&w);
	fprintf(stderr, "apphub: stopped\n");
	code = 0;
	goto cleanup;
fail_started:
	fprintf(stderr, "apphub: %s\n", err.msg);
	code = exit_status(&err);
	ah_http_stop(http);
	stop_workers(&w);
cleanup:
	ah_ingest_global_cleanup();
	pthread_mutex_destroy(&w.mutex);
	pthread_cond_destroy(&w.cond);
	free(w.threads);
	free(each);
	goto done;
fail:
	fprintf(stderr, "apphub: %s\n", err.msg);
	code = exit_status(&err);
done:
	json_decref(hosts);
	json_decref(origins);
	free(allow_hosts);
	free(cors_origins);
	ah_auth_free(auth);
	return code;
}
