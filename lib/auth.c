#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "auth.h"
#include "strbuf.h"
#include "timeutil.h"

struct ah_token {
	char *token;
	size_t len;
	char *subject;
	json_t *scopes;
};

struct ah_auth {
	struct ah_token *tokens;
	size_t nr;
};

static int load_entries(struct ah_auth *auth, json_t *list, const char *from, struct ah_err *err)
{
	json_t *e, *scopes, *s;
	size_t i, j;

	if (!json_is_array(list))
		return ah_invalid(err, "invalid %s: must be a JSON array of {token, subject, scopes}", from);
	auth->tokens = xcalloc(json_array_size(list) + 1, sizeof(*auth->tokens));
	json_array_foreach(list, i, e) {
		const char *token = json_string_value(json_object_get(e, "token"));
		const char *subject = json_string_value(json_object_get(e, "subject"));
		struct ah_token *t = &auth->tokens[auth->nr];

		if (!json_is_object(e))
			return ah_invalid(err, "invalid %s: entry %zu: must be an object", from, i + 1);
		if (!token || strlen(token) < 8)
			return ah_invalid(err, "invalid %s: entry %zu: token: must be a string of at least 8 characters", from, i + 1);
		if (!subject || !*subject)
			return ah_invalid(err, "invalid %s: entry %zu: subject: must be a non-empty string", from, i + 1);
		scopes = json_object_get(e, "scopes");
		if (scopes && !json_is_array(scopes))
			return ah_invalid(err, "invalid %s: entry %zu: scopes: must be an array of strings", from, i + 1);
		json_array_foreach(scopes, j, s)
			if (!json_is_string(s))
				return ah_invalid(err, "invalid %s: entry %zu: scopes: must be an array of strings", from, i + 1);
		t->token = xstrdup(token);
		t->len = strlen(token);
		t->subject = xstrdup(subject);
		t->scopes = scopes ? json_incref(scopes) : json_array();
		auth->nr++;
	}
	return 0;
}

int ah_auth_load(struct ah_auth **out, struct ah_err *err)
{
	const char *env = getenv("APPHUB_TOKENS"), *file = getenv("APPHUB_TOKENS_FILE");
	struct ah_auth *auth = xcalloc(1, sizeof(*auth));
	json_error_t jerr;
	json_t *list = NULL;
	char *from = NULL;
	int ret = -1;

	*out = NULL;
	if (env && *env) {
		from = xstrdup("APPHUB_TOKENS");
		list = json_loads(env, 0, &jerr);
	} else if (file && *file) {
		from = xstrfmt("tokens file '%s'", file);
		list = json_load_file(file, 0, &jerr);
	} else {
		ret = 0;
		goto done;
	}
	if (!list) {
		char why[AH_JSON_WHY_MAX];

		ah_invalid(err, "invalid %s: %s", from, ah_json_why(&jerr, why, sizeof(why)));
		goto done;
	}
	if (load_entries(auth, list, from, err) < 0)
		goto done;
	ret = 0;
done:
	json_decref(list);
	free(from);
	if (ret < 0)
		ah_auth_free(auth);
	else
		*out = auth;
	return ret;
}

void ah_auth_free(struct ah_auth *auth)
{
	size_t i;

	if (!auth)
		return;
	for (i = 0; i < auth->nr; i++) {
		free(auth->tokens[i].token);
		free(auth->tokens[i].subject);
		json_decref(auth->tokens[i].scopes);
	}
	free(auth->tokens);
	free(auth);
}

size_t ah_auth_count(const struct ah_auth *auth)
{
	return auth ? auth->nr : 0;
}

/* Compares in time that depends on the lengths only, not on where they differ. */
static int token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;
	size_t i;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)(a[i % (alen ? alen : 1)] ^ b[i]);
	return !diff && alen;
}

static int has_scope(const struct ah_token *t, const char *scope)
{
	const char *colon = strrchr(scope, ':');
	size_t area = colon ? (size_t)(colon - scope) : 0;
	json_t *s;
	size_t i;

	json_array_foreach(t->scopes, i, s) {
		const char *have = json_string_value(s);

		if (!strcmp(have, scope) || !strcmp(have, "admin"))
			return 1;
		/* Write and run imply read. */
		if (colon && !strcmp(colon + 1, "read") && !strncmp(have, scope, area + 1) &&
		    (!strcmp(have + area + 1, "write") || !strcmp(have + area + 1, "run")))
			return 1;
	}
	return 0;
}

int ah_auth_check(const struct ah_auth *auth, const char *authorization, const char *scope,
		  const char **subject, struct ah_err *err)
{
	const struct ah_token *found = NULL;
	const char *cred;
	size_t i, len;

	*subject = "anonymous";
	if (!auth || !auth->nr) {
		*subject = "local";
		return 0;
	}
	if (!authorization || strncasecmp(authorization, "Bearer ", 7)) {
		if (!scope)
			return 0;
		if (authorization)
			return ah_error(err, 401, "unauthorized",
					"authorization: not a bearer token");
		return ah_error(err, 401, "unauthorized",
				"authorization required: a bearer token with scope '%s'", scope);
	}
	cred = authorization + 7;
	while (*cred == ' ')
		cred++;
	len = strlen(cred);
	/* Every token is compared, so the time says nothing about which matched. */
	for (i = 0; i < auth->nr; i++)
		if (token_equal(auth->tokens[i].token, auth->tokens[i].len, cred, len) && !found)
			found = &auth->tokens[i];
	if (!found)
		return ah_error(err, 403, "forbidden", "authorization: unknown token");
	*subject = found->subject;
	if (scope && !has_scope(found, scope))
		return ah_error(err, 403, "forbidden", "authorization: token of '%s' lacks scope '%s'",
				found->subject, scope);
	return 0;
}

int ah_audit(struct ah_state *st, const char *subject, const char *op, const char *method,
	     const char *path, int status, const char *remote, const char *message,
	     struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO audit(time, subject, op, method, path, status, remote, message)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	char now[AH_ISO_LEN];

	if (!stmt)
		return -1;
	ah_now_iso(now);
	ah_bind_text(stmt, 1, now);
	ah_bind_text(stmt, 2, subject);
	ah_bind_text(stmt, 3, op);
	ah_bind_text(stmt, 4, method);
	ah_bind_text(stmt, 5, path);
	sqlite3_bind_int(stmt, 6, status);
	ah_bind_text(stmt, 7, remote);
	ah_bind_text(stmt, 8, message);
	return ah_step_done(st, stmt, "cannot record audit", err);
}
