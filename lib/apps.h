#ifndef APPS_H
#define APPS_H

#include <jansson.h>
#include "state.h"

/*
 * The app records (lib/apps.c): a registration validated, apps added,
 * updated, removed and tagged, an app as JSON.
 */
#define AH_NAME_MAX 200
#define AH_DESCRIPTION_MAX 2000
#define AH_REPO_URL_MAX 2048

int ah_valid_app_id(const char *id, struct ah_err *err);
int ah_valid_repo_url(const char *url, struct ah_err *err);
int ah_valid_dockerfile_path(const char *path, struct ah_err *err);
/* An id from the repository's last path component, or NULL when none fits. */
char *ah_derive_app_id(const char *repo_url);

/* The app's row number, or a 404 error. */
int ah_app_lookup(struct ah_state *st, const char *id, sqlite3_int64 *n, struct ah_err *err);
/* The app as its JSON object (field names of the HTTP API). */
json_t *ah_app_json(struct ah_state *st, sqlite3_int64 n, struct ah_err *err);
/* Rewrites the apps' full-text rows after their name, description or tags change. */
int ah_apps_reindex(struct ah_state *st, const sqlite3_int64 *ns, size_t nr, struct ah_err *err);

/*
 * The app records' operations (lib/ops-apps.c), each in a transaction of
 * its own; params as the HTTP API takes them (apphub-apps(1)).
 */
/* {id, repoUrl, name?, description?, tags?, dockerfilePath?, update?} -> the app */
int ah_apps_add(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {items:[registration...], lines?, update?} -> {imported, failed, errors} */
int ah_apps_import(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id} -> the app */
int ah_apps_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * Removes app id, its mirror too; its builds' ids into builds (their
 * logs outlive the rows: the caller removes them).
 */
int ah_apps_rm(struct ah_state *st, const char *id, json_t *builds, struct ah_err *err);
/* {id, add?, remove?} -> the app */
int ah_apps_tag(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/*
 * Queues app id for ingestion again, in a transaction of its own; returns
 * the app. An app that waits or is being ingested is a conflict.
 */
json_t *ah_apps_retry(struct ah_state *st, const char *id, struct ah_err *err);

#endif
