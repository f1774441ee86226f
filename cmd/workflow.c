/*
 * apphub workflow: definitions (add, ls, show, rm), their runs (run, runs,
 * show RUN, cancel, work), schedules (schedule, tick) and assets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/fsutil.h"
#include "../lib/random-id.h"
#include "../lib/strbuf.h"
#include "../lib/timeutil.h"
#include "../lib/workflow-def.h"

static const char *const workflow_usage[] = {
	"apphub workflow [ls]",
	"apphub workflow add <file>|-",
	"apphub workflow show <slug> [--version <n>] [--dot] | <run>",
	"apphub workflow rm <slug>",
	"apphub workflow run <slug> [--param <k=v>]... [--parameters-json <json>] [--run-key <key>] [--detach | --follow]",
	"apphub workflow runs [<slug>] [--status <status>] [--limit <n>]",
	"apphub workflow cancel <run>",
	"apphub workflow schedule <slug> [ls] [--now <time>]",
	"apphub workflow schedule <slug> add <name> --cron <expr> [--timezone <tz>] [--start <time>] [--end <time>] [--catch-up] [--param <k=v>]... [--parameters-json <json>]",
	"apphub workflow schedule <slug> pause|resume|rm <name>",
	"apphub workflow tick [--now <time>]",
	"apphub workflow assets [<asset>]",
	"apphub workflow work [-j <n>] [--watch]",
	NULL
};

static const char *str(json_t *o, const char *key)
{
	return *jstr(o, key) ? jstr(o, key) : "-";
}

static int run_final(const char *status)
{
	return strcmp(status, "pending") && strcmp(status, "running");
}

static void text_list(json_t *out, int quiet)
{
	json_t *w;
	size_t i;

	if (!quiet && json_array_size(json_object_get(out, "data")))
		printf("%-24s  %-7s  %-5s  %-9s  %s\n", "SLUG", "VERSION", "STEPS", "SCHEDULES",
		       "NAME");
	json_array_foreach(json_object_get(out, "data"), i, w) {
		if (quiet)
			puts(jstr(w, "slug"));
		else
			printf("%-24s  %-7" JSON_INTEGER_FORMAT "  %-5" JSON_INTEGER_FORMAT
			       "  %-9" JSON_INTEGER_FORMAT "  %s\n", jstr(w, "slug"),
			       json_integer_value(json_object_get(w, "version")),
			       json_integer_value(json_object_get(w, "steps")),
			       json_integer_value(json_object_get(w, "schedules")), jstr(w, "name"));
	}
}

static int workflow_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "workflows.list", json_object(), text_list);
}

static void text_added(json_t *out, int quiet)
{
	if (quiet)
		printf("%s\n", jstr(out, "slug"));
	else
		printf("%s %s version %" JSON_INTEGER_FORMAT "\n", jstr(out, "slug"),
		       json_is_true(json_object_get(out, "created")) ? "added as" :
		       json_is_true(json_object_get(out, "changed")) ? "updated to" :
		       "unchanged at", json_integer_value(json_object_get(out, "version")));
}

static int workflow_add(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	char *buf = NULL;
	size_t len;
	int code, fd;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 1,
			    "a definition file (or - for stdin)", &code) < 0)
		return code;
	fd = strcmp(argv[0], "-") ? open(argv[0], O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (ah_read_fd_max(fd, AH_WORKFLOW_DEF_MAX, &buf, &len) < 0) {
		error("workflow add: cannot read '%s': %s", argv[0],
		      errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return APPHUB_EXIT_FAILED;
	}
	code = run_op_show(ctx, "workflows.add",
			   json_pack("{s:s%}", "text", buf, len), text_added);
	free(buf);
	return code;
}

static void text_workflow(json_t *w, int quiet)
{
	json_t *s, *dag = json_object_get(w, "dag"), *v;
	size_t i, j;

	if (quiet) {
		printf("%s\n", jstr(w, "slug"));
		return;
	}
	printf("slug:      %s\n", jstr(w, "slug"));
	printf("name:      %s\n", jstr(w, "name"));
	if (*jstr(w, "description"))
		printf("about:     %s\n", jstr(w, "description"));
	printf("version:   %" JSON_INTEGER_FORMAT " (current %" JSON_INTEGER_FORMAT ")\n",
	       json_integer_value(json_object_get(w, "version")),
	       json_integer_value(json_object_get(w, "currentVersion")));
	printf("steps:\n");
	json_array_foreach(json_object_get(w, "steps"), i, s) {
		const char *type = jstr(s, "type");
		struct strbuf deps = STRBUF_INIT;

		json_array_foreach(json_object_get(s, "dependsOn"), j, v)
			strbuf_addf(&deps, "%s%s", j ? ", " : " <- ", json_string_value(v));
		printf("  %-20s %-8s %s%s\n", jstr(s, "id"), type,
		       !strcmp(type, "job") ? jstr(s, "jobSlug") :
		       !strcmp(type, "service") ? (*jstr(s, "url") ? jstr(s, "url") : jstr(s, "app")) :
		       jstr(json_object_get(s, "template"), "id"), deps.buf);
		strbuf_release(&deps);
	}
	printf("roots:    ");
	json_array_foreach(json_object_get(dag, "roots"), i, v)
		printf(" %s", json_string_value(v));
	printf("\norder:    ");
	json_array_foreach(json_object_get(dag, "order"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
	json_array_foreach(json_object_get(w, "schedules"), i, s)
		printf("schedule:  %s: %s (%s)%s, next %s\n", jstr(s, "name"), jstr(s, "cron"),
		       jstr(s, "timezone"), json_is_true(json_object_get(s, "paused")) ? " paused" : "",
		       str(s, "nextRunAt"));
}

/* Graphviz's dot language: ids quoted, with its escapes. */
static void dot_id(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_dot(json_t *w)
{
	json_t *s, *e;
	size_t i;

	printf("digraph ");
	dot_id(jstr(w, "slug"));
	printf(" {\n\trankdir=LR;\n");
	json_array_foreach(json_object_get(w, "steps"), i, s) {
		putchar('\t');
		dot_id(jstr(s, "id"));
		printf(" [label=");
		dot_id(jstr(s, "id"));
		printf(", shape=%s];\n", !strcmp(jstr(s, "type"), "fanout") ? "box3d" :
		       !strcmp(jstr(s, "type"), "service") ? "ellipse" : "box");
	}
	json_array_foreach(json_object_get(json_object_get(w, "dag"), "edges"), i, e) {
		putchar('\t');
		dot_id(json_string_value(json_array_get(e, 0)));
		printf(" -> ");
		dot_id(json_string_value(json_array_get(e, 1)));
		printf(";\n");
	}
	printf("}\n");
}

static const char *duration(json_t *ms, char *buf, size_t len)
{
	if (!json_is_integer(ms))
		return "-";
	if (json_integer_value(ms) < 10000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT " ms", json_integer_value(ms));
	else
		snprintf(buf, len, "%.1f s", json_integer_value(ms) / 1000.0);
	return buf;
}

static void text_run(json_t *r, int quiet)
{
	json_t *s, *m = json_object_get(r, "metrics");
	char buf[32], *text;
	size_t i;

	if (quiet) {
		puts(jstr(r, "status"));
		return;
	}
	printf("id:         %s\n", jstr(r, "id"));
	printf("workflow:   %s version %" JSON_INTEGER_FORMAT "\n", jstr(r, "workflowSlug"),
	       json_integer_value(json_object_get(r, "version")));
	printf("status:     %s\n", jstr(r, "status"));
	printf("trigger:    %s\n", jstr(json_object_get(r, "trigger"), "type"));
	if (*jstr(r, "runKey"))
		printf("run key:    %s\n", jstr(r, "runKey"));
	text = json_dumps(json_object_get(r, "parameters"), JSON_COMPACT);
	printf("parameters: %s\n", text ? text : "{}");
	free(text);
	printf("steps:      %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " succeeded\n",
	       json_integer_value(json_object_get(m, "completedSteps")),
	       json_integer_value(json_object_get(m, "totalSteps")));
	printf("created:    %s\n", jstr(r, "createdAt"));
	if (*jstr(r, "completedAt"))
		printf("completed:  %s (%s)\n", jstr(r, "completedAt"),
		       duration(json_object_get(r, "durationMs"), buf, sizeof(buf)));
	if (*jstr(r, "errorMessage"))
		printf("error:      %s\n", jstr(r, "errorMessage"));
	if (json_array_size(json_object_get(r, "steps")))
		printf("\n%-32s  %-9s  %-7s  %-14s  %s\n", "STEP", "STATUS", "ATTEMPT", "JOB RUN",
		       "STARTED");
	json_array_foreach(json_object_get(r, "steps"), i, s)
		printf("%-32s  %-9s  %-7" JSON_INTEGER_FORMAT "  %-14s  %s%s%s\n", jstr(s, "stepId"),
		       jstr(s, "status"), json_integer_value(json_object_get(s, "attempt")),
		       str(s, "jobRunId"), str(s, "startedAt"),
		       *jstr(s, "errorMessage") ? "  " : "", jstr(s, "errorMessage"));
}

static int workflow_show(int argc, const char **argv, struct ctx *ctx)
{
	long version = 0;
	int dot = 0, code;
	struct option opts[] = {
		OPT_INT(0, "version", &version, "n", "that version of the definition"),
		OPT_BOOL(0, "dot", &dot, "print the DAG in Graphviz's dot language"),
		OPT_END(),
	};
	json_t *params, *out = NULL;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 1, "a workflow slug or a run id",
			    &code) < 0)
		return code;
	if (ah_random_id_valid(argv[0], 'w')) {
		if (dot || version)
			return usage_error(workflow_usage, opts, "--dot and --version show a workflow, not a run");
		return run_op_show(ctx, "workflow-runs.show", json_pack("{s:s}", "id", argv[0]),
				   text_run);
	}
	params = json_pack("{s:s, s:I}", "slug", argv[0], "version", (json_int_t)version);
	code = run_op(ctx, "workflows.show", params, &out);
	json_decref(params);
	if (code)
		return code;
	if (dot)
		print_dot(out);
	else if (ctx->json)
		print_json(out);
	else
		text_workflow(out, ctx->quiet);
	json_decref(out);
	return 0;
}

