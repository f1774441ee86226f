/*
 * Workflow graphs (see dag.h): ids unique, dependencies known, no cycle
 * (the one found is named as a path), then Kahn's order with ties in the
 * order the steps were defined.
 */
#include <stdlib.h>
#include <string.h>
#include "dag.h"
#include "strbuf.h"

struct graph {
	size_t nr;
	const char *id[AH_DAG_MAX_STEPS];
	size_t dep[AH_DAG_MAX_STEPS][AH_DAG_MAX_DEPENDS];	/* indexes of the steps it waits for */
	size_t deps[AH_DAG_MAX_STEPS];
};

static long find(const struct graph *g, const char *id)
{
	size_t i;

	for (i = 0; i < g->nr; i++)
		if (!strcmp(g->id[i], id))
			return (long)i;
	return -1;
}

static int load(json_t *steps, struct graph *g, struct ah_err *err)
{
	json_t *s, *d, *list;
	size_t i, j;

	if (!json_is_array(steps) || !json_array_size(steps))
		return ah_invalid(err, "steps: must be a list of 1 to %d steps", AH_DAG_MAX_STEPS);
	if (json_array_size(steps) > AH_DAG_MAX_STEPS)
		return ah_invalid(err, "steps: more than %d steps", AH_DAG_MAX_STEPS);
	g->nr = 0;
	json_array_foreach(steps, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));

		if (!id || !*id)
			return ah_invalid(err, "steps[%zu]: id: required", i);
		if (find(g, id) >= 0)
			return ah_error(err, 400, "duplicate_step", "step '%s' is defined twice", id);
		g->id[g->nr++] = id;
	}
	json_array_foreach(steps, i, s) {
		list = json_object_get(s, "dependsOn");
		g->deps[i] = 0;
		if (!list || json_is_null(list))
			continue;
		if (!json_is_array(list))
			return ah_invalid(err, "step '%s': dependsOn: must be a list of step ids", g->id[i]);
		if (json_array_size(list) > AH_DAG_MAX_DEPENDS)
			return ah_invalid(err, "step '%s': dependsOn: more than %d steps", g->id[i],
					  AH_DAG_MAX_DEPENDS);
		json_array_foreach(list, j, d) {
			long k;

			if (!json_is_string(d))
				return ah_invalid(err, "step '%s': dependsOn: entry %zu is not a step id",
						  g->id[i], j + 1);
			if ((k = find(g, json_string_value(d))) < 0)
				return ah_error(err, 400, "missing_dependency",
						"step '%s' depends on '%s', which is not a step", g->id[i],
						json_string_value(d));
			g->dep[i][g->deps[i]++] = (size_t)k;
		}
	}
	return 0;
}

/*
 * Depth-first from step i along its dependencies: on meeting a step on
 * the current path, the cycle is that stretch of the path.
 */
static int visit(const struct graph *g, size_t i, unsigned char *state, size_t *path,
		 size_t depth, struct ah_err *err)
{
	size_t j;

	path[depth] = i;
	if (state[i] == 1) {
		struct strbuf sb = STRBUF_INIT;
		size_t start = 0, k;

		for (k = 0; k < depth; k++)
			if (path[k] == i)
				start = k;
		/* the path runs from dependents to dependencies: say it the other way */
		for (k = depth + 1; k-- > start;)
			strbuf_addf(&sb, "%s%s", k == depth ? "" : " -> ", g->id[path[k]]);
		ah_error(err, 400, "cycle_detected", "the steps form a cycle: %s", sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	if (state[i] == 2)
		return 0;
	state[i] = 1;
	for (j = 0; j < g->deps[i]; j++)
		if (visit(g, g->dep[i][j], state, path, depth + 1, err) < 0)
			return -1;
	state[i] = 2;
	return 0;
}

int ah_dag_check(json_t *steps, json_t **out, struct ah_err *err)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	unsigned char state[AH_DAG_MAX_STEPS] = { 0 }, done[AH_DAG_MAX_STEPS] = { 0 };
	size_t path[AH_DAG_MAX_STEPS + 1], i, j, placed = 0;
	json_t *roots, *order, *edges;
	int ret = -1;

	*out = NULL;
	if (load(steps, g, err) < 0)
		goto done;
	for (i = 0; i < g->nr; i++)
		if (visit(g, i, state, path, 0, err) < 0)
			goto done;
	roots = json_array();
	order = json_array();
	edges = json_array();
	for (i = 0; i < g->nr; i++) {
		if (!g->deps[i])
			json_array_append_new(roots, json_string(g->id[i]));
		for (j = 0; j < g->deps[i]; j++)
			json_array_append_new(edges, json_pack("[s, s]", g->id[g->dep[i][j]], g->id[i]));
	}
	/* Kahn's order: the first step, in definition order, whose dependencies are placed */
	while (placed < g->nr) {
		for (i = 0; i < g->nr; i++) {
			if (done[i])
				continue;
			for (j = 0; j < g->deps[i] && done[g->dep[i][j]]; j++)
				;
			if (j == g->deps[i])
				break;
		}
		done[i] = 1;
		placed++;
		json_array_append_new(order, json_string(g->id[i]));
	}
	*out = json_pack("{s:o, s:o, s:o}", "roots", roots, "order", order, "edges", edges);
	ret = 0;
done:
	free(g);
	return ret;
}
