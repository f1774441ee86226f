#ifndef APPS_H
#define APPS_H

#include <jansson.h>
#include "state.h"

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

#endif