static void text_removed(json_t *out, int quiet)
{
	if (!quiet)
		printf("removed %s\n", jstr(out, "slug"));
}

static int workflow_rm(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 1, "a workflow slug",
			    &code) < 0)
		return code;
	return run_op_show(ctx, "workflows.rm", json_pack("{s:s}", "slug", argv[0]), text_removed);
}

/*
 * --follow: a line per step change; on a terminal, the steps' lines
 * redrawn in place (fan-out children counted on their parent's line).
 */
struct follow {
	int on, tty, drawn;
	json_t *steps;		/* id -> {status, startMs, endMs, attempt, children, done} */
	json_t *order;		/* the top-level ids, as they appear */
	int64_t t0;
};

static void follow_draw(struct follow *f)
{
	json_t *id, *s;
	size_t i;
	int lines = 0;

	if (f->drawn)
		fprintf(stderr, "\033[%dA", f->drawn);
	json_array_foreach(f->order, i, id) {
		char buf[64] = "";

		s = json_object_get(f->steps, json_string_value(id));
		if (json_integer_value(json_object_get(s, "endMs")))
			snprintf(buf, sizeof(buf), "%.3f s",
				 (json_integer_value(json_object_get(s, "endMs")) -
				  json_integer_value(json_object_get(s, "startMs"))) / 1000.0);
		fprintf(stderr, "\033[K  %-32s %-9s %s", json_string_value(id), jstr(s, "status"),
			buf);
		if (json_integer_value(json_object_get(s, "children")))
			fprintf(stderr, " (%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " children)",
				json_integer_value(json_object_get(s, "done")),
				json_integer_value(json_object_get(s, "children")));
		if (json_integer_value(json_object_get(s, "attempt")) > 1)
			fprintf(stderr, " attempt %" JSON_INTEGER_FORMAT,
				json_integer_value(json_object_get(s, "attempt")));
		fputc('\n', stderr);
		lines++;
	}
	f->drawn = lines;
	fflush(stderr);
}

