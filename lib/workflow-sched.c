/*
 * What starts workflow runs without a person: schedules (cron windows in a
 * time zone, each window one run, whoever ticks) and assets (a step that
 * produces one queues the workflows that consume it; a lapsed freshness
 * does too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "events.h"
#include "random-id.h"
#include "strbuf.h"
#include "timeutil.h"
#include "workflow.h"
#include "workflows.h"

#define CATCH_UP_MAX 25
/* Auto-materialization's backoff after failures: 1 s doubled, at most an hour. */
#define AUTO_BACKOFF_MS 1000
#define AUTO_BACKOFF_MAX_MS (3600 * 1000)

/* Queues a run of slug with trigger; a run key's conflict is not an error (0). */
static int queue_run(struct ah_state *st, const char *slug, json_t *params, char *id,
		     struct ah_err *err)
{
	char existing[AH_RANDOM_ID_MAX];
	struct ah_err why = AH_ERR_INIT;
	sqlite3_int64 n;

	if (ah_workflow_run_insert(st, slug, params, &n, id, existing, &why) == 0)
		return 1;
	if (why.status == 409)
		return 0;
	*err = why;
	return -1;
}

/* Whether workflow wf has an auto-materialized run pending or running. */
static int auto_active(struct ah_state *st, sqlite3_int64 wf, struct ah_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM workflow_runs WHERE workflow = ? AND status IN ('pending', 'running')"
		" AND trigger ->> 'type' = 'auto-materialize'";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	return ah_step_exists(st, stmt, "cannot read workflow runs", err);
}

/*
 * Workflow wf (slug) materializes because asset changed: a run now, unless
 * one is active or it is backing off after failures; then the asset waits
 * in workflow_auto for the run's end or the tick.
 */
