/*
 * `apphub --server URL <command>`: the operation goes to a remote apphub
 * serve instead of the local state. The HTTP exchange happens in the
 * helper apphub-remote (libcurl, cmd/remote.c), so the light binary
 * stays light; this side turns the operation and its parameters into
 * method, URL and body, and the answer back into the result or the error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "exec-path.h"
#include "fsutil.h"
#include "remote.h"
#include "run-command.h"
#include "strbuf.h"

static void url_encode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

/* A scalar parameter as the query string carries it; NULL to leave out. */
static char *query_value(json_t *v)
{
	if (json_is_null(v))
		return NULL;
	if (json_is_object(v) || json_is_array(v))
		return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	return ah_json_scalar_text(v);
}

static void add_query(struct strbuf *url, int *first, const char *key, json_t *v)
{
	char *s = query_value(v);

	if (!s)
		return;
	strbuf_addch(url, *first ? '?' : '&');
	*first = 0;
	url_encode(url, key);
	strbuf_addch(url, '=');
	url_encode(url, s);
	free(s);
}

/*
 * The URL for op: the server, the path with its :params filled (and taken
 * out of rest), and for GET and DELETE the rest as the query string.
 */
static int build_request(const char *server, const struct ah_op *op, json_t *rest,
			 struct strbuf *url, struct ah_err *err)
{
	const char *p = op->path, *key;
	size_t len = strlen(server);
	json_t *v;
	int first = 1;

	while (len && server[len - 1] == '/')
		len--;
	strbuf_add(url, server, len);
	while (*p) {
		if (*p == ':') {
			size_t n = strcspn(p + 1, "/");
			char *name = xstrndup(p + 1, n);
			const char *val = json_string_value(json_object_get(rest, name));

			if (!val || !*val) {
				ah_invalid(err, "invalid %s: required", name);
				free(name);
				return -1;
			}
			url_encode(url, val);
			json_object_del(rest, name);
			free(name);
			p += n + 1;
		} else {
			strbuf_addch(url, *p++);
		}
	}
	if (strcmp(op->method, "GET") && strcmp(op->method, "DELETE"))
		return 0;
	json_object_foreach(rest, key, v) {
		size_t i;
		json_t *item;

		if (json_is_array(v))
			json_array_foreach(v, i, item)
				add_query(url, &first, key, item);
		else
			add_query(url, &first, key, v);
	}
	json_object_clear(rest);
	return 0;
}

/*
 * Runs apphub-remote METHOD URL with body on its stdin; its answer (the
 * status line, then the body) into answer. -1 with err when it could not
 * run or ended without an answer (its own message went to stderr).
 */
static int exchange(const char *method, const char *url, const char *body,
		    struct strbuf *answer, struct ah_err *err)
{
	char *path = ah_helper_path("apphub-remote");
	const char *argv[] = { path, method, url, NULL };
	struct ah_child c = AH_CHILD_INIT;
	int status, ret = -1;

	if (!path)
		return ah_fatal(err, "--server needs the helper 'apphub-remote', which is not installed (looked in "
				AH_HELPER_DIRS ")");
	c.argv = argv;
	c.in = body ? body : "";
	c.out = AH_CHILD_CAPTURE;
	/* apphub-remote says why it failed on stderr */
	c.err = AH_CHILD_INHERIT;
	status = ah_child_run(&c, err);
	if (status < 0) {
		struct ah_err why = *err;

		ah_fatal(err, "%s", why.msg);
		goto done;
	}
	if (status) {
		/* the error is only its status: its message is out already */
		ah_error(err, 500, "fatal", "%s", "");
		goto done;
	}
	strbuf_add(answer, c.out_buf.buf, c.out_buf.len);
	ret = 0;
done:
	ah_child_release(&c);
	free(path);
	return ret;
}

int ah_remote_call(const char *server, const char *name, json_t *params, json_t **out,
		   struct ah_err *err)
{
	const struct ah_op *op = ah_op_find(name);
	struct strbuf url = STRBUF_INIT, answer = STRBUF_INIT;
	json_t *rest = params ? json_deep_copy(params) : json_object(), *res = NULL;
	char *body = NULL, *nl, *end;
	long status;
	int ret = -1;

	*out = NULL;
	if (!op) {
		ah_not_found(err, "unknown operation '%s'", name);
		goto done;
	}
	if (!op->path) {
		ah_invalid(err, "%s works on a local state directory, not through --server", name);
		goto done;
	}
	if (build_request(server, op, rest, &url, err) < 0)
		goto done;
	if (json_object_size(rest))
		body = json_dumps(rest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (exchange(op->method, url.buf, body, &answer, err) < 0)
		goto done;
	nl = strchr(answer.buf, '\n');
	status = strtol(answer.buf, &end, 10);
	if (!nl || end != nl) {
		ah_fatal(err, "server '%s': no answer", server);
		goto done;
	}
	res = json_loads(nl + 1, JSON_DECODE_ANY, NULL);
	if (status >= 200 && status < 300 && res) {
		*out = res;
		res = NULL;
		ret = 0;
	} else if (json_is_object(json_object_get(res, "error"))) {
		json_t *e = json_object_get(res, "error");
		const char *c = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		ah_error(err, (int)status, c && !strcmp(c, "fatal") ? "fatal" : "remote", "%s",
			 msg ? msg : "error");
	} else {
		ah_error(err, status >= 400 ? (int)status : 500, "remote",
			 "server '%s': HTTP status %ld", server, status);
	}
done:
	json_decref(rest);
	json_decref(res);
	free(body);
	strbuf_release(&url);
	strbuf_release(&answer);
	return ret;
}
