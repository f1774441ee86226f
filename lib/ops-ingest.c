/* The operations of ingestion (lib/ingest.c). */
#include "ingest.h"
#include "ops.h"
#include "work.h"

/* <kind>.next: {} -> {data:[result]}, {data:[]} when none is due. */
AH_WORK_OP_NEXT(op_ingest_next, ingest)

const struct ah_op ops_ingest[] = {
	{ .name = "ingest.next", .method = "POST", .path = "/ingest/next",
	  .scope = SCOPE_APPS_WRITE, .fn = op_ingest_next,
	  .summary = "Ingest the next app due in the queue" },
	{ .name = "ingest.queue", .method = "GET", .path = "/ingest/queue", .scope = SCOPE_NONE,
	  .on_state = ah_ingest_queue, .summary = "The ingest queue" },
	{ .name = "ingest.run", .method = "POST", .path = "/apps/:id/ingest",
	  .scope = SCOPE_APPS_WRITE, .on_state = ah_ingest_run, .summary = "Ingest an app now" },
	{ NULL },
};
