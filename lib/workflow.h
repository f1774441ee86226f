#ifndef WORKFLOW_H
#define WORKFLOW_H

#include <stdint.h>
#include <jansson.h>
#include "job-runs.h"
#include "state.h"
#include "workflows.h"

/*
 * The workflow engine: the driver of runs (lib/workflow-driver.c, the work
 * kind "workflow" of lib/runner.h), assets and auto-materialization, and
 * the scheduler's tick (lib/workflow-sched.c).
 */
struct ah_workflow_config {
	int concurrency;	/* APPHUB_WORKFLOW_CONCURRENCY (8): steps at once */
	int64_t heartbeat_ms;	/* APPHUB_WORKFLOW_HEARTBEAT_TIMEOUT (60 s) */
	int64_t lease_ms;	/* APPHUB_WORKFLOW_LEASE_MS (30 s) */
	int attempts;		/* APPHUB_WORKFLOW_ATTEMPTS (25): drivers a run may lose */
	struct ah_job_config job;
	/* Each step's change as it happens ({stepId, status, ...}), or NULL. */
	void (*progress)(void *cls, json_t *step);
	void *progress_cls;
};

int ah_workflow_config_load(struct ah_workflow_config *cfg, struct ah_err *err);

/* The work kind of workflow runs, for the runner. */
extern const struct ah_work_kind ah_workflow_work;

/*
 * Inside the caller's write transaction: claims run only_id (or the next
 * due run) for owner. 1 with *item, 0 when none is due (or only_id's is
 * held by a live driver, or has ended).
 */
int ah_workflow_claim(struct ah_state *st, const struct ah_workflow_config *cfg,
		      const char *owner, const char *only_id, struct ah_workflow_item *item,
		      struct ah_err *err);

/*
 * Inside the caller's write transaction, for a step of run_id of workflow
 * slug that succeeded: each asset of produces ([{assetId, freshness?}])
 * recorded as produced now, with its asset.produced event, and the
 * workflows that consume it and materialize on upstream updates queued
 * (trigger auto-materialize).
 */
int ah_workflow_assets_produced(struct ah_state *st, const char *slug, const char *run_id,
				const char *step_id, json_t *produces, int64_t now_ms,
				struct ah_err *err);

/*
 * Inside the caller's write transaction, when run n has ended with status:
 * an auto-materialized run's failures back its workflow off, and an update
 * that came while it ran queues the next run.
 */
int ah_workflow_run_ended(struct ah_state *st, sqlite3_int64 n, const char *status,
			  int64_t now_ms, struct ah_err *err);

/*
 * One tick at now_ms: every due schedule window made into a run (at most
 * 25 per schedule with catch-up, else only the latest), and every asset
 * whose freshness lapsed recorded as expired, its consumers queued.
 * *out {runs: [{workflowSlug, scheduleName, window, runId}], expired:
 * [assetId...]}.
 */
int ah_workflow_tick(struct ah_state *st, int64_t now_ms, json_t **out, struct ah_err *err);

/*
 * Where a new schedule's windows start: now, or just before its
 * startWindow when it catches up from a start in the past.
 */
int64_t ah_workflow_schedule_cursor(json_t *sched, int64_t now_ms);

/*
 * slug's schedules (only name's when not NULL: 404 when it has none):
 * [{workflowSlug, name, cron, timezone, startWindow, endWindow, catchUp,
 * parameters, paused, source, lastWindowEnd, nextRunAt, createdAt,
 * updatedAt}], next run times as at now_ms.
 */
int ah_workflow_schedules_json(struct ah_state *st, const char *slug, const char *name,
			       int64_t now_ms, json_t **out, struct ah_err *err);
/* Adds normalized schedule sched (lib/cron.h) to slug; 409 when the name is taken. */
int ah_workflow_schedule_add(struct ah_state *st, const char *slug, json_t *sched,
			     int64_t now_ms, json_t **out, struct ah_err *err);
/* action "pause", "resume" or "rm" on slug's schedule name; *out the schedule (NULL for rm). */
int ah_workflow_schedule_set(struct ah_state *st, const char *slug, const char *name,
			     const char *action, int64_t now_ms, json_t **out, struct ah_err *err);

/*
 * The assets produced or consumed: {data: [{assetId, workflowSlug, runId,
 * stepId, producedAt, ttlMs, expiresAt?, fresh, consumers}]}; with asset,
 * that one's record (404 when unknown).
 */
int ah_workflow_assets_json(struct ah_state *st, const char *asset, int64_t now_ms,
			    json_t **out, struct ah_err *err);

#endif
