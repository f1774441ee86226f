/*
 * The workflow driver: drives one run, as the holder of its "workflow"
 * work item's lease, from its rows to its end. Ready steps start in
 * parallel (up to maxParallel) on a pool of threads, each with its own
 * connection: a job step runs its job run here (lib/job-worker.c, through
 * the runner so its lease is kept), a service step makes its HTTP request;
 * a fan-out expands into children. Every change is written before the next
 * is made, so a driver that dies leaves the run for the next one: finished
 * steps stay finished, a running step's job run is adopted while its
 * worker lives, and counted as a failed attempt when it does not.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "env.h"
#include "events.h"
#include "http-call.h"
#include "job-runs.h"
#include "launch.h"
#include "params.h"
#include "random-id.h"
#include "runner.h"
#include "strbuf.h"
#include "template.h"
#include "timeutil.h"
#include "work.h"
#include "workflow.h"
#include "workflows.h"

#define MAX_PARALLEL 1000
/* How often the driver looks at the job runs it adopted (a cancel, at every turn). */
#define POLL_MS 100

int ah_workflow_config_load(struct ah_workflow_config *cfg, struct ah_err *err)
{
	int64_t conc, attempts;

	memset(cfg, 0, sizeof(*cfg));
	if (ah_env_int("APPHUB_WORKFLOW_CONCURRENCY", 8, 1, &conc, err) < 0 ||
	    ah_env_duration("APPHUB_WORKFLOW_HEARTBEAT_TIMEOUT", 1000, 60000, 100,
			    &cfg->heartbeat_ms, err) < 0 ||
	    ah_env_duration("APPHUB_WORKFLOW_LEASE_MS", 1, 30000, 100, &cfg->lease_ms, err) < 0 ||
	    ah_env_int("APPHUB_WORKFLOW_ATTEMPTS", 25, 1, &attempts, err) < 0 ||
	    ah_job_config_load(&cfg->job, err) < 0)
		return -1;
	cfg->concurrency = conc > MAX_PARALLEL ? MAX_PARALLEL : (int)conc;
	cfg->attempts = attempts > 1000 ? 1000 : (int)attempts;
	return 0;
}

enum status { PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED };
static const char *const status_names[] = { "pending", "running", "succeeded", "failed",
					    "skipped" };

struct step {
	char *id;
	json_t *def;		/* its definition (a child's: the fan-out's template) */
	const char *type;	/* job, service or fanout */
	int parent;		/* a fan-out child's parent, else -1 */
	int index;		/* a child's index, from 1 */
	json_t *item;		/* a child's item */
	int *deps, ndeps;
	enum status status;
	int attempt, max_attempts;
	char job_run[72];
	json_t *result;
	int64_t not_before, heartbeat;
	int owned;		/* running on this driver's pool */
	/* A fan-out's children: [first, first + n), and how they stand. */
	int first, n, running, ended, failed, max_concurrency;
	int dependents;		/* steps that depend on it (0: a sink) */
};

struct task {
	int step;
	const char *type;
	json_t *req;		/* a service step's request */
	struct ah_job_item job;	/* a job step's claimed run */
	json_t *result;
	struct ah_err err;
	int rc;
	struct task *next;
};

struct drive {
	struct ah_state *st;
	const char *dir;
	const struct ah_workflow_config *cfg;
	const struct ah_workflow_item *item;
	json_t *def, *scope, *steps_scope, *shared;
	struct step *s;
	int nr, next_seq;
	size_t alloc;
	int max_parallel, running;
	int canceling, failing, lost;
	char *fail_msg;
	int64_t next_poll, next_beat;
	/* The pool. */
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	struct task *queued, *done;
	int stopping, threads_nr;
	pthread_t *threads;
};

static int64_t beat_every(const struct drive *d)
{
	int64_t ms = d->cfg->heartbeat_ms / 4;

	return ms > 5000 ? 5000 : ms < 25 ? 25 : ms;
}

static void report(struct drive *d, struct step *s, const char *error)
{
	json_t *ev;

	if (!d->cfg->progress)
		return;
	ev = json_pack("{s:s, s:s, s:i, s:I}", "stepId", s->id, "status",
		       s->status == PENDING && error ? "retrying" : status_names[s->status],
		       "attempt", s->attempt, "timeMs",
		       (json_int_t)ah_now_ms());
	if (*s->job_run)
		json_object_set_new(ev, "jobRunId", json_string(s->job_run));
	if (error)
		json_object_set_new(ev, "errorMessage", json_string(error));
	d->cfg->progress(d->cfg->progress_cls, ev);
	json_decref(ev);
}

/* The pool's threads: each takes a task, runs it, hands it back. */
static void run_task(struct drive *d, struct ah_state **st, struct task *t)
{
	if (!*st && ah_state_open(st, d->dir, &t->err) < 0) {
		t->rc = -1;
		return;
	}
	if (!strcmp(t->type, "service")) {
		t->rc = ah_http_call(t->req, &t->result, &t->err);
		return;
	}
	t->rc = ah_runner_perform(d->dir, *st, &ah_job_work, &d->cfg->job, &t->job, NULL,
				  &t->result, &t->err);
}

static void *pool_main(void *arg)
{
	struct drive *d = arg;
	struct ah_state *st = NULL;
	struct task *t;

	pthread_mutex_lock(&d->mutex);
	for (;;) {
		while (!d->queued && !d->stopping)
			pthread_cond_wait(&d->cond, &d->mutex);
		if (!d->queued)
			break;
		t = d->queued;
		d->queued = t->next;
		pthread_mutex_unlock(&d->mutex);
		run_task(d, &st, t);
		pthread_mutex_lock(&d->mutex);
		t->next = d->done;
		d->done = t;
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->mutex);
	ah_state_close(st);
	return NULL;
}

static void submit(struct drive *d, struct task *t)
{
	pthread_mutex_lock(&d->mutex);
	if (d->threads_nr < d->max_parallel && d->threads_nr < d->running + 1) {
		if (!pthread_create(&d->threads[d->threads_nr], NULL, pool_main, d))
			d->threads_nr++;
	}
	/* FIFO, so steps start in the order they became ready. */
	t->next = NULL;
	if (!d->queued) {
		d->queued = t;
	} else {
		struct task *last = d->queued;

		while (last->next)
			last = last->next;
		last->next = t;
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mutex);
}

static void pool_stop(struct drive *d)
{
	int i;

	pthread_mutex_lock(&d->mutex);
	d->stopping = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mutex);
	for (i = 0; i < d->threads_nr; i++)
		pthread_join(d->threads[i], NULL);
}

static int find(struct drive *d, const char *id)
{
	int i;

	for (i = 0; i < d->nr; i++)
		if (!strcmp(d->s[i].id, id))
			return i;
	return -1;
}

static struct step *add_step(struct drive *d, const char *id, json_t *def, int parent)
{
	struct step *s;

