/*
 * The one work runner (see runner.h): claims a kind's items with a lease,
 * keeps the lease alive while an item is worked on, and has a failed
 * attempt recorded for a worker that ends without a result. In child
 * processes for the commands, in threads for serve and the operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "params.h"
#include "runner.h"
#include "strbuf.h"
#include "timeutil.h"

/* How long past the time limit a worker process gets before it is killed. */
#define KILL_GRACE_MS 5000

static struct ah_work_lease *lease_of(void *item)
{
	return item;
}

/* The kind's claim in a transaction of its own: 1, 0 or -1. */
static int claim(struct ah_state *st, const struct ah_work_kind *kind, const void *cfg,
		 const char *owner, const char *only_id, void *item, struct ah_err *err)
{
	int r;

	memset(item, 0, kind->item_size);
	if (ah_begin_write(st, err) < 0)
		return -1;
	r = kind->claim(st, cfg, owner, only_id, item, err);
	if (r >= 0 && ah_commit(st, err) < 0)
		r = -1;
	if (r < 0)
		ah_rollback(st);
	return r;
}

int ah_runner_settle(struct ah_state *st, const struct ah_work_kind *kind, const void *item,
		     int (*record)(struct ah_state *st, void *cls, json_t **result,
				   struct ah_err *err),
		     void *cls, json_t **result, struct ah_err *err)
{
	int ours;

	*result = NULL;
	if (ah_begin_write(st, err) < 0)
		return -1;
	if ((ours = kind->still_ours(st, item, err)) < 0)
		goto fail;
	if (!ours)
		*result = kind->lost(item);
	else if (record(st, cls, result, err) < 0)
		goto fail;
	if (ah_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	ah_rollback(st);
	json_decref(*result);
	*result = NULL;
	return -1;
}

/* A worker that ended without a result: the kind's fail, through ah_runner_settle(). */
struct failed {
	const struct ah_work_kind *kind;
	const void *cfg, *item;
	const char *message;
};

static int record_failed(struct ah_state *st, void *cls, json_t **result, struct ah_err *err)
{
	struct failed *f = cls;

	return f->kind->fail(st, f->cfg, f->item, f->message, result, err);
}

static int fail(struct ah_state *st, const struct ah_work_kind *kind, const void *cfg,
		const void *item, const char *message, json_t **result, struct ah_err *err)
{
	struct failed f = { kind, cfg, item, message };

	return ah_runner_settle(st, kind, item, record_failed, &f, result, err);
}

static int renew(struct ah_state *st, void *item, int64_t lease_ms, struct ah_err *err)
{
	struct ah_work_lease *l = lease_of(item);

	return ah_work_renew(st, l->work_id, l->owner, lease_ms, err);
}

static void timespec_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * The keeper of an item worked on in a thread: renews its lease a third of
 * the lease apart, on a connection of its own (the worker's is busy).
 */
struct keeper {
	const char *dir;
	void *item;
	int64_t lease_ms;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int done;
	pthread_t thread;
};

static void *keeper_main(void *arg)
{
	struct keeper *k = arg;
	struct ah_state *st = NULL;
	struct timespec until;

	pthread_mutex_lock(&k->mutex);
	while (!k->done) {
		struct ah_err err = AH_ERR_INIT;

		timespec_in(&until, k->lease_ms / 3);
		if (pthread_cond_timedwait(&k->cond, &k->mutex, &until) == 0 || k->done)
			continue;
		pthread_mutex_unlock(&k->mutex);
		if ((!st && ah_state_open(&st, k->dir, &err) < 0) ||
		    renew(st, k->item, k->lease_ms, &err) < 0)
			error("cannot keep the lease of work item %lld: %s",
			      (long long)lease_of(k->item)->work_id, err.msg);
		pthread_mutex_lock(&k->mutex);
	}
	pthread_mutex_unlock(&k->mutex);
	ah_state_close(st);
	return NULL;
}

static int keeper_start(struct keeper *k)
{
	k->done = 0;
	pthread_mutex_init(&k->mutex, NULL);
	pthread_cond_init(&k->cond, NULL);
	if (!pthread_create(&k->thread, NULL, keeper_main, k))
		return 0;
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->mutex);
	return -1;
}

static void keeper_stop(struct keeper *k)
{
	pthread_mutex_lock(&k->mutex);
	k->done = 1;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->mutex);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->mutex);
}

int ah_runner_perform(const char *dir, struct ah_state *st, const struct ah_work_kind *kind,
		      const void *cfg, void *item, unsigned *busy, json_t **result,
		      struct ah_err *err)
{
	struct keeper k = { .dir = dir, .item = item };
	int64_t timeout_ms;
	int kept, ret = 0;

