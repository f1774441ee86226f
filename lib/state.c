/*
 * The state directory and its SQLite database: opening and tightening it,
 * the schema and its migrations, transactions, prepared statements and the
 * helpers that bind and step them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "fts-stem.h"
#include "state.h"
#include "strbuf.h"

/*
 * Schema migrations, applied in order; migrations[i] takes the database from
 * user_version i to i + 1. Never edit one that has shipped: append.
 */
static const char *const migrations[] = {
	/* 1: the catalogue, events and the work queue */
	"CREATE TABLE apps ("
	"  n INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  name_auto INTEGER NOT NULL DEFAULT 1,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  description_auto INTEGER NOT NULL DEFAULT 1,"
	"  repo_url TEXT NOT NULL,"
	"  dockerfile_path TEXT NOT NULL DEFAULT 'Dockerfile',"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  metadata_strategy TEXT NOT NULL DEFAULT 'auto',"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX apps_updated ON apps(updated_at);"
	"CREATE INDEX apps_name ON apps(name COLLATE NOCASE);"
	"CREATE INDEX apps_status ON apps(status);"
	/* Narrow rows for search: status and order of a match without its text. */
	"CREATE INDEX apps_n_status ON apps(n, status, updated_at);"
	"CREATE INDEX apps_repo ON apps(repo_url);"
	"CREATE TABLE tags ("
	"  n INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL COLLATE NOCASE,"
	"  value TEXT NOT NULL COLLATE NOCASE,"
	"  app_count INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE(key, value));"
	"CREATE TABLE app_tags ("
	"  app INTEGER NOT NULL REFERENCES apps(n) ON DELETE CASCADE,"
	"  tag INTEGER NOT NULL REFERENCES tags(n),"
	"  source TEXT NOT NULL,"
	"  PRIMARY KEY(app, tag)) WITHOUT ROWID;"
	"CREATE INDEX app_tags_tag ON app_tags(tag, app);"
	/*
	 * app_count serves suggest's tie order and the unfiltered facets.
	 * ah_tag_link() counts links in (batched during an import); deletions,
	 * cascades included, are counted out here.
	 */
	"CREATE TRIGGER app_tags_del AFTER DELETE ON app_tags BEGIN"
	"  UPDATE tags SET app_count = app_count - 1 WHERE n = OLD.tag; END;"
	"CREATE VIRTUAL TABLE apps_fts USING fts5(name, description, tags,"
	"  prefix='1 2 3', tokenize='unicode61 remove_diacritics 2');"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  subject TEXT,"
	"  data TEXT NOT NULL DEFAULT '{}');"
	"CREATE TABLE work ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  not_before INTEGER NOT NULL DEFAULT 0,"
	"  claimed_by TEXT,"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE(kind, subject));"
	"CREATE INDEX work_due ON work(kind, not_before);",
	/* 2: ingestion: what the last ingest found, and every transition */
	"ALTER TABLE apps ADD COLUMN commit_sha TEXT;"
	"ALTER TABLE apps ADD COLUMN readme TEXT;"
	"ALTER TABLE apps ADD COLUMN last_ingested_at TEXT;"
	"ALTER TABLE apps ADD COLUMN ingest_error TEXT;"
	"ALTER TABLE apps ADD COLUMN ingest_attempts INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE ingestion_events ("
	"  id INTEGER PRIMARY KEY,"
	"  app INTEGER NOT NULL REFERENCES apps(n) ON DELETE CASCADE,"
	"  status TEXT NOT NULL,"
	"  message TEXT,"
	"  attempt INTEGER,"
	"  commit_sha TEXT,"
	"  duration_ms INTEGER,"
	"  created_at TEXT NOT NULL);"
	"CREATE INDEX ingestion_events_app ON ingestion_events(app, id);",
	/* 3: serve's audit log: every write and every refusal */
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  subject TEXT,"
	"  op TEXT,"
	"  method TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  remote TEXT,"
	"  message TEXT);",
	/* 4: build records (lib/builds.c) */
	"CREATE TABLE builds ("
	"  n INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  app INTEGER NOT NULL REFERENCES apps(n) ON DELETE CASCADE,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  image_tag TEXT,"
	"  error_message TEXT,"
	"  commit_sha TEXT,"
	"  git_branch TEXT,"
	"  git_ref TEXT,"
	"  engine TEXT,"
	"  attempt INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL,"
	"  started_at TEXT,"
	"  completed_at TEXT,"
	"  duration_ms INTEGER,"
	"  logs_preview TEXT,"
	"  logs_truncated INTEGER NOT NULL DEFAULT 0,"
	"  logs_size INTEGER NOT NULL DEFAULT 0,"
	"  retry_of TEXT);"
	"CREATE INDEX builds_app ON builds(app, n);"
	"CREATE INDEX builds_active ON builds(app, status);",
	/* 5: launches (lib/launch.c) */
	"CREATE TABLE IF NOT EXISTS launches ("
	"  n INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  app_id TEXT NOT NULL,"
	"  build_id TEXT,"
	"  image TEXT NOT NULL,"
	"  image_digest TEXT,"
	"  engine TEXT NOT NULL DEFAULT 'native',"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  error_message TEXT,"
	"  port INTEGER,"
	"  host_port INTEGER,"
	"  preview_url TEXT,"
	"  network TEXT NOT NULL DEFAULT 'loopback',"
	"  command TEXT,"
	"  env TEXT NOT NULL DEFAULT '{}',"
	"  profile TEXT NOT NULL DEFAULT '{}',"
	"  limits TEXT,"
	"  ttl_ms INTEGER,"
	"  expires_at INTEGER,"
	"  pid INTEGER,"
	"  pid_start INTEGER,"
	"  sandbox_pid INTEGER,"
	"  sandbox_start INTEGER,"
	"  cgroups TEXT,"
	"  exit_status INTEGER,"
	"  created_at TEXT NOT NULL,"
	"  started_at TEXT,"
	"  running_at TEXT,"
	"  stopped_at TEXT,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS launches_app ON launches(app_id, n);"
	"CREATE INDEX IF NOT EXISTS launches_status ON launches(status);",
	/*
	 * 6: a 4-character prefix index for search. Typed queries are short
	 * words ("dash"), and without it "dash*" merges the doclists of every
	 * word so beginning (dash, dashboard, dashcam, dashing ...). FTS5 takes
	 * no new prefix option on an existing table: rebuild it, rows and all.
	 * Its pending terms may grow to 8 MiB (from 1) before they are written
	 * as a segment: an import's batch then makes one segment, not a dozen
	 * that FTS5 merges again straight away.
	 */
	"CREATE VIRTUAL TABLE apps_fts_new USING fts5(name, description, tags,"
	"  prefix='1 2 3 4', tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO apps_fts_new(apps_fts_new, rank) VALUES('hashsize', 8388608);"
	"INSERT INTO apps_fts_new(rowid, name, description, tags)"
	"  SELECT rowid, name, description, tags FROM apps_fts;"
	"DROP TABLE apps_fts;"
	"ALTER TABLE apps_fts_new RENAME TO apps_fts;",
	/* 7: the user a launch asked to run as (NULL: the image's USER) */
	"ALTER TABLE launches ADD COLUMN user TEXT;",
	/*
	 * 8: whether dockerfile_path is the author's (0) or what discovery
	 * found (1): an author's path is never replaced nor fallen back from.
	 */
	"ALTER TABLE apps ADD COLUMN dockerfile_auto INTEGER NOT NULL DEFAULT 1;",
	/*
	 * 9: English stems in the search index (lib/fts-stem.c), as the
	 * original's to_tsvector('english'), and the Dockerfile path as a
	 * column of its own (weighed 1 by lib/search.c); rebuilt as in 6,
	 * every app indexed again.
	 */
	"CREATE VIRTUAL TABLE apps_fts_new USING fts5(name, description, tags, dockerfile,"
	"  prefix='1 2 3 4', tokenize='" AH_FTS_STEM_TOKENIZER " unicode61 remove_diacritics 2');"
	"INSERT INTO apps_fts_new(apps_fts_new, rank) VALUES('hashsize', 8388608);"
	"INSERT INTO apps_fts_new(rowid, name, description, tags, dockerfile)"
	"  SELECT f.rowid, f.name, f.description, f.tags, " AH_FTS_DOCKERFILE("a.dockerfile_path")
	"  FROM apps_fts f JOIN apps a ON a.n = f.rowid;"
	"DROP TABLE apps_fts;"
	"ALTER TABLE apps_fts_new RENAME TO apps_fts;",
	/*
	 * 10: jobs (lib/jobs.c): a job per slug, its published bundles (one
	 * per version, the files under bundles/<slug>/<version>/), the keys
	 * whose signatures the hub accepts (and the key that signs download
	 * URLs), the runs and what each produced.
	 * A run names its job by slug and version, so that it outlives them
	 * as history.
	 */
	"CREATE TABLE IF NOT EXISTS jobs ("
	"  n INTEGER PRIMARY KEY,"
	"  slug TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  default_version TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS job_bundles ("
	"  n INTEGER PRIMARY KEY,"
	"  job INTEGER NOT NULL REFERENCES jobs(n) ON DELETE CASCADE,"
	"  version TEXT NOT NULL,"
	"  manifest TEXT NOT NULL,"
	"  runtime TEXT NOT NULL,"
	"  checksum TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  signer TEXT,"
	"  created_by TEXT,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE(job, version));"
	"CREATE TABLE IF NOT EXISTS job_signers ("
	"  n INTEGER PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL UNIQUE,"
	"  public_key TEXT NOT NULL,"
	"  name TEXT,"
	"  created_at TEXT NOT NULL);"
	/* The key of the bundles' signed download URLs, made once. */
	"CREATE TABLE IF NOT EXISTS job_url_key ("
	"  n INTEGER PRIMARY KEY CHECK (n = 1),"
	"  key TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS job_runs ("
	"  n INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  job_slug TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  parameters TEXT NOT NULL DEFAULT '{}',"
	"  result TEXT,"
	"  error_message TEXT,"
	"  attempt INTEGER NOT NULL DEFAULT 0,"
	"  timeout_ms INTEGER,"
	"  trigger TEXT NOT NULL DEFAULT '{\"type\":\"manual\"}',"
	"  metrics TEXT NOT NULL DEFAULT '{}',"
	"  created_by TEXT,"
	"  created_at TEXT NOT NULL,"
	"  started_at TEXT,"
	"  completed_at TEXT,"
	"  duration_ms INTEGER,"
	"  logs_preview TEXT,"
	"  logs_size INTEGER NOT NULL DEFAULT 0,"
	"  logs_truncated INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs(job_slug, n);"
	"CREATE INDEX IF NOT EXISTS job_runs_status ON job_runs(status, n);"
	"CREATE TABLE IF NOT EXISTS job_run_outputs ("
	"  run INTEGER NOT NULL REFERENCES job_runs(n) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  name TEXT,"
	"  data TEXT,"
	"  path TEXT,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(run, seq)) WITHOUT ROWID;",
	/*
	 * 11: workflows. A definition's every change is a new version (a run
	 * keeps the one it started with); a run's steps, fan-out children
	 * included, are rows of their own, so a driver that dies leaves all it
	 * knew on disk; schedules keep a cursor (the end of the last window
	 * made into a run), advanced in the transaction that makes the run;
	 * assets remember their last production.
	 */
	"CREATE TABLE IF NOT EXISTS workflows ("
	"  n INTEGER PRIMARY KEY,"
	"  slug TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  description TEXT,"
	"  version INTEGER NOT NULL,"
	"  created_by TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS workflow_versions ("
	"  workflow INTEGER NOT NULL REFERENCES workflows(n) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  definition TEXT NOT NULL,"
	"  created_by TEXT,"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY(workflow, version)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS workflow_runs ("
	"  n INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  workflow INTEGER NOT NULL REFERENCES workflows(n) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  parameters TEXT NOT NULL DEFAULT '{}',"
	"  shared TEXT NOT NULL DEFAULT '{}',"
	"  output TEXT,"
	"  trigger TEXT NOT NULL DEFAULT '{\"type\":\"manual\"}',"
	"  run_key TEXT,"
	"  error_message TEXT,"
	"  total_steps INTEGER NOT NULL DEFAULT 0,"
	"  completed_steps INTEGER NOT NULL DEFAULT 0,"
	"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
	"  created_by TEXT,"
	"  created_at TEXT NOT NULL,"
	"  started_at TEXT,"
	"  completed_at TEXT,"
	"  duration_ms INTEGER,"
	"  updated_at TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS workflow_runs_workflow ON workflow_runs(workflow, n);"
	"CREATE INDEX IF NOT EXISTS workflow_runs_status ON workflow_runs(status, n);"
	/* A run key names one active run of a workflow at a time. */
	"CREATE UNIQUE INDEX IF NOT EXISTS workflow_runs_key ON workflow_runs(workflow, run_key)"
	"  WHERE run_key IS NOT NULL AND status IN ('pending', 'running');"
	"CREATE TABLE IF NOT EXISTS workflow_steps ("
	"  run INTEGER NOT NULL REFERENCES workflow_runs(n) ON DELETE CASCADE,"
	"  step_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  parent TEXT,"
	"  fanout_index INTEGER,"
	"  item TEXT,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  attempt INTEGER NOT NULL DEFAULT 0,"
	"  job_run_id TEXT,"
	"  result TEXT,"
	"  error_message TEXT,"
	"  not_before INTEGER NOT NULL DEFAULT 0,"
	"  heartbeat_at INTEGER NOT NULL DEFAULT 0,"
	"  started_at TEXT,"
	"  completed_at TEXT,"
	"  PRIMARY KEY(run, step_id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS workflow_schedules ("
	"  n INTEGER PRIMARY KEY,"
	"  workflow INTEGER NOT NULL REFERENCES workflows(n) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  cron TEXT NOT NULL,"
	"  timezone TEXT NOT NULL DEFAULT 'UTC',"
	"  start_window TEXT,"
	"  end_window TEXT,"
	"  catch_up INTEGER NOT NULL DEFAULT 0,"
	"  parameters TEXT NOT NULL DEFAULT '{}',"
	"  paused INTEGER NOT NULL DEFAULT 0,"
	"  source TEXT NOT NULL DEFAULT 'definition',"
	"  cursor_ms INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE(workflow, name));"
	"CREATE TABLE IF NOT EXISTS assets ("
	"  asset_id TEXT PRIMARY KEY,"
	"  workflow_slug TEXT,"
	"  run_id TEXT,"
	"  step_id TEXT,"
	"  produced_at TEXT,"
	"  produced_ms INTEGER NOT NULL DEFAULT 0,"
	"  ttl_ms INTEGER,"
	"  expired_ms INTEGER NOT NULL DEFAULT 0);"
	/* Auto-materialization's state per workflow: its backoff after failures. */
	"CREATE TABLE IF NOT EXISTS workflow_auto ("
	"  workflow INTEGER PRIMARY KEY REFERENCES workflows(n) ON DELETE CASCADE,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  not_before INTEGER NOT NULL DEFAULT 0,"
	"  pending_asset TEXT);",
	/*
	 * 12: the metastore (lib/metastore.c): records by namespace and key;
	 * every change an audit row whose id is the store's revision (what
	 * watch resumes from) with the record as it became, so that any
	 * version can be read back and restored; idempotency keys; the
	 * expression indexes made on metadata fields.
	 */
	"CREATE TABLE IF NOT EXISTS metastore_records ("
	"  n INTEGER PRIMARY KEY,"
	"  namespace TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  metadata TEXT NOT NULL DEFAULT '{}',"
	"  tags TEXT NOT NULL DEFAULT '[]',"
	"  owner TEXT,"
	"  schema_hash TEXT,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  deleted_at TEXT,"
	"  created_by TEXT,"
	"  updated_by TEXT,"
	"  UNIQUE(namespace, key));"
	"CREATE INDEX IF NOT EXISTS metastore_records_updated"
	"  ON metastore_records(namespace, updated_at);"
	"CREATE TABLE IF NOT EXISTS metastore_audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  namespace TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  previous_version INTEGER,"
	"  record TEXT,"
	"  actor TEXT,"
	"  created_at TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS metastore_audit_record"
	"  ON metastore_audit(namespace, key, id);"
	"CREATE TABLE IF NOT EXISTS metastore_idempotency ("
	"  namespace TEXT NOT NULL,"
	"  idempotency_key TEXT NOT NULL,"
	"  payload_hash TEXT NOT NULL,"
	"  response TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY(namespace, idempotency_key)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS metastore_indexes ("
	"  namespace TEXT NOT NULL,"
	"  field TEXT NOT NULL,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY(namespace, field)) WITHOUT ROWID;",
	/*
	 * 13: each namespace's record counts, kept by triggers: metastore ls
	 * (and every completion of a namespace) reads a row a namespace
	 * rather than counting all the records.
	 */
	"CREATE TABLE IF NOT EXISTS metastore_namespaces ("
	"  namespace TEXT PRIMARY KEY,"
	"  records INTEGER NOT NULL DEFAULT 0,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  updated_at TEXT) WITHOUT ROWID;"
	"INSERT OR REPLACE INTO metastore_namespaces(namespace, records, deleted, updated_at)"
	"  SELECT namespace, count(*) FILTER (WHERE deleted_at IS NULL),"
	"  count(*) FILTER (WHERE deleted_at IS NOT NULL), max(updated_at)"
	"  FROM metastore_records GROUP BY namespace;"
	"CREATE TRIGGER IF NOT EXISTS metastore_records_ins AFTER INSERT ON metastore_records BEGIN"
	"  INSERT INTO metastore_namespaces(namespace, records, deleted, updated_at)"
	"  VALUES (NEW.namespace, NEW.deleted_at IS NULL, NEW.deleted_at IS NOT NULL,"
	"   NEW.updated_at)"
	"  ON CONFLICT(namespace) DO UPDATE SET records = records + (NEW.deleted_at IS NULL),"
	"   deleted = deleted + (NEW.deleted_at IS NOT NULL),"
	"   updated_at = max(ifnull(updated_at, ''), NEW.updated_at); END;"
	"CREATE TRIGGER IF NOT EXISTS metastore_records_upd AFTER UPDATE ON metastore_records BEGIN"
	"  UPDATE metastore_namespaces SET"
	"   records = records - (OLD.deleted_at IS NULL) + (NEW.deleted_at IS NULL),"
	"   deleted = deleted - (OLD.deleted_at IS NOT NULL) + (NEW.deleted_at IS NOT NULL),"
	"   updated_at = max(ifnull(updated_at, ''), NEW.updated_at)"
	"  WHERE namespace = NEW.namespace; END;"
	"CREATE TRIGGER IF NOT EXISTS metastore_records_del AFTER DELETE ON metastore_records BEGIN"
	"  UPDATE metastore_namespaces SET records = records - (OLD.deleted_at IS NULL),"
	"   deleted = deleted - (OLD.deleted_at IS NOT NULL) WHERE namespace = OLD.namespace;"
	"  DELETE FROM metastore_namespaces WHERE namespace = OLD.namespace"
	"   AND records = 0 AND deleted = 0; END;",
	/*
	 * 14: a record's latest audit row holds no copy of it (the record row
	 * is it: lib/metastore.c's AUDIT_RECORD); before the record changes,
	 * its copy is made.
	 */
	"CREATE TRIGGER IF NOT EXISTS metastore_audit_copy BEFORE UPDATE ON metastore_records BEGIN"
	"  UPDATE metastore_audit SET record = json_object('namespace', OLD.namespace,"
	"   'key', OLD.key, 'metadata', json(OLD.metadata), 'tags', json(OLD.tags),"
	"   'owner', OLD.owner, 'schemaHash', OLD.schema_hash, 'version', OLD.version,"
	"   'createdAt', OLD.created_at, 'updatedAt', OLD.updated_at, 'deletedAt', OLD.deleted_at,"
	"   'createdBy', OLD.created_by, 'updatedBy', OLD.updated_by)"
	"  WHERE namespace = OLD.namespace AND key = OLD.key AND version = OLD.version"
	"   AND record IS NULL AND action <> 'purged'; END;",
	/*
	 * 15: the timestore (lib/timestore.c): datasets with their current
	 * schema and retention, every schema version (each additive change),
	 * manifests versioned per dataset and UTC day, the partitions (their
	 * Parquet files under timestore/; removed_ms set when one leaves its
	 * manifest, its file removed after the grace period), idempotency keys.
	 */
	"CREATE TABLE IF NOT EXISTS ts_datasets ("
	"  n INTEGER PRIMARY KEY,"
	"  slug TEXT NOT NULL UNIQUE,"
	"  timestamp_column TEXT NOT NULL DEFAULT 'timestamp',"
	"  schema_version INTEGER NOT NULL DEFAULT 1,"
	"  fields TEXT NOT NULL,"
	"  max_age_hours INTEGER NOT NULL DEFAULT 720,"
	"  max_total_bytes INTEGER,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ts_schema_versions ("
	"  dataset INTEGER NOT NULL REFERENCES ts_datasets(n) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  fields TEXT NOT NULL,"
	"  added TEXT NOT NULL DEFAULT '[]',"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY(dataset, version)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS ts_manifests ("
	"  id TEXT PRIMARY KEY,"
	"  dataset INTEGER NOT NULL REFERENCES ts_datasets(n) ON DELETE CASCADE,"
	"  day TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  partition_count INTEGER NOT NULL,"
	"  rows INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE(dataset, day, version));"
	"CREATE TABLE IF NOT EXISTS ts_partitions ("
	"  id TEXT PRIMARY KEY,"
	"  dataset INTEGER NOT NULL REFERENCES ts_datasets(n) ON DELETE CASCADE,"
	"  day TEXT NOT NULL,"
	"  manifest_version INTEGER NOT NULL,"
	"  partition_key TEXT,"
	"  attributes TEXT,"
	"  path TEXT NOT NULL,"
	"  rows INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  start_us INTEGER NOT NULL,"
	"  end_us INTEGER NOT NULL,"
	"  schema_version INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  removed_at TEXT,"
	"  removed_ms INTEGER,"
	"  removed_version INTEGER);"
	"CREATE INDEX IF NOT EXISTS ts_partitions_live"
	"  ON ts_partitions(dataset, removed_ms, start_us);"
	"CREATE INDEX IF NOT EXISTS ts_partitions_day ON ts_partitions(dataset, day);"
	"CREATE TABLE IF NOT EXISTS ts_idempotency ("
	"  dataset TEXT NOT NULL,"
	"  idempotency_key TEXT NOT NULL,"
	"  payload_hash TEXT NOT NULL,"
	"  response TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY(dataset, idempotency_key)) WITHOUT ROWID;",
	/*
	 * 16: a namespace's new records are counted by the transaction that
	 * adds them, once (lib/metastore.c), not by a trigger a record.
	 */
	"DROP TRIGGER IF EXISTS metastore_records_ins;",
	/*
	 * 17: a metadata index's element id (lib/metastore-index.c), whose rows
	 * lib/metastore.c keeps as records change: not three triggers an
	 * index, which every process parsed with the schema (a metastore get:
	 * 0.12 ms of 1.9 with three indexes). Indexes made before keep their
	 * triggers and have no row here.
	 */
	"CREATE TABLE IF NOT EXISTS metastore_element_ids ("
	"  namespace TEXT NOT NULL,"
	"  field TEXT NOT NULL,"
	"  ix INTEGER NOT NULL,"
	"  PRIMARY KEY(namespace, field)) WITHOUT ROWID;",
};

#define NR_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int ah_schema_version(void)
{
	return NR_MIGRATIONS;
}

char *ah_state_resolve_dir(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return xstrdup(opt);
	env = getenv("APPHUB_HOME");
	if (env && *env)
		return xstrdup(env);
	env = getenv("XDG_STATE_HOME");
	if (env && *env)
		return xstrfmt("%s/apphub", env);
	env = getenv("HOME");
	if (!env || !*env)
		env = "/";
	return xstrfmt("%s/.local/state/apphub", env);
}

int ah_sql_error(struct ah_state *st, struct ah_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(st->db) & 0xff;

	/* A damaged or foreign file is no request error: the state is unusable. */
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return ah_fatal(err, "%s: database '%s/apphub.db' is corrupt or not an apphub database",
				what, st->dir);
	if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_IOERR ||
	    code == SQLITE_FULL || code == SQLITE_PERM)
		return ah_fatal(err, "%s: %s (state directory '%s')", what,
				sqlite3_errmsg(st->db), st->dir);
	return ah_internal(err, "%s: %s", what, sqlite3_errmsg(st->db));
}

