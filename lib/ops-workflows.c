/*
 * The operations of workflows: definitions, runs, schedules and assets
 * (lib/workflows.h, lib/workflow.h), and driving runs (lib/workflow-driver.c)
 * through the runner; carried by apphub-workflow and apphub-serve.
 */
#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "json-schema.h"
#include "ops.h"
#include "random-id.h"
#include "runner.h"
#include "timeutil.h"
#include "workflow-def.h"
#include "workflow.h"
#include "workflows.h"

/* The clock: params' "now" (RFC 3339, for tests and for looking ahead), else the time. */
static int now_of(json_t *params, int64_t *now, struct ah_err *err)
{
	const char *s;

	if (ah_param_str(params, "now", &s, err) < 0)
		return -1;
	if (!s || !*s) {
		*now = ah_now_ms();
		return 0;
	}
	if (ah_time_parse(s, now) < 0)
		return ah_invalid(err, "invalid time '%.60s': expected RFC 3339 (2026-03-29T01:30:00Z)",
				  s);
	return 0;
}

/*
 * The definition of workflows.add: params' "text" (JSON or YAML, as a file
 * holds it), else "definition", else params itself (POST /workflows with
 * the definition as its body).
 */
static int definition_of(json_t *params, json_t **def, struct ah_err *err)
{
	json_t *text = json_object_get(params, "text");

	if (json_is_string(text))
		return ah_workflow_def_parse(json_string_value(text), json_string_length(text), def,
					     err);
	if (json_is_object(json_object_get(params, "definition"))) {
		*def = json_incref(json_object_get(params, "definition"));
		return 0;
	}
	*def = json_incref(params);
	return 0;
}

static int op_add(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *def = NULL, *norm = NULL, *scheds, *s;
	struct ah_state *st;
	sqlite3_int64 wf;
	int64_t now = ah_now_ms();
	size_t i;
	int ret = -1;

	*out = NULL;
	if (definition_of(params, &def, err) < 0 || ah_workflow_def_check(def, &norm, err) < 0 ||
	    ah_ctx_state(ctx, &st, err) < 0)
		goto done;
	scheds = json_deep_copy(json_object_get(norm, "schedules"));
	json_array_foreach(scheds, i, s)
		json_object_set_new(s, "cursorMs",
				    json_integer(ah_workflow_schedule_cursor(s, now)));
	if (ah_begin_write(st, err) < 0) {
		json_decref(scheds);
		goto done;
	}
	if (ah_workflow_store(st, norm, ctx->subject, &wf, out, err) < 0 ||
	    ah_workflow_schedules_sync(st, wf, scheds, err) < 0 || ah_commit(st, err) < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
	} else {
		ret = 0;
	}
	json_decref(scheds);
done:
	json_decref(def);
	json_decref(norm);
	return ret;
}

static int op_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *data = ah_workflows_json(st, err);

	(void)params;
	if (!data)
		return -1;
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

static int op_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug;
	long version;
	json_t *def, *sched = NULL;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_int(params, "version", 0, 0, 1000000000, &version, err) < 0 ||
	    !(*out = ah_workflow_json(st, slug, (int)version, err)))
		return -1;
	def = json_object_get(*out, "definition");
	json_object_set(*out, "steps", json_object_get(def, "steps"));
	json_object_set(*out, "dag", json_object_get(def, "dag"));
	if (ah_workflow_schedules_json(st, slug, NULL, ah_now_ms(), &sched, err) < 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	json_object_set_new(*out, "schedules", sched);
	return 0;
}

static int op_rm(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_workflow_delete(st, slug, err) < 0)
		return -1;
	*out = json_pack("{s:s, s:b}", "slug", slug, "removed", 1);
	return 0;
}

