#ifndef JSON_SCHEMA_H
#define JSON_SCHEMA_H

#include <jansson.h>
#include "err.h"

/*
 * The subset of JSON Schema that a job's parametersSchema uses (as the
 * original's forms did): type (a name or a list of names), required,
 * properties, additionalProperties (false), enum, const, items, minimum,
 * maximum, minLength, maxLength, minItems, maxItems. Keywords it does not
 * know are ignored, as JSON Schema says.
 */
#define AH_JSON_SCHEMA_MAX_DEPTH 32

/*
 * Whether schema itself is usable: an object whose keywords above have the
 * right types, nested at most AH_JSON_SCHEMA_MAX_DEPTH deep. 400 naming the
 * keyword's path ("parametersSchema.properties.n.type").
 */
int ah_json_schema_valid(json_t *schema, const char *name, struct ah_err *err);

/*
 * Checks value against schema: 0, or 422 (code "invalid_parameters") naming
 * the first path that does not match ("parameters.count: must be an
 * integer"). name is the value's path ("parameters").
 */
int ah_json_schema_check(json_t *schema, json_t *value, const char *name, struct ah_err *err);

/*
 * A value given as text (--param k=v) as the schema's type for it says: an
 * integer, number or boolean parsed, an object or array read as JSON, a
 * string kept. Without a type the text is JSON when it reads as JSON, else
 * a string. NULL with err (422) when the text is not of the type.
 */
json_t *ah_json_schema_coerce(json_t *schema, const char *text, const char *name,
			      struct ah_err *err);

/*
 * A run's parameters: params' "parameters" object (absent or null: {})
 * with each "k=v" of its "param" list set, the text read as schema's
 * property k says (ah_json_schema_coerce). Not checked against schema.
 */
json_t *ah_json_schema_parameters(json_t *params, json_t *schema, struct ah_err *err);

#endif
