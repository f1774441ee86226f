/*
 * apphub workflow: definitions (add, ls, show, rm), their runs (run, runs,
 * show RUN, cancel, work), schedules (schedule, tick) and assets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

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

static int workflow_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, workflow_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "workflows.list", json_object(), NULL);
}

static const struct verb workflow_verbs[] = {
	{ "ls", workflow_ls },
};

int cmd_workflow(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(workflow_verbs, sizeof(workflow_verbs) / sizeof(workflow_verbs[0]), "ls",
			"workflow", workflow_usage, argc - 1, argv + 1, ctx);
}
