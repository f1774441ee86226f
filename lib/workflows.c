/*
 * Workflow records: definitions and their versions, runs and their steps'
 * rows as the driver leaves them, listing and cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "json-schema.h"
#include "params.h"
#include "random-id.h"
#include "strbuf.h"
#include "timeutil.h"
#include "work.h"
#include "workflows.h"

static char *dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int ah_workflow_run_key_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > AH_WORKFLOW_RUN_KEY_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

/* The current version's text of slug: 1 with *wf, *ver and *text (owned), 0 when none. */
static int current(struct ah_state *st, const char *slug, sqlite3_int64 *wf, int *ver,
		   char **text, struct ah_err *err)
{
	static const char sql[] =
		"SELECT w.n, w.version, v.definition FROM workflows w"
		" JOIN workflow_versions v ON v.workflow = w.n AND v.version = w.version"
		" WHERE w.slug = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, slug);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*wf = sqlite3_column_int64(stmt, 0);
		*ver = sqlite3_column_int(stmt, 1);
		*text = xstrdup(ah_col_text(stmt, 2));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow");
	return rc == SQLITE_ROW;
}

int ah_workflow_store(struct ah_state *st, json_t *def, const char *created_by,
		      sqlite3_int64 *wf, json_t **out, struct ah_err *err)
{
	static const char sql_new[] =
		"INSERT INTO workflows(slug, name, description, version, created_by, created_at,"
		" updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5)";
	static const char sql_update[] =
		"UPDATE workflows SET name = ?2, description = ?3, version = ?4, updated_at = ?5"
		" WHERE n = ?1";
	static const char sql_version[] =
		"INSERT INTO workflow_versions(workflow, version, definition, created_by, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	const char *slug = json_string_value(json_object_get(def, "slug"));
	const char *name = json_string_value(json_object_get(def, "name"));
	const char *description = json_string_value(json_object_get(def, "description"));
	char now[AH_ISO_LEN], *text = dump(def), *old = NULL;
	sqlite3_stmt *stmt;
	int ver = 0, r, ret = -1, created = 0, changed = 1;

	*out = NULL;
	ah_now_iso(now);
	if ((r = current(st, slug, wf, &ver, &old, err)) < 0)
		goto done;
	if (!r) {
		if (!(stmt = ah_stmt(st, sql_new, err)))
			goto done;
		ah_bind_text(stmt, 1, slug);
		ah_bind_text(stmt, 2, name ? name : slug);
		ah_bind_text(stmt, 3, description);
		ah_bind_text(stmt, 4, created_by);
		ah_bind_text(stmt, 5, now);
		if (ah_step_done(st, stmt, "cannot record workflow", err) < 0)
			goto done;
		*wf = sqlite3_last_insert_rowid(st->db);
		ver = 1;
		created = 1;
	} else if (!strcmp(old, text)) {
		changed = 0;
	} else {
		if (!(stmt = ah_stmt(st, sql_update, err)))
			goto done;
		sqlite3_bind_int64(stmt, 1, *wf);
		ah_bind_text(stmt, 2, name ? name : slug);
		ah_bind_text(stmt, 3, description);
		sqlite3_bind_int(stmt, 4, ++ver);
		ah_bind_text(stmt, 5, now);
		if (ah_step_done(st, stmt, "cannot record workflow", err) < 0)
			goto done;
	}
	if (changed) {
		if (!(stmt = ah_stmt(st, sql_version, err)))
			goto done;
		sqlite3_bind_int64(stmt, 1, *wf);
		sqlite3_bind_int(stmt, 2, ver);
		ah_bind_text(stmt, 3, text);
		ah_bind_text(stmt, 4, created_by);
		ah_bind_text(stmt, 5, now);
		if (ah_step_done(st, stmt, "cannot record workflow version", err) < 0 ||
		    ah_event(st, created ? "workflow.created" : "workflow.updated", slug,
			     json_pack("{s:i}", "version", ver), err) < 0)
			goto done;
	}
	*out = json_pack("{s:s, s:i, s:b, s:b}", "slug", slug, "version", ver, "created", created,
			 "changed", changed);
	ret = 0;
done:
	free(text);
	free(old);
	return ret;
}

