/*
 * The operation table: finding an operation by name and calling it. The
 * table itself, ah_op_table, is generated for each binary by the Makefile
 * from the modules it carries.
 */
#include <string.h>
#include "ops.h"

const struct ah_op *ah_op_find(const char *name)
{
	const struct ah_op *op;
	size_t m;

	for (m = 0; ah_op_table[m]; m++)
		for (op = ah_op_table[m]; op->name; op++)
			if (!strcmp(op->name, name))
				return op;
	return NULL;
}

void *ah_op_prepare(const char *name, json_t *params)
{
	const struct ah_op *op = ah_op_find(name);

	return op && op->prepare && json_is_object(params) ? op->prepare(params) : NULL;
}

void ah_op_prepared_free(const char *name, void *prepared)
{
	const struct ah_op *op = ah_op_find(name);

	if (prepared && op && op->free_prepared)
		op->free_prepared(prepared);
}

int ah_op_call(struct ah_ctx *ctx, const char *name, json_t *params, json_t **out,
	       struct ah_err *err)
{
	const struct ah_op *op = ah_op_find(name);

	*out = NULL;
	if (!op)
		return ah_not_found(err, "unknown operation '%s'", name);
	if (params && !json_is_object(params))
		return ah_invalid(err, "parameters: must be a JSON object");
	if (op->on_state) {
		struct ah_state *st;

		if (ah_ctx_state(ctx, &st, err) < 0)
			return -1;
		return op->on_state(st, params, out, err);
	}
	return op->fn(ctx, params, out, err);
}