	if (!lease_of(item)->started_ms)
		lease_of(item)->started_ms = ah_now_ms();
	kind->limits(cfg, &k.lease_ms, &timeout_ms);
	kept = keeper_start(&k) == 0;
	if (busy)
		__atomic_add_fetch(busy, 1, __ATOMIC_SEQ_CST);
	if (kind->perform(st, cfg, item, result, err) < 0)
		ret = -1;
	if (busy)
		__atomic_sub_fetch(busy, 1, __ATOMIC_SEQ_CST);
	if (kept)
		keeper_stop(&k);
	return ret;
}

/*
 * One item in this thread: requested (id) or the next due, then worked on
 * with its lease kept. 1 with *result, 0 when nothing is due.
 */
static int work_one(struct ah_ctx *ctx, const struct ah_work_kind *kind, const void *cfg,
		    const char *owner, const char *id, json_t *params, unsigned *busy,
		    json_t **result, struct ah_err *err)
{
	struct ah_state *st;
	void *item;
	int r;

	*result = NULL;
	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	item = xcalloc(1, kind->item_size);
	if (id)
		r = kind->request(st, cfg, owner, id, params, item, err) < 0 ? -1 : 1;
	else
		r = claim(st, kind, cfg, owner, NULL, item, err);
	if (r > 0 && ah_runner_perform(ctx->dir, st, kind, cfg, item, busy, result, err) < 0)
		r = -1;
	free(item);
	return r;
}

/* One item now, in this thread: app id's (id NULL: the next due). */
static int once(struct ah_ctx *ctx, const struct ah_work_kind *kind, const char *id,
		json_t *params, json_t **result, struct ah_err *err)
{
	void *cfg = xcalloc(1, kind->config_size);
	char owner[128];
	int r = -1;

	ah_work_owner(owner, sizeof(owner));
	if (kind->config_load(cfg, err) == 0)
		r = work_one(ctx, kind, cfg, owner, id, params, NULL, result, err);
	free(cfg);
	return r;
}

int ah_runner_run(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t *params,
		  json_t **out, struct ah_err *err)
{
	const char *id;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	return once(ctx, kind, id, params, out, err) < 0 ? -1 : 0;
}

int ah_runner_next(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t **out,
		   struct ah_err *err)
{
	json_t *res = NULL;
	int r = once(ctx, kind, NULL, NULL, &res, err);

	if (r < 0)
		return -1;
	*out = json_pack("{s:o}", "data", r ? json_pack("[o]", res) : json_array());
	return 0;
}

/* The worker processes of ah_runner_work(). */
struct proc {
	pid_t pid;
	int fd;
	void *item;
	struct strbuf out;
	int timed_out;
};

struct procs {
	const struct ah_work_kind *kind;
	struct ah_ctx *ctx;
	void *cfg;
	int64_t lease_ms, timeout_ms, renewed;
	char owner[128];
	struct proc w[AH_RUNNER_MAX_JOBS];
	int nr, jobs;
	/* Items claimed on request, waiting for a worker. */
	void **waiting;
	size_t waiting_nr, waiting_next;
	json_t *results;
	int watch;
};

static void report(struct procs *p, json_t *res)
{
	if (p->ctx->progress)
		p->ctx->progress(p->ctx, res, NULL);
	if (!p->watch)
		json_array_append(p->results, res);
}

/* The child: work on the item with a connection of its own, then report on fd. */
static _Noreturn void run_child(struct procs *p, const void *item, int fd, pid_t parent)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	json_t *res = NULL;
	char *text;
	size_t len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (ah_state_open(&st, p->ctx->dir, &err) < 0 ||
	    p->kind->perform(st, p->cfg, item, &res, &err) < 0)
		res = p->kind->internal_error(item, err.msg);
	text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	len = text ? strlen(text) : 0;
	/* A result that cannot be written is the parent's "exited without one". */
	if (len)
		ah_write_full(fd, text, len);
	free(text);
	json_decref(res);
	ah_state_close(st);
	if (p->kind->cleanup)
		p->kind->cleanup();
	_exit(0);
}