int ah_workflow_schedule_put(struct ah_state *st, sqlite3_int64 wf, json_t *s,
			     const char *source, struct ah_err *err)
{
	static const char sql_replace[] =
		"INSERT INTO workflow_schedules(workflow, name, cron, timezone, start_window,"
		" end_window, catch_up, parameters, source, cursor_ms, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
		" ON CONFLICT(workflow, name) DO UPDATE SET cron = ?3, timezone = ?4,"
		" start_window = ?5, end_window = ?6, catch_up = ?7, parameters = ?8,"
		" source = ?9, updated_at = ?11"
		" WHERE (cron, timezone, ifnull(start_window, ''), ifnull(end_window, ''), catch_up,"
		"  parameters, source) IS NOT (?3, ?4, ifnull(?5, ''), ifnull(?6, ''), ?7, ?8, ?9)";
	static const char sql_add[] =
		"INSERT INTO workflow_schedules(workflow, name, cron, timezone, start_window,"
		" end_window, catch_up, parameters, source, cursor_ms, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
		" ON CONFLICT(workflow, name) DO NOTHING";
	int replace = !strcmp(source, "definition");
	sqlite3_stmt *stmt = ah_stmt(st, replace ? sql_replace : sql_add, err);
	char now[AH_ISO_LEN], *params;
	int rc;

	if (!stmt)
		return -1;
	ah_now_iso(now);
	params = dump(json_object_get(s, "parameters"));
	sqlite3_bind_int64(stmt, 1, wf);
	ah_bind_text(stmt, 2, json_string_value(json_object_get(s, "name")));
	ah_bind_text(stmt, 3, json_string_value(json_object_get(s, "cron")));
	ah_bind_text(stmt, 4, json_string_value(json_object_get(s, "timezone")));
	ah_bind_text(stmt, 5, json_string_value(json_object_get(s, "startWindow")));
	ah_bind_text(stmt, 6, json_string_value(json_object_get(s, "endWindow")));
	sqlite3_bind_int(stmt, 7, json_is_true(json_object_get(s, "catchUp")));
	ah_bind_text(stmt, 8, params);
	ah_bind_text(stmt, 9, source);
	sqlite3_bind_int64(stmt, 10, json_integer_value(json_object_get(s, "cursorMs")));
	ah_bind_text(stmt, 11, now);
	rc = ah_step_done(st, stmt, "cannot record schedule", err);
	free(params);
	if (rc < 0)
		return -1;
	return replace || sqlite3_changes(st->db) > 0;
}

int ah_workflow_schedules_sync(struct ah_state *st, sqlite3_int64 wf, json_t *scheds,
			       struct ah_err *err)
{
	static const char sql_drop[] =
		"DELETE FROM workflow_schedules WHERE workflow = ?1 AND source = 'definition'"
		" AND name NOT IN (SELECT value ->> 'name' FROM json_each(?2))";
	char *text = dump(scheds ? scheds : json_array());
	sqlite3_stmt *stmt;
	json_t *s;
	size_t i;
	int ret = -1;

