#ifndef DAG_H
#define DAG_H

#include <jansson.h>
#include "err.h"

/*
 * A workflow's steps as a graph: each step {id, dependsOn?: [id...]}
 * checked (ids unique, every dependency a step, no cycle) and ordered.
 */
#define AH_DAG_MAX_STEPS 100
#define AH_DAG_MAX_DEPENDS 25

/*
 * Checks steps (a JSON array of step objects) and describes the graph:
 * *out {roots: [id...], order: [id...] (topological, ties in definition
 * order), edges: [[from, to]...]}. Errors are 400 with the code
 * "duplicate_step" (naming the id), "missing_dependency" (naming the step
 * and the dependency), "cycle_detected" (with the cycle's path, "a -> b ->
 * a"), or "invalid" for a malformed step.
 */
int ah_dag_check(json_t *steps, json_t **out, struct ah_err *err);

#endif