static void follow_step(struct follow *f, json_t *ev)
{
	const char *id = jstr(ev, "stepId"), *status = jstr(ev, "status");
	const char *colon = strchr(id, ':');
	int64_t t = json_integer_value(json_object_get(ev, "timeMs"));
	json_t *s;

	if (!f->on)
		return;
	if (!t)
		t = ah_now_ms();
	if (!f->tty) {
		fprintf(stderr, "%8.3f s  %-32s %s", (t - f->t0) / 1000.0, id, status);
		if (json_integer_value(json_object_get(ev, "attempt")) > 1)
			fprintf(stderr, " (attempt %" JSON_INTEGER_FORMAT ")",
				json_integer_value(json_object_get(ev, "attempt")));
		if (*jstr(ev, "errorMessage"))
			fprintf(stderr, ": %s", jstr(ev, "errorMessage"));
		fputc('\n', stderr);
		return;
	}
	if (colon) {
		/* A child: its parent's line counts it. */
		char *parent = xstrndup(id, (size_t)(colon - id));

		s = json_object_get(f->steps, parent);
		if (s && !strcmp(status, "running") &&
		    json_integer_value(json_object_get(ev, "attempt")) == 1)
			json_object_set_new(s, "children", json_integer(
				json_integer_value(json_object_get(s, "children")) + 1));
		if (s && (!strcmp(status, "succeeded") || !strcmp(status, "failed")))
			json_object_set_new(s, "done", json_integer(
				json_integer_value(json_object_get(s, "done")) + 1));
		free(parent);
	} else {
		if (!(s = json_object_get(f->steps, id))) {
			s = json_object();
			json_object_set_new(f->steps, id, s);
			json_array_append_new(f->order, json_string(id));
		}
		json_object_set_new(s, "status", json_string(status));
		json_object_set(s, "attempt", json_object_get(ev, "attempt"));
		if (!strcmp(status, "running"))
			json_object_set_new(s, "startMs", json_integer(t));
		else if (run_final(status))
			json_object_set_new(s, "endMs", json_integer(t));
	}
	follow_draw(f);
}