/* workflows.run: {slug, parameters?, param?, runKey?} -> the pending run, queued. */
static int op_run(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	char id[AH_RANDOM_ID_MAX], existing[AH_RANDOM_ID_MAX];
	struct ah_state *st;
	const char *slug;
	sqlite3_int64 n;
	json_t *p;
	int r;

	*out = NULL;
	if (ah_param_need_str(params, "slug", &slug, err) < 0 || ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	/* Who asked, and a trigger only the hub itself gives, are not the caller's to set. */
	p = json_deep_copy(params);
	json_object_del(p, "trigger");
	if (ctx->subject)
		json_object_set_new(p, "createdBy", json_string(ctx->subject));
	else
		json_object_del(p, "createdBy");
	if (ah_begin_write(st, err) < 0) {
		json_decref(p);
		return -1;
	}
	r = ah_workflow_run_insert(st, slug, p, &n, id, existing, err);
	json_decref(p);
	if (r < 0 || !(*out = ah_workflow_run_json(st, NULL, n, 0, err)) || ah_commit(st, err) < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int run_id(json_t *params, const char **id, struct ah_err *err)
{
	if (ah_param_need_str(params, "id", id, err) < 0)
		return -1;
	if (!ah_random_id_valid(*id, 'w'))
		return ah_not_found(err, "workflow run '%.40s' not found", *id);
	return 0;
}

static int op_run_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;

	if (run_id(params, &id, err) < 0)
		return -1;
	return (*out = ah_workflow_run_json(st, id, 0, 1, err)) ? 0 : -1;
}

/* A step's change, to the caller's progress as {type: "step", ...}. */
static void step_progress(void *cls, json_t *step)
{
	struct ah_ctx *ctx = cls;
	json_t *line = json_deep_copy(step);

	json_object_set_new(line, "type", json_string("step"));
	ctx->progress(ctx, line, NULL);
	json_decref(line);
}

/*
 * workflow-runs.drive: {id} -> the run once it has ended, driven here
 * with each step's change to ctx->progress; {claimed: false, run} when
 * another driver holds it (the caller follows it instead).
 */
static int op_drive(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_workflow_config cfg;
	struct ah_workflow_item item;
	struct ah_state *st;
	char owner[128];
	const char *id;
	int r;

	*out = NULL;
	if (run_id(params, &id, err) < 0 || ah_workflow_config_load(&cfg, err) < 0 ||
	    ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	if (ctx->progress) {
		cfg.progress = step_progress;
		cfg.progress_cls = ctx;
	}
	ah_work_owner(owner, sizeof(owner));
	if (ah_begin_write(st, err) < 0)
		return -1;
	r = ah_workflow_claim(st, &cfg, owner, id, &item, err);
	if (r < 0 || ah_commit(st, err) < 0) {
		ah_rollback(st);
		return -1;
	}
	if (!r) {
		json_t *run = ah_workflow_run_json(st, id, 0, 1, err);

		if (!run)
			return -1;
		*out = json_pack("{s:b, s:o}", "claimed", 0, "run", run);
		return 0;
	}
	return ah_runner_perform(ctx->dir, st, &ah_workflow_work, &cfg, &item, NULL, out, err);
}

/* workflow-runs.work: {jobs?, watch?} -> {data: [run...]}: apphub workflow work. */
static int op_work(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	return ah_runner_work(ctx, &ah_workflow_work, params, out, err);
}

static int op_next(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	(void)params;
	return ah_runner_next(ctx, &ah_workflow_work, out, err);
}

static int op_tick(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	int64_t now;

	if (now_of(params, &now, err) < 0)
		return -1;
	return ah_workflow_tick(st, now, out, err);
}

static int op_schedules(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug;
	json_t *data;
	int64_t now;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 || now_of(params, &now, err) < 0 ||
	    ah_workflow_schedules_json(st, slug, NULL, now, &data, err) < 0)
		return -1;
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

static int op_schedule_add(struct ah_state *st, json_t *params, json_t **out,
			   struct ah_err *err)
{
	json_t *sched = json_deep_copy(params), *norm = NULL, *given;
	const char *slug;
	int64_t now;
	int ret = -1;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 || now_of(params, &now, err) < 0)
		goto done;
	json_object_del(sched, "slug");
	json_object_del(sched, "now");
	/* --param k=v and --parameters-json, as a run takes them. */
	if (json_object_get(sched, "param")) {
		if (!(given = ah_json_schema_parameters(sched, NULL, err)))
			goto done;
		json_object_set_new(sched, "parameters", given);
		json_object_del(sched, "param");
	}
	if (ah_schedule_check(sched, &norm, err) < 0 ||
	    ah_workflow_schedule_add(st, slug, norm, now, out, err) < 0)
		goto done;
	ret = 0;
done:
	json_decref(sched);
	json_decref(norm);
	return ret;
}

static int schedule_set(struct ah_state *st, json_t *params, const char *action, json_t **out,
			struct ah_err *err)
{
	const char *slug, *name;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_need_str(params, "name", &name, err) < 0 ||
	    ah_workflow_schedule_set(st, slug, name, action, ah_now_ms(), out, err) < 0)
		return -1;
	if (!*out)
		*out = json_pack("{s:s, s:s, s:b}", "workflowSlug", slug, "name", name, "removed", 1);
	return 0;
}

static int op_schedule_pause(struct ah_state *st, json_t *params, json_t **out,
			     struct ah_err *err)
{
	return schedule_set(st, params, "pause", out, err);
}

static int op_schedule_resume(struct ah_state *st, json_t *params, json_t **out,
			      struct ah_err *err)
{
	return schedule_set(st, params, "resume", out, err);
}

static int op_schedule_rm(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	return schedule_set(st, params, "rm", out, err);
}

static int op_assets(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;
	int64_t now;

	if (ah_param_str(params, "id", &id, err) < 0 || now_of(params, &now, err) < 0)
		return -1;
	return ah_workflow_assets_json(st, id && *id ? id : NULL, now, out, err);
}

const struct ah_op ops_workflows[] = {
	{ .name = "assets.list", .method = "GET", .path = "/assets",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_assets,
	  .summary = "Assets with their last producing run and whether they are fresh" },
	{ .name = "assets.show", .method = "GET", .path = "/assets/:id",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_assets, .summary = "One asset" },
	{ .name = "workflow-runs.cancel", .method = "POST", .path = "/workflow-runs/:id/cancel",
	  .scope = SCOPE_WORKFLOWS_RUN, .on_state = ah_workflow_runs_cancel,
	  .summary = "Cancel a workflow run: its job runs ended, the rest skipped" },
	{ .name = "workflow-runs.drive", .scope = SCOPE_WORKFLOWS_RUN, .fn = op_drive,
	  .summary = "Drive a queued workflow run to its end in this process" },
	{ .name = "workflow-runs.list", .method = "GET", .path = "/workflow-runs",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = ah_workflow_runs_list,
	  .summary = "List workflow runs, newest first" },
	{ .name = "workflow-runs.next", .method = "POST", .path = "/workflow-runs/next",
	  .scope = SCOPE_WORKFLOWS_RUN, .fn = op_next,
	  .summary = "Drive the next workflow run due in the queue to its end" },
	{ .name = "workflow-runs.show", .method = "GET", .path = "/workflow-runs/:id",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_run_show,
	  .summary = "A workflow run with its steps" },
	{ .name = "workflow-runs.work", .scope = SCOPE_WORKFLOWS_RUN, .fn = op_work,
	  .summary = "Drive the queued workflow runs in worker processes" },
	{ .name = "workflows.add", .method = "POST", .path = "/workflows",
	  .scope = SCOPE_WORKFLOWS_WRITE, .fn = op_add, .created = 1,
	  .summary = "Add a workflow definition, or a new version of one" },
	{ .name = "workflows.list", .method = "GET", .path = "/workflows",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_list, .summary = "List workflows" },
	{ .name = "workflows.rm", .method = "DELETE", .path = "/workflows/:slug",
	  .scope = SCOPE_WORKFLOWS_WRITE, .on_state = op_rm,
	  .summary = "Remove a workflow with its versions, runs and schedules" },
	{ .name = "workflows.run", .method = "POST", .path = "/workflows/:slug/run",
	  .scope = SCOPE_WORKFLOWS_RUN, .fn = op_run, .accepted = 1,
	  .summary = "Queue a run of a workflow with parameters checked against its schema" },
	{ .name = "workflows.runs", .method = "GET", .path = "/workflows/:slug/runs",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = ah_workflow_runs_list,
	  .summary = "List a workflow's runs, newest first" },
	{ .name = "workflows.schedule-add", .method = "POST", .path = "/workflows/:slug/schedules",
	  .scope = SCOPE_WORKFLOWS_WRITE, .on_state = op_schedule_add, .created = 1,
	  .summary = "Add a schedule to a workflow" },
	{ .name = "workflows.schedule-pause", .method = "POST",
	  .path = "/workflows/:slug/schedules/:name/pause", .scope = SCOPE_WORKFLOWS_WRITE,
	  .on_state = op_schedule_pause, .summary = "Pause a workflow's schedule" },
	{ .name = "workflows.schedule-resume", .method = "POST",
	  .path = "/workflows/:slug/schedules/:name/resume", .scope = SCOPE_WORKFLOWS_WRITE,
	  .on_state = op_schedule_resume, .summary = "Resume a paused schedule from now" },
	{ .name = "workflows.schedule-rm", .method = "DELETE",
	  .path = "/workflows/:slug/schedules/:name", .scope = SCOPE_WORKFLOWS_WRITE,
	  .on_state = op_schedule_rm, .summary = "Remove a workflow's schedule" },
	{ .name = "workflows.schedules", .method = "GET", .path = "/workflows/:slug/schedules",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_schedules,
	  .summary = "A workflow's schedules with their next run times" },
	{ .name = "workflows.show", .method = "GET", .path = "/workflows/:slug",
	  .scope = SCOPE_WORKFLOWS_READ, .on_state = op_show,
	  .summary = "A workflow: its steps, the DAG's roots, order and edges, and schedules" },
	{ .name = "workflows.tick", .method = "POST", .path = "/workflows/tick",
	  .scope = SCOPE_WORKFLOWS_RUN, .on_state = op_tick,
	  .summary = "One scheduler tick: due schedule windows and lapsed assets made into runs" },
	{ NULL },
};