	if (!(stmt = ah_stmt(st, sql_drop, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, wf);
	ah_bind_text(stmt, 2, text);
	if (ah_step_done(st, stmt, "cannot update schedules", err) < 0)
		goto done;
	json_array_foreach(scheds, i, s)
		if (ah_workflow_schedule_put(st, wf, s, "definition", err) < 0)
			goto done;
	ret = 0;
done:
	free(text);
	return ret;
}

static json_t *workflow_row(sqlite3_stmt *stmt)
{
	json_t *def = ah_col_json(stmt, 6);
	json_t *w = json_pack("{s:s, s:s, s:O, s:i, s:I, s:I, s:s, s:s}", "slug",
			      ah_col_text(stmt, 0), "name", ah_col_text(stmt, 1), "description",
			      json_object_get(def, "description") ?
			      json_object_get(def, "description") : json_null(),
			      "version", sqlite3_column_int(stmt, 2),
			      "steps", (json_int_t)json_array_size(json_object_get(def, "steps")),
			      "schedules", (json_int_t)sqlite3_column_int64(stmt, 5),
			      "createdAt", ah_col_text(stmt, 3), "updatedAt", ah_col_text(stmt, 4));

	json_decref(def);
	return w;
}

json_t *ah_workflows_json(struct ah_state *st, struct ah_err *err)
{
	static const char sql[] =
		"SELECT w.slug, w.name, w.version, w.created_at, w.updated_at,"
		" (SELECT count(*) FROM workflow_schedules s WHERE s.workflow = w.n), v.definition"
		" FROM workflows w JOIN workflow_versions v ON v.workflow = w.n AND v.version = w.version"
		" ORDER BY w.slug";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	return stmt ? ah_step_rows(st, stmt, workflow_row, "cannot list workflows", err) : NULL;
}

int ah_workflow_definition(struct ah_state *st, const char *slug, int version,
			   sqlite3_int64 *wf, int *ver, json_t **def, struct ah_err *err)
{
	static const char sql[] =
		"SELECT w.n, v.version, v.definition FROM workflows w"
		" LEFT JOIN workflow_versions v ON v.workflow = w.n"
		"  AND v.version = CASE WHEN ?2 > 0 THEN ?2 ELSE w.version END"
		" WHERE w.slug = ?1";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc, found = 0;

	*def = NULL;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, slug);
	sqlite3_bind_int(stmt, 2, version);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		found = 1;
		*wf = sqlite3_column_int64(stmt, 0);
		*ver = sqlite3_column_int(stmt, 1);
		if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
			*def = json_loads(ah_col_text(stmt, 2), 0, NULL);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow");
	if (!found)
		return ah_not_found(err, "workflow '%.100s' not found", slug);
	if (!*def)
		return ah_not_found(err, "workflow '%.100s' has no version %d", slug, version);
	return 0;
}

json_t *ah_workflow_json(struct ah_state *st, const char *slug, int version, struct ah_err *err)
{
	static const char sql[] =
		"SELECT w.name, w.version, w.created_at, w.updated_at,"
		" (SELECT json_group_array(version) FROM (SELECT version FROM workflow_versions"
		"   WHERE workflow = w.n ORDER BY version DESC))"
		" FROM workflows w WHERE w.n = ?";
	sqlite3_int64 wf;
	sqlite3_stmt *stmt;
	json_t *def, *w = NULL;
	int ver, rc;

	if (ah_workflow_definition(st, slug, version, &wf, &ver, &def, err) < 0)
		return NULL;
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, wf);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		w = json_pack("{s:s, s:s, s:O, s:i, s:i, s:o, s:O, s:s, s:s}", "slug", slug,
			      "name", ah_col_text(stmt, 0), "description",
			      json_object_get(def, "description") ?
			      json_object_get(def, "description") : json_null(),
			      "version", ver, "currentVersion", sqlite3_column_int(stmt, 1),
			      "versions", ah_col_json(stmt, 4), "definition", def,
			      "createdAt", ah_col_text(stmt, 2), "updatedAt", ah_col_text(stmt, 3));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		ah_sql_error(st, err, "cannot read workflow");
done:
	json_decref(def);
	return w;
}