int ah_step_done(struct ah_state *st, sqlite3_stmt *stmt, const char *what, struct ah_err *err)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : ah_sql_error(st, err, what);
}

int ah_step_exists(struct ah_state *st, sqlite3_stmt *stmt, const char *what, struct ah_err *err)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, what);
	return rc == SQLITE_ROW;
}

json_t *ah_step_rows(struct ah_state *st, sqlite3_stmt *stmt, json_t *(*row)(sqlite3_stmt *),
		     const char *what, struct ah_err *err)
{
	json_t *data = json_array();
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(data, row(stmt));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(data);
		ah_sql_error(st, err, what);
		return NULL;
	}
	return data;
}

int ah_exec(struct ah_state *st, const char *sql, struct ah_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ah_sql_error(st, err, "database");
	return 0;
}

/*
 * The WAL's length (frames) from which a commit checkpoints, as
 * wal_autocheckpoint's default; and from which the writer copies the
 * rest itself: the thread's checkpoints trail the last commit, and a WAL
 * starts over only at a write after a checkpoint that copied all of it.
 */
#define CHECKPOINT_FRAMES 1000
#define CHECKPOINT_RESTART_FRAMES 10000

/* A statement of the group's, cached: they run a few times a document. */
static int group_step(struct ah_state *st, const char *sql, struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	return stmt ? ah_step_done(st, stmt, "database", err) : -1;
}

