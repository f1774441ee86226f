#ifndef BUILDS_H
#define BUILDS_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"
#include "work.h"

/*
 * Build records: an app built at a commit of its mirror into the image
 * apphub/<id>:<first 12 of the commit sha>. A record goes pending ->
 * running -> succeeded|failed; its full log is STATE/builds/<build>.log,
 * its last AH_BUILD_PREVIEW_MAX characters are in the record.
 *
 * Builds wait in the work queue as "build" items whose subject is the app
 * id (a successful ingest queues one), claimed with a lease as ingests
 * are. An item with no pending record builds the app's ingested commit.
 * A build that fails is final; a worker that dies or runs out of time
 * costs an attempt and the record waits again, up to the attempt limit.
 *
 * The record listing, logs and retry are plain SQL and file reads, so
 * the light binary carries them; building (libgit2 and the engine) is
 * lib/build-worker.c's, which only the binaries that build link.
 */
#define AH_BUILD_PREVIEW_MAX 4000
#define AH_BUILD_ERROR_MAX 2000

struct ah_build_config {
	int attempts;		/* APPHUB_BUILD_ATTEMPTS (3): worker deaths tolerated */
	int64_t backoff_ms;	/* APPHUB_BUILD_BACKOFF_MS (10000), doubled each retry */
	int64_t timeout_ms;	/* APPHUB_BUILD_TIMEOUT_MS (30 minutes) */
	int64_t lease_ms;	/* APPHUB_BUILD_LEASE_MS (60 s), renewed while working */
	int64_t max_log;	/* APPHUB_BUILD_MAX_LOG_BYTES (16 MiB) */
	int64_t max_context;	/* APPHUB_BUILD_MAX_CONTEXT_BYTES (1 GiB) */
	int64_t max_file;	/* APPHUB_BUILD_MAX_FILE_BYTES (100 MiB), one file of it */
};

/* A claimed work item and the record it builds. */
struct ah_build_item {
	struct ah_work_lease lease;
	sqlite3_int64 app, build;
	char app_id[72];
	char id[40];		/* the build id */
};

/* The work kind of builds (lib/build-worker.c), for the runner (lib/runner.h). */
extern const struct ah_work_kind ah_build_work;

int ah_build_config_load(struct ah_build_config *cfg, struct ah_err *err);

/* The record of build id (or of row n when id is NULL), or NULL with err. */
json_t *ah_build_json(struct ah_state *st, const char *id, sqlite3_int64 n, struct ah_err *err);

/*
 * Queues a build of app id at ref (NULL: its ingested commit) with engine
 * (NULL: the default): a pending record and the work item. 404 for an
 * unknown app, 409 when it has a build pending or running or was never
 * ingested. *record is the new record. With item, the build is claimed
 * for owner in the same transaction (no worker can take it first).
 */
int ah_build_request(struct ah_state *st, const char *id, const char *ref, const char *engine,
		     const struct ah_build_config *cfg, const char *owner,
		     struct ah_build_item *item, json_t **record, struct ah_err *err);

/*
 * Inside the caller's transaction: claims the next due item (of app only_id
 * when not NULL) and marks its record running. Returns 1 with item
 * filled, 0 when nothing is due.
 */
int ah_build_claim(struct ah_state *st, const struct ah_build_config *cfg, const char *owner,
		   const char *only_id, struct ah_build_item *item, struct ah_err *err);

/*
 * Inside the caller's transaction, for an item still its worker's: records
 * that the worker died or ran out of time: the record waits again (an
 * attempt counted) or, at the limit, fails. *result is the record.
 */
int ah_build_fail(struct ah_state *st, const struct ah_build_config *cfg,
		  const struct ah_build_item *item, const char *message, json_t **result,
		  struct ah_err *err);

/* STATE/builds/<id>.log */
char *ah_build_log_path(const char *state_dir, const char *id);
/* Removes the logs of the builds ids (of an app removed); a failure is a warning. */
void ah_build_logs_remove(struct ah_state *st, json_t *ids);

/*
 * Shared with lib/build-worker.c. The failed transition of a record, inside
 * the caller's transaction; whether the item is still ours (claimed by us,
 * the record running our attempt); the result of an item found lost.
 */
int ah_build_record_failed(struct ah_state *st, const struct ah_build_item *item,
			   const char *message, int64_t duration_ms, struct ah_err *err);
int ah_build_still_ours(struct ah_state *st, const void *item, struct ah_err *err);
json_t *ah_build_lost_result(const void *item);

/*
 * The build records' operations (lib/ops-builds.c), params as the HTTP API
 * takes them (apphub-build(1)).
 */
/* {id (the app), limit?, offset?} -> {repositoryId, total, data:[record...]}, newest first */
int ah_builds_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id} -> the record */
int ah_builds_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id, offset?, limit?} -> {id, status, offset, nextOffset, size, data} */
int ah_builds_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id} -> the record queued again (a failed build only) */
int ah_builds_retry(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id (the app), ref?, engine?} -> the queued record */
int ah_builds_create(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