/* Starts a worker process on a claimed item, which it takes over. */
static int spawn(struct procs *p, void *item, struct ah_err *err)
{
	struct proc *w = &p->w[p->nr];
	pid_t parent = getpid(), pid;
	int fds[2];

	/* An item claimed on request starts its time when a worker takes it. */
	if (!lease_of(item)->started_ms)
		lease_of(item)->started_ms = ah_now_ms();
	/* SQLite connections must not cross a fork: close ours first. */
	ah_ctx_release(p->ctx);
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0)
		return ah_fatal(err, "cannot start worker: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return ah_fatal(err, "cannot start worker: %s", strerror(errno));
	}
	if (!pid) {
		close(fds[0]);
		run_child(p, item, fds[1], parent);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->fd = fds[0];
	w->item = item;
	strbuf_init(&w->out, 0);
	w->timed_out = 0;
	p->nr++;
	return 0;
}

static void drain(struct proc *w)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		strbuf_add(&w->out, buf, (size_t)n);
}

/* A worker has ended: its result, or a failed attempt recorded on its behalf. */
static int reap(struct procs *p, int i, int status, struct ah_err *err)
{
	struct proc *w = &p->w[i];
	json_t *res = NULL;
	int ret = 0;

	drain(w);
	close(w->fd);
	if (w->out.len)
		res = json_loadb(w->out.buf, w->out.len, 0, NULL);
	if (!res) {
		struct ah_state *st;
		char *msg;

		if (w->timed_out)
			msg = xstrfmt("%s took longer than the limit of %lld s (%s)", p->kind->what,
				      (long long)(p->timeout_ms / 1000), p->kind->timeout_env);
		else if (WIFSIGNALED(status))
			msg = xstrfmt("%s was killed by signal %d", p->kind->worker, WTERMSIG(status));
		else
			msg = xstrfmt("%s exited with status %d", p->kind->worker, WEXITSTATUS(status));
		if (ah_ctx_state(p->ctx, &st, err) < 0 ||
		    fail(st, p->kind, p->cfg, w->item, msg, &res, err) < 0)
			ret = -1;
		free(msg);
	}
	if (res) {
		report(p, res);
		json_decref(res);
	}
	strbuf_release(&w->out);
	free(w->item);
	p->w[i] = p->w[--p->nr];
	return ret;
}

/*
 * Waits up to ms for workers to end, reporting each; kills the overdue and
 * renews the leases of every item held, running or waiting.
 */