static void drive_progress(struct ah_ctx *op, json_t *line, const struct ah_err *refusal)
{
	(void)refusal;
	if (line)
		follow_step(op->progress_cls, line);
}

/* Polling a run the hub (or another driver) drives: its steps' changes as events. */
static int follow_poll(struct ctx *ctx, struct follow *f, const char *id, json_t **out)
{
	json_t *seen = json_object();
	int code = 0;

	for (;;) {
		json_t *p = json_pack("{s:s}", "id", id), *s;
		size_t i;

		json_decref(*out);
		*out = NULL;
		code = run_op(ctx, "workflow-runs.show", p, out);
		json_decref(p);
		if (code)
			break;
		json_array_foreach(json_object_get(*out, "steps"), i, s) {
			const char *sid = jstr(s, "stepId");
			char *key = xstrfmt("%s/%" JSON_INTEGER_FORMAT, jstr(s, "status"),
					    json_integer_value(json_object_get(s, "attempt")));

			if (strcmp(jstr(seen, sid), key) && strcmp(jstr(s, "status"), "pending")) {
				json_t *ev = json_pack("{s:s, s:s, s:O, s:s?}", "stepId", sid,
						       "status", jstr(s, "status"), "attempt",
						       json_object_get(s, "attempt"), "errorMessage",
						       *jstr(s, "errorMessage") ?
						       jstr(s, "errorMessage") : NULL);

				follow_step(f, ev);
				json_decref(ev);
				json_object_set_new(seen, sid, json_string(key));
			}
			free(key);
		}
		if (run_final(jstr(*out, "status")))
			break;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	json_decref(seen);
	return code;
}

static int show_ended(struct ctx *ctx, json_t *r)
{
	const char *status = jstr(r, "status");
	char buf[32];

	if (ctx->json) {
		print_json(r);
	} else if (ctx->quiet) {
		puts(status);
	} else {
		char *text = json_dumps(json_object_get(r, "output") ?: json_null(),
					JSON_INDENT(2) | JSON_ENCODE_ANY);

		printf("%s %s in %s\n", jstr(r, "id"), status,
		       duration(json_object_get(r, "durationMs"), buf, sizeof(buf)));
		if (!strcmp(status, "succeeded"))
			puts(text ? text : "null");
		free(text);
	}
	if (strcmp(status, "succeeded")) {
		error("workflow run: %s %s: %s", jstr(r, "id"), status,
		      *jstr(r, "errorMessage") ? jstr(r, "errorMessage") : status);
		return APPHUB_EXIT_FAILED;
	}
	return 0;
}

static json_t *parameters_json(const char *text, const struct option *opts, int *code)
{
	json_error_t je;
	char why[AH_JSON_WHY_MAX];
	json_t *v;

	if (!text)
		return NULL;
	v = json_loads(text, 0, &je);
	if (!json_is_object(v)) {
		*code = usage_error(workflow_usage, opts, "--parameters-json: %s",
				    v ? "must be a JSON object" : ah_json_why(&je, why, sizeof(why)));
		json_decref(v);
		return NULL;
	}
	return v;
}

static int workflow_run(int argc, const char **argv, struct ctx *ctx)
{
	const char *pjson = NULL, *key = NULL;
	json_t *param = NULL, *params = NULL, *out = NULL, *parameters = NULL;
	int detach = 0, follow_opt = 0, code;
	struct option opts[] = {
		OPT_LIST(0, "param", &param, "k=v", "a parameter (repeatable), typed as the schema says"),
		OPT_STRING(0, "parameters-json", &pjson, "json", "the parameters as a JSON object"),
		OPT_STRING(0, "run-key", &key, "key", "at most one active run with this key"),
		OPT_BOOL(0, "detach", &detach, "queue the run and print its id; workers drive it"),
		OPT_BOOL(0, "follow", &follow_opt, "show each step's progress as it goes"),
		OPT_END(),
	};
	struct follow f = { 0 };

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 1, "a workflow slug",
			    &code) < 0)
		goto done;
	if (detach && follow_opt) {
		code = usage_error(workflow_usage, opts, "--detach and --follow do not go together");
		goto done;
	}
	code = 0;
	if (pjson && !(parameters = parameters_json(pjson, opts, &code)))
		goto done;
	params = json_pack("{s:s, s:O?, s:O?, s:s?}", "slug", argv[0], "parameters", parameters,
			   "param", param, "runKey", key);
	if ((code = run_op(ctx, "workflows.run", params, &out)))
		goto done;
	if (detach) {
		if (ctx->json)
			print_json(out);
		else if (ctx->quiet)
			puts(jstr(out, "id"));
		else
			printf("%s queued for %s; 'apphub workflow work' drives it\n", jstr(out, "id"),
			       jstr(out, "workflowSlug"));
		goto done;
	}
	f.on = follow_opt;
	f.tty = isatty(STDERR_FILENO);
	f.steps = json_object();
	f.order = json_array();
	f.t0 = ah_now_ms();
	{
		char *id = xstrdup(jstr(out, "id"));
		json_t *p = json_pack("{s:s}", "id", id);

		if (ctx->server) {
			code = follow_poll(ctx, &f, id, &out);
		} else {
			ctx->op.progress = drive_progress;
			ctx->op.progress_cls = &f;
			json_decref(out);
			out = NULL;
			code = run_op(ctx, "workflow-runs.drive", p, &out);
			ctx->op.progress = NULL;
			/* Another driver took it first: followed to its end instead. */
			if (!code && json_is_false(json_object_get(out, "claimed")))
				code = follow_poll(ctx, &f, id, &out);
		}
		json_decref(p);
		free(id);
	}
	if (!code)
		code = show_ended(ctx, out);
