#ifndef TEMPLATE_H
#define TEMPLATE_H

#include <jansson.h>
#include "err.h"

/*
 * Workflow templates: "{{ expr }}" in the strings of a step's parameters,
 * URL, headers and body, where expr is a path into the run's scope, an
 * object {parameters, steps, shared, run, item, fanout}: a name, then
 * ".name" and "[index]" steps ("steps.fetch.result.items[0].id").
 *
 * A string that is exactly one template yields the value the path names,
 * whatever its type; in a longer string each template is replaced by its
 * text (a string as it is, anything else as compact JSON). A path that
 * does not resolve is an error naming the template and the field that is
 * missing, never an empty string in silence.
 */
#define AH_TEMPLATE_MAX_DEPTH 32
/* The longest string a rendering may make. */
#define AH_TEMPLATE_MAX_OUTPUT (1 << 20)

/*
 * Checks the syntax of every template in v's strings (keys too), nested at
 * most AH_TEMPLATE_MAX_DEPTH deep: 400 naming where ("step 'fetch'
 * parameters") and the template.
 */
int ah_template_check(json_t *v, const char *where, struct ah_err *err);

/*
 * *out is v with every template rendered against scope: 400 for a syntax
 * error, 422 for a path that does not resolve, 413 for an output over
 * AH_TEMPLATE_MAX_OUTPUT; each names where and the template.
 */
int ah_template_render(json_t *v, json_t *scope, const char *where, json_t **out,
		       struct ah_err *err);

#endif