int ah_workflow_delete(struct ah_state *st, const char *slug, struct ah_err *err)
{
	static const char sql_active[] =
		"SELECT r.id FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"
		" WHERE w.slug = ? AND r.status IN ('pending', 'running') LIMIT 1";
	static const char sql_work[] =
		"DELETE FROM work WHERE kind = 'workflow' AND subject IN"
		" (SELECT r.id FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"
		"  WHERE w.slug = ?)";
	static const char sql_delete[] = "DELETE FROM workflows WHERE slug = ?";
	sqlite3_stmt *stmt;
	char active[AH_RANDOM_ID_MAX + 1] = "";
	int rc;

	if (ah_begin_write(st, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(st, sql_active, err)))
		goto fail;
	ah_bind_text(stmt, 1, slug);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		snprintf(active, sizeof(active), "%s", ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read workflow runs");
		goto fail;
	}
	if (*active) {
		ah_conflict(err, "workflow '%.100s' has a run in progress: '%s'", slug, active);
		goto fail;
	}
	if (!(stmt = ah_stmt(st, sql_work, err)))
		goto fail;
	ah_bind_text(stmt, 1, slug);
	if (ah_step_done(st, stmt, "cannot drop workflow runs", err) < 0 ||
	    !(stmt = ah_stmt(st, sql_delete, err)))
		goto fail;
	ah_bind_text(stmt, 1, slug);
	if (ah_step_done(st, stmt, "cannot remove workflow", err) < 0)
		goto fail;
	if (!sqlite3_changes(st->db)) {
		ah_not_found(err, "workflow '%.100s' not found", slug);
		goto fail;
	}
	if (ah_event(st, "workflow.removed", slug, json_object(), err) < 0 || ah_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	ah_rollback(st);
	return -1;
}

/* The run whose key is key among slug's active runs: 1 with id, 0 when none. */
static int key_holder(struct ah_state *st, sqlite3_int64 wf, const char *key, char *id,
		      struct ah_err *err)
{
	static const char sql[] =
		"SELECT id FROM workflow_runs WHERE workflow = ? AND run_key = ?"
		" AND status IN ('pending', 'running')";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, wf);
	ah_bind_text(stmt, 2, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		snprintf(id, AH_RANDOM_ID_MAX, "%s", ah_col_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read workflow runs");
	return rc == SQLITE_ROW;
}

/* The run's top-level steps, pending, in definition order. */
static int insert_steps(struct ah_state *st, sqlite3_int64 run, json_t *steps, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO workflow_steps(run, step_id, seq) VALUES (?1, ?2, ?3)";
	json_t *s;
	size_t i;

	json_array_foreach(steps, i, s) {
		sqlite3_stmt *stmt = ah_stmt(st, sql, err);

		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, run);
		ah_bind_text(stmt, 2, json_string_value(json_object_get(s, "id")));
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)i);
		if (ah_step_done(st, stmt, "cannot record workflow step", err) < 0)
			return -1;
	}
	return 0;
}

int ah_workflow_run_insert(struct ah_state *st, const char *slug, json_t *params,
			   sqlite3_int64 *n, char *id, char *existing, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO workflow_runs(id, workflow, version, parameters, trigger, run_key,"
		" total_steps, created_by, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)";
	json_t *def = NULL, *given = NULL, *parameters = NULL, *trigger, *own = NULL, *v;
	json_t *schema;
	const char *key, *created_by;
	char now[AH_ISO_LEN], *ptext = NULL, *ttext = NULL;
	sqlite3_int64 wf;
	sqlite3_stmt *stmt;
	const char *k;
	int ver, r, ret = -1;

	*existing = 0;
	if (ah_param_str(params, "runKey", &key, err) < 0 ||
	    ah_param_str(params, "createdBy", &created_by, err) < 0)
		return -1;
	if (key && !*key)
		key = NULL;
	if (key && !ah_workflow_run_key_valid(key))
		return ah_invalid(err, "invalid run key '%.130s': 1 to 120 of A-Z a-z 0-9 _ . : -",
				  key);
	trigger = json_object_get(params, "trigger");
	if (!json_is_object(trigger) || !json_is_string(json_object_get(trigger, "type")))
		trigger = own = json_pack("{s:s}", "type", "manual");
	if (ah_workflow_definition(st, slug, 0, &wf, &ver, &def, err) < 0)
		goto done;
	schema = json_object_get(def, "parametersSchema");
	if (!(given = ah_json_schema_parameters(params, schema, err)))
		goto done;
	parameters = json_deep_copy(json_object_get(def, "defaultParameters"));
	if (!json_is_object(parameters)) {
		json_decref(parameters);
		parameters = json_object();
	}
	json_object_foreach(given, k, v)
		json_object_set(parameters, k, v);
	if (schema && ah_json_schema_check(schema, parameters, "parameters", err) < 0)
		goto done;
	if (key) {
		if ((r = key_holder(st, wf, key, existing, err)) < 0)
			goto done;
		if (r) {
			ah_conflict(err, "run key '%s' is held by run '%s' of workflow '%s'", key,
				    existing, slug);
			goto done;
		}
	}
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	ah_random_id(id, AH_RANDOM_ID_MAX, 'w');
	ah_now_iso(now);
	ptext = dump(parameters);
	ttext = dump(trigger);
	ah_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, wf);
	sqlite3_bind_int(stmt, 3, ver);
	ah_bind_text(stmt, 4, ptext);
	ah_bind_text(stmt, 5, ttext);
	ah_bind_text(stmt, 6, key);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)json_array_size(json_object_get(def, "steps")));
	ah_bind_text(stmt, 8, created_by);
	ah_bind_text(stmt, 9, now);
	if (ah_step_done(st, stmt, "cannot record workflow run", err) < 0)
		goto done;
	*n = sqlite3_last_insert_rowid(st->db);
	if (insert_steps(st, *n, json_object_get(def, "steps"), err) < 0 ||
	    ah_event(st, "workflow.run.pending", slug,
		     json_pack("{s:s, s:i, s:O, s:s?}", "runId", id, "version", ver, "trigger",
			       trigger, "runKey", key), err) < 0 ||
	    ah_work_queue(st, "workflow", id, err) < 0)
		goto done;
	ret = 0;
