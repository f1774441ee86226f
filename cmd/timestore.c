/*
 * apphub timestore: time series in Parquet partitions. ingest makes them,
 * query reads them back raw or downsampled (DuckDB), retention and compact
 * keep them in bounds, sql reads them with DuckDB's SQL.
 */
#include <stdio.h>
#include "cmd.h"

static const char *const timestore_usage[] = {
	"apphub timestore ls",
	"apphub timestore show <dataset>",
	"apphub timestore ingest <dataset> [<file>|-] [--format json|ndjson|csv] [--schema-json <json>] [--partition-key <k>] [--idempotency-key <k>]",
	"apphub timestore query <dataset> --from <t> --to <t> [--columns <a,b>] [--filter <'col op value'>]... [--every <dur> --agg <fn:col>...] [--limit <n>] [--format table|json|csv] [--explain]",
	"apphub timestore partitions <dataset>",
	"apphub timestore retention <dataset> [--max-age <dur>] [--max-bytes <size>] [--apply]",
	"apphub timestore compact <dataset> [--day <yyyy-mm-dd>]",
	"apphub timestore sql <'SELECT ...'>",
	"apphub timestore rm <dataset>",
	NULL
};

static void text_datasets(json_t *out, int quiet)
{
	(void)quiet;
	print_json(out);
}

static int timestore_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "timestore.datasets", json_object(), text_datasets);
}

static const struct verb timestore_verbs[] = {
	{ "ls", timestore_ls },
};

int cmd_timestore(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(timestore_verbs, sizeof(timestore_verbs) / sizeof(timestore_verbs[0]), "ls",
			"timestore", timestore_usage, argc - 1, argv + 1, ctx);
}