done:
	json_decref(f.steps);
	json_decref(f.order);
	json_decref(param);
	json_decref(parameters);
	json_decref(params);
	json_decref(out);
	return code;
}

static void run_row(json_t *r)
{
	char buf[32];

	printf("%-14s  %-9s  %-24s  %-16s  %-24s  %s\n", jstr(r, "id"), jstr(r, "status"),
	       jstr(r, "workflowSlug"), jstr(json_object_get(r, "trigger"), "type"),
	       jstr(r, "createdAt"), duration(json_object_get(r, "durationMs"), buf, sizeof(buf)));
}

static const struct runs_front workflow_runs_front = {
	.what = "a workflow slug",
	.op_one = "workflows.runs",
	.op_all = "workflow-runs.list",
	.header = "RUN             STATUS     WORKFLOW                  TRIGGER           CREATED                   DURATION",
	.row = run_row,
};

static int workflow_runs(int argc, const char **argv, struct ctx *ctx)
{
	return list_runs(ctx, &workflow_runs_front, workflow_usage, argc, argv);
}

static void text_canceled(json_t *out, int quiet)
{
	if (quiet)
		puts(jstr(out, "id"));
	else
		printf("%s %s\n", jstr(out, "id"), !strcmp(jstr(out, "status"), "canceled") ?
		       "canceled" : "canceling: its driver ends its steps");
}

