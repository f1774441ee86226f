/*
 * libFuzzer target for lib/yaml-json.c: whatever the bytes, YAML becomes
 * JSON or a 400 with "line N, column M: ..." (a reader error: "byte N:"),
 * within the depth and node limits; the JSON it makes holds valid UTF-8
 * and dumps; and what parses is then checked as a workflow definition
 * (lib/workflow-def.c), which gives a normalized form or an error with a
 * message, and the normalized form checks again to the same bytes.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/workflow-def.h"
#include "../../lib/yaml-json.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_again(json_t *out)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *again = NULL;
	char *a, *b;

	/* The normalized form is a fixed point: `add` compares it byte for byte. */
	if (ah_workflow_def_check(out, &again, &err) < 0)
		abort();
	a = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	b = json_dumps(again, JSON_COMPACT | JSON_SORT_KEYS);
	if (!a || !b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	json_decref(again);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *v = NULL, *out = NULL;
	char *text;

	if (ah_yaml_to_json((const char *)data, size, &v, &err) < 0) {
		if (err.status != 400 || !*err.msg || v)
			abort();
		if (strncmp(err.msg, "line ", 5) && strncmp(err.msg, "byte ", 5))
			abort();
		return 0;
	}
	if (!v || !(text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
		abort();
	free(text);
	if (ah_workflow_def_check(v, &out, &err) < 0) {
		if (!*err.msg || (err.status != 400 && err.status != 413) || out)
			abort();
	} else {
		if (!out)
			abort();
		check_again(out);
	}
	json_decref(out);
	json_decref(v);
	return 0;
}
