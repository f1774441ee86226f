/*
 * apphub events: list and follow the event log.
 */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cmd.h"

static const char *const events_usage[] = {
	"apphub events [--since <id>] [--type <glob>] [--limit <n>] [--follow]",
	NULL
};

static void print_event(json_t *e, int json_lines)
{
	char *data;

	if (json_lines) {
		json_dumpf(e, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	data = json_dumps(json_object_get(e, "data"), JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%" JSON_INTEGER_FORMAT " %s %s %s %s\n",
	       json_integer_value(json_object_get(e, "id")),
	       json_string_value(json_object_get(e, "time")),
	       json_string_value(json_object_get(e, "type")),
	       json_string_value(json_object_get(e, "subject")) ?
	       json_string_value(json_object_get(e, "subject")) : "-",
	       data ? data : "{}");
	free(data);
}

int cmd_events(int argc, const char **argv, struct ctx *ctx)
{
	long since = LONG_MIN, limit = LONG_MIN;
	const char *type = NULL;
	int follow = 0, code;
	struct option opts[] = {
		OPT_INT(0, "since", &since, "id", "events after this id"),
		OPT_STRING(0, "type", &type, "glob", "only types matching the glob (app.*)"),
		OPT_INT(0, "limit", &limit, "n", "at most n events (default 100)"),
		OPT_BOOL('f', "follow", &follow, "keep printing new events as they happen"),
		OPT_END(),
	};
	json_t *params, *out, *e;
	size_t i;

	snprintf(ctx->name, sizeof(ctx->name), "events");
	if (parse_verb_args(ctx, argc - 1, argv + 1, opts, events_usage, 0, 0, "", &code) < 0)
		return code;
	params = json_object();
	if (since != LONG_MIN)
		json_object_set_new(params, "since", json_integer(since));
	if (limit != LONG_MIN)
		json_object_set_new(params, "limit", json_integer(limit));
	if (type)
		json_object_set_new(params, "type", json_string(type));
	code = run_op(ctx, "events.list", params, &out);
	if (code)
		goto done;
	if (ctx->json && !follow) {
		print_json(out);
		json_decref(out);
		goto done;
	}
	for (;;) {
		json_t *data = json_object_get(out, "data");

		json_array_foreach(data, i, e) {
			print_event(e, ctx->json);
			json_object_set(params, "since", json_object_get(e, "id"));
		}
		if (!json_object_get(params, "since"))
			json_object_set_new(params, "since", json_integer(0));
		json_decref(out);
		if (!follow)
			break;
		if (fflush(stdout) == EOF)
			break;
		/* Polling the indexed id is cheap; a quarter second is live enough. */
		nanosleep(&(struct timespec){ 0, 250000000 }, NULL);
		json_object_set_new(params, "limit", json_integer(1000));
		if ((code = run_op(ctx, "events.list", params, &out)))
			break;
	}
done:
	json_decref(params);
	return code;
}