done:
	free(ptext);
	free(ttext);
	json_decref(def);
	json_decref(given);
	json_decref(parameters);
	json_decref(own);
	return ret;
}

#define RUN_COLUMNS \
	"SELECT r.n, r.id, w.slug, r.version, r.status, r.parameters, r.shared, r.output," \
	" r.trigger, r.run_key, r.error_message, r.total_steps, r.completed_steps," \
	" r.created_at, r.started_at, r.completed_at, r.duration_ms, r.updated_at" \
	" FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"

static json_t *run_row(sqlite3_stmt *stmt)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_string(ah_col_text(stmt, 1)));
	json_object_set_new(r, "workflowSlug", json_string(ah_col_text(stmt, 2)));
	json_object_set_new(r, "version", json_integer(sqlite3_column_int(stmt, 3)));
	json_object_set_new(r, "status", json_string(ah_col_text(stmt, 4)));
	json_object_set_new(r, "parameters", ah_col_json(stmt, 5));
	json_object_set_new(r, "context", json_pack("{s:o, s:o, s:s}", "steps", json_object(),
						    "shared", ah_col_json(stmt, 6), "lastUpdatedAt",
						    ah_col_text(stmt, 17)));
	json_object_set_new(r, "output", ah_col_json(stmt, 7));
	json_object_set_new(r, "metrics", json_pack("{s:i, s:i}", "totalSteps",
						    sqlite3_column_int(stmt, 11), "completedSteps",
						    sqlite3_column_int(stmt, 12)));
	json_object_set_new(r, "trigger", ah_col_json(stmt, 8));
	json_object_set_new(r, "runKey", ah_col_string(stmt, 9));
	json_object_set_new(r, "createdAt", json_string(ah_col_text(stmt, 13)));
	json_object_set_new(r, "startedAt", ah_col_string(stmt, 14));
	json_object_set_new(r, "completedAt", ah_col_string(stmt, 15));
	json_object_set_new(r, "durationMs", ah_col_integer(stmt, 16));
	json_object_set_new(r, "errorMessage", ah_col_string(stmt, 10));
	return r;
}

static json_t *step_row(sqlite3_stmt *stmt)
{
	json_t *s = json_object();

	json_object_set_new(s, "stepId", json_string(ah_col_text(stmt, 0)));
	if (sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
		json_object_set_new(s, "parent", json_string(ah_col_text(stmt, 1)));
		json_object_set_new(s, "index", json_integer(sqlite3_column_int(stmt, 2)));
	}
	json_object_set_new(s, "status", json_string(ah_col_text(stmt, 3)));
	json_object_set_new(s, "attempt", json_integer(sqlite3_column_int(stmt, 4)));
	json_object_set_new(s, "jobRunId", ah_col_string(stmt, 5));
	json_object_set_new(s, "result", ah_col_json(stmt, 6));
	json_object_set_new(s, "errorMessage", ah_col_string(stmt, 7));
	json_object_set_new(s, "startedAt", ah_col_string(stmt, 8));
	json_object_set_new(s, "completedAt", ah_col_string(stmt, 9));
	return s;
}

