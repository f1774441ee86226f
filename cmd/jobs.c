/*
 * apphub jobs: job bundles and their runs.
 */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

static const char *const jobs_usage[] = {
	"apphub jobs test <dir> [--input-json <json> | --input <file>]",
	NULL
};

/* A log chunk to stderr, as it comes; fd-3 lines are in the result. */
static void test_progress(struct ah_ctx *op, json_t *line, const struct ah_err *refusal)
{
	json_t *data = json_object_get(line, "data");

	(void)op;
	(void)refusal;
	if (!strcmp(json_string_value(json_object_get(line, "type")) ?
		    json_string_value(json_object_get(line, "type")) : "", "log") && data) {
		fwrite(json_string_value(data), 1, json_string_length(data), stderr);
		fflush(stderr);
	}
}

static int jobs_test(int argc, const char **argv, struct ctx *ctx)
{
	const char *input_json = NULL, *input = NULL;
	struct option opts[] = {
		OPT_STRING(0, "input-json", &input_json, "json", "the handler's parameters (JSON)"),
		OPT_STRING(0, "input", &input, "file", "the handler's parameters from a file"),
		OPT_END(),
	};
	json_t *params, *out = NULL, *result;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, jobs_usage, 1, 1, "a bundle directory",
			    &code) < 0)
		return code;
	params = json_pack("{s:s}", "dir", argv[0]);
	if (input_json)
		json_object_set_new(params, "inputJson", json_string(input_json));
	if (input)
		json_object_set_new(params, "input", json_string(input));
	ctx->op.progress = test_progress;
	code = run_op(ctx, "jobs.test", params, &out);
	ctx->op.progress = NULL;
	json_decref(params);
	if (code)
		return code;
	if (!json_is_true(json_object_get(out, "ok"))) {
		fprintf(stderr, "apphub: jobs test: %s\n",
			json_string_value(json_object_get(out, "errorMessage")));
		if (ctx->json)
			print_json(out);
		json_decref(out);
		return 1;
	}
	result = json_object_get(out, "result");
	if (ctx->json)
		print_json(out);
	else {
		char *s = json_dumps(result, JSON_ENCODE_ANY | JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
	}
	json_decref(out);
	return 0;
}

static const struct verb jobs_verbs[] = {
	{ "test", jobs_test },
};

int cmd_jobs(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(jobs_verbs, sizeof(jobs_verbs) / sizeof(jobs_verbs[0]), NULL, "jobs",
			jobs_usage, argc - 1, argv + 1, ctx);
}
