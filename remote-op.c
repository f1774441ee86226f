/*
 * `apphub --server URL <command>`: the operation goes to a remote apphub
 * serve instead of the local state. The HTTP exchange happens in the
 * helper apphub-remote (libcurl), so the light binary stays light; this
 * side turns the operation and its parameters into method, URL and body,
 * and the answer back into the result or the error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "lib/strbuf.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/apphub"
#endif

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
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xstrfmt("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xstrfmt("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	if (json_is_null(v))
		return NULL;
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
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

/* Runs apphub-remote from where the helpers live; returns its exit status. */
static int exchange(const char *method, const char *url, const char *body,
		    struct strbuf *answer)
{
	char self[PATH_MAX], *slash, *path = NULL;
	const char *dirs[4] = { getenv("APPHUB_EXEC_PATH"), NULL, NULL, LIBEXECDIR };
	char *installed = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int in[2], out[2], status = 0, i;
	char buf[65536];
	pid_t pid;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			dirs[1] = self;
			dirs[2] = installed = xstrfmt("%s/../libexec/apphub", self);
		}
	}
	for (i = 0; i < 4 && !path; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		path = xstrfmt("%s/apphub-remote", dirs[i]);
		if (access(path, X_OK)) {
			free(path);
			path = NULL;
		}
	}
	free(installed);
	if (!path) {
		fprintf(stderr, "apphub: --server needs the helper 'apphub-remote', which is not installed\n");
		return APPHUB_EXIT_FATAL;
	}
	if (pipe(in) < 0 || pipe(out) < 0) {
		fprintf(stderr, "apphub: cannot run '%s': %s\n", path, strerror(errno));
		free(path);
		return APPHUB_EXIT_FATAL;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(path, path, method, url, (char *)NULL);
		fprintf(stderr, "apphub: cannot run '%s': %s\n", path, strerror(errno));
		_exit(APPHUB_EXIT_FATAL);
	}
	free(path);
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return APPHUB_EXIT_FATAL;
	}
	/* The helper reads all of its input before it answers. */
	if (body) {
		size_t left = strlen(body);
		const char *p = body;

		while (left) {
			ssize_t w = write(in[1], p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;	/* the helper's exit status tells */
			p += w;
			left -= (size_t)w;
		}
	}
	close(in[1]);
	while ((n = read(out[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			strbuf_add(answer, buf, (size_t)n);
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : APPHUB_EXIT_FATAL;
}

int run_remote_op(struct ctx *ctx, const char *name, json_t *params, json_t **out)
{
	const struct ah_op *op = ah_op_find(name);
	struct ah_err err = AH_ERR_INIT;
	struct strbuf url = STRBUF_INIT, answer = STRBUF_INIT;
	json_t *rest = params ? json_deep_copy(params) : json_object(), *res = NULL;
	char *body = NULL, *nl, *end;
	long status;
	int code;

	*out = NULL;
	if (!op) {
		ah_not_found(&err, "unknown operation '%s'", name);
		goto fail;
	}
	if (build_request(ctx->server, op, rest, &url, &err) < 0)
		goto fail;
	if (json_object_size(rest))
		body = json_dumps(rest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	code = exchange(op->method, url.buf, body, &answer);
	if (code)
		goto done;
	nl = strchr(answer.buf, '\n');
	status = strtol(answer.buf, &end, 10);
	if (!nl || end != nl) {
		ah_fatal(&err, "server '%s': no answer", ctx->server);
		goto fail;
	}
	res = json_loads(nl + 1, JSON_DECODE_ANY, NULL);
	if (status >= 200 && status < 300 && res) {
		*out = res;
		res = NULL;
		code = 0;
		goto done;
	}
	if (json_is_object(json_object_get(res, "error"))) {
		json_t *e = json_object_get(res, "error");
		const char *c = json_string_value(json_object_get(e, "code"));

		ah_error(&err, (int)status, c && !strcmp(c, "fatal") ? "fatal" : "remote", "%s",
			 json_string_value(json_object_get(e, "message")) ?
			 json_string_value(json_object_get(e, "message")) : "error");
	} else {
		ah_error(&err, status >= 400 ? (int)status : 500, "remote",
			 "server '%s': HTTP status %ld", ctx->server, status);
	}
fail:
	fprintf(stderr, "apphub: %s\n", err.msg);
	code = exit_status(&err);
done:
	json_decref(rest);
	json_decref(res);
	free(body);
	strbuf_release(&url);
	strbuf_release(&answer);
	return code;
}