	ALLOC_GROW(d->s, d->nr + 1, d->alloc);
	s = &d->s[d->nr++];
	memset(s, 0, sizeof(*s));
	s->id = xstrdup(id);
	s->def = json_incref(def);
	s->parent = parent;
	s->type = json_string_value(json_object_get(def, "type"));
	if (!s->type)
		s->type = "job";
	s->max_attempts = (int)json_integer_value(json_object_get(
		json_object_get(def, "retryPolicy"), "maxAttempts"));
	if (s->max_attempts <= 0)
		s->max_attempts = 3;
	s->max_concurrency = (int)json_integer_value(json_object_get(def, "maxConcurrency"));
	if (s->max_concurrency <= 0)
		s->max_concurrency = 10;
	return s;
}

/* The context entry of step s, in the templates' scope. */
static void scope_step(struct drive *d, struct step *s, const char *error)
{
	json_t *e = json_pack("{s:s, s:i, s:O}", "status", status_names[s->status], "attempt",
			      s->attempt, "result", s->result ? s->result : json_null());

	if (*s->job_run)
		json_object_set_new(e, "jobRunId", json_string(s->job_run));
	if (error)
		json_object_set_new(e, "errorMessage", json_string(error));
	json_object_set_new(d->steps_scope, s->id, e);
}

/* Whether this driver still holds the run: every change is made under it. */
static int still_ours(struct drive *d, struct ah_err *err)
{
	int r = ah_work_is_ours(d->st, d->item->lease.work_id, d->item->lease.owner,
				d->item->lease.attempt, err);

	if (r == 0)
		d->lost = 1;
	return r;
}

static int begin(struct drive *d, struct ah_err *err)
{
	int r;

	if (ah_begin_write(d->st, err) < 0)
		return -1;
	if ((r = still_ours(d, err)) <= 0) {
		ah_rollback(d->st);
		if (!r)
			ah_conflict(err, "workflow run '%s' was taken by another driver",
				    d->item->id);
		return -1;
	}
	return 0;
}

static int commit(struct drive *d, struct ah_err *err)
{
	if (ah_commit(d->st, err) < 0) {
		ah_rollback(d->st);
		return -1;
	}
	return 0;
}

static int step_event(struct drive *d, struct step *s, const char *type, json_t *extra,
		      struct ah_err *err)
{
	json_t *data = json_pack("{s:s, s:s, s:i}", "runId", d->item->id, "stepId", s->id,
				 "attempt", s->attempt);

	if (*s->job_run)
		json_object_set_new(data, "jobRunId", json_string(s->job_run));
	if (extra) {
		json_object_update(data, extra);
		json_decref(extra);
	}
	return ah_event(d->st, type, d->item->slug, data, err);
}

