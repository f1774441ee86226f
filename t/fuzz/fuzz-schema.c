/*
 * libFuzzer target for lib/json-schema.c: the input is a schema, a NUL
 * byte, a value and, after a second NUL, --param text. Whatever the bytes,
 * the checks end within their depth limit and answer 0 or an error with a
 * message; a schema found usable checks any value, and text coerced
 * through it checks against it as the type it was read as.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/json-schema.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *nul = memchr(data, 0, size), *nul2;
	struct ah_err err = AH_ERR_INIT;
	json_t *schema = NULL, *value = NULL, *coerced = NULL;
	char *text = NULL;

	if (!nul)
		return 0;
	schema = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, NULL);
	nul2 = memchr(nul + 1, 0, size - (size_t)(nul + 1 - data));
	value = json_loadb((const char *)nul + 1,
			   (size_t)((nul2 ? nul2 : data + size) - (nul + 1)), JSON_DECODE_ANY, NULL);
	if (!schema || ah_json_schema_valid(schema, "schema", &err) < 0) {
		if (schema && (!err.status || !*err.msg))
			abort();
		goto done;
	}
	if (value && ah_json_schema_check(schema, value, "parameters", &err) < 0 &&
	    (err.status != 422 || !*err.msg))
		abort();
	if (nul2) {
		text = strndup((const char *)nul2 + 1, size - (size_t)(nul2 + 1 - data));
		coerced = ah_json_schema_coerce(schema, text, "parameters.x", &err);
		if (!coerced && err.status != 422)
			abort();
	}
done:
	json_decref(coerced);
	json_decref(schema);
	json_decref(value);
	free(text);
	return 0;
}
