#ifndef INGEST_H
#define INGEST_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"

/*
 * Ingestion: a worker claims an app's "ingest" work item with a lease,
 * fetches its repository into the bare mirror DIR/repos/<id>.git with
 * libgit2, analyses the tree at the branch head straight from the object
 * database (lib/analyze.c) and records the outcome. Long work happens
 * outside transactions; every transition is one transaction with its
 * history row and event.
 */
struct ah_ingest_config {
	int attempts;		/* APPHUB_INGEST_ATTEMPTS (3) */
	int64_t backoff_ms;	/* APPHUB_INGEST_BACKOFF_MS (10000), doubled each retry */
	int64_t max_bytes;	/* APPHUB_INGEST_MAX_BYTES (200 MiB) */
	int64_t timeout_ms;	/* APPHUB_INGEST_TIMEOUT_MS (10 minutes) */
	int64_t lease_ms;	/* APPHUB_INGEST_LEASE_MS (60 s), renewed while working */
	int64_t max_file;	/* APPHUB_INGEST_MAX_FILE_BYTES (1 MiB) */
};

/*
 * The status of an ingest error no retry can mend (a limit, a link out of
 * the repository, no Dockerfile, a refused address): the ingest fails at
 * once instead of spending its attempts.
 */
#define AH_INGEST_PERMANENT 422

/* A claimed work item. */
struct ah_ingest_item {
	sqlite3_int64 work_id, app;
	char id[72];
	char owner[128];
	int attempt;
	int64_t started_ms;
};

/* The configuration from the environment; an invalid value is an error. */
int ah_ingest_config_load(struct ah_ingest_config *cfg, struct ah_err *err);

/* "host:pid", for claimed_by. */
void ah_ingest_owner(char *buf, size_t len);

/*
 * Makes app id's ingest due now ("apphub ingest ID"): queues it, and marks
 * it pending unless it already is. 404 for an unknown app, 409 when a
 * live worker holds it.
 */
int ah_ingest_request(struct ah_state *st, const char *id, struct ah_err *err);

/*
 * Claims the next due item (only app only_id when not NULL) and marks the
 * app processing. Returns 1 with item filled, 0 when nothing is due. An
 * item whose worker went away on its last attempt is failed here instead.
 */
int ah_ingest_claim(struct ah_state *st, const struct ah_ingest_config *cfg, const char *owner,
		    const char *only_id, struct ah_ingest_item *item, struct ah_err *err);

/* Extends the lease of a claimed item. */
int ah_ingest_renew(struct ah_state *st, const struct ah_ingest_config *cfg,
		    const struct ah_ingest_item *item, struct ah_err *err);

/*
 * Fetches and analyses a claimed item and records the result; *result is
 * {id, status, attempt, commitSha, durationMs, error, ...}. Returns -1 only
 * when the result could not be recorded.
 */
int ah_ingest_perform(struct ah_state *st, const struct ah_ingest_config *cfg,
		      const struct ah_ingest_item *item, json_t **result, struct ah_err *err);

/* Records a failed attempt (a worker that died or ran out of time). */
int ah_ingest_fail(struct ah_state *st, const struct ah_ingest_config *cfg,
		   const struct ah_ingest_item *item, const char *message, json_t **result,
		   struct ah_err *err);

/*
 * When the next item falls due, in unix ms (for one another worker holds,
 * when its lease runs out): 0 when the queue is empty.
 */
int ah_ingest_next_due(struct ah_state *st, int64_t *when, struct ah_err *err);

/*
 * The ids of the apps registered with repository url, however it is
 * spelled (file:// or a path, with or without ".git" and "/"): for hooks.
 */
int ah_ingest_apps_for_repo(struct ah_state *st, const char *url, json_t **ids,
			    struct ah_err *err);

/* libgit2, once per process. */
void ah_ingest_global_init(void);
void ah_ingest_global_cleanup(void);

/*
 * The ingest operations (lib/ops-ingest.c), params as the HTTP API takes
 * them (apphub-ingest(1)).
 */
/* {id} -> the result, the app ingested now */
int ah_ingest_run(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {} -> {data:[item...]}: what waits in the queue */
int ah_ingest_queue(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