static int wait_procs(struct procs *p, int64_t ms, struct ah_err *err)
{
	struct pollfd fds[AH_RUNNER_MAX_JOBS];
	int64_t now;
	int i, status;

	for (i = 0; i < p->nr; i++) {
		fds[i].fd = p->w[i].fd;
		fds[i].events = POLLIN;
	}
	if (poll(fds, (nfds_t)p->nr, (int)ms) > 0)
		for (i = 0; i < p->nr; i++)
			if (fds[i].revents & POLLIN)
				drain(&p->w[i]);
	for (i = 0; i < p->nr; i++) {
		if (waitpid(p->w[i].pid, &status, WNOHANG) != p->w[i].pid)
			continue;
		if (reap(p, i, status, err) < 0)
			return -1;
		i--;
	}
	now = ah_now_ms();
	for (i = 0; i < p->nr; i++) {
		struct proc *w = &p->w[i];

		if (!w->timed_out &&
		    now > lease_of(w->item)->started_ms + p->timeout_ms + KILL_GRACE_MS) {
			w->timed_out = 1;
			kill(w->pid, SIGKILL);
		}
	}
	if (now - p->renewed >= p->lease_ms / 3) {
		struct ah_err rerr = AH_ERR_INIT;
		struct ah_state *st;
		size_t k;

		if (ah_ctx_state(p->ctx, &st, err) < 0)
			return -1;
		for (i = 0; i < p->nr; i++)
			if (renew(st, p->w[i].item, p->lease_ms, &rerr) < 0)
				error("%s", rerr.msg);
		for (k = p->waiting_next; k < p->waiting_nr; k++)
			if (renew(st, p->waiting[k], p->lease_ms, &rerr) < 0)
				error("%s", rerr.msg);
		p->renewed = now;
	}
	/* Nothing may hold the database while a fork can come. */
	ah_ctx_release(p->ctx);
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

/* The items claimed on request, each in a worker of its own. */
static int run_waiting(struct procs *p, struct ah_err *err)
{
	while (p->waiting_next < p->waiting_nr || p->nr) {
		while (p->waiting_next < p->waiting_nr && p->nr < p->jobs) {
			if (spawn(p, p->waiting[p->waiting_next], err) < 0)
				return -1;
			p->waiting[p->waiting_next++] = NULL;
		}
		if (p->nr && wait_procs(p, 200, err) < 0)
			return -1;
	}
	return 0;
}

/* The queue, until nothing is due (or forever under watch). */
static int run_queue(struct procs *p, struct ah_err *err)
{
	void *item = NULL;
	int ret = -1;

	for (;;) {
		struct ah_state *st;
		int64_t when;
		int r = 0;

		while (p->nr < p->jobs) {
			if (ah_ctx_state(p->ctx, &st, err) < 0)
				goto done;
			if (!item)
				item = xmalloc(p->kind->item_size);
			if ((r = claim(st, p->kind, p->cfg, p->owner, NULL, item, err)) <= 0)
				break;
			if (spawn(p, item, err) < 0)
				goto done;
			item = NULL;
		}
		if (r < 0)
			goto done;
		if (p->nr) {
			if (wait_procs(p, 200, err) < 0)
				goto done;
			continue;
		}
		if (ah_ctx_state(p->ctx, &st, err) < 0 ||
		    ah_work_next_due(st, p->kind->name, &when, err) < 0)
			goto done;
		ah_ctx_release(p->ctx);
		if (!when && !p->watch)
			break;
		when = when ? when - ah_now_ms() : 500;
		sleep_ms(when > 500 ? 500 : when);
	}
	ret = 0;
done:
	free(item);
	return ret;
}

/* The ids' items, each requested and claimed before any work starts. */
static int request_ids(struct procs *p, json_t *ids, json_t *params, struct ah_err *err)
{
	json_t *v;
	size_t i;

	p->waiting = xcalloc(json_array_size(ids) + 1, sizeof(*p->waiting));
	json_array_foreach(ids, i, v) {
		struct ah_err rerr = AH_ERR_INIT;
		void *item = xcalloc(1, p->kind->item_size);
		struct ah_state *st;

		if (!json_is_string(v)) {
			free(item);
			return ah_invalid(err, "invalid ids: must be strings");
		}
		if (ah_ctx_state(p->ctx, &st, err) < 0) {
			free(item);
			return -1;
		}
		if (p->kind->request(st, p->cfg, p->owner, json_string_value(v), params, item,
				     &rerr) < 0) {
			free(item);
			/* Nothing more can be done once the state itself fails. */
			if (rerr.code && !strcmp(rerr.code, "fatal")) {
				*err = rerr;
				return -1;
			}
			if (p->ctx->progress)
				p->ctx->progress(p->ctx, NULL, &rerr);
			continue;
		}
		/* Its time starts when a worker takes it. */
		lease_of(item)->started_ms = 0;
		p->waiting[p->waiting_nr++] = item;
	}
	p->renewed = ah_now_ms();
	return 0;
}

int ah_runner_work(struct ah_ctx *ctx, const struct ah_work_kind *kind, json_t *params,
		   json_t **out, struct ah_err *err)
{
	struct procs p = { .kind = kind, .ctx = ctx, .jobs = 2 };
	json_t *ids = json_object_get(params, "ids");
	long jobs;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (ah_param_bool(params, "watch", &p.watch, err) < 0 ||
	    ah_param_int(params, "jobs", 2, 1, AH_RUNNER_MAX_JOBS, &jobs, err) < 0)
		return -1;
	if (ids && !json_is_array(ids))
		return ah_invalid(err, "invalid ids: must be an array");
	if (ids && p.watch)
		return ah_invalid(err, "watch works on the queue, not on given apps");
	p.jobs = (int)jobs;
	p.cfg = xcalloc(1, kind->config_size);
	p.results = json_array();
	ah_work_owner(p.owner, sizeof(p.owner));
	if (kind->config_load(p.cfg, err) < 0)
		goto done;
	kind->limits(p.cfg, &p.lease_ms, &p.timeout_ms);
	if (ids ? request_ids(&p, ids, params, err) < 0 || run_waiting(&p, err) < 0
		: run_queue(&p, err) < 0)
		goto done;
	ret = 0;
done:
	/* After an error: let the workers still running finish, and record them. */
	while (p.nr) {
		struct ah_err ignored = AH_ERR_INIT;

		if (wait_procs(&p, 200, &ignored) < 0)
			break;
	}
	if (!ret)
		*out = json_pack("{s:O}", "data", p.results);
	for (i = p.waiting_next; i < p.waiting_nr; i++)
		free(p.waiting[i]);
	for (i = 0; i < (size_t)p.nr; i++) {
		strbuf_release(&p.w[i].out);
		free(p.w[i].item);
	}
	free(p.waiting);
	json_decref(p.results);
	free(p.cfg);
	ah_ctx_release(ctx);
	return ret;
}

/* serve's threads. */
struct ah_runner {
	const char *dir;
	const struct ah_work_kind *const *kinds;
	void **cfgs;
	size_t kinds_nr;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int stopping;
	unsigned nr, busy;
	pthread_t *threads;
	size_t inited;		/* kinds whose init has run */
};

struct thread_arg {
	struct ah_runner *r;
	unsigned index;
};

/* How long an idle thread waits: until the next item falls due, within 10 ms to 1 s. */
static int64_t idle_ms(struct ah_runner *r, struct ah_state *st)
{
	int64_t next = 0, wait;
	size_t k;

	for (k = 0; k < r->kinds_nr; k++) {
		struct ah_err err = AH_ERR_INIT;
		int64_t when;

		if (ah_work_next_due(st, r->kinds[k]->name, &when, &err) == 0 && when &&
		    (!next || when < next))
			next = when;
	}
	if (!next)
		return 1000;
	wait = next - ah_now_ms();
	return wait < 10 ? 10 : wait > 1000 ? 1000 : wait;
}

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;
	struct ah_runner *r = a->r;
	struct ah_ctx ctx = { .dir = r->dir };
	char owner[128];

	ah_work_owner(owner, sizeof(owner) - 16);
	snprintf(owner + strlen(owner), 16, "/%u", a->index);
	pthread_mutex_lock(&r->mutex);
	while (!r->stopping) {
		struct timespec until;
		struct ah_state *st;
		int64_t wait = 1000;
		int worked = 0;
		size_t k;

		pthread_mutex_unlock(&r->mutex);
		for (k = 0; k < r->kinds_nr && !worked; k++) {
			struct ah_err err = AH_ERR_INIT;
			json_t *res = NULL;
			int w = work_one(&ctx, r->kinds[k], r->cfgs[k], owner, NULL, NULL, &r->busy,
					 &res, &err);

			if (w < 0)
				error("%s worker: %s", r->kinds[k]->name, err.msg);
			worked = w > 0;
			json_decref(res);
		}
		if (!worked) {
			struct ah_err err = AH_ERR_INIT;

			if (ah_ctx_state(&ctx, &st, &err) == 0)
				wait = idle_ms(r, st);
		}
		pthread_mutex_lock(&r->mutex);
		if (worked || r->stopping)
			continue;
		timespec_in(&until, wait);
		pthread_cond_timedwait(&r->cond, &r->mutex, &until);
	}
	pthread_mutex_unlock(&r->mutex);
	ah_ctx_release(&ctx);
	free(a);
	return NULL;
}