/* A transaction of the group's: a savepoint in the group's transaction, begun here first. */
static int group_begin(struct ah_state *st, struct ah_err *err)
{
	static const char begin[] = "BEGIN IMMEDIATE", savepoint[] = "SAVEPOINT ah_group";

	if (sqlite3_get_autocommit(st->db)) {
		if (st->group_open)
			return ah_internal(err, "database: the writes grouped since the last"
					   " commit were rolled back");
		if (group_step(st, begin, err) < 0)
			return -1;
		st->group_open = 1;
	}
	if (group_step(st, savepoint, err) < 0)
		return -1;
	st->group_depth++;
	return 0;
}

int ah_begin_write(struct ah_state *st, struct ah_err *err)
{
	if (st->group)
		return group_begin(st, err);
	return ah_exec(st, "BEGIN IMMEDIATE", err);
}

int ah_begin_read(struct ah_state *st, struct ah_err *err)
{
	if (st->group)
		return group_begin(st, err);
	return ah_exec(st, "BEGIN", err);
}

int ah_commit(struct ah_state *st, struct ah_err *err)
{
	static const char release[] = "RELEASE ah_group";

	if (!st->group_depth)
		return ah_exec(st, "COMMIT", err);
	st->group_depth--;
	return group_step(st, release, err);
}