static int workflow_cancel(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 1, "a run id", &code) < 0)
		return code;
	return run_op_show(ctx, "workflow-runs.cancel", json_pack("{s:s}", "id", argv[0]),
			   text_canceled);
}

static void text_schedules(json_t *out, int quiet)
{
	json_t *s;
	size_t i;

	if (!quiet && json_array_size(json_object_get(out, "data")))
		printf("%-20s  %-16s  %-16s  %-7s  %s\n", "NAME", "CRON", "TIMEZONE", "STATE",
		       "NEXT RUN");
	json_array_foreach(json_object_get(out, "data"), i, s) {
		if (quiet)
			puts(jstr(s, "name"));
		else
			printf("%-20s  %-16s  %-16s  %-7s  %s\n", jstr(s, "name"), jstr(s, "cron"),
			       jstr(s, "timezone"),
			       json_is_true(json_object_get(s, "paused")) ? "paused" : "active",
			       str(s, "nextRunAt"));
	}
}

static void text_schedule(json_t *s, int quiet)
{
	if (quiet)
		puts(jstr(s, "name"));
	else if (json_is_true(json_object_get(s, "removed")))
		printf("removed schedule %s of %s\n", jstr(s, "name"), jstr(s, "workflowSlug"));
	else
		printf("%s: %s (%s) %s, next run %s\n", jstr(s, "name"), jstr(s, "cron"),
		       jstr(s, "timezone"),
		       json_is_true(json_object_get(s, "paused")) ? "paused" : "active",
		       str(s, "nextRunAt"));
}

