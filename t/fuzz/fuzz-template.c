/*
 * libFuzzer target for the workflow pieces: lib/template.c and lib/dag.c.
 * The input is a value, a NUL byte and a scope (both JSON). Whatever the
 * bytes, checking and rendering end within their limits with a result or
 * an error with a message; a value whose check passes renders or fails
 * only on paths (422) or size (413); an array is also checked as steps.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/dag.h"
#include "../../lib/template.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *nul = memchr(data, 0, size);
	size_t vlen = nul ? (size_t)(nul - data) : size;
	json_t *v = json_loadb((const char *)data, vlen, JSON_DECODE_ANY, NULL), *scope = NULL;
	json_t *out = NULL;
	struct ah_err err = AH_ERR_INIT;

	if (!v)
		return 0;
	if (nul)
		scope = json_loadb((const char *)nul + 1, size - vlen - 1, JSON_DECODE_ANY, NULL);
	if (ah_template_check(v, "value", &err) < 0) {
		if (err.status != 400 || !*err.msg)
			abort();
	} else if (ah_template_render(v, scope, "value", &out, &err) < 0) {
		if ((err.status != 422 && err.status != 413) || !*err.msg)
			abort();
	} else if (!out) {
		abort();
	}
	json_decref(out);
	out = NULL;
	if (json_is_array(v)) {
		struct ah_err e2 = AH_ERR_INIT;

		if (ah_dag_check(v, &out, &e2) < 0 ? !*e2.msg :
		    json_array_size(json_object_get(out, "order")) != json_array_size(v))
			abort();
	}
	json_decref(out);
	json_decref(scope);
	json_decref(v);
	return 0;
}
