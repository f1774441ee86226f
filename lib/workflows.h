#ifndef WORKFLOWS_H
#define WORKFLOWS_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"
#include "work.h"

/*
 * Workflow records: definitions (a workflow per slug, every change a new
 * version), runs and their steps, schedules and assets. Definitions reach
 * this layer checked and normalized (lib/workflow-def.h); driving runs is
 * lib/workflow-driver.c's, schedules' times lib/cron.h's.
 *
 * A run goes pending -> running -> succeeded|failed|canceled; a step
 * pending -> running -> succeeded|failed, or skipped. Runs wait in the work
 * queue as "workflow" items whose subject is the run id; whoever holds the
 * item's lease drives the run.
 */
#define AH_WORKFLOW_RUN_KEY_MAX 120

/* A run's identity, as the driver and the queue know it. */
struct ah_workflow_item {
	struct ah_work_lease lease;
	sqlite3_int64 run;
	char id[72];		/* the run id (the work item's subject) */
	char slug[104];
};

/*
 * Inside the caller's write transaction: stores normalized definition def,
 * a new workflow (version 1) or a new version when it differs from the
 * current one (byte for byte, keys sorted). *wf is its row, *out {slug,
 * version, created, changed}.
 */
int ah_workflow_store(struct ah_state *st, json_t *def, const char *created_by,
		      sqlite3_int64 *wf, json_t **out, struct ah_err *err);

/*
 * Inside the caller's write transaction: workflow wf's schedules of source
 * "definition" made to match scheds (normalized schedules, each with
 * "cursorMs": where a new one's windows start); an existing schedule keeps
 * its cursor and pause. Schedules added through the API are left alone
 * unless a definition's schedule takes their name.
 */
int ah_workflow_schedules_sync(struct ah_state *st, sqlite3_int64 wf, json_t *scheds,
			       struct ah_err *err);

/*
 * Inside the caller's write transaction: schedule s (normalized, with
 * "cursorMs") of workflow wf from source: "definition" makes or replaces
 * the schedule of its name (1); "api" adds it, 0 when the name is taken.
 */
int ah_workflow_schedule_put(struct ah_state *st, sqlite3_int64 wf, json_t *s,
			     const char *source, struct ah_err *err);

/* [{slug, name, description, version, steps, schedules, createdAt, updatedAt}] by slug. */
json_t *ah_workflows_json(struct ah_state *st, struct ah_err *err);

/*
 * Workflow slug's definition at version (0: the current one), with *wf its
 * row and *ver the version; 404 naming what is missing.
 */
int ah_workflow_definition(struct ah_state *st, const char *slug, int version,
			   sqlite3_int64 *wf, int *ver, json_t **def, struct ah_err *err);

/*
 * {slug, name, description, version, versions, definition, createdAt,
 * updatedAt} of slug at version (0: current).
 */
json_t *ah_workflow_json(struct ah_state *st, const char *slug, int version, struct ah_err *err);

/* Removes slug, its versions, runs and schedules; 409 while a run is pending or running. */
int ah_workflow_delete(struct ah_state *st, const char *slug, struct ah_err *err);

/*
 * Queues a run of slug's current version, inside the caller's write
 * transaction: params {parameters?, param?: ["k=v"...], runKey?, trigger?}
 * with the definition's defaultParameters under them, checked against its
 * parametersSchema (422); a run key active in another run is 409 naming
 * it (*existing its id). *n and id (AH_RANDOM_ID_MAX) are the new run's.
 */
int ah_workflow_run_insert(struct ah_state *st, const char *slug, json_t *params,
			   sqlite3_int64 *n, char *id, char *existing, struct ah_err *err);

/*
 * The run's record: {id, workflowSlug, version, status, parameters,
 * context{steps, shared, lastUpdatedAt}, output, metrics{totalSteps,
 * completedSteps}, trigger, runKey, createdAt, startedAt, completedAt,
 * durationMs, errorMessage}; with steps, "steps" lists each step's row
 * {stepId, parent?, index?, status, attempt, jobRunId, result,
 * errorMessage, startedAt, completedAt}. By id, or by row n when id is
 * NULL.
 */
json_t *ah_workflow_run_json(struct ah_state *st, const char *id, sqlite3_int64 n, int steps,
			     struct ah_err *err);

/* workflow-runs.list: {slug?, status?, limit?, offset?} -> {total, data}, newest first. */
int ah_workflow_runs_list(struct ah_state *st, json_t *params, json_t **out,
			  struct ah_err *err);

/*
 * workflow-runs.cancel: {id}: a pending run is canceled at once (its steps
 * skipped, its item gone); a running one is marked for its driver, which
 * ends its job runs and skips the rest. 409 for a run that has ended.
 */
int ah_workflow_runs_cancel(struct ah_state *st, json_t *params, json_t **out,
			    struct ah_err *err);

/*
 * Inside the caller's write transaction: run n's pending steps (and
 * running ones too with running) skipped, each with its
 * workflow.step.skipped event.
 */
int ah_workflow_skip_steps(struct ah_state *st, sqlite3_int64 run, const char *slug,
			   const char *run_id, int running, struct ah_err *err);

/* Whether s is a run key: 1..120 of [A-Za-z0-9_.:-]. */
int ah_workflow_run_key_valid(const char *s);

#endif