static int workflow_schedule(int argc, const char **argv, struct ctx *ctx)
{
	const char *cron = NULL, *tz = NULL, *start = NULL, *end = NULL, *pjson = NULL;
	const char *now = NULL, *verb;
	json_t *param = NULL, *parameters = NULL, *params;
	int catch_up = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "cron", &cron, "expr", "five fields, or @hourly @daily @weekly @monthly"),
		OPT_STRING(0, "timezone", &tz, "tz", "an IANA time zone (default UTC)"),
		OPT_STRING(0, "start", &start, "time", "no window before this time (RFC 3339)"),
		OPT_STRING(0, "end", &end, "time", "no window after this time (RFC 3339)"),
		OPT_BOOL(0, "catch-up", &catch_up, "make up to 25 missed windows per tick"),
		OPT_LIST(0, "param", &param, "k=v", "a parameter of its runs (repeatable)"),
		OPT_STRING(0, "parameters-json", &pjson, "json", "its runs' parameters as JSON"),
		OPT_STRING(0, "now", &now, "time", "the next run times as at this time"),
		OPT_END(),
	};

	if ((argc = parse_verb_args(ctx, argc, argv, opts, workflow_usage, 1, 3,
				    "a workflow slug, a verb and a schedule name", &code)) < 0)
		goto done;
	verb = argc > 1 ? argv[1] : "ls";
	code = 0;
	if (!strcmp(verb, "ls")) {
		if (argc > 2) {
			code = usage_error(workflow_usage, opts, "schedule ls takes no name");
			goto done;
		}
		code = run_op_show(ctx, "workflows.schedules",
				   json_pack("{s:s, s:s?}", "slug", argv[0], "now", now),
				   text_schedules);
		goto done;
	}
	if (argc < 3) {
		code = usage_error(workflow_usage, opts, "schedule %s: a schedule name is required",
				   verb);
		goto done;
	}
	if (!strcmp(verb, "add")) {
		if (!cron) {
			code = usage_error(workflow_usage, opts, "schedule add: --cron is required");
			goto done;
		}
		if (pjson && !(parameters = parameters_json(pjson, opts, &code)))
			goto done;
		params = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:O?, s:O?, s:s?}",
				   "slug", argv[0], "name", argv[2], "cron", cron, "timezone", tz,
				   "startWindow", start, "endWindow", end, "catchUp", catch_up,
				   "parameters", parameters, "param", param, "now", now);
		code = run_op_show(ctx, "workflows.schedule-add", params, text_schedule);
		goto done;
	}
	if (strcmp(verb, "pause") && strcmp(verb, "resume") && strcmp(verb, "rm")) {
		code = usage_error(workflow_usage, opts,
				   "unknown schedule verb '%s': ls, add, pause, resume or rm", verb);
		goto done;
	}
	{
		char *op = xstrfmt("workflows.schedule-%s", verb);

		code = run_op_show(ctx, op, json_pack("{s:s, s:s}", "slug", argv[0], "name",
						      argv[2]), text_schedule);
		free(op);
	}
done:
	json_decref(param);
	json_decref(parameters);
	return code;
}

static void text_tick(json_t *out, int quiet)
{
	json_t *r, *a;
	size_t i;

	json_array_foreach(json_object_get(out, "runs"), i, r) {
		if (quiet) {
			if (*jstr(r, "runId"))
				puts(jstr(r, "runId"));
			continue;
		}
		printf("%s %s: window %s .. %s: %s\n", jstr(r, "workflowSlug"), jstr(r, "scheduleName"),
		       jstr(json_object_get(r, "window"), "start"),
		       jstr(json_object_get(r, "window"), "end"),
		       *jstr(r, "runId") ? jstr(r, "runId") : "already made");
	}
	json_array_foreach(json_object_get(out, "expired"), i, a)
		if (!quiet)
			printf("asset %s expired\n", json_string_value(a));
	json_array_foreach(json_object_get(out, "skipped"), i, r)
		error("workflow tick: schedule '%s' of '%s': %s", jstr(r, "scheduleName"),
		      jstr(r, "workflowSlug"), jstr(r, "errorMessage"));
}

