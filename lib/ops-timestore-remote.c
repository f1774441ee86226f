/*
 * The timestore's operations as serve carries them: the names, routes and
 * scopes of lib/timestore-ops.h, each a function that asks one long-lived
 * apphub-timestore (its hidden builtin timestore-serve, cmd/timestore.c),
 * so that serve itself never loads DuckDB and keeps one database open.
 *
 * The exchange is a line of JSON each way: {op, params, subject} in,
 * {result} or {error:{status, code, message}} out. One request at a time
 * (a mutex); a helper that died is started again on the next call, and one
 * that does not answer in APPHUB_TIMESTORE_TIMEOUT is killed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "env.h"
#include "exec-path.h"
#include "ops.h"
#include "run-command.h"
#include "strbuf.h"
#include "timestore-ops.h"
#include "timestore-schema.h"
#include "timeutil.h"
#include "usage.h"

#define HELPER "apphub-timestore"
/* The builtin's name: a binary called so runs it (apphub.c's multi-call). */
#define HELPER_ARGV0 "apphub-timestore-serve"
#define REPLY_MAX ((size_t)1 << 30)

static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ah_child helper = AH_CHILD_INIT;

/* Ends the helper, if any: killed, reaped, its pipes closed. */
static void helper_stop(void)
{
	if (helper.pid > 0) {
		kill(helper.pid, SIGKILL);
		ah_child_finish(&helper);
	}
	ah_child_release(&helper);
	helper = (struct ah_child)AH_CHILD_INIT;
}

/* Whether the helper is there to ask: not exited, its answer pipe quiet. */
static int helper_alive(void)
{
	struct pollfd p = { helper.out_fd, POLLIN, 0 };
	int status;

	if (helper.pid <= 0 || helper.in_fd < 0 || helper.out_fd < 0)
		return 0;
	if (waitpid(helper.pid, &status, WNOHANG) == helper.pid) {
		helper.pid = -1;
		return 0;
	}
	/* Nothing is owed us between calls: bytes or a hang-up mean it is broken. */
	return poll(&p, 1, 0) == 0;
}

static int helper_start(const char *dir, struct ah_err *err)
{
	static const char *argv[] = { HELPER_ARGV0, NULL };
	const char *env[] = { NULL, NULL };
	char *path = ah_helper_path(HELPER), *home = NULL;
	int ret = -1;

	if (!path)
		return ah_error(err, 503, "unavailable",
				"timestore helper: '" HELPER "' is not installed (looked in "
				AH_HELPER_DIRS ")");
	if (dir)
		env[0] = home = xstrfmt("APPHUB_HOME=%s", dir);
	helper = (struct ah_child)AH_CHILD_INIT;
	helper.argv = argv;
	helper.file = path;
	helper.env = env;
	/* A pipe of its own: it exits when we close it (serve exiting). */
	helper.in = "";
	helper.out = AH_CHILD_CAPTURE;
	/* Its complaints are serve's log. */
	helper.err = AH_CHILD_INHERIT;
	if (ah_child_start(&helper, err) < 0) {
		struct ah_err why = *err;

		ah_internal(err, "timestore helper: %s", why.msg);
		helper = (struct ah_child)AH_CHILD_INIT;
		goto done;
	}
	ret = 0;
done:
	free(path);
	free(home);
	return ret;
}

static int64_t left_ms(int64_t deadline)
{
	int64_t now = ah_now_ms();

	return deadline > now ? deadline - now : 0;
}

/* Until fd is ready for events (0), or -1 with *why (errno, or ETIMEDOUT at the deadline). */
static int wait_fd(int fd, short events, int64_t deadline, int *why)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t ms = left_ms(deadline);
		int r = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			*why = errno;
			return -1;
		}
		if (!r && !left_ms(deadline)) {
			*why = ETIMEDOUT;
			return -1;
		}
	}
}

/*
 * Writes the request line (serve ignores SIGPIPE: a helper gone is EPIPE):
 * 0, or -1 with *why (errno, or ETIMEDOUT).
 */