int ah_runner_start(struct ah_runner **out, const char *dir,
		    const struct ah_work_kind *const *kinds, unsigned threads,
		    struct ah_err *err)
{
	struct ah_runner *r = xcalloc(1, sizeof(*r));
	size_t k;

	r->dir = dir;
	r->kinds = kinds;
	while (kinds[r->kinds_nr])
		r->kinds_nr++;
	r->cfgs = xcalloc(r->kinds_nr + 1, sizeof(*r->cfgs));
	pthread_mutex_init(&r->mutex, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->threads = xcalloc(threads + 1, sizeof(*r->threads));
	*out = r;
	for (k = 0; k < r->kinds_nr; k++) {
		r->cfgs[k] = xcalloc(1, kinds[k]->config_size);
		if (kinds[k]->config_load(r->cfgs[k], err) < 0)
			return -1;
		if (kinds[k]->init)
			kinds[k]->init();
		r->inited++;
	}
	for (r->nr = 0; r->nr < threads; r->nr++) {
		struct thread_arg *a = xmalloc(sizeof(*a));

		a->r = r;
		a->index = r->nr + 1;
		if (pthread_create(&r->threads[r->nr], NULL, thread_main, a)) {
			free(a);
			return ah_fatal(err, "cannot start the workers: %s", strerror(errno));
		}
	}
	return 0;
}

void ah_runner_wake(struct ah_runner *r)
{
	pthread_mutex_lock(&r->mutex);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mutex);
}

unsigned ah_runner_busy(struct ah_runner *r)
{
	return __atomic_load_n(&r->busy, __ATOMIC_SEQ_CST);
}

void ah_runner_stop(struct ah_runner *r)
{
	unsigned i;
	size_t k;

	if (!r)
		return;
	pthread_mutex_lock(&r->mutex);
	r->stopping = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mutex);
	for (i = 0; i < r->nr; i++)
		pthread_join(r->threads[i], NULL);
	for (k = 0; k < r->kinds_nr; k++) {
		if (k < r->inited && r->kinds[k]->cleanup)
			r->kinds[k]->cleanup();
		free(r->cfgs[k]);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mutex);
	free(r->cfgs);
	free(r->threads);
	free(r);
}
