/*
 * libFuzzer target for lib/workflow-def.c over raw bytes: a definition in
 * JSON or YAML parsed (ah_workflow_def_parse) and checked
 * (ah_workflow_def_check). Whatever the bytes, the result is an object or
 * an error with a status of 400 or 413 and a message; a normalized
 * definition has its dag and checks again to the same bytes.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/workflow-def.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *def = NULL, *out = NULL, *again = NULL;
	char *a, *b;

	if (ah_workflow_def_parse((const char *)data, size, &def, &err) < 0) {
		if (def || !*err.msg || (err.status != 400 && err.status != 413))
			abort();
		return 0;
	}
	if (!json_is_object(def))
		abort();
	if (ah_workflow_def_check(def, &out, &err) < 0) {
		if (out || !*err.msg || (err.status != 400 && err.status != 413))
			abort();
		json_decref(def);
		return 0;
	}
	if (!json_is_object(json_object_get(out, "dag")) || !json_is_array(json_object_get(out, "steps")))
		abort();
	if (ah_workflow_def_check(out, &again, &err) < 0)
		abort();
	a = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	b = json_dumps(again, JSON_COMPACT | JSON_SORT_KEYS);
	if (!a || !b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	json_decref(again);
	json_decref(out);
	json_decref(def);
	return 0;
}