static int send_line(const char *buf, size_t len, int64_t deadline, int *why)
{
	while (len) {
		ssize_t w;

		if (wait_fd(helper.in_fd, POLLOUT, deadline, why) < 0)
			return -1;
		w = write(helper.in_fd, buf, len);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			*why = w < 0 ? errno : EPIPE;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads the answer line into sb (without its newline): 0, or -1 with *why. */
static int read_line(struct strbuf *sb, int64_t deadline, int *why)
{
	char buf[65536];

	for (;;) {
		char *nl;
		ssize_t n;

		if (wait_fd(helper.out_fd, POLLIN, deadline, why) < 0)
			return -1;
		n = read(helper.out_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			*why = n < 0 ? errno : EPIPE;
			return -1;
		}
		if ((nl = memchr(buf, '\n', (size_t)n))) {
			/* one request, one line: nothing may follow it */
			if (nl + 1 != buf + n || sb->len + (size_t)(nl - buf) > REPLY_MAX) {
				*why = EPROTO;
				return -1;
			}
			strbuf_add(sb, buf, (size_t)(nl - buf));
			return 0;
		}
		if (sb->len + (size_t)n > REPLY_MAX) {
			*why = EFBIG;
			return -1;
		}
		strbuf_add(sb, buf, (size_t)n);
	}
}

/* The codes operations give, as the static strings struct ah_err keeps. */
static const char *known_code(const char *code, int status)
{
	static const char *const codes[] = {
		"invalid", "not_found", "conflict", "internal", "fatal", "too_large",
		"unavailable", "timeout", "forbidden", "unauthorized", "limit", "failed",
		"invalid_parameters", "version_conflict", "canceled",
	};
	size_t i;

	for (i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(code, codes[i]))
			return codes[i];
	return status == 400 ? "invalid" : status == 404 ? "not_found" :
	       status == 409 ? "conflict" : "internal";
}

/* The answer: its result into *out, or its error into err. */
static int take_answer(const struct strbuf *sb, json_t **out, struct ah_err *err)
{
	json_error_t je;
	json_t *a = json_loadb(sb->buf, sb->len, 0, &je), *r, *e;
	int ret = -1;

	if (!a || !json_is_object(a)) {
		char why[AH_JSON_WHY_MAX];

		ah_internal(err, "timestore helper: unreadable answer: %s",
			    a ? "not an object" : ah_json_why(&je, why, sizeof(why)));
	} else if ((r = json_object_get(a, "result"))) {
		*out = json_incref(r);
		ret = 0;
	} else if (json_is_object(e = json_object_get(a, "error"))) {
		json_int_t status = json_integer_value(json_object_get(e, "status"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (status < 400 || status > 599)
			status = 500;
		ah_error(err, (int)status, known_code(json_string_value(json_object_get(e, "code")),
						      (int)status),
			 "%s", msg ? msg : "timestore helper: an error without a message");
	} else {
		ah_internal(err, "timestore helper: an answer without result or error");
	}
	json_decref(a);
	return ret;
}

/* Why the exchange failed, as the call's error. */
static int failed(int why, int64_t timeout_ms, struct ah_err *err)
{
	if (why == ETIMEDOUT)
		return ah_internal(err, "timestore helper: no answer in %llds, stopped",
				   (long long)(timeout_ms / 1000));
	return ah_internal(err, "timestore helper: %s",
			   why == EPIPE ? "it exited" :
			   why == EFBIG ? "its answer is over 1 GiB" :
			   why == EPROTO ? "more than one answer" : strerror(why));
}

static int ask(const char *name, struct ah_ctx *ctx, json_t *params, json_t **out,
	       struct ah_err *err)
{
	json_t *req = json_pack("{s:s, s:O, s:s?}", "op", name, "params",
				params ? params : json_null(), "subject", ctx->subject);
	struct strbuf answer = STRBUF_INIT;
	int64_t timeout_ms, deadline;
	char *line = NULL;
	int why = 0, tries, ret = -1;

	*out = NULL;
	if (ah_env_duration("APPHUB_TIMESTORE_TIMEOUT", 1000, 300000, 1000, &timeout_ms, err) < 0)
		goto done;
	if (!req || !(line = json_dumps(req, JSON_COMPACT))) {
		ah_internal(err, "timestore helper: cannot encode the request");
		goto done;
	}
	pthread_mutex_lock(&helper_lock);
	deadline = ah_now_ms() + timeout_ms;
	/* A request it never read all of did nothing: once more with a new helper. */
	for (tries = 0; tries < 2; tries++) {
		why = 0;
		if (!helper_alive()) {
			helper_stop();
			if (helper_start(ctx->dir, err) < 0)
				goto unlock;
		}
		if (!send_line(line, strlen(line), deadline, &why) &&
		    !send_line("\n", 1, deadline, &why))
			break;
		helper_stop();
		if (why == ETIMEDOUT)
			break;
	}
	if (why || read_line(&answer, deadline, &why) < 0) {
		helper_stop();
		failed(why, timeout_ms, err);
		goto unlock;
	}
	ret = take_answer(&answer, out, err);
unlock:
	pthread_mutex_unlock(&helper_lock);
done:
	free(line);
	json_decref(req);
	strbuf_release(&answer);
	return ret;
}

#define TS_OP(name, method, path, scope, fn, created, max_body, summary) \
	static int fn(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err) \
	{ \
		return ask(name, ctx, params, out, err); \
	}
TIMESTORE_OPS
#undef TS_OP

#define TS_OP(name_, method_, path_, scope_, fn_, created_, max_body_, summary_) \
	{ .name = name_, .method = method_, .path = path_, .scope = scope_, .fn = fn_, \
	  .created = created_, .max_body = max_body_, .summary = summary_ },
const struct ah_op ops_timestore_remote[] = {
	TIMESTORE_OPS
	{ 0 }
};
#undef TS_OP
