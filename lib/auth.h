#ifndef AUTH_H
#define AUTH_H

#include "state.h"

/*
 * Bearer tokens for serve: [{token, subject, scopes[], namespaces?[]}] from
 * $APPHUB_TOKENS (JSON) or the file $APPHUB_TOKENS_FILE. A token with no
 * scopes has none; "admin" has all; a write or run scope implies the read
 * scope of its area.
 */
struct ah_auth;

int ah_auth_load(struct ah_auth **out, struct ah_err *err);
void ah_auth_free(struct ah_auth *auth);
/* The number of tokens configured: with none, serve is loopback-only and open. */
size_t ah_auth_count(const struct ah_auth *auth);

/*
 * Checks the Authorization header (NULL when absent) for scope (NULL:
 * none needed). Returns 0 with *subject set (static or owned by auth), or
 * -1 with 401 for no credential, 403 for a wrong token or a missing scope.
 */
int ah_auth_check(const struct ah_auth *auth, const char *authorization, const char *scope,
		  const char **subject, struct ah_err *err);

/*
 * The metastore's namespaces a request's token may touch: a token that
 * lists namespaces may touch those only (exact, case aside); any other
 * request (no token, no tokens configured, no list) is not limited here.
 * ah_auth_namespace_ok(): whether ns (NULL: none given) is one it may touch.
 */
int ah_auth_namespaces_limited(const struct ah_auth *auth, const char *authorization);
int ah_auth_namespace_ok(const struct ah_auth *auth, const char *authorization, const char *ns);

/*
 * The page's secret, made once per state directory: 32 random bytes as
 * hex in DIR/serve-secret, mode 0600. serve hands it to the page in a
 * SameSite=Strict cookie; a write from a browser must bring it back, so a
 * page of another site cannot write even where no token is needed.
 */
#define AH_PAGE_SECRET_LEN 64
int ah_auth_page_secret(const char *dir, char out[AH_PAGE_SECRET_LEN + 1], struct ah_err *err);

/* Whether the Cookie header carries name=secret; the value is compared in constant time. */
int ah_auth_cookie_ok(const char *cookie, const char *name, const char *secret);

/* Appends an audit row: a write or a refusal. */
int ah_audit(struct ah_state *st, const char *subject, const char *op, const char *method,
	     const char *path, int status, const char *remote, const char *message,
	     struct ah_err *err);

#endif
