/*
 * serve's bearer tokens ($APPHUB_TOKENS): loading them, checking a request's
 * against the scope an operation needs, and the page's secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <jansson.h>
#include "auth.h"
#include "fsutil.h"
#include "strbuf.h"
#include "timeutil.h"

struct ah_token {
	char *token;
	size_t len;
	char *subject;
	json_t *scopes;
	json_t *namespaces;	/* NULL: any; else the metastore namespaces it may touch */
};

struct ah_auth {
	struct ah_token *tokens;
	size_t nr;
};

static int load_entries(struct ah_auth *auth, json_t *list, const char *from, struct ah_err *err)
{
	json_t *e, *scopes, *namespaces, *s;
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
		namespaces = json_object_get(e, "namespaces");
		if (namespaces && !json_is_null(namespaces) && !json_is_array(namespaces))
			return ah_invalid(err, "invalid %s: entry %zu: namespaces: must be an array of strings", from, i + 1);
		json_array_foreach(namespaces, j, s)
			if (!json_is_string(s))
				return ah_invalid(err, "invalid %s: entry %zu: namespaces: must be an array of strings", from, i + 1);
		t->token = xstrdup(token);
		t->len = strlen(token);
		t->subject = xstrdup(subject);
		t->scopes = scopes ? json_incref(scopes) : json_array();
		/* An empty list is a list: such a token may touch no namespace. */
		t->namespaces = json_is_array(namespaces) ? json_incref(namespaces) : NULL;
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
		json_decref(auth->tokens[i].namespaces);
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

/* The token authorization brings, NULL when none matches; every token is compared. */
static const struct ah_token *find_token(const struct ah_auth *auth, const char *authorization)
{
	const struct ah_token *found = NULL;
	const char *cred;
	size_t i, len;

	if (!auth || !authorization || strncasecmp(authorization, "Bearer ", 7))
		return NULL;
	cred = authorization + 7;
	while (*cred == ' ')
		cred++;
	len = strlen(cred);
	for (i = 0; i < auth->nr; i++)
		if (token_equal(auth->tokens[i].token, auth->tokens[i].len, cred, len) && !found)
			found = &auth->tokens[i];
	return found;
}

int ah_auth_namespaces_limited(const struct ah_auth *auth, const char *authorization)
{
	const struct ah_token *t = find_token(auth, authorization);

	return t && t->namespaces;
}

int ah_auth_namespace_ok(const struct ah_auth *auth, const char *authorization, const char *ns)
{
	const struct ah_token *t = find_token(auth, authorization);
	json_t *v;
	size_t i;

	if (!t || !t->namespaces)
		return 1;
	if (!ns)
		return 0;
	json_array_foreach(t->namespaces, i, v)
		if (!strcasecmp(json_string_value(v), ns))
			return 1;
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

static int read_secret(const char *path, char out[AH_PAGE_SECRET_LEN + 1], struct ah_err *err)
{
	char buf[AH_PAGE_SECRET_LEN + 2];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), i, ret = -1;

	if (fd < 0)
		return errno == ENOENT ? 1 : ah_fatal(err, "cannot read '%s': %s", path, strerror(errno));
	/* Older trees made files 0644: the secret is for serve alone. */
	fchmod(fd, 0600);
	n = read(fd, buf, sizeof(buf));
	if (n == AH_PAGE_SECRET_LEN + 1 && buf[AH_PAGE_SECRET_LEN] == '\n')
		n--;
	if (n != AH_PAGE_SECRET_LEN) {
		ah_fatal(err, "invalid '%s': must be %d hex digits (remove it to make a new one)",
			 path, AH_PAGE_SECRET_LEN);
		goto done;
	}
	for (i = 0; i < AH_PAGE_SECRET_LEN; i++) {
		if (!strchr("0123456789abcdef", buf[i]) || !buf[i]) {
			ah_fatal(err, "invalid '%s': must be %d hex digits (remove it to make a new one)",
				 path, AH_PAGE_SECRET_LEN);
			goto done;
		}
	}
	memcpy(out, buf, AH_PAGE_SECRET_LEN);
	out[AH_PAGE_SECRET_LEN] = '\0';
	ret = 0;
done:
	close(fd);
	return ret;
}

int ah_auth_page_secret(const char *dir, char out[AH_PAGE_SECRET_LEN + 1], struct ah_err *err)
{
	char *path = xstrfmt("%s/serve-secret", dir);
	char *tmp = xstrfmt("%s/serve-secret.%ld", dir, (long)getpid());
	unsigned char raw[AH_PAGE_SECRET_LEN / 2];
	char hex[AH_PAGE_SECRET_LEN + 2];
	int fd = -1, rc, ret = -1;
	size_t i;

	if ((rc = read_secret(path, out, err)) <= 0) {
		ret = rc;
		goto done;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		ah_fatal(err, "cannot make the page secret: %s", strerror(errno));
		goto done;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[AH_PAGE_SECRET_LEN] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || ah_write_full(fd, hex, AH_PAGE_SECRET_LEN + 1) < 0 || fsync(fd) < 0) {
		ah_fatal(err, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	/* link() makes it whole or not at all; a serve that starts at once keeps the first. */
	if (link(tmp, path) < 0 && errno != EEXIST) {
		ah_fatal(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if ((rc = read_secret(path, out, err)) > 0)
		ah_fatal(err, "cannot read '%s': %s", path, strerror(ENOENT));
	ret = rc ? -1 : 0;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(hex, sizeof(hex));
	free(path);
	free(tmp);
	return ret;
}

int ah_auth_cookie_ok(const char *cookie, const char *name, const char *secret)
{
	size_t nlen = strlen(name);
	const char *p = cookie;

	while (p && *p) {
		const char *end;

		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if (!strncmp(p, name, nlen) && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = (size_t)(end - v);

			while (vlen && v[vlen - 1] == ' ')
				vlen--;
			return token_equal(secret, strlen(secret), v, vlen);
		}
		p = end;
	}
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