void ah_rollback(struct ah_state *st)
{
	static const char undo[] = "ROLLBACK TO ah_group", release[] = "RELEASE ah_group";
	struct ah_err ignored = AH_ERR_INIT;

	if (st->group_depth) {
		st->group_depth--;
		/* the savepoint is gone with the group's transaction when SQLite rolled that back */
		if (!sqlite3_get_autocommit(st->db) && group_step(st, undo, &ignored) == 0)
			group_step(st, release, &ignored);
		return;
	}
	/* in a group, none of its transactions is open: the group's is not the caller's */
	if (!st->group && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void ah_group_start(struct ah_state *st)
{
	st->group = 1;
}

int ah_group_commit(struct ah_state *st, struct ah_err *err)
{
	static const char commit[] = "COMMIT";
	int open = st->group_open;

	st->group_open = 0;
	if (st->group_depth) {
		/* a caller's bug: nothing of the group is committed half-way */
		st->group_depth = 0;
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return ah_internal(err, "database: a grouped transaction is still open");
	}
	if (!open)
		return 0;
	if (sqlite3_get_autocommit(st->db))
		return ah_internal(err, "database: the writes grouped since the last commit"
				   " were rolled back");
	if (group_step(st, commit, err) < 0)
		return -1;
	/*
	 * A group is a load: once its commits fill the WAL, a thread copies
	 * it behind them, and the writer no longer waits for the disk (a
	 * load of 1,000,000 records waited 2.9 s of 10.8 in its commits).
	 */
	if (st->wal_frames >= CHECKPOINT_FRAMES)
		ah_checkpoint_behind(st);
	return 0;
}

sqlite3_stmt *ah_stmt(struct ah_state *st, const char *sql, struct ah_err *err)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;

	for (i = 0; i < st->cache_nr; i++) {
		if (st->cache[i].sql == sql) {
			stmt = st->cache[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
		ah_sql_error(st, err, "database");
		return NULL;
	}
	if (st->cache_nr == st->cache_alloc) {
		st->cache_alloc = st->cache_alloc ? 2 * st->cache_alloc : 16;
		st->cache = xrealloc(st->cache, st->cache_alloc * sizeof(*st->cache));
	}
	st->cache[st->cache_nr].sql = sql;
	st->cache[st->cache_nr].stmt = stmt;
	st->cache_nr++;
	return stmt;
}

int ah_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (!s)
		return sqlite3_bind_null(stmt, i);
	return sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

int ah_bind_kept(sqlite3_stmt *stmt, int i, const char *s)
{
	if (!s)
		return sqlite3_bind_null(stmt, i);
	return sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

const char *ah_col_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	return s ? (const char *)s : "";
}

json_t *ah_col_string(sqlite3_stmt *stmt, int i)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL ? json_null() :
	       json_string(ah_col_text(stmt, i));
}

json_t *ah_col_integer(sqlite3_stmt *stmt, int i)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL ? json_null() :
	       json_integer(sqlite3_column_int64(stmt, i));
}

json_t *ah_col_json(sqlite3_stmt *stmt, int i)
{
	json_t *v = NULL;

	if (sqlite3_column_type(stmt, i) != SQLITE_NULL)
		v = json_loads(ah_col_text(stmt, i), JSON_DECODE_ANY, NULL);
	return v ? v : json_null();
}

static int user_version(struct ah_state *st, int *v, struct ah_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read database schema version");
		goto done;
	}
	*v = sqlite3_column_int(stmt, 0);
	ret = 0;
done:
	sqlite3_finalize(stmt);
	return ret;
}

