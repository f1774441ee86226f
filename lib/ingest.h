#ifndef INGEST_H
#define INGEST_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"
#include "work.h"

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
	struct ah_work_lease lease;
	sqlite3_int64 app;
	char id[72];
};

/* The work kind of ingestion, for the runner (lib/runner.h). */
extern const struct ah_work_kind ah_ingest_work;

/* The configuration from the environment; an invalid value is an error. */
int ah_ingest_config_load(struct ah_ingest_config *cfg, struct ah_err *err);

/*
 * Makes app id's ingest due now ("apphub ingest ID"): queues it, and marks
 * it pending unless it already is. 404 for an unknown app, 409 when a
 * live worker holds it.
 */
int ah_ingest_request(struct ah_state *st, const char *id, struct ah_err *err);

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
/* {} -> {data:[item...]}: what waits in the queue */
int ah_ingest_queue(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
