#ifndef WORKFLOW_DEF_H
#define WORKFLOW_DEF_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

/*
 * A workflow definition read (JSON or YAML) and checked into its normalized
 * form: every default filled in, unknown fields refused by name, and
 * dag {roots, order, edges} added from ah_dag_check. The normalized form is
 * stable (the same definition gives byte-identical json_dumps with
 * JSON_SORT_KEYS), so comparing it tells whether `add` makes a new version;
 * a definition's own "version" is dropped (the hub numbers versions).
 */
#define AH_WORKFLOW_DEF_MAX (1 << 20)
#define AH_WORKFLOW_MAX_STEPS 100
#define AH_WORKFLOW_MAX_DEPENDS 25
#define AH_WORKFLOW_MAX_ITEMS 10000
#define AH_WORKFLOW_MAX_CONCURRENCY 1000
#define AH_WORKFLOW_MAX_PARALLEL 1000
#define AH_WORKFLOW_MAX_ATTEMPTS 20
#define AH_WORKFLOW_MAX_DELAY_MS 86400000LL
#define AH_WORKFLOW_MAX_SCHEDULES 100

/*
 * JSON when the first non-blank byte is '{', else YAML; 413 over
 * AH_WORKFLOW_DEF_MAX; 400 with the line (and column) of a syntax error.
 */
int ah_workflow_def_parse(const char *text, size_t len, json_t **def, struct ah_err *err);

/*
 * *out is the normalized definition (a new reference; def is not changed).
 * Errors are 400 with code "duplicate_step", "missing_dependency",
 * "cycle_detected" (from ah_dag_check) or "invalid" naming the field
 * ("step 'fetch': unknown type 'foo'").
 */
int ah_workflow_def_check(json_t *def, json_t **out, struct ah_err *err);

#endif