static int check_newer(struct ah_state *st, int v, struct ah_err *err)
{
	if (v > NR_MIGRATIONS)
		return ah_fatal(err, "database '%s/apphub.db' has schema version %d, newer than this apphub's %d: upgrade apphub",
				st->dir, v, NR_MIGRATIONS);
	return 0;
}

/* Switches the file to WAL; the pragma answers the mode it ended in. */
static int set_wal(struct ah_state *st, struct ah_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot set up database");
		goto done;
	}
	if (strcmp((const char *)sqlite3_column_text(stmt, 0), "wal")) {
		ah_fatal(err, "cannot set up database '%s/apphub.db': it stays in %s mode",
			 st->dir, sqlite3_column_text(stmt, 0));
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	return ret;
}

/*
 * Brings the schema up to date. Processes that find it behind take an
 * exclusive lock on DIR/apphub.lock first and read the version again under
 * it, so when several start on a new state directory at once, one switches
 * the file to WAL and migrates while the others wait, instead of meeting
 * the journal mode change half-way ("database is locked").
 */
static int migrate(struct ah_state *st, struct ah_err *err)
{
	int v, fd = -1, ret = -1;
	char sql[64], *lock = NULL;

	if (user_version(st, &v, err) < 0 || check_newer(st, v, err) < 0)
		return -1;
	if (v == NR_MIGRATIONS)
		return 0;
	lock = xstrfmt("%s/apphub.lock", st->dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		ah_fatal(err, "cannot lock '%s': %s", lock, strerror(errno));
		goto done;
	}
	if (user_version(st, &v, err) < 0 || check_newer(st, v, err) < 0)
		goto done;
	if (v == NR_MIGRATIONS) {
		ret = 0;
		goto done;
	}
	/*
	 * A new database gets 8 KiB pages (a no-op on one that has any): a
	 * catalogue of 100,000 apps fills 170 MB, and with half as many pages
	 * an import writes and checkpoints half as many WAL frames, each a
	 * system call or two, and its b-trees are shallower.
	 */
	if ((!v && ah_exec(st, "PRAGMA page_size=8192", err) < 0) ||
	    set_wal(st, err) < 0 || ah_begin_write(st, err) < 0)
		goto done;
	if (user_version(st, &v, err) < 0 || check_newer(st, v, err) < 0)
		goto done;
	for (; v < NR_MIGRATIONS; v++) {
		if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			ah_sql_error(st, err, "cannot migrate database");
			goto done;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", NR_MIGRATIONS);
	if (ah_exec(st, sql, err) < 0 || ah_commit(st, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0)
		ah_rollback(st);
	if (fd >= 0)
		close(fd);
	free(lock);
	return ret;
}

/*
 * ah_in_bitmap(BITMAP, n): whether n is in a struct ah_bitmap bound as a
 * pointer (sqlite3_bind_pointer, type AH_BITMAP_PTR). A search filters tens
 * of thousands of full-text matches through it; probing an IN list's
 * b-tree for each cost more than the full-text match itself.
 */
static void fn_in_bitmap(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct ah_bitmap *b = sqlite3_value_pointer(argv[0], AH_BITMAP_PTR);
	sqlite3_int64 n = sqlite3_value_int64(argv[1]);

	(void)argc;
	sqlite3_result_int(ctx, b && n >= 0 && (sqlite3_uint64)n < b->nbits &&
				(b->bits[n >> 3] >> (n & 7) & 1));
}

void ah_text_rows_add(struct ah_text_rows *rows, sqlite3_int64 id, char **cells)
{
	if (rows->nr == rows->alloc) {
		rows->alloc = rows->alloc ? 2 * rows->alloc : 64;
		rows->ids = xrealloc(rows->ids, rows->alloc * sizeof(*rows->ids));
		rows->cells = xrealloc(rows->cells, rows->alloc * rows->ncols * sizeof(*rows->cells));
	}
	rows->ids[rows->nr] = id;
	memcpy(rows->cells + rows->nr * rows->ncols, cells, rows->ncols * sizeof(*cells));
	rows->nr++;
}

int ah_rows_stmt(struct ah_state *st, const char *sql, void *rows, const char *ptr_type,
		 size_t nr, sqlite3_stmt **stmt, struct ah_err *err)
{
	if (!nr)
		return 0;
	if (!(*stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_pointer(*stmt, 1, rows, ptr_type, NULL);
	sqlite3_bind_int64(*stmt, 2, (sqlite3_int64)nr);
	return 1;
}

void ah_text_rows_release(struct ah_text_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->nr * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->ids);
	free(rows->cells);
	rows->ids = NULL;
	rows->cells = NULL;
	rows->nr = rows->alloc = 0;
}

/* ah_text_row(ROWS, i, c): see struct ah_text_rows. */
static void fn_text_row(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct ah_text_rows *rows = sqlite3_value_pointer(argv[0], AH_TEXT_ROWS_PTR);
	sqlite3_int64 i = sqlite3_value_int64(argv[1]), c = sqlite3_value_int64(argv[2]);

	(void)argc;
	if (!rows || i < 0 || (sqlite3_uint64)i >= rows->nr || c < 0 || (sqlite3_uint64)c > rows->ncols)
		sqlite3_result_null(ctx);
	else if (!c)
		sqlite3_result_int64(ctx, rows->ids[i]);
	else
		sqlite3_result_text(ctx, rows->cells[(size_t)i * rows->ncols + (size_t)c - 1], -1,
				    SQLITE_STATIC);
}

void ah_int_rows_add(struct ah_int_rows *rows, const sqlite3_int64 *row)
{
	if (rows->nr == rows->alloc) {
		rows->alloc = rows->alloc ? 2 * rows->alloc : 256;
		rows->v = xrealloc(rows->v, rows->alloc * rows->ncols * sizeof(*rows->v));
	}
	memcpy(rows->v + rows->nr * rows->ncols, row, rows->ncols * sizeof(*row));
	rows->nr++;
}

void ah_int_rows_release(struct ah_int_rows *rows)
{
	free(rows->v);
	rows->v = NULL;
	rows->nr = rows->alloc = 0;
}

/* ah_int_row(ROWS, i, c): see struct ah_int_rows. */
static void fn_int_row(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct ah_int_rows *rows = sqlite3_value_pointer(argv[0], AH_INT_ROWS_PTR);
	sqlite3_int64 i = sqlite3_value_int64(argv[1]), c = sqlite3_value_int64(argv[2]);

	(void)argc;
	if (!rows || i < 0 || (sqlite3_uint64)i >= rows->nr || c < 0 || (sqlite3_uint64)c >= rows->ncols)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int64(ctx, rows->v[(size_t)i * rows->ncols + (size_t)c]);
}

/*
 * ah_contains(haystack, needle): whether the text holds the text, as
 * instr(h, n) > 0 says, through memmem: SQLite's instr compares at every
 * byte, and a metastore scan spent most of its time there. NULL when
 * either is.
 */
static void fn_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *h, *n;
	int hn, nn;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	h = sqlite3_value_text(argv[0]);
	hn = sqlite3_value_bytes(argv[0]);
	n = sqlite3_value_text(argv[1]);
	nn = sqlite3_value_bytes(argv[1]);
	if (!h || !n) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_int(ctx, memmem(h, (size_t)hn, n, (size_t)nn) != NULL);
}

int ah_sql_functions(sqlite3 *db)
{
	int rc;

	if ((rc = sqlite3_create_function_v2(db, "ah_in_bitmap", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY,
					     NULL, fn_in_bitmap, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(db, "ah_text_row", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY,
					     NULL, fn_text_row, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(db, "ah_int_row", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY,
					     NULL, fn_int_row, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(db, "ah_contains", 2,
					     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
					     NULL, fn_contains, NULL, NULL, NULL)) != SQLITE_OK)
		return rc;
	return ah_fts_stem_register(db);
}

/* APPHUB_TRACE_SQL=1: each statement and its time on stderr, as GIT_TRACE. */
static int trace_sql(unsigned type, void *data, void *p, void *x)
{
	char *sql;

	(void)data;
	if (type != SQLITE_TRACE_PROFILE)
		return 0;
	sql = sqlite3_expanded_sql(p);
	fprintf(stderr, "apphub: sql %.3f ms: %s\n", (double)*(sqlite3_int64 *)x / 1e6,
		sql ? sql : sqlite3_sql(p));
	sqlite3_free(sql);
	return 0;
}

/*
 * The first process to open the database after all have closed it reads
 * every frame of the WAL (SQLite's recovery: about 2 us a frame here), so
 * a process that leaves more than this many empties it as it closes.
 */
#define CLOSE_CHECKPOINT_FRAMES 100

/* After each commit, as wal_autocheckpoint's hook, counting the frames. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct ah_state *st = arg;

	st->wal_frames = frames;
	if (frames >= CHECKPOINT_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

struct ah_checkpointer {
	sqlite3 *db;
	int *wal_frames;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int poked, busy, stop;
};

/*
 * A passive checkpoint copies what the readers allow and never waits, so
 * the writer goes on meanwhile.
 */
static void *checkpointer_main(void *arg)
{
	struct ah_checkpointer *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->poked && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		c->poked = 0;
		c->busy = 1;
		pthread_mutex_unlock(&c->lock);
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->lock);
		c->busy = 0;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* After each commit of the writer, in place of wal_autocheckpoint's hook. */
static int checkpoint_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct ah_checkpointer *c = arg;

	(void)name;
	*c->wal_frames = frames;
	if (frames < CHECKPOINT_FRAMES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->lock);
	while (c->busy)
		pthread_cond_wait(&c->cond, &c->lock);
	if (frames < CHECKPOINT_RESTART_FRAMES) {
		c->poked = 1;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		return SQLITE_OK;
	}
	pthread_mutex_unlock(&c->lock);
	/* What the thread has not copied yet is the last commit. */
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

void ah_checkpoint_behind(struct ah_state *st)
{
	struct ah_checkpointer *c;
	char *path;

	if (st->checkpointer)
		return;
	c = xcalloc(1, sizeof(*c));
	path = xstrfmt("%s/apphub.db", st->dir);
	/* A connection sees the WAL only once it has read the database. */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (pthread_create(&c->thread, NULL, checkpointer_main, c)) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		goto fail;
	}
	c->wal_frames = &st->wal_frames;
	sqlite3_wal_hook(st->db, checkpoint_hook, c);
	st->checkpointer = c;
	free(path);
	return;
fail:
	sqlite3_close(c->db);
	free(c);
	free(path);
}

static void checkpointer_stop(struct ah_state *st)
{
	struct ah_checkpointer *c = st->checkpointer;

	if (!c)
		return;
	/* The thread's connection goes first: the writer's close copies what is left. */
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	sqlite3_close(c->db);
	free(c);
	st->checkpointer = NULL;
	sqlite3_wal_hook(st->db, wal_hook, st);
}

/*
 * The directory 0700 and the database's files 0600, also when an older
 * apphub (or a umask) made them looser: they hold launch env, tokens and
 * keys. Files created later inherit no group or other access through the
 * directory. Another user's directory is left as it is.
 */
static int tighten(const char *dir, struct ah_err *err)
{
	static const char *const files[] = { "apphub.db", "apphub.db-wal", "apphub.db-shm" };
	struct stat sb;
	size_t i;
	int fd;

	if (stat(dir, &sb) < 0)
		return ah_fatal(err, "cannot use state directory '%s': %s", dir, strerror(errno));
	if (sb.st_uid == geteuid() && (sb.st_mode & 077) && chmod(dir, sb.st_mode & 0700) < 0)
		return ah_fatal(err, "cannot restrict state directory '%s': %s", dir,
				strerror(errno));
	/*
	 * By path, never open and close: closing any descriptor of a file
	 * drops the POSIX locks another SQLite connection of this process
	 * holds on it. SQLite gives -wal and -shm the database's mode, so a
	 * new database is made 0600 first (O_EXCL: nobody has it open).
	 */
	for (i = 0; i < sizeof(files) / sizeof(*files); i++) {
		char *path = xstrfmt("%s/%s", dir, files[i]);

		if (lstat(path, &sb) < 0) {
			if (errno == ENOENT && !i &&
			    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				       0600)) >= 0)
				close(fd);
		} else if (S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077)) {
			chmod(path, sb.st_mode & 0600);
		}
		free(path);
	}
	return 0;
}

/*
 * Before SQLite's first use in the process: it keeps no memory statistics,
 * whose mutex every allocation took (nothing reads them; a bulk write of
 * 10,000 records: 8% sooner). Once SQLite is in use this changes nothing.
 */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int ah_state_open(struct ah_state **out, const char *dir_opt, struct ah_err *err)
{
	static pthread_once_t setup = PTHREAD_ONCE_INIT;
	struct ah_state *st = xcalloc(1, sizeof(*st));
	char *path = NULL;
	int rc;

	pthread_once(&setup, sqlite_setup);
	st->dir = ah_state_resolve_dir(dir_opt);
	/* the state directory itself holds secrets: only its owner gets in */
	if (ah_mkdir_p(st->dir, 0700) < 0) {
		ah_fatal(err, "cannot create state directory '%s': %s", st->dir, strerror(errno));
		goto fail;
	}
	if (access(st->dir, W_OK) < 0) {
		ah_fatal(err, "cannot use state directory '%s': %s", st->dir, strerror(errno));
		goto fail;
	}
	if (tighten(st->dir, err) < 0)
		goto fail;
	path = xstrfmt("%s/apphub.db", st->dir);
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ah_fatal(err, "cannot open database '%s': %s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/*
	 * A process that closes the last connection would checkpoint the WAL
	 * and delete it (four fsyncs): most of a short write's time. The
	 * commits' own checkpoints, and ah_state_close's past
	 * CLOSE_CHECKPOINT_FRAMES, keep the WAL short.
	 */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_hook(st->db, wal_hook, st);
	if (getenv("APPHUB_TRACE_SQL"))
		sqlite3_trace_v2(st->db, SQLITE_TRACE_PROFILE, trace_sql, NULL);
	sqlite3_busy_timeout(st->db, 10000);
	if (ah_sql_functions(st->db) != SQLITE_OK) {
		ah_sql_error(st, err, "cannot set up database");
		goto fail;
	}
	/*
	 * journal_size_limit: a WAL that starts over is cut back to 64 MiB.
	 * No mmap and SQLite's small default cache: most processes are short,
	 * and a scan through a mapping faults in every page once (a
	 * metastore search over 100,000 records: 74 ms, through read() into
	 * a cache that recycles its 2 MB, 51 ms; app search is the same).
	 */
	if (ah_exec(st, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
		    " PRAGMA mmap_size=0; PRAGMA cache_size=-2000;"
		    " PRAGMA journal_size_limit=67108864",
		    err) < 0)
		goto fail;
	if (migrate(st, err) < 0)
		goto fail;
	free(path);
	*out = st;
	return 0;
fail:
	free(path);
	ah_state_close(st);
	return -1;
}

void ah_state_close(struct ah_state *st)
{
	size_t i;

	if (!st)
		return;
	checkpointer_stop(st);
	/*
	 * Without waiting: with another process in the database, the WAL is
	 * not the last closer's to empty.
	 */
	if (st->db && st->wal_frames >= CLOSE_CHECKPOINT_FRAMES) {
		sqlite3_busy_timeout(st->db, 0);
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	for (i = 0; i < st->cache_nr; i++)
		sqlite3_finalize(st->cache[i].stmt);
	free(st->cache);
	free(st->tag_counts);
	if (st->links)
		ah_int_rows_release(st->links);
	free(st->links);
	free(st->tag_ids);
	sqlite3_close(st->db);
	free(st->dir);
	free(st);
}
