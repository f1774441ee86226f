/* The operation of the Dockerfile parser (lib/dockerfile.c): apphub build --check. */
#include <stdlib.h>
#include "base64.h"
#include "dockerfile.h"
#include "ops.h"

/*
 * dockerfile.check: {text (base64: the bytes as they are, invalid UTF-8
 * included), file?} -> {file, ok, stages, instructions} or {file, ok:
 * false, errorMessage "FILE:LINE: WHAT"}.
 */
static int op_dockerfile_check(struct ah_ctx *ctx, json_t *params, json_t **out,
			       struct ah_err *err)
{
	struct ah_err perr = AH_ERR_INIT, derr = AH_ERR_INIT;
	struct ah_dockerfile *df = NULL;
	const char *file, *text;
	unsigned char *buf;
	size_t len;

	(void)ctx;
	if (ah_param_need_str(params, "text", &text, err) < 0 ||
	    ah_param_str(params, "file", &file, err) < 0)
		return -1;
	if (!file)
		file = "Dockerfile";
	if (ah_base64_decode(text, AH_DOCKERFILE_MAX_SIZE, &buf, &len, &derr) < 0)
		return ah_error(err, derr.status, derr.code, "%s: %s", file, derr.msg);
	if (ah_dockerfile_parse((const char *)buf, len, file, NULL, &df, &perr) < 0)
		*out = json_pack("{s:s, s:b, s:s}", "file", file, "ok", 0, "errorMessage", perr.msg);
	else
		*out = json_pack("{s:s, s:b, s:I, s:I}", "file", file, "ok", 1, "stages",
				 (json_int_t)df->stages_nr, "instructions", (json_int_t)df->instrs_nr);
	ah_dockerfile_free(df);
	free(buf);
	return 0;
}

const struct ah_op ops_dockerfile[] = {
	{ .name = "dockerfile.check", .method = "POST", .path = "/dockerfile/check",
	  .scope = SCOPE_NONE, .fn = op_dockerfile_check,
	  .summary = "Parse a Dockerfile and report its stages and instructions, or its first error" },
	{ NULL },
};