static int materialize(struct ah_state *st, sqlite3_int64 wf, const char *slug,
		       const char *asset, int64_t now, struct ah_err *err)
{
	static const char sql_state[] =
		"SELECT not_before FROM workflow_auto WHERE workflow = ?";
	static const char sql_wait[] =
		"INSERT INTO workflow_auto(workflow, pending_asset) VALUES (?1, ?2)"
		" ON CONFLICT(workflow) DO UPDATE SET pending_asset = ?2";
	static const char sql_clear[] =
		"UPDATE workflow_auto SET pending_asset = NULL WHERE workflow = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql_state, err);
	int64_t not_before = 0;
	char id[AH_RANDOM_ID_MAX];
	json_t *params;
	int r, rc;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		not_before = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow state");
	if ((r = auto_active(st, wf, err)) < 0)
		return -1;
	if (r || not_before > now) {
		if (!(stmt = ah_stmt(st, sql_wait, err)))
			return -1;
		sqlite3_bind_int64(stmt, 1, wf);
		ah_bind_text(stmt, 2, asset);
		return ah_step_done(st, stmt, "cannot record workflow state", err);
	}
	params = json_pack("{s:{s:s, s:s}}", "trigger", "type", "auto-materialize", "assetId",
			   asset);
	r = queue_run(st, slug, params, id, err);
	json_decref(params);
	if (r < 0 || !(stmt = ah_stmt(st, sql_clear, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	return ah_step_done(st, stmt, "cannot record workflow state", err);
}

/* The workflows (but producer) whose current version consumes asset and materializes. */
static int queue_consumers(struct ah_state *st, const char *asset, const char *producer,
			   int64_t now, struct ah_err *err)
{
	static const char sql[] =
		"SELECT w.n, w.slug FROM workflows w JOIN workflow_versions v"
		" ON v.workflow = w.n AND v.version = w.version"
		" WHERE w.slug IS NOT ?2"
		" AND v.definition -> '$.autoMaterialize.onUpstreamUpdate' = 'true'"
		" AND EXISTS (SELECT 1 FROM json_each(v.definition, '$.steps') s,"
		"  json_each(s.value, '$.consumes') c WHERE c.value = ?1)"
		" ORDER BY w.slug";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	sqlite3_int64 wfs[64];
	char *slugs[64];
	int nr = 0, i, rc, ret = 0;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, asset);
	ah_bind_text(stmt, 2, producer);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && nr < 64) {
		wfs[nr] = sqlite3_column_int64(stmt, 0);
		slugs[nr++] = xstrdup(ah_col_text(stmt, 1));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = ah_sql_error(st, err, "cannot find the consumers of an asset");
	for (i = 0; i < nr; i++) {
		if (!ret && materialize(st, wfs[i], slugs[i], asset, now, err) < 0)
			ret = -1;
		free(slugs[i]);
	}
	return ret;
}

int ah_workflow_assets_produced(struct ah_state *st, const char *slug, const char *run_id,
				const char *step_id, json_t *produces, int64_t now_ms,
				struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO assets(asset_id, workflow_slug, run_id, step_id, produced_at,"
		" produced_ms, ttl_ms, expired_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)"
		" ON CONFLICT(asset_id) DO UPDATE SET workflow_slug = ?2, run_id = ?3,"
		" step_id = ?4, produced_at = ?5, produced_ms = ?6, ttl_ms = ?7, expired_ms = 0";
	char at[AH_ISO_LEN];
	json_t *p;
	size_t i;

	ah_iso_time(at, now_ms);
	json_array_foreach(produces, i, p) {
		const char *asset = json_string_value(json_object_get(p, "assetId"));
		json_t *ttl = json_object_get(json_object_get(p, "freshness"), "ttlMs");
		sqlite3_stmt *stmt = ah_stmt(st, sql, err);

		if (!stmt || !asset)
			return stmt ? 0 : -1;
		ah_bind_text(stmt, 1, asset);
		ah_bind_text(stmt, 2, slug);
		ah_bind_text(stmt, 3, run_id);
		ah_bind_text(stmt, 4, step_id);
		ah_bind_text(stmt, 5, at);
		sqlite3_bind_int64(stmt, 6, now_ms);
		if (json_is_integer(ttl))
			sqlite3_bind_int64(stmt, 7, json_integer_value(ttl));
		if (ah_step_done(st, stmt, "cannot record asset", err) < 0 ||
		    ah_event(st, "asset.produced", asset,
			     json_pack("{s:s, s:s, s:s, s:s, s:O?}", "assetId", asset,
				       "workflowSlug", slug, "runId", run_id, "stepId", step_id,
				       "ttlMs", ttl), err) < 0 ||
		    queue_consumers(st, asset, slug, now_ms, err) < 0)
			return -1;
	}
	return 0;
}

int ah_workflow_run_ended(struct ah_state *st, sqlite3_int64 n, const char *status,
			  int64_t now_ms, struct ah_err *err)
{
	static const char sql_run[] =
		"SELECT r.workflow, w.slug FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"
		" WHERE r.n = ? AND r.trigger ->> 'type' = 'auto-materialize'";
	static const char sql_ok[] =
		"INSERT INTO workflow_auto(workflow) VALUES (?1)"
		" ON CONFLICT(workflow) DO UPDATE SET failures = 0, not_before = 0";
	static const char sql_failed[] =
		"INSERT INTO workflow_auto(workflow, failures, not_before) VALUES (?1, 1, ?2 + ?3)"
		" ON CONFLICT(workflow) DO UPDATE SET failures = failures + 1,"
		" not_before = ?2 + min(?3 << min(failures, 20), ?4)";
	static const char sql_pending[] =
		"SELECT pending_asset FROM workflow_auto WHERE workflow = ?"
		" AND pending_asset IS NOT NULL AND not_before <= ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql_run, err);
	sqlite3_int64 wf = 0;
	char slug[104] = "", *asset = NULL;
	int rc, ret = -1;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		wf = sqlite3_column_int64(stmt, 0);
		snprintf(slug, sizeof(slug), "%s", ah_col_text(stmt, 1));
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot read workflow run");
	if (!(stmt = ah_stmt(st, strcmp(status, "succeeded") ? sql_failed : sql_ok, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	sqlite3_bind_int64(stmt, 2, now_ms);
	sqlite3_bind_int64(stmt, 3, AUTO_BACKOFF_MS);
	sqlite3_bind_int64(stmt, 4, AUTO_BACKOFF_MAX_MS);
	if (ah_step_done(st, stmt, "cannot record workflow state", err) < 0 ||
	    !(stmt = ah_stmt(st, sql_pending, err)))
		return -1;
	/* An update that came while this run ran: the next run, unless backing off. */
	sqlite3_bind_int64(stmt, 1, wf);
	sqlite3_bind_int64(stmt, 2, now_ms);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		asset = xstrdup(ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow state");
	ret = asset ? materialize(st, wf, slug, asset, now_ms, err) : 0;
	free(asset);
	return ret;
}

/* Assets whose freshness lapsed by now: recorded once, their consumers queued. */
static int expire_assets(struct ah_state *st, int64_t now, json_t *expired, struct ah_err *err)
{
	static const char sql[] =
		"SELECT asset_id, workflow_slug FROM assets WHERE ttl_ms IS NOT NULL"
		" AND expired_ms = 0 AND produced_ms + ttl_ms <= ? ORDER BY asset_id LIMIT 1000";
	static const char sql_mark[] = "UPDATE assets SET expired_ms = ?2 WHERE asset_id = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *rows = json_array(), *r;
	size_t i;
	int rc, ret = -1;

	if (!stmt)
		goto done;
	sqlite3_bind_int64(stmt, 1, now);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(rows, json_pack("[s, s?]", ah_col_text(stmt, 0),
						      sqlite3_column_type(stmt, 1) == SQLITE_NULL ?
						      NULL : ah_col_text(stmt, 1)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read assets");
		goto done;
	}
	json_array_foreach(rows, i, r) {
		const char *asset = json_string_value(json_array_get(r, 0));

		if (!(stmt = ah_stmt(st, sql_mark, err)))
			goto done;
		ah_bind_text(stmt, 1, asset);
		sqlite3_bind_int64(stmt, 2, now);
		if (ah_step_done(st, stmt, "cannot record asset", err) < 0 ||
		    ah_event(st, "asset.expired", asset, json_pack("{s:s}", "assetId", asset),
			     err) < 0 ||
		    queue_consumers(st, asset, NULL, now, err) < 0)
			goto done;
		json_array_append_new(expired, json_string(asset));
	}
	ret = 0;
done:
	json_decref(rows);
	return ret;
}

/* Auto-materializations that waited out a backoff. */
static int resume_waiting(struct ah_state *st, int64_t now, struct ah_err *err)
{
	static const char sql[] =
		"SELECT a.workflow, w.slug, a.pending_asset FROM workflow_auto a"
		" JOIN workflows w ON w.n = a.workflow"
		" WHERE a.pending_asset IS NOT NULL AND a.not_before <= ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *rows = json_array(), *r;
	size_t i;
	int rc, ret = -1;

	if (!stmt)
		goto done;
	sqlite3_bind_int64(stmt, 1, now);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(rows, json_pack("[I, s, s]",
						      (json_int_t)sqlite3_column_int64(stmt, 0),
						      ah_col_text(stmt, 1), ah_col_text(stmt, 2)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read workflow state");
		goto done;
	}
	json_array_foreach(rows, i, r)
		if (materialize(st, json_integer_value(json_array_get(r, 0)),
				json_string_value(json_array_get(r, 1)),
				json_string_value(json_array_get(r, 2)), now, err) < 0)
			goto done;
	ret = 0;
done:
	json_decref(rows);
	return ret;
}

/* A schedule as the tick reads it. */
struct sched {
	sqlite3_int64 n;
	char slug[104], name[72];
	struct ah_cron cron;
	struct ah_tz *tz;
	int64_t cursor, start, end;	/* start, end: 0 when open */
	int catch_up;
	json_t *parameters;
};

static int parse_window(const char *s, int64_t *ms)
{
	*ms = 0;
	return !s || !*s || ah_time_parse(s, ms) == 0 ? 0 : -1;
}

/* The time up to which schedule s's windows are due: now, or its endWindow if sooner. */
static int64_t last_due(const struct sched *s, int64_t now)
{
	return s->end && s->end < now ? s->end : now;
}

/*
 * The windows of schedule s due by now, oldest first: with catch-up up to
 * CATCH_UP_MAX after its cursor, else only the latest. ends[] their ends.
 */
static int due_windows(const struct sched *s, int64_t now, int64_t *ends)
{
	int64_t t = s->cursor, e;
	int nr = 0;

	if (s->start && t < s->start)
		t = s->start - 1;
	if (!s->catch_up) {
		/* The latest window that has ended by now, and not after endWindow. */
		e = ah_cron_prev(&s->cron, s->tz, last_due(s, now) + 1);
		if (e > t && (!s->start || e >= s->start))
			ends[nr++] = e;
		return nr;
	}
	while (nr < CATCH_UP_MAX) {
		e = ah_cron_next(&s->cron, s->tz, t);
		if (e < 0 || e > now || (s->end && e > s->end))
			break;
		ends[nr++] = e;
		t = e;
	}
	return nr;
}

static int set_cursor(struct ah_state *st, sqlite3_int64 n, int64_t cursor, struct ah_err *err)
{
	static const char sql[] = "UPDATE workflow_schedules SET cursor_ms = ?2 WHERE n = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_int64(stmt, 2, cursor);
	return ah_step_done(st, stmt, "cannot record schedule", err);
}

/* Makes schedule s's due windows into runs and moves its cursor past them. */
static int tick_one(struct ah_state *st, struct sched *s, int64_t now, json_t *runs,
		    struct ah_err *err)
{
	int64_t ends[CATCH_UP_MAX], cursor = s->cursor;
	int nr = due_windows(s, now, ends), i;

	for (i = 0; i < nr; i++) {
		char start_iso[AH_ISO_LEN], end_iso[AH_ISO_LEN], id[AH_RANDOM_ID_MAX] = "";
		int64_t start = ah_cron_prev(&s->cron, s->tz, ends[i]);
		json_t *params;
		char *key;
		int r;

		ah_iso_time(end_iso, ends[i]);
		ah_iso_time(start_iso, start > 0 ? start : ends[i]);
		key = xstrfmt("schedule:%s:%s", s->name, end_iso);
		params = json_pack("{s:O, s:s, s:{s:s, s:s, s:{s:s, s:s}}}", "parameters",
				   s->parameters, "runKey", key, "trigger", "type", "schedule",
				   "scheduleName", s->name, "window", "start", start_iso, "end",
				   end_iso);
		r = queue_run(st, s->slug, params, id, err);
		json_decref(params);
		free(key);
		if (r < 0)
			return -1;
		json_array_append_new(runs, json_pack("{s:s, s:s, s:{s:s, s:s}, s:s?}",
						      "workflowSlug", s->slug, "scheduleName",
						      s->name, "window", "start", start_iso, "end",
						      end_iso, "runId", r ? id : NULL));
		cursor = ends[i];
	}
	if (!s->catch_up) {
		/* Without catch-up, windows missed are let go. */
		int64_t last = ah_cron_prev(&s->cron, s->tz, last_due(s, now) + 1);

		if (last > cursor)
			cursor = last;
	}
	return cursor != s->cursor ? set_cursor(st, s->n, cursor, err) : 0;
}

static void sched_release(struct sched *s)
{
	ah_tz_free(s->tz);
	json_decref(s->parameters);
}

/* Reads row stmt into s; -1 with err for a schedule that no longer parses. */
static int sched_read(sqlite3_stmt *stmt, struct sched *s, struct ah_err *err)
{
	memset(s, 0, sizeof(*s));
	s->n = sqlite3_column_int64(stmt, 0);
	snprintf(s->slug, sizeof(s->slug), "%s", ah_col_text(stmt, 1));
	snprintf(s->name, sizeof(s->name), "%s", ah_col_text(stmt, 2));
	s->cursor = sqlite3_column_int64(stmt, 7);
	s->catch_up = sqlite3_column_int(stmt, 6);
	s->parameters = json_loads(ah_col_text(stmt, 8), 0, NULL);
	if (!s->parameters)
		s->parameters = json_object();
	if (ah_cron_parse(ah_col_text(stmt, 3), &s->cron, err) < 0 ||
	    ah_tz_load(ah_col_text(stmt, 4), &s->tz, err) < 0)
		return -1;
	if (parse_window(sqlite3_column_type(stmt, 9) == SQLITE_NULL ? NULL :
			 ah_col_text(stmt, 9), &s->start) < 0 ||
	    parse_window(sqlite3_column_type(stmt, 10) == SQLITE_NULL ? NULL :
			 ah_col_text(stmt, 10), &s->end) < 0)
		return ah_invalid(err, "schedule '%s': bad window", s->name);
	return 0;
}

#define SCHED_COLUMNS \
	"SELECT s.n, w.slug, s.name, s.cron, s.timezone, s.paused, s.catch_up, s.cursor_ms," \
	" s.parameters, s.start_window, s.end_window, s.source, s.created_at, s.updated_at" \
	" FROM workflow_schedules s JOIN workflows w ON w.n = s.workflow"

int ah_workflow_tick(struct ah_state *st, int64_t now_ms, json_t **out, struct ah_err *err)
{
	static const char sql[] = SCHED_COLUMNS " WHERE NOT s.paused ORDER BY w.slug, s.name";
	json_t *runs = json_array(), *expired = json_array(), *skipped = json_array();
	sqlite3_stmt *stmt;
	struct sched *scheds = NULL;
	size_t nr = 0, alloc = 0, i;
	int rc, ret = -1;

	*out = NULL;
	/* One transaction: two tickers at once take turns, the second sees the first's cursors. */
	if (ah_begin_write(st, err) < 0)
		goto done;
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct ah_err why = AH_ERR_INIT;

		ALLOC_GROW(scheds, nr + 1, alloc);
		if (sched_read(stmt, &scheds[nr], &why) < 0) {
			json_array_append_new(skipped, json_pack("{s:s, s:s, s:s}", "workflowSlug",
								 scheds[nr].slug, "scheduleName",
								 scheds[nr].name, "errorMessage",
								 why.msg));
			sched_release(&scheds[nr]);
			continue;
		}
		nr++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read schedules");
		goto done;
	}
	for (i = 0; i < nr; i++)
		if (tick_one(st, &scheds[i], now_ms, runs, err) < 0)
			goto done;
	if (expire_assets(st, now_ms, expired, err) < 0 || resume_waiting(st, now_ms, err) < 0 ||
	    ah_commit(st, err) < 0)
		goto done;
	*out = json_pack("{s:O, s:O, s:O}", "runs", runs, "expired", expired, "skipped", skipped);
	ret = 0;
done:
	if (ret < 0)
		ah_rollback(st);
	for (i = 0; i < nr; i++)
		sched_release(&scheds[i]);
	free(scheds);
	json_decref(runs);
	json_decref(expired);
	json_decref(skipped);
	return ret;
}

int64_t ah_workflow_schedule_cursor(json_t *sched, int64_t now_ms)
{
	const char *start = json_string_value(json_object_get(sched, "startWindow"));
	int64_t ms;

	/* Catch-up from a start in the past makes its windows since; else from now. */
	if (json_is_true(json_object_get(sched, "catchUp")) && start &&
	    !ah_time_parse(start, &ms) && ms < now_ms)
		return ms - 1;
	return now_ms;
}

static json_t *sched_json(sqlite3_stmt *stmt, int64_t now)
{
	struct ah_err why = AH_ERR_INIT;
	struct sched s;
	json_t *o, *params = json_loads(ah_col_text(stmt, 8), 0, NULL);
	char at[AH_ISO_LEN];
	int ok = sched_read(stmt, &s, &why) == 0;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:b, s:o, s:b, s:s, s:s, s:s}",
		      "workflowSlug", ah_col_text(stmt, 1), "name", ah_col_text(stmt, 2),
		      "cron", ah_col_text(stmt, 3), "timezone", ah_col_text(stmt, 4),
		      "startWindow", sqlite3_column_type(stmt, 9) == SQLITE_NULL ? NULL :
		      ah_col_text(stmt, 9),
		      "endWindow", sqlite3_column_type(stmt, 10) == SQLITE_NULL ? NULL :
		      ah_col_text(stmt, 10),
		      "catchUp", sqlite3_column_int(stmt, 6),
		      "parameters", params ? params : json_object(),
		      "paused", sqlite3_column_int(stmt, 5), "source", ah_col_text(stmt, 11),
		      "createdAt", ah_col_text(stmt, 12), "updatedAt", ah_col_text(stmt, 13));
	ah_iso_time(at, s.cursor);
	json_object_set_new(o, "lastWindowEnd", json_string(at));
	if (ok) {
		int64_t from = s.cursor > now ? s.cursor : now, next;

		if (s.start && from < s.start)
			from = s.start - 1;
		next = ah_cron_next(&s.cron, s.tz, from);
		if (next > 0 && (!s.end || next <= s.end) && !sqlite3_column_int(stmt, 5)) {
			ah_iso_time(at, next);
			json_object_set_new(o, "nextRunAt", json_string(at));
		} else {
			json_object_set_new(o, "nextRunAt", json_null());
		}
	} else {
		json_object_set_new(o, "nextRunAt", json_null());
		json_object_set_new(o, "errorMessage", json_string(why.msg));
	}
	sched_release(&s);
	return o;
}

/* slug's row, 404 when there is none. */
static int workflow_row(struct ah_state *st, const char *slug, sqlite3_int64 *wf,
			struct ah_err *err)
{
	static const char sql[] = "SELECT n FROM workflows WHERE slug = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, slug);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*wf = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return ah_not_found(err, "workflow '%.100s' not found", slug);
	return rc == SQLITE_ROW ? 0 : ah_sql_error(st, err, "cannot read workflow");
}

int ah_workflow_schedules_json(struct ah_state *st, const char *slug, const char *name,
			       int64_t now_ms, json_t **out, struct ah_err *err)
{
	static const char sql[] = SCHED_COLUMNS
		" WHERE w.slug = ?1 AND (?2 IS NULL OR s.name = ?2) ORDER BY s.name";
	sqlite3_stmt *stmt;
	sqlite3_int64 wf;
	json_t *data = json_array();
	int rc;

	*out = NULL;
	if (workflow_row(st, slug, &wf, err) < 0 || !(stmt = ah_stmt(st, sql, err))) {
		json_decref(data);
		return -1;
	}
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, name);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(data, sched_json(stmt, now_ms));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(data);
		return ah_sql_error(st, err, "cannot read schedules");
	}
	if (name && !json_array_size(data)) {
		json_decref(data);
		return ah_not_found(err, "workflow '%.100s' has no schedule '%.64s'", slug, name);
	}
	*out = data;
	return 0;
}

int ah_workflow_schedule_add(struct ah_state *st, const char *slug, json_t *sched,
			     int64_t now_ms, json_t **out, struct ah_err *err)
{
	const char *name = json_string_value(json_object_get(sched, "name"));
	json_t *s = json_deep_copy(sched), *list = NULL;
	sqlite3_int64 wf;
	int r;

	*out = NULL;
	json_object_set_new(s, "cursorMs", json_integer(ah_workflow_schedule_cursor(sched, now_ms)));
	if (ah_begin_write(st, err) < 0)
		goto fail;
	if (workflow_row(st, slug, &wf, err) < 0 ||
	    (r = ah_workflow_schedule_put(st, wf, s, "api", err)) < 0)
		goto fail;
	if (!r) {
		ah_conflict(err, "workflow '%.100s' already has a schedule '%.64s'", slug, name);
		goto fail;
	}
	if (ah_event(st, "workflow.schedule.added", slug, json_pack("{s:s}", "name", name),
		     err) < 0 ||
	    ah_workflow_schedules_json(st, slug, name, now_ms, &list, err) < 0 ||
	    ah_commit(st, err) < 0)
		goto fail;
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	json_decref(s);
	return 0;
fail:
	ah_rollback(st);
	json_decref(list);
	json_decref(s);
	return -1;
}

int ah_workflow_schedule_set(struct ah_state *st, const char *slug, const char *name,
			     const char *action, int64_t now_ms, json_t **out, struct ah_err *err)
{
	static const char sql_pause[] =
		"UPDATE workflow_schedules SET paused = ?3, updated_at = ?4"
		" WHERE workflow = ?1 AND name = ?2";
	/* Resumed, it starts from now: the windows it slept through are let go. */
	static const char sql_resume[] =
		"UPDATE workflow_schedules SET paused = ?3, updated_at = ?4,"
		" cursor_ms = CASE WHEN paused AND NOT catch_up THEN max(cursor_ms, ?5)"
		"  ELSE cursor_ms END WHERE workflow = ?1 AND name = ?2";
	static const char sql_rm[] =
		"DELETE FROM workflow_schedules WHERE workflow = ?1 AND name = ?2";
	int rm = !strcmp(action, "rm"), pause = !strcmp(action, "pause");
	sqlite3_stmt *stmt;
	sqlite3_int64 wf;
	json_t *list = NULL;
	char now[AH_ISO_LEN], *event;
	int rc;

	*out = NULL;
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (workflow_row(st, slug, &wf, err) < 0 ||
	    ah_workflow_schedules_json(st, slug, name, now_ms, &list, err) < 0 ||
	    !(stmt = ah_stmt(st, rm ? sql_rm : pause ? sql_pause : sql_resume, err)))
		goto fail;
	ah_iso_time(now, now_ms);
	sqlite3_bind_int64(stmt, 1, wf);
	ah_bind_text(stmt, 2, name);
	if (!rm) {
		sqlite3_bind_int(stmt, 3, pause);
		ah_bind_text(stmt, 4, now);
		if (!pause)
			sqlite3_bind_int64(stmt, 5, now_ms);
	}
	if (ah_step_done(st, stmt, "cannot record schedule", err) < 0)
		goto fail;
	event = xstrfmt("workflow.schedule.%s", rm ? "removed" : pause ? "paused" : "resumed");
	rc = ah_event(st, event, slug, json_pack("{s:s}", "name", name), err);
	free(event);
	if (rc < 0)
		goto fail;
	if (!rm) {
		json_decref(list);
		list = NULL;
		if (ah_workflow_schedules_json(st, slug, name, now_ms, &list, err) < 0)
			goto fail;
	}
	if (ah_commit(st, err) < 0)
		goto fail;
	*out = rm ? NULL : json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
fail:
	ah_rollback(st);
	json_decref(list);
	return -1;
}

static json_t *asset_row(sqlite3_stmt *stmt)
{
	int64_t produced = sqlite3_column_int64(stmt, 5), ttl = sqlite3_column_int64(stmt, 6);
	int has_ttl = sqlite3_column_type(stmt, 6) != SQLITE_NULL;
	int64_t now = sqlite3_column_int64(stmt, 8);
	json_t *consumers = json_loads(ah_col_text(stmt, 7), 0, NULL);
	char at[AH_ISO_LEN];
	json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:b, s:o}",
			      "assetId", ah_col_text(stmt, 0),
			      "workflowSlug", sqlite3_column_type(stmt, 1) == SQLITE_NULL ? NULL :
			      ah_col_text(stmt, 1),
			      "runId", sqlite3_column_type(stmt, 2) == SQLITE_NULL ? NULL :
			      ah_col_text(stmt, 2),
			      "stepId", sqlite3_column_type(stmt, 3) == SQLITE_NULL ? NULL :
			      ah_col_text(stmt, 3),
			      "producedAt", sqlite3_column_type(stmt, 4) == SQLITE_NULL ? NULL :
			      ah_col_text(stmt, 4),
			      "ttlMs", has_ttl ? json_integer(ttl) : json_null(),
			      "fresh", produced && (!has_ttl || produced + ttl > now),
			      "consumers", consumers ? consumers : json_array());

	if (has_ttl && produced) {
		ah_iso_time(at, produced + ttl);
		json_object_set_new(o, "expiresAt", json_string(at));
	}
	return o;
}

int ah_workflow_assets_json(struct ah_state *st, const char *asset, int64_t now_ms,
			    json_t **out, struct ah_err *err)
{
	/* Assets produced, and those only consumed so far (never produced). */
	static const char sql[] =
		"WITH defs AS (SELECT w.slug, v.definition FROM workflows w JOIN workflow_versions v"
		"  ON v.workflow = w.n AND v.version = w.version),"
		" consumed AS (SELECT DISTINCT c.value AS asset_id, d.slug FROM defs d,"
		"  json_each(d.definition, '$.steps') s, json_each(s.value, '$.consumes') c),"
		" ids AS (SELECT asset_id FROM assets UNION SELECT asset_id FROM consumed)"
		" SELECT i.asset_id, a.workflow_slug, a.run_id, a.step_id, a.produced_at,"
		"  ifnull(a.produced_ms, 0), a.ttl_ms,"
		"  (SELECT json_group_array(slug) FROM (SELECT slug FROM consumed c"
		"   WHERE c.asset_id = i.asset_id ORDER BY slug)), ?2"
		" FROM ids i LEFT JOIN assets a ON a.asset_id = i.asset_id"
		" WHERE ?1 IS NULL OR i.asset_id = ?1 ORDER BY i.asset_id";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *rows;

	*out = NULL;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, asset);
	sqlite3_bind_int64(stmt, 2, now_ms);
	if (!(rows = ah_step_rows(st, stmt, asset_row, "cannot read assets", err)))
		return -1;
	if (asset) {
		if (!json_array_size(rows)) {
			json_decref(rows);
			return ah_not_found(err, "asset '%.200s' not found", asset);
		}
		*out = json_incref(json_array_get(rows, 0));
		json_decref(rows);
		return 0;
	}
	*out = json_pack("{s:o}", "data", rows);
	return 0;
}