static json_t *run_steps(struct ah_state *st, sqlite3_int64 run, struct ah_err *err)
{
	static const char sql[] =
		"SELECT step_id, parent, fanout_index, status, attempt, job_run_id, result,"
		" error_message, started_at, completed_at FROM workflow_steps WHERE run = ?"
		" ORDER BY seq";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return NULL;
	sqlite3_bind_int64(stmt, 1, run);
	return ah_step_rows(st, stmt, step_row, "cannot read workflow steps", err);
}

json_t *ah_workflow_run_json(struct ah_state *st, const char *id, sqlite3_int64 n, int steps,
			     struct ah_err *err)
{
	static const char sql_id[] = RUN_COLUMNS " WHERE r.id = ?";
	static const char sql_n[] = RUN_COLUMNS " WHERE r.n = ?";
	sqlite3_stmt *stmt = ah_stmt(st, id ? sql_id : sql_n, err);
	json_t *r = NULL, *rows, *s, *ctx;
	size_t i;
	int rc;

	if (!stmt)
		return NULL;
	if (id)
		ah_bind_text(stmt, 1, id);
	else
		sqlite3_bind_int64(stmt, 1, n);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r = run_row(stmt);
		n = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		ah_not_found(err, "workflow run '%.40s' not found", id ? id : "?");
	else if (rc != SQLITE_ROW)
		ah_sql_error(st, err, "cannot read workflow run");
	if (!r)
		return NULL;
	if (!(rows = run_steps(st, n, err))) {
		json_decref(r);
		return NULL;
	}
	/* The context's steps: each by id, as behaviour.md's context has them. */
	ctx = json_object_get(json_object_get(r, "context"), "steps");
	json_array_foreach(rows, i, s) {
		json_t *c = json_deep_copy(s);

		json_object_del(c, "stepId");
		json_object_del(c, "parent");
		json_object_del(c, "index");
		json_object_set_new(ctx, json_string_value(json_object_get(s, "stepId")), c);
	}
	if (steps)
		json_object_set_new(r, "steps", rows);
	else
		json_decref(rows);
	return r;
}

static const char *const run_statuses[] = {
	"pending", "running", "succeeded", "failed", "canceled", NULL,
};

int ah_workflow_runs_list(struct ah_state *st, json_t *params, json_t **out,
			  struct ah_err *err)
{
	static const char sql[] =
		"SELECT r.n FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"
		" WHERE (?1 IS NULL OR w.slug = ?1) AND (?2 IS NULL OR r.status = ?2)"
		" ORDER BY r.n DESC LIMIT ?3 OFFSET ?4";
	static const char sql_count[] =
		"SELECT count(*) FROM workflow_runs r JOIN workflows w ON w.n = r.workflow"
		" WHERE (?1 IS NULL OR w.slug = ?1) AND (?2 IS NULL OR r.status = ?2)";
	const char *slug, *status;
	sqlite3_int64 total = 0, *rows = NULL;
	sqlite3_stmt *stmt;
	long limit, offset;
	size_t i, nr = 0;
	json_t *data = NULL, *r;
	int rc, ret = -1;

	if (ah_param_str(params, "slug", &slug, err) < 0 ||
	    ah_param_enum(params, "status", run_statuses, &status, err) < 0 ||
	    ah_param_int(params, "limit", 50, 1, 1000, &limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 1000000000, &offset, err) < 0)
		return -1;
	if (slug && !*slug)
		slug = NULL;
	if (ah_begin_read(st, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(st, sql_count, err)))
		goto done;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, status);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		total = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot count workflow runs");
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	ah_bind_text(stmt, 1, slug);
	ah_bind_text(stmt, 2, status);
	sqlite3_bind_int64(stmt, 3, limit);
	sqlite3_bind_int64(stmt, 4, offset);
	rows = xcalloc((size_t)limit, sizeof(*rows));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && nr < (size_t)limit)
		rows[nr++] = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot list workflow runs");
		goto done;
	}
	data = json_array();
	for (i = 0; i < nr; i++) {
		if (!(r = ah_workflow_run_json(st, NULL, rows[i], 0, err)))
			goto done;
		/* A listing keeps to the run itself; show has its steps. */
		json_object_del(r, "context");
		json_array_append_new(data, r);
	}
	*out = json_pack("{s:I, s:O}", "total", (json_int_t)total, "data", data);
	ret = 0;