static int workflow_tick(int argc, const char **argv, struct ctx *ctx)
{
	const char *now = NULL;
	struct option opts[] = {
		OPT_STRING(0, "now", &now, "time", "tick as at this time (RFC 3339), not the clock's"),
		OPT_END(),
	};
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "workflows.tick", json_pack("{s:s?}", "now", now), text_tick);
}

static void text_assets(json_t *out, int quiet)
{
	json_t *a, *data = json_object_get(out, "data");
	size_t i;

	if (!data) {
		data = json_pack("[O]", out);
		json_decref(data);
	}
	if (!quiet && json_array_size(data))
		printf("%-28s  %-6s  %-20s  %-14s  %s\n", "ASSET", "FRESH", "PRODUCED BY", "RUN",
		       "PRODUCED");
	json_array_foreach(data, i, a) {
		if (quiet)
			puts(jstr(a, "assetId"));
		else
			printf("%-28s  %-6s  %-20s  %-14s  %s\n", jstr(a, "assetId"),
			       json_is_true(json_object_get(a, "fresh")) ? "yes" : "no",
			       str(a, "workflowSlug"), str(a, "runId"), str(a, "producedAt"));
	}
}

static int workflow_assets(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if ((argc = parse_verb_args(ctx, argc, argv, opts, workflow_usage, 0, 1, "an asset id",
				    &code)) < 0)
		return code;
	return run_op_show(ctx, argc ? "assets.show" : "assets.list",
			   json_pack("{s:s?}", "id", argc ? argv[0] : NULL), text_assets);
}

static void show_worked(struct ctx *ctx, json_t *r, int ids)
{
	(void)ids;
	if (!ctx->json && !ctx->quiet)
		printf("%s %s %s%s%s\n", jstr(r, "id"), jstr(r, "workflowSlug"), jstr(r, "status"),
		       *jstr(r, "errorMessage") ? ": " : "", jstr(r, "errorMessage"));
}

static const struct work_front workflow_front = {
	.work_op = "workflow-runs.work",
	.next_op = "workflow-runs.next",
	.done = "succeeded",
	.show = show_worked,
};

static int workflow_work(int argc, const char **argv, struct ctx *ctx)
{
	long jobs = 2;
	int watch = 0, code;
	struct option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "drive n runs at once (default 2)"),
		OPT_BOOL(0, "watch", &watch, "keep waiting for new runs"),
		OPT_END(),
	};
	json_t *params, *results;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 0, 0, "nothing", &code) < 0)
		return code;
	if (jobs < 1 || jobs > 64)
		return usage_error(workflow_usage, opts, "invalid -j %ld: must be from 1 to 64", jobs);
	params = json_pack("{s:I, s:b}", "jobs", (json_int_t)jobs, "watch", watch);
	code = run_work(ctx, &workflow_front, params, 0, argv, &results);
	if (ctx->json && !watch) {
		json_t *out = json_pack("{s:O}", "data", results);

		print_json(out);
		json_decref(out);
	}
	json_decref(results);
	json_decref(params);
	return code;
}

static const struct verb workflow_verbs[] = {
	{ "add", workflow_add },
	{ "assets", workflow_assets },
	{ "cancel", workflow_cancel },
	{ "ls", workflow_ls },
	{ "rm", workflow_rm },
	{ "run", workflow_run },
	{ "runs", workflow_runs },
	{ "schedule", workflow_schedule },
	{ "show", workflow_show },
	{ "tick", workflow_tick },
	{ "work", workflow_work },
};

int cmd_workflow(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(workflow_verbs, sizeof(workflow_verbs) / sizeof(workflow_verbs[0]), "ls",
			"workflow", workflow_usage, argc - 1, argv + 1, ctx);
}
