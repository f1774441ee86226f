/*
 * The worker pool of apphub ingest and apphub build (see runner.h): a child
 * process per item, so that a worker that hangs past the time limit can be
 * killed and its attempt failed, and one that dies is noticed at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "runner.h"
#include "timeutil.h"

/* How long past the time limit a worker gets before it is killed. */
#define KILL_GRACE_MS 5000

struct pool *pool_new(const struct pool_kind *kind, struct ah_ctx *ctx, void *cls, int jobs)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->kind = kind;
	p->ctx = ctx;
	p->cls = cls;
	p->jobs = jobs;
	p->results = json_array();
	return p;
}

void pool_free(struct pool *p)
{
	int i;

	if (!p)
		return;
	/* Workers left only when a failure could not be recorded. */
	for (i = 0; i < p->nr; i++) {
		strbuf_release(&p->w[i].out);
		free(p->w[i].item);
	}
	json_decref(p->results);
	free(p);
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

int pool_state(struct pool *p, struct ah_state **st)
{
	struct ah_err err = AH_ERR_INIT;

	if (ah_ctx_state(p->ctx, st, &err) < 0) {
		error("%s", err.msg);
		return -1;
	}
	return 0;
}

/* The command shows the result; the pool keeps it. */
static void report(struct pool *p, json_t *res, int watch)
{
	p->kind->report(p, res, watch);
	json_array_append(p->results, res);
}

/* The child: work on the item with a connection of its own, then report on fd. */
static _Noreturn void run_child(struct pool *p, const void *item, int fd, pid_t parent)
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
	if (p->kind->child_cleanup)
		p->kind->child_cleanup();
	_exit(0);
}

int pool_spawn(struct pool *p, const void *claimed)
{
	struct pool_worker *w = &p->w[p->nr];
	void *item = xmalloc(p->kind->item_size);
	int64_t *started;
	pid_t parent = getpid(), pid;
	int fds[2];

	/* An item claimed when queued starts its time when a worker takes it. */
	memcpy(item, claimed, p->kind->item_size);
	started = p->kind->started_ms(item);
	if (!*started)
		*started = ah_now_ms();

	/* SQLite connections must not cross a fork: close ours first. */
	ah_ctx_release(p->ctx);
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0) {
		error("cannot start worker: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		error("cannot start worker: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto fail;
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
	w->renewed = ah_now_ms();
	w->timed_out = 0;
	p->nr++;
	return 0;
fail:
	free(item);
	return -1;
}

static void drain(struct pool_worker *w)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		strbuf_add(&w->out, buf, (size_t)n);
}

/* A worker has ended: its result, or a failure recorded on its behalf. */
static int reap(struct pool *p, int i, int status, int watch)
{
	struct pool_worker *w = &p->w[i];
	json_t *res = NULL;
	int ret = 0;

	drain(w);
	close(w->fd);
	if (w->out.len)
		res = json_loadb(w->out.buf, w->out.len, 0, NULL);
	if (!res) {
		struct ah_err err = AH_ERR_INIT;
		struct ah_state *st;
		char *msg;

		if (w->timed_out)
			msg = xstrfmt("%s took longer than the limit of %lld s (%s)", p->kind->what,
				      (long long)(p->timeout_ms / 1000), p->kind->timeout_env);
		else if (WIFSIGNALED(status))
			msg = xstrfmt("%s was killed by signal %d", p->kind->worker, WTERMSIG(status));
		else
			msg = xstrfmt("%s exited with status %d", p->kind->worker, WEXITSTATUS(status));
		if (pool_state(p, &st) < 0 ||
		    p->kind->fail(st, p->cfg, w->item, msg, &res, &err) < 0) {
			if (err.status)
				error("%s", err.msg);
			ret = -1;
		}
		free(msg);
	}
	if (res) {
		if (json_is_true(json_object_get(res, "internal")))
			p->code = APPHUB_EXIT_FATAL;
		report(p, res, watch);
		json_decref(res);
	}
	strbuf_release(&w->out);
	free(w->item);
	p->w[i] = p->w[--p->nr];
	return ret;
}

int pool_wait(struct pool *p, int64_t ms, int watch)
{
	struct pollfd fds[POOL_MAX_JOBS];
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
		pid_t r = waitpid(p->w[i].pid, &status, WNOHANG);

		if (r == p->w[i].pid) {
			if (reap(p, i, status, watch) < 0)
				return -1;
			i--;
		}
	}
	now = ah_now_ms();
	for (i = 0; i < p->nr; i++) {
		struct pool_worker *w = &p->w[i];

		if (!w->timed_out &&
		    now > *p->kind->started_ms(w->item) + p->timeout_ms + KILL_GRACE_MS) {
			w->timed_out = 1;
			kill(w->pid, SIGKILL);
		}
		if (now - w->renewed >= p->lease_ms / 3) {
			struct ah_err err = AH_ERR_INIT;
			struct ah_state *st;

			if (pool_state(p, &st) < 0)
				return -1;
			if (p->kind->renew(st, p->cfg, w->item, &err) < 0)
				error("%s", err.msg);
			w->renewed = now;
		}
	}
	/* Nothing may hold the database while a fork can come. */
	ah_ctx_release(p->ctx);
	return 0;
}

int pool_claim(struct pool *p, const char *only_id, void *item)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st;
	int r;

	if (pool_state(p, &st) < 0)
		return -1;
	r = p->kind->claim(st, p->cfg, p->owner, only_id, item, &err);
	if (r < 0)
		error("%s", err.msg);
	return r;
}

int pool_run_queue(struct pool *p, int watch)
{
	void *item = xmalloc(p->kind->item_size);
	int code = APPHUB_EXIT_FATAL;

	for (;;) {
		struct ah_err err = AH_ERR_INIT;
		struct ah_state *st;
		int64_t when, now;
		int r = 0;

		while (p->nr < p->jobs && (r = pool_claim(p, NULL, item)) > 0)
			if (pool_spawn(p, item) < 0)
				goto done;
		if (r < 0)
			goto done;
		if (p->nr) {
			if (pool_wait(p, 200, watch) < 0)
				goto done;
			continue;
		}
		if (pool_state(p, &st) < 0)
			goto done;
		if (p->kind->next_due(st, &when, &err) < 0) {
			error("%s", err.msg);
			goto done;
		}
		ah_ctx_release(p->ctx);
		if (!when && !watch)
			break;
		now = ah_now_ms();
		sleep_ms(!when ? 500 : when - now > 500 ? 500 : when - now);
	}
	code = 0;
done:
	free(item);
	return code;
}

int pool_finish(struct pool *p, int code, int watch)
{
	while (p->nr) {
		/* Only after a fatal error: let the workers finish, record them. */
		if (pool_wait(p, 200, watch) < 0)
			break;
	}
	if (!code && p->code)
		code = p->code;
	if (!code && p->failed)
		code = APPHUB_EXIT_FAILED;
	return code;
}