/* The step's row as it stands in memory. */
static int save_step(struct drive *d, struct step *s, const char *error, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE workflow_steps SET status = ?3, attempt = ?4, job_run_id = ?5, result = ?6,"
		" error_message = ?7, not_before = ?8, heartbeat_at = ?9,"
		" started_at = CASE WHEN ?3 = 'running' THEN ?10 ELSE started_at END,"
		" completed_at = CASE WHEN ?3 IN ('succeeded', 'failed', 'skipped') THEN ?10"
		"  ELSE NULL END"
		" WHERE run = ?1 AND step_id = ?2";
	static const char sql_run[] =
		"UPDATE workflow_runs SET updated_at = ?2, completed_steps = ?3 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(d->st, sql, err);
	char now[AH_ISO_LEN], *result = NULL;
	int i, completed = 0, rc;

	if (!stmt)
		return -1;
	ah_now_iso(now);
	if (s->result)
		result = json_dumps(s->result, JSON_COMPACT | JSON_ENCODE_ANY);
	sqlite3_bind_int64(stmt, 1, d->item->run);
	ah_bind_text(stmt, 2, s->id);
	ah_bind_text(stmt, 3, status_names[s->status]);
	sqlite3_bind_int(stmt, 4, s->attempt);
	ah_bind_text(stmt, 5, *s->job_run ? s->job_run : NULL);
	ah_bind_text(stmt, 6, result);
	ah_bind_text(stmt, 7, error);
	sqlite3_bind_int64(stmt, 8, s->not_before);
	sqlite3_bind_int64(stmt, 9, s->heartbeat);
	ah_bind_text(stmt, 10, now);
	rc = ah_step_done(d->st, stmt, "cannot record workflow step", err);
	free(result);
	if (rc < 0)
		return -1;
	for (i = 0; i < d->nr; i++)
		completed += d->s[i].status == SUCCEEDED;
	if (!(stmt = ah_stmt(d->st, sql_run, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, d->item->run);
	ah_bind_text(stmt, 2, now);
	sqlite3_bind_int(stmt, 3, completed);
	return ah_step_done(d->st, stmt, "cannot record workflow run", err);
}

static int save_shared(struct drive *d, struct ah_err *err)
{
	static const char sql[] = "UPDATE workflow_runs SET shared = ?2 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(d->st, sql, err);
	char *text;
	int rc;

	if (!stmt)
		return -1;
	text = json_dumps(d->shared, JSON_COMPACT);
	sqlite3_bind_int64(stmt, 1, d->item->run);
	ah_bind_text(stmt, 2, text);
	rc = ah_step_done(d->st, stmt, "cannot record workflow context", err);
	free(text);
	return rc;
}

/* The delay before attempt next of a step whose policy is p (behaviour.md). */
static int64_t retry_delay(json_t *p, int next)
{
	json_int_t initial = 1000, max = 64000;
	const char *strategy = json_string_value(json_object_get(p, "strategy"));
	int64_t delay;
	int i;

	if (json_is_integer(json_object_get(p, "initialDelayMs")))
		initial = json_integer_value(json_object_get(p, "initialDelayMs"));
	max = initial * 64;
	if (json_is_integer(json_object_get(p, "maxDelayMs")))
		max = json_integer_value(json_object_get(p, "maxDelayMs"));
	delay = initial;
	if (strategy && !strcmp(strategy, "exponential"))
		for (i = 2; i < next && delay < max; i++)
			delay *= 2;
	return delay > max ? max : delay;
}

static void fail_run(struct drive *d, const char *fmt, const char *id, const char *why)
{
	if (d->failing)
		return;
	d->failing = 1;
	d->fail_msg = xstrfmt(fmt, id, why);
}

static int settle_parent(struct drive *d, int p, struct ah_err *err);
static void parent_settled(struct drive *d, int p);

/*
 * The end of an attempt of step i: success with result (taken), or failure
 * with error (retried while its policy allows unless final).
 */
static int settle(struct drive *d, int i, json_t *result, const char *error, int final,
		  struct ah_err *err)
{
	struct step *s = &d->s[i];
	const char *key;
	int retry = 0, shared = 0, parent_done = 0, ret = -1;

	if (begin(d, err) < 0) {
		json_decref(result);
		return -1;
	}
	json_decref(s->result);
	s->result = NULL;
	if (!error) {
		s->status = SUCCEEDED;
		s->result = result ? result : json_null();
		key = json_string_value(json_object_get(s->def, "storeResultAs"));
		if (!key)
			key = json_string_value(json_object_get(s->def, "storeResponseAs"));
		if (key && s->parent < 0) {
			json_object_set(d->shared, key, s->result);
			shared = 1;
		}
	} else {
		json_decref(result);
		retry = !final && s->attempt < s->max_attempts && !d->canceling;
		s->status = retry ? PENDING : FAILED;
		if (retry)
			s->not_before = ah_now_ms() +
					retry_delay(json_object_get(s->def, "retryPolicy"),
						    s->attempt + 1);
	}
	if (save_step(d, s, error, err) < 0 || (shared && save_shared(d, err) < 0))
		goto done;
	if (!error) {
		if (step_event(d, s, "workflow.step.succeeded", NULL, err) < 0 ||
		    (json_array_size(json_object_get(s->def, "produces")) &&
		     ah_workflow_assets_produced(d->st, d->item->slug, d->item->id, s->id,
						 json_object_get(s->def, "produces"), ah_now_ms(),
						 err) < 0))
			goto done;
	} else if (retry) {
		char at[AH_ISO_LEN];

		ah_iso_time(at, s->not_before);
		if (step_event(d, s, "workflow.step.retrying",
			       json_pack("{s:s, s:s}", "errorMessage", error, "retryAt", at), err) < 0)
			goto done;
	} else if (step_event(d, s, "workflow.step.failed",
			      json_pack("{s:s}", "errorMessage", error), err) < 0) {
		goto done;
	}
	if (s->parent >= 0) {
		struct step *p = &d->s[s->parent];

		if (s->status != PENDING) {
			p->running--;
			p->ended++;
			p->failed += s->status == FAILED;
		} else {
			p->running--;
		}
		if (p->ended == p->n) {
			if (settle_parent(d, s->parent, err) < 0)
				goto done;
			parent_done = 1;
		}
	}
	if (commit(d, err) < 0)
		goto done;
	scope_step(d, s, error);
	report(d, s, error);
	if (parent_done)
		parent_settled(d, s->parent);
	if (s->status == FAILED && s->parent < 0)
		fail_run(d, "step '%s' failed: %s", s->id, error);
	ret = 0;
done:
	if (ret < 0)
		ah_rollback(d->st);
	return ret;
}

/*
 * A fan-out whose children have all ended, inside settle's transaction:
 * its result is [{stepId, index, status, output}] in index order.
 */
static int settle_parent(struct drive *d, int p, struct ah_err *err)
{
	struct step *s = &d->s[p];
	json_t *results = json_array();
	const char *key = json_string_value(json_object_get(s->def, "storeResultsAs"));
	char *error = NULL;
	int i, ret = -1;

	for (i = s->first; i < s->first + s->n; i++) {
		struct step *c = &d->s[i];

		json_array_append_new(results, json_pack("{s:s, s:i, s:s, s:O}", "stepId", c->id,
							 "index", c->index, "status",
							 status_names[c->status], "output",
							 c->result ? c->result : json_null()));
	}
	json_decref(s->result);
	s->result = results;
	if (s->failed) {
		s->status = FAILED;
		error = xstrfmt("%d of %d children failed", s->failed, s->n);
	} else {
		s->status = SUCCEEDED;
		if (key) {
			json_object_set(d->shared, key, results);
			if (save_shared(d, err) < 0)
				goto done;
		}
	}
	if (save_step(d, s, error, err) < 0 ||
	    step_event(d, s, error ? "workflow.step.failed" : "workflow.step.succeeded",
		       error ? json_pack("{s:s}", "errorMessage", error) : NULL, err) < 0)
		goto done;
	if (!error && json_array_size(json_object_get(s->def, "produces")) &&
	    ah_workflow_assets_produced(d->st, d->item->slug, d->item->id, s->id,
					json_object_get(s->def, "produces"), ah_now_ms(), err) < 0)
		goto done;
	ret = 0;
done:
	free(error);
	return ret;
}

/* A fan-out settled by its last child: in the scope, reported, and failing the run if so. */
static void parent_settled(struct drive *d, int p)
{
	struct step *s = &d->s[p];
	char *error = NULL;

	if (s->status == FAILED)
		error = xstrfmt("%d of %d children failed", s->failed, s->n);
	scope_step(d, s, error);
	report(d, s, error);
	if (error)
		fail_run(d, "step '%s' failed: %s", s->id, error);
	free(error);
}

/* The scope a step's templates see. */
static json_t *scope_for(struct drive *d, struct step *s)
{
	json_t *scope;

	if (s->parent < 0)
		return json_incref(d->scope);
	scope = json_copy(d->scope);
	json_object_set(scope, "item", s->item ? s->item : json_null());
	json_object_set_new(scope, "fanout", json_pack("{s:i}", "index", s->index));
	return scope;
}

static char *where_of(struct step *s, const char *field)
{
	return xstrfmt("step '%s' %s", s->id, field);
}

static json_t *render(struct drive *d, struct step *s, const char *field, json_t *v,
		      struct ah_err *err)
{
	json_t *scope = scope_for(d, s), *out = NULL;
	char *where = where_of(s, field);

	if (ah_template_render(v ? v : json_null(), scope, where, &out, err) < 0)
		out = NULL;
	free(where);
	json_decref(scope);
	return out;
}

/* The preview URL of app id's running launch. */
static char *app_url(struct drive *d, const char *app, struct ah_err *err)
{
	json_t *params = json_pack("{s:s, s:s, s:i}", "id", app, "status", "running", "limit", 1);
	json_t *out = NULL;
	const char *url;
	char *ret = NULL;

	if (ah_launch_ls(d->st, params, &out, err) == 0) {
		url = json_string_value(json_object_get(json_array_get(json_object_get(out, "data"),
									0), "previewUrl"));
		if (url)
			ret = xstrdup(url);
		else
			ah_error(err, 422, "no_launch", "app '%.80s' has no running launch", app);
	}
	json_decref(params);
	json_decref(out);
	return ret;
}

/* A service step's request, rendered: {url, method, headers, body?, timeoutMs}. */
static json_t *service_request(struct drive *d, struct step *s, struct ah_err *err)
{
	json_t *def = s->def, *req = NULL, *v;
	const char *app = json_string_value(json_object_get(def, "app"));
	char *base = NULL;

	req = json_pack("{s:O, s:O}", "method", json_object_get(def, "method") ?
			json_object_get(def, "method") : json_string("GET"), "timeoutMs",
			json_object_get(def, "timeoutMs") ? json_object_get(def, "timeoutMs") :
			json_integer(30000));
	if (app) {
		if (!(base = app_url(d, app, err)))
			goto fail;
		v = render(d, s, "path", json_object_get(def, "path") ?
			   json_object_get(def, "path") : json_string(""), err);
		if (!v)
			goto fail;
		json_object_set_new(req, "url", json_sprintf("%s%s%s", base,
			*json_string_value(v) == '/' || !*json_string_value(v) ? "" : "/",
			json_string_value(v) ? json_string_value(v) : ""));
		json_decref(v);
	} else {
		if (!(v = render(d, s, "url", json_object_get(def, "url"), err)))
			goto fail;
		if (!json_is_string(v)) {
			json_decref(v);
			ah_error(err, 422, "invalid", "step '%s' url: not a string", s->id);
			goto fail;
		}
		json_object_set_new(req, "url", v);
	}
	if (!(v = render(d, s, "headers", json_object_get(def, "headers") ?
			 json_object_get(def, "headers") : json_object(), err)))
		goto fail;
	json_object_set_new(req, "headers", v);
	if (json_object_get(def, "body")) {
		if (!(v = render(d, s, "body", json_object_get(def, "body"), err)))
			goto fail;
		json_object_set_new(req, "body", v);
	}
	free(base);
	return req;
fail:
	free(base);
	json_decref(req);
	return NULL;
}

/*
 * Starts step i: its row running with its attempt and, for a job, the
 * job run made and claimed in the same transaction; then the pool runs it.
 * A step whose templates do not render fails at once, for good.
 */
static int start_step(struct drive *d, int i, struct ah_err *err)
{
	struct step *s = &d->s[i];
	struct task *t = xcalloc(1, sizeof(*t));
	struct ah_err why = AH_ERR_INIT;
	json_t *params = NULL;
	sqlite3_int64 n;
	int final = 1;

	t->step = i;
	t->type = s->type;
	if (!strcmp(s->type, "service")) {
		if (!(t->req = service_request(d, s, &why)))
			goto refused;
	} else {
		json_t *p = render(d, s, "parameters", json_object_get(s->def, "parameters") ?
				   json_object_get(s->def, "parameters") : json_object(), &why);

		if (!p)
			goto refused;
		params = json_pack("{s:o, s:{s:s, s:s, s:s, s:s}}", "parameters", p,
				   "trigger", "type", "workflow", "workflowRunId", d->item->id,
				   "workflowSlug", d->item->slug, "stepId", s->id);
		if (json_object_get(s->def, "timeoutMs"))
			json_object_set(params, "timeoutMs", json_object_get(s->def, "timeoutMs"));
	}
	if (begin(d, err) < 0)
		goto fail;
	*s->job_run = 0;
	if (params) {
		if (ah_job_run_insert(d->st, json_string_value(json_object_get(s->def, "jobSlug")),
				      params, &d->cfg->job, d->item->lease.owner, &t->job, &n,
				      &why) < 0) {
			/* A job or parameters it refuses: the attempt fails, retried if it may help. */
			ah_rollback(d->st);
			final = why.status == 404 || why.status == 422 || why.status == 400;
			goto refused;
		}
		snprintf(s->job_run, sizeof(s->job_run), "%s", t->job.id);
	}
	s->attempt++;
	s->status = RUNNING;
	s->owned = 1;
	s->heartbeat = ah_now_ms();
	if (save_step(d, s, NULL, err) < 0 ||
	    step_event(d, s, "workflow.step.running", NULL, err) < 0 || commit(d, err) < 0)
		goto fail;
	json_decref(params);
	d->running++;
	if (s->parent >= 0)
		d->s[s->parent].running++;
	scope_step(d, s, NULL);
	report(d, s, NULL);
	submit(d, t);
	return 0;
refused:
	/* An attempt that failed before it began: rendering again cannot help. */
	json_decref(params);
	json_decref(t->req);
	free(t);
	if (begin(d, err) < 0)
		return -1;
	s->attempt++;
	s->status = RUNNING;
	*s->job_run = 0;
	if (save_step(d, s, NULL, err) < 0 || commit(d, err) < 0)
		return -1;
	if (s->parent >= 0)
		d->s[s->parent].running++;
	return settle(d, i, NULL, why.msg, final, err);
fail:
	ah_rollback(d->st);
	s->owned = 0;
	json_decref(params);
	json_decref(t->req);
	free(t);
	return -1;
}

/* Expands fan-out i into its children, rows and all. */
static int expand(struct drive *d, int i, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO workflow_steps(run, step_id, seq, parent, fanout_index, item)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	static const char sql_total[] =
		"UPDATE workflow_runs SET total_steps = total_steps + ?2 WHERE n = ?1";
	struct ah_err why = AH_ERR_INIT;
	json_t *coll, *tmpl, *v;
	const char *tid;
	json_int_t max;
	size_t k;
	int first = d->nr;

	tmpl = json_object_get(d->s[i].def, "template");
	tid = json_string_value(json_object_get(tmpl, "id"));
	max = json_integer_value(json_object_get(d->s[i].def, "maxItems"));
	if (max <= 0)
		max = 100;
	if (!(coll = render(d, &d->s[i], "collection", json_object_get(d->s[i].def, "collection"),
			    &why)))
		goto refused;
	if (!json_is_array(coll)) {
		json_decref(coll);
		ah_error(&why, 422, "invalid", "step '%s' collection: not an array", d->s[i].id);
		goto refused;
	}
	if ((json_int_t)json_array_size(coll) > max) {
		ah_error(&why, 422, "invalid", "step '%s' collection: %zu items, more than maxItems %lld",
			 d->s[i].id, json_array_size(coll), (long long)max);
		json_decref(coll);
		goto refused;
	}
	if (begin(d, err) < 0) {
		json_decref(coll);
		return -1;
	}
	d->s[i].attempt = 1;
	d->s[i].status = RUNNING;
	d->s[i].heartbeat = ah_now_ms();
	json_array_foreach(coll, k, v) {
		char *id = xstrfmt("%s:%s:%zu", d->s[i].id, tid, k + 1);
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		sqlite3_stmt *stmt = ah_stmt(d->st, sql, err);
		struct step *c;
		int rc = -1;

		if (stmt) {
			sqlite3_bind_int64(stmt, 1, d->item->run);
			ah_bind_text(stmt, 2, id);
			sqlite3_bind_int(stmt, 3, d->next_seq++);
			ah_bind_text(stmt, 4, d->s[i].id);
			sqlite3_bind_int64(stmt, 5, (sqlite3_int64)k + 1);
			ah_bind_text(stmt, 6, text);
			rc = ah_step_done(d->st, stmt, "cannot record fan-out step", err);
		}
		if (rc == 0) {
			c = add_step(d, id, tmpl, i);
			c->index = (int)k + 1;
			c->item = json_incref(v);
		}
		free(id);
		free(text);
		if (rc < 0)
			goto fail;
	}
	d->s[i].first = first;
	d->s[i].n = d->nr - first;
	{
		sqlite3_stmt *stmt = ah_stmt(d->st, sql_total, err);

		if (!stmt)
			goto fail;
		sqlite3_bind_int64(stmt, 1, d->item->run);
		sqlite3_bind_int(stmt, 2, d->s[i].n);
		if (ah_step_done(d->st, stmt, "cannot record workflow run", err) < 0)
			goto fail;
	}
	if (save_step(d, &d->s[i], NULL, err) < 0 ||
	    step_event(d, &d->s[i], "workflow.step.running",
		       json_pack("{s:i}", "children", d->s[i].n), err) < 0 ||
	    (!d->s[i].n && settle_parent(d, i, err) < 0) || commit(d, err) < 0)
		goto fail;
	json_decref(coll);
	if (d->s[i].n)
		report(d, &d->s[i], NULL);
	else
		parent_settled(d, i);
	return 0;
refused:
	if (begin(d, err) < 0)
		return -1;
	d->s[i].attempt = 1;
	d->s[i].status = RUNNING;
	if (save_step(d, &d->s[i], NULL, err) < 0 || commit(d, err) < 0)
		return -1;
	return settle(d, i, NULL, why.msg, 1, err);
fail:
	ah_rollback(d->st);
	json_decref(coll);
	/* The children made in memory go with the transaction. */
	while (d->nr > first) {
		struct step *c = &d->s[--d->nr];

		free(c->id);
		json_decref(c->def);
		json_decref(c->item);
	}
	return -1;
}

static int ready(struct drive *d, struct step *s, int64_t now)
{
	int k;

	if (s->status != PENDING || s->not_before > now)
		return 0;
	if (s->parent >= 0) {
		struct step *p = &d->s[s->parent];

		return p->running < p->max_concurrency;
	}
	for (k = 0; k < s->ndeps; k++)
		if (d->s[s->deps[k]].status != SUCCEEDED)
			return 0;
	return 1;
}

static int start_ready(struct drive *d, struct ah_err *err)
{
	int64_t now = ah_now_ms();
	int i;

	for (i = 0; i < d->nr && d->running < d->max_parallel; i++) {
		if (!ready(d, &d->s[i], now))
			continue;
		if (!strcmp(d->s[i].type, "fanout") ? expand(d, i, err) < 0 :
		    start_step(d, i, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * A step found running when the drive began: its job run is adopted while
 * a worker holds it, its outcome taken once it has ended, and the attempt
 * failed when nobody runs it (heartbeat-timeout once it has been silent
 * too long).
 */
static int poll_adopted(struct drive *d, int i, struct ah_err *err)
{
	static const char sql[] =
		"SELECT r.status, w.claimed_by IS NOT NULL AND w.lease_until > ?2"
		" FROM job_runs r LEFT JOIN work w ON w.kind = 'job' AND w.subject = r.id"
		" WHERE r.id = ?1";
	struct step *s = &d->s[i];
	sqlite3_stmt *stmt;
	char status[16] = "";
	int64_t now = ah_now_ms();
	int live = 0, rc;
	json_t *rec;

	if (*s->job_run) {
		if (!(stmt = ah_stmt(d->st, sql, err)))
			return -1;
		ah_bind_text(stmt, 1, s->job_run);
		sqlite3_bind_int64(stmt, 2, now);
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			snprintf(status, sizeof(status), "%s", ah_col_text(stmt, 0));
			live = sqlite3_column_int(stmt, 1);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ah_sql_error(d->st, err, "cannot read job run");
	}
	if (*status && strcmp(status, "pending") && strcmp(status, "running")) {
		if (!(rec = ah_job_run_json(d->st, s->job_run, 0, 0, err)))
			return -1;
		rc = settle(d, i, !strcmp(status, "succeeded") ?
			    json_incref(json_object_get(rec, "result")) : NULL,
			    !strcmp(status, "succeeded") ? NULL :
			    json_string_value(json_object_get(rec, "errorMessage")) ?
			    json_string_value(json_object_get(rec, "errorMessage")) : status,
			    !strcmp(status, "canceled"), err);
		json_decref(rec);
		return rc;
	}
	if (live) {
		s->heartbeat = now;
		return 0;
	}
	if (now - s->heartbeat > d->cfg->heartbeat_ms || !*status) {
		/* Silent too long, or nothing to wait for: the attempt failed. */
		if (*status) {
			json_t *p = json_pack("{s:s}", "id", s->job_run), *out = NULL;
			struct ah_err ignored = AH_ERR_INIT;

			ah_job_runs_cancel(d->st, p, &out, &ignored);
			json_decref(p);
			json_decref(out);
		}
		return settle(d, i, NULL, *status ? "heartbeat-timeout" :
			      "the workflow driver stopped during this attempt", 0, err);
	}
	/*
	 * Its worker is gone but the heartbeat is recent: the job queue's
	 * claim records its attempt as failed (a step's job run has one),
	 * and the next poll takes that outcome.
	 */
	{
		struct ah_job_item jitem;

		if (ah_begin_write(d->st, err) < 0)
			return -1;
		rc = ah_job_claim(d->st, &d->cfg->job, d->item->lease.owner, s->job_run, &jitem,
				  err);
		if (rc < 0 || ah_commit(d->st, err) < 0) {
			ah_rollback(d->st);
			return -1;
		}
		if (rc > 0) {
			/* It had not started: it runs here. */
			struct task *t = xcalloc(1, sizeof(*t));

			t->step = i;
			t->type = s->type;
			t->job = jitem;
			s->owned = 1;
			d->running++;
			submit(d, t);
		}
	}
	return 0;
}

/* Takes a finished task's outcome. */
static int take(struct drive *d, struct task *t, struct ah_err *err)
{
	struct step *s = &d->s[t->step];
	const char *status;
	json_t *res = t->result;
	int rc;

	d->running--;
	s->owned = 0;
	if (!strcmp(t->type, "service")) {
		json_t *body = json_incref(json_object_get(res, "body"));

		/* A request refused before it was sent (a bad URL) fails the same way again. */
		if (t->rc < 0)
			rc = settle(d, t->step, NULL, t->err.msg, t->err.status == 400, err);
		else
			rc = settle(d, t->step, body ? body : json_null(), NULL, 0, err);
		if (t->rc < 0)
			json_decref(body);
	} else if (t->rc < 0) {
		rc = settle(d, t->step, NULL, t->err.msg, 0, err);
	} else {
		status = json_string_value(json_object_get(res, "status"));
		if (status && !strcmp(status, "succeeded"))
			rc = settle(d, t->step, json_incref(json_object_get(res, "result")), NULL,
				    0, err);
		else
			rc = settle(d, t->step, NULL,
				    json_string_value(json_object_get(res, "errorMessage")) ?
				    json_string_value(json_object_get(res, "errorMessage")) :
				    status ? status : "the job run ended without a result",
				    status && !strcmp(status, "canceled"), err);
	}
	json_decref(t->req);
	json_decref(t->result);
	free(t);
	return rc;
}

/* Cancel: the running job runs are ended; their workers record it. */
static void cancel_jobs(struct drive *d)
{
	int i;

	for (i = 0; i < d->nr; i++) {
		json_t *p, *out = NULL;
		struct ah_err ignored = AH_ERR_INIT;

		if (d->s[i].status != RUNNING || !*d->s[i].job_run)
			continue;
		p = json_pack("{s:s}", "id", d->s[i].job_run);
		ah_job_runs_cancel(d->st, p, &out, &ignored);
		json_decref(p);
		json_decref(out);
	}
}

static int cancel_requested(struct drive *d, struct ah_err *err)
{
	static const char sql[] = "SELECT 1 FROM workflow_runs WHERE n = ? AND cancel_requested";
	sqlite3_stmt *stmt = ah_stmt(d->st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, d->item->run);
	return ah_step_exists(d->st, stmt, "cannot read workflow run", err);
}

/* The running steps' heartbeats, written now and then. */
static int beat(struct drive *d, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE workflow_steps SET heartbeat_at = ?3 WHERE run = ?1 AND step_id = ?2";
	int64_t now = ah_now_ms();
	int i;

	if (begin(d, err) < 0)
		return -1;
	for (i = 0; i < d->nr; i++) {
		sqlite3_stmt *stmt;

		if (d->s[i].status != RUNNING)
			continue;
		if (d->s[i].owned)
			d->s[i].heartbeat = now;
		if (!(stmt = ah_stmt(d->st, sql, err)))
			goto fail;
		sqlite3_bind_int64(stmt, 1, d->item->run);
		ah_bind_text(stmt, 2, d->s[i].id);
		sqlite3_bind_int64(stmt, 3, d->s[i].heartbeat);
		if (ah_step_done(d->st, stmt, "cannot record heartbeat", err) < 0)
			goto fail;
	}
	return commit(d, err);
fail:
	ah_rollback(d->st);
	return -1;
}

static int load(struct drive *d, sqlite3_int64 *wf_out, int *ver_out, struct ah_err *err)
{
	static const char sql_run[] =
		"SELECT r.workflow, r.version, r.parameters, r.shared, r.trigger, r.run_key,"
		" r.started_at, r.status FROM workflow_runs r WHERE r.n = ?";
	static const char sql_def[] =
		"SELECT definition FROM workflow_versions WHERE workflow = ? AND version = ?";
	static const char sql_steps[] =
		"SELECT step_id, parent, fanout_index, item, status, attempt, job_run_id, result,"
		" not_before, heartbeat_at, seq FROM workflow_steps WHERE run = ? ORDER BY seq";
	sqlite3_stmt *stmt;
	json_t *params = NULL, *trigger = NULL, *steps, *sd;
	char started[AH_ISO_LEN] = "", *key = NULL;
	sqlite3_int64 wf = 0;
	int ver = 0, rc, i, k;
	size_t j;

	if (!(stmt = ah_stmt(d->st, sql_run, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, d->item->run);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		wf = sqlite3_column_int64(stmt, 0);
		ver = sqlite3_column_int(stmt, 1);
		params = json_loads(ah_col_text(stmt, 2), 0, NULL);
		d->shared = json_loads(ah_col_text(stmt, 3), 0, NULL);
		trigger = json_loads(ah_col_text(stmt, 4), 0, NULL);
		if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
			key = xstrdup(ah_col_text(stmt, 5));
		snprintf(started, sizeof(started), "%s", ah_col_text(stmt, 6));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		free(key);
		json_decref(params);
		json_decref(trigger);
		return rc == SQLITE_DONE ? ah_not_found(err, "workflow run '%s' not found",
							d->item->id) :
		       ah_sql_error(d->st, err, "cannot read workflow run");
	}
	if (!d->shared)
		d->shared = json_object();
	*wf_out = wf;
	*ver_out = ver;
	d->steps_scope = json_object();
	d->scope = json_pack("{s:o, s:O, s:O, s:{s:s, s:s, s:i, s:o, s:o, s:s}}",
			     "parameters", params ? params : json_object(), "steps", d->steps_scope,
			     "shared", d->shared, "run", "id", d->item->id, "workflowSlug",
			     d->item->slug, "version", ver, "trigger",
			     trigger ? trigger : json_object(), "runKey",
			     key ? json_string(key) : json_null(), "startedAt", started);
	free(key);
	if (!(stmt = ah_stmt(d->st, sql_def, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	sqlite3_bind_int(stmt, 2, ver);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		d->def = json_loads(ah_col_text(stmt, 0), 0, NULL);
	sqlite3_reset(stmt);
	if (!d->def)
		return rc == SQLITE_ROW || rc == SQLITE_DONE ?
		       ah_internal(err, "workflow run '%s': its definition is gone", d->item->id) :
		       ah_sql_error(d->st, err, "cannot read workflow definition");
	d->max_parallel = (int)json_integer_value(json_object_get(d->def, "maxParallel"));
	if (d->max_parallel <= 0)
		d->max_parallel = d->cfg->concurrency;
	steps = json_object_get(d->def, "steps");
	if (!(stmt = ah_stmt(d->st, sql_steps, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, d->item->run);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = ah_col_text(stmt, 0), *status = ah_col_text(stmt, 4);
		struct step *s;
		int parent = -1;

		sd = NULL;
		if (sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
			parent = find(d, ah_col_text(stmt, 1));
			if (parent >= 0)
				sd = json_object_get(d->s[parent].def, "template");
		} else {
			json_array_foreach(steps, j, sd)
				if (!strcmp(json_string_value(json_object_get(sd, "id")), id))
					break;
			if (j == json_array_size(steps))
				sd = NULL;
		}
		if (!sd)
			continue;
		s = add_step(d, id, sd, parent);
		s->index = sqlite3_column_int(stmt, 2);
		if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
			s->item = json_loads(ah_col_text(stmt, 3), JSON_DECODE_ANY, NULL);
		for (k = 0; k <= SKIPPED; k++)
			if (!strcmp(status, status_names[k]))
				s->status = k;
		s->attempt = sqlite3_column_int(stmt, 5);
		if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
			snprintf(s->job_run, sizeof(s->job_run), "%s", ah_col_text(stmt, 6));
		if (sqlite3_column_type(stmt, 7) != SQLITE_NULL)
			s->result = json_loads(ah_col_text(stmt, 7), JSON_DECODE_ANY, NULL);
		s->not_before = sqlite3_column_int64(stmt, 8);
		s->heartbeat = sqlite3_column_int64(stmt, 9);
		if (sqlite3_column_int(stmt, 10) >= d->next_seq)
			d->next_seq = sqlite3_column_int(stmt, 10) + 1;
		if (parent >= 0) {
			struct step *p = &d->s[parent];

			if (!p->n)
				p->first = d->nr - 1;
			p->n++;
			if (s->status == RUNNING)
				p->running++;
			else if (s->status != PENDING)
				p->ended++;
			p->failed += s->status == FAILED;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(d->st, err, "cannot read workflow steps");
	if (d->next_seq < (int)json_array_size(steps))
		d->next_seq = (int)json_array_size(steps);
	/* The graph's edges, by index. */
	for (i = 0; i < d->nr; i++) {
		json_t *deps = json_object_get(d->s[i].def, "dependsOn"), *dep;

		if (d->s[i].parent >= 0)
			continue;
		d->s[i].deps = xcalloc(json_array_size(deps) + 1, sizeof(int));
		json_array_foreach(deps, j, dep) {
			if ((k = find(d, json_string_value(dep))) >= 0) {
				d->s[i].deps[d->s[i].ndeps++] = k;
				d->s[k].dependents++;
			}
		}
		if (d->s[i].status != PENDING || d->s[i].result)
			scope_step(d, &d->s[i], NULL);
	}
	for (i = 0; i < d->nr; i++)
		if (d->s[i].parent >= 0 && d->s[i].status != PENDING)
			scope_step(d, &d->s[i], NULL);
	return 0;
}

/* The run's output: the result of each step nothing depends on. */
static json_t *output_of(struct drive *d)
{
	json_t *out = json_object();
	int i;

	for (i = 0; i < d->nr; i++)
		if (d->s[i].parent < 0 && !d->s[i].dependents && d->s[i].status == SUCCEEDED)
			json_object_set(out, d->s[i].id, d->s[i].result ? d->s[i].result :
					json_null());
	return out;
}

struct finish {
	struct drive *d;
	const char *status;
	const char *message;
};

static int record_end(struct ah_state *st, void *cls, json_t **result, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE workflow_runs SET status = ?2, output = ?3, error_message = ?4,"
		" completed_at = ?5, updated_at = ?5,"
		" duration_ms = CAST(round((julianday(?5) - julianday(ifnull(started_at, ?5)))"
		"  * 86400000) AS INTEGER) WHERE n = ?1";
	struct finish *f = cls;
	struct drive *d = f->d;
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN], *output = NULL;
	json_t *out = output_of(d);
	int ret = -1;

	if (!stmt)
		goto done;
	ah_now_iso(now);
	output = json_dumps(out, JSON_COMPACT);
	sqlite3_bind_int64(stmt, 1, d->item->run);
	ah_bind_text(stmt, 2, f->status);
	ah_bind_text(stmt, 3, output);
	ah_bind_text(stmt, 4, f->message);
	ah_bind_text(stmt, 5, now);
	if (ah_step_done(st, stmt, "cannot record workflow run", err) < 0 ||
	    ah_workflow_skip_steps(st, d->item->run, d->item->slug, d->item->id, 0, err) < 0 ||
	    ah_work_finish_attempt(st, d->item->lease.work_id, d->item->lease.attempt, err) < 0 ||
	    ah_workflow_run_ended(st, d->item->run, f->status, ah_now_ms(), err) < 0)
		goto done;
	{
		char *event = xstrfmt("workflow.run.%s", f->status);

		ret = ah_event(st, event, d->item->slug,
			       json_pack("{s:s, s:s?}", "runId", d->item->id, "errorMessage",
					 f->message), err);
		free(event);
		if (ret < 0)
			goto done;
		ret = -1;
	}
	if (!(*result = ah_workflow_run_json(st, NULL, d->item->run, 1, err)))
		goto done;
	ret = 0;
done:
	json_decref(out);
	free(output);
	return ret;
}

/* The run is running: its started time and event, once. */
static int mark_running(struct drive *d, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE workflow_runs SET status = 'running', started_at = ifnull(started_at, ?2),"
		" updated_at = ?2 WHERE n = ?1 AND status = 'pending'";
	sqlite3_stmt *stmt;
	char now[AH_ISO_LEN];

	if (begin(d, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(d->st, sql, err)))
		goto fail;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, d->item->run);
	ah_bind_text(stmt, 2, now);
	if (ah_step_done(d->st, stmt, "cannot record workflow run", err) < 0)
		goto fail;
	if (sqlite3_changes(d->st->db) &&
	    ah_event(d->st, "workflow.run.running", d->item->slug,
		     json_pack("{s:s, s:i}", "runId", d->item->id, "attempt",
			       d->item->lease.attempt), err) < 0)
		goto fail;
	return commit(d, err);
fail:
	ah_rollback(d->st);
	return -1;
}

static int all_ended(struct drive *d, int64_t *next_due)
{
	int i, ended = 1;

	*next_due = 0;
	for (i = 0; i < d->nr; i++) {
		if (d->s[i].status == PENDING || d->s[i].status == RUNNING)
			ended = 0;
		if (d->s[i].status == PENDING && d->s[i].not_before &&
		    (!*next_due || d->s[i].not_before < *next_due))
			*next_due = d->s[i].not_before;
	}
	return ended;
}

static int adopted_running(struct drive *d)
{
	int i, n = 0;

	for (i = 0; i < d->nr; i++)
		n += d->s[i].status == RUNNING && !d->s[i].owned && strcmp(d->s[i].type, "fanout");
	return n;
}

static void wait_for(struct drive *d, int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&d->mutex);
	if (!d->done)
		pthread_cond_timedwait(&d->cond, &d->mutex, &ts);
	pthread_mutex_unlock(&d->mutex);
}

static int drive_loop(struct drive *d, struct ah_err *err)
{
	for (;;) {
		struct task *done;
		int64_t now, next_due;
		int i, r;

		pthread_mutex_lock(&d->mutex);
		done = d->done;
		d->done = NULL;
		pthread_mutex_unlock(&d->mutex);
		while (done) {
			struct task *next = done->next;

			if (take(d, done, err) < 0) {
				done = next;
				while (done) {
					next = done->next;
					json_decref(done->req);
					json_decref(done->result);
					free(done);
					done = next;
				}
				return -1;
			}
			done = next;
		}
		/*
		 * A cancel is looked for at every turn, before anything starts
		 * or the run ends: steps that end just after it must neither
		 * start their dependents nor end the run as succeeded.
		 */
		if (!d->canceling) {
			if ((r = cancel_requested(d, err)) < 0)
				return -1;
			if (r) {
				d->canceling = 1;
				cancel_jobs(d);
			}
		}
		now = ah_now_ms();
		if (now >= d->next_poll) {
			d->next_poll = now + POLL_MS;
			for (i = 0; i < d->nr; i++)
				if (d->s[i].status == RUNNING && !d->s[i].owned &&
				    strcmp(d->s[i].type, "fanout") && poll_adopted(d, i, err) < 0)
					return -1;
		}
		if (now >= d->next_beat) {
			d->next_beat = now + beat_every(d);
			if (beat(d, err) < 0)
				return -1;
		}
		/* After a failure, the steps that do not depend on it go on. */
		if (!d->canceling && start_ready(d, err) < 0)
			return -1;
		if (d->running || adopted_running(d)) {
			wait_for(d, POLL_MS);
			continue;
		}
		if (d->canceling || all_ended(d, &next_due))
			return 0;
		if (next_due) {
			int64_t ms = next_due - ah_now_ms();

			wait_for(d, ms > POLL_MS ? POLL_MS : ms);
			continue;
		}
		/* Pending steps that can never be ready: their dependencies failed. */
		return 0;
	}
}

static void drive_release(struct drive *d)
{
	int i;

	for (i = 0; i < d->nr; i++) {
		free(d->s[i].id);
		free(d->s[i].deps);
		json_decref(d->s[i].def);
		json_decref(d->s[i].item);
		json_decref(d->s[i].result);
	}
	free(d->s);
	free(d->threads);
	free(d->fail_msg);
	json_decref(d->def);
	json_decref(d->scope);
	json_decref(d->steps_scope);
	json_decref(d->shared);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->mutex);
}

static int work_perform(struct ah_state *st, const void *cfgp, const void *it, json_t **result,
			struct ah_err *err)
{
	const struct ah_workflow_config *cfg = cfgp;
	struct drive d = { .st = st, .dir = st->dir, .cfg = cfg, .item = it };
	struct finish f = { &d, NULL, NULL };
	sqlite3_int64 wf;
	int ver, ret = -1, r;

	*result = NULL;
	pthread_mutex_init(&d.mutex, NULL);
	pthread_cond_init(&d.cond, NULL);
	if (load(&d, &wf, &ver, err) < 0 || mark_running(&d, err) < 0)
		goto done;
	d.threads = xcalloc((size_t)d.max_parallel, sizeof(*d.threads));
	r = drive_loop(&d, err);
	/*
	 * What runs finishes and records its own job run's end, even when the
	 * drive stops on an error or a lost lease: the next driver adopts it.
	 */
	pool_stop(&d);
	if (r < 0) {
		if (d.lost)
			*result = ah_workflow_run_json(st, d.item->id, 0, 1, err);
		ret = d.lost && *result ? 0 : -1;
		goto done;
	}
	if (d.canceling) {
		f.status = "canceled";
		f.message = "canceled";
	} else if (d.failing) {
		f.status = "failed";
		f.message = d.fail_msg;
	} else {
		int64_t next_due;

		if (all_ended(&d, &next_due)) {
			f.status = "succeeded";
		} else {
			f.status = "failed";
			f.message = "steps could not run: a step they depend on failed";
		}
	}
	ret = ah_runner_settle(st, &ah_workflow_work, it, record_end, &f, result, err);
done:
	{
		struct task *t;

		while ((t = d.queued)) {
			d.queued = t->next;
			free(t);
		}
		while ((t = d.done)) {
			d.done = t->next;
			json_decref(t->result);
			free(t);
		}
	}
	drive_release(&d);
	return ret;
}

/* The run of a work item: 1 found (with its status), 0 gone. */
static int read_item_run(struct ah_state *st, const char *id, struct ah_workflow_item *item,
			 char *status, size_t len, struct ah_err *err)
{
	static const char sql[] =
		"SELECT r.n, w.slug, r.status FROM workflow_runs r JOIN workflows w"
		" ON w.n = r.workflow WHERE r.id = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		item->run = sqlite3_column_int64(stmt, 0);
		snprintf(item->slug, sizeof(item->slug), "%s", ah_col_text(stmt, 1));
		snprintf(status, len, "%s", ah_col_text(stmt, 2));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow run");
	return rc == SQLITE_ROW;
}

static int fail_item(struct ah_state *st, const struct ah_workflow_item *item,
		     const char *message, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE workflow_runs SET status = 'failed', error_message = ?2, completed_at = ?3,"
		" updated_at = ?3 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, item->run);
	ah_bind_text(stmt, 2, message);
	ah_bind_text(stmt, 3, now);
	if (ah_step_done(st, stmt, "cannot record workflow run", err) < 0 ||
	    ah_workflow_skip_steps(st, item->run, item->slug, item->id, 1, err) < 0 ||
	    ah_workflow_run_ended(st, item->run, "failed", ah_now_ms(), err) < 0)
		return -1;
	return ah_event(st, "workflow.run.failed", item->slug,
			json_pack("{s:s, s:s}", "runId", item->id, "errorMessage", message), err);
}

int ah_workflow_claim(struct ah_state *st, const struct ah_workflow_config *cfg,
		      const char *owner, const char *only_id, struct ah_workflow_item *item,
		      struct ah_err *err)
{
	char status[16];
	int rc;

	for (;;) {
		struct ah_work_item w;
		char *msg;

		memset(item, 0, sizeof(*item));
		if ((rc = ah_work_next_any(st, "workflow", only_id, &w, err)) <= 0)
			return rc;
		item->lease.work_id = w.id;
		snprintf(item->id, sizeof(item->id), "%s", w.subject);
		snprintf(item->lease.owner, sizeof(item->lease.owner), "%s", owner);
		item->lease.started_ms = w.at;
		if ((rc = read_item_run(st, w.subject, item, status, sizeof(status), err)) < 0)
			return -1;
		if (!rc || (strcmp(status, "pending") && strcmp(status, "running"))) {
			if (ah_work_finish(st, w.id, err) < 0)
				return -1;
			continue;
		}
		item->lease.attempt = w.attempts + 1;
		if ((msg = ah_work_abandoned(&w, 1, w.attempts, cfg->attempts,
					     "workflow driver"))) {
			rc = fail_item(st, item, msg, err);
			free(msg);
			if (rc < 0 || ah_work_finish(st, w.id, err) < 0)
				return -1;
			continue;
		}
		if (ah_work_claim(st, w.id, owner, item->lease.attempt, w.at + cfg->lease_ms,
				  err) < 0)
			return -1;
		return 1;
	}
}

static int work_config_load(void *cfg, struct ah_err *err)
{
	return ah_workflow_config_load(cfg, err);
}

static void work_limits(const void *cfgp, int64_t *lease_ms, int64_t *timeout_ms)
{
	const struct ah_workflow_config *cfg = cfgp;

	*lease_ms = cfg->lease_ms;
	/* A run is as long as its steps; each of them has its own limit. */
	*timeout_ms = 30LL * 24 * 3600 * 1000;
}

static int work_claim(struct ah_state *st, const void *cfg, const char *owner,
		      const char *only_id, void *item, struct ah_err *err)
{
	return ah_workflow_claim(st, cfg, owner, only_id, item, err);
}

/* The runner's request: a run of workflow id (a slug) queued and claimed. */
static int work_request(struct ah_state *st, const void *cfg, const char *owner, const char *id,
			json_t *params, void *item, struct ah_err *err)
{
	char run[AH_RANDOM_ID_MAX], existing[AH_RANDOM_ID_MAX];
	sqlite3_int64 n;
	int r;

	if (ah_begin_write(st, err) < 0)
		return -1;
	if (ah_workflow_run_insert(st, id, params, &n, run, existing, err) < 0 ||
	    (r = ah_workflow_claim(st, cfg, owner, run, item, err)) < 0 ||
	    ah_commit(st, err) < 0) {
		ah_rollback(st);
		return -1;
	}
	return r ? 0 : ah_conflict(err, "workflow run '%s' was taken by another driver", run);
}

static int still_ours_kind(struct ah_state *st, const void *it, struct ah_err *err)
{
	const struct ah_workflow_item *item = it;

	return ah_work_is_ours(st, item->lease.work_id, item->lease.owner, item->lease.attempt,
			       err);
}

static json_t *lost(const void *it)
{
	const struct ah_workflow_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:s}", "id", item->id, "workflowSlug", item->slug,
			 "status", "lost", "errorMessage",
			 "the lease ran out and another driver took the run");
}

/* A driver that died: the run waits for the next one, or fails after too many. */
static int work_fail(struct ah_state *st, const void *cfgp, const void *it, const char *message,
		     json_t **result, struct ah_err *err)
{
	const struct ah_workflow_config *cfg = cfgp;
	const struct ah_workflow_item *item = it;
	char retry_at[AH_ISO_LEN], *msg = NULL;
	int r;

	r = ah_work_died(st, &item->lease, cfg->attempts, 0, message, &msg, retry_at, err);
	if (r < 0 || (r && fail_item(st, item, msg, err) < 0)) {
		free(msg);
		return -1;
	}
	free(msg);
	return (*result = ah_workflow_run_json(st, item->id, 0, 0, err)) ? 0 : -1;
}

static json_t *internal_error(const void *it, const char *message)
{
	const struct ah_workflow_item *item = it;

	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", item->id, "workflowSlug", item->slug,
			 "status", "error", "errorMessage", message, "internal", 1);
}

const struct ah_work_kind ah_workflow_work = {
	.name = "workflow",
	.what = "the workflow run",
	.worker = "the workflow driver",
	.timeout_env = "APPHUB_WORKFLOW_TIMEOUT_MS",
	.item_size = sizeof(struct ah_workflow_item),
	.config_size = sizeof(struct ah_workflow_config),
	.config_load = work_config_load,
	.limits = work_limits,
	.claim = work_claim,
	.request = work_request,
	.perform = work_perform,
	.fail = work_fail,
	.still_ours = still_ours_kind,
	.lost = lost,
	.internal_error = internal_error,
};
