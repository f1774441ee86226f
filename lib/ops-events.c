/* The operations of the event log (lib/events.c). */
#include <limits.h>
#include "events.h"
#include "ops.h"

/* events.list: {since?, type? (glob), limit?} -> {data:[event...]}. */
static int op_events_list(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	const char *type;
	long since, limit;
	json_t *data, *has_since = params ? json_object_get(params, "since") : NULL;

	if (ah_param_int(params, "since", 0, 0, LONG_MAX, &since, err) < 0 ||
	    ah_param_int(params, "limit", 100, 1, 10000, &limit, err) < 0 ||
	    ah_param_str(params, "type", &type, err) < 0 ||
	    ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	data = ah_events_list(st, has_since && !json_is_null(has_since), since, type, limit, err);
	if (!data)
		return -1;
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

const struct ah_op ops_events[] = {
	{ .name = "events.list", .method = "GET", .path = "/events", .scope = SCOPE_NONE,
	  .fn = op_events_list, .summary = "List events, oldest first" },
	{ NULL },
};