done:
	ah_rollback(st);
	json_decref(data);
	free(rows);
	return ret;
}

int ah_workflow_skip_steps(struct ah_state *st, sqlite3_int64 run, const char *slug,
			   const char *run_id, int running, struct ah_err *err)
{
	static const char sql_list[] =
		"SELECT step_id FROM workflow_steps WHERE run = ?1"
		" AND (status = 'pending' OR (?2 AND status = 'running')) ORDER BY seq";
	static const char sql[] =
		"UPDATE workflow_steps SET status = 'skipped', completed_at = ?3"
		" WHERE run = ?1 AND (status = 'pending' OR (?2 AND status = 'running'))";
	sqlite3_stmt *stmt = ah_stmt(st, sql_list, err);
	json_t *ids = json_array(), *id;
	char now[AH_ISO_LEN];
	size_t i;
	int rc, ret = -1;

	if (!stmt)
		goto done;
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, running);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(ids, json_string(ah_col_text(stmt, 0)));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read workflow steps");
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql, err)))
		goto done;
	ah_now_iso(now);
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, running);
	ah_bind_text(stmt, 3, now);
	if (ah_step_done(st, stmt, "cannot record workflow steps", err) < 0)
		goto done;
	json_array_foreach(ids, i, id)
		if (ah_event(st, "workflow.step.skipped", slug,
			     json_pack("{s:s, s:O}", "runId", run_id, "stepId", id), err) < 0)
			goto done;
	ret = 0;
done:
	json_decref(ids);
	return ret;
}

int ah_workflow_runs_cancel(struct ah_state *st, json_t *params, json_t **out,
			    struct ah_err *err)
{
	static const char sql_read[] =
		"SELECT r.n, r.status, w.slug FROM workflow_runs r JOIN workflows w"
		" ON w.n = r.workflow WHERE r.id = ?";
	static const char sql_pending[] =
		"UPDATE workflow_runs SET status = 'canceled', cancel_requested = 1,"
		" error_message = 'canceled', completed_at = ?2, updated_at = ?2 WHERE n = ?1";
	static const char sql_running[] =
		"UPDATE workflow_runs SET cancel_requested = 1, updated_at = ?2 WHERE n = ?1";
	sqlite3_stmt *stmt;
	sqlite3_int64 n = 0;
	const char *id;
	char now[AH_ISO_LEN], status[16] = "", slug[104] = "";
	int rc, pending;

	*out = NULL;
	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (!ah_random_id_valid(id, 'w'))
		return ah_not_found(err, "workflow run '%.40s' not found", id);
	if (ah_begin_write(st, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(st, sql_read, err)))
		goto fail;
	ah_bind_text(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		n = sqlite3_column_int64(stmt, 0);
		snprintf(status, sizeof(status), "%s", ah_col_text(stmt, 1));
		snprintf(slug, sizeof(slug), "%s", ah_col_text(stmt, 2));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ah_not_found(err, "workflow run '%s' not found", id);
		else
			ah_sql_error(st, err, "cannot read workflow run");
		goto fail;
	}
	if (strcmp(status, "pending") && strcmp(status, "running")) {
		ah_conflict(err, "workflow run '%s' has ended (%s)", id, status);
		goto fail;
	}
	pending = !strcmp(status, "pending");
	ah_now_iso(now);
	/*
	 * A pending run has no driver: it ends now. A running one's driver
	 * sees the mark, ends its job runs and records the end.
	 */
	if (!(stmt = ah_stmt(st, pending ? sql_pending : sql_running, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, now);
	if (ah_step_done(st, stmt, "cannot cancel workflow run", err) < 0)
		goto fail;
	if (pending) {
		if (ah_workflow_skip_steps(st, n, slug, id, 1, err) < 0 ||
		    ah_work_drop(st, "workflow", id, err) < 0 ||
		    ah_event(st, "workflow.run.canceled", slug,
			     json_pack("{s:s, s:s}", "runId", id, "from", status), err) < 0)
			goto fail;
	}
	if (!(*out = ah_workflow_run_json(st, NULL, n, 0, err)) || ah_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	ah_rollback(st);
	json_decref(*out);
	*out = NULL;
	return -1;
}
