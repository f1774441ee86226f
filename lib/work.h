#ifndef WORK_H
#define WORK_H

#include "state.h"

/*
 * The work queue: one outstanding item per (kind, subject). Queuing an item
 * that is already waiting makes it due now with a fresh attempt count; the
 * workers (ingest, build) claim items with a lease.
 */
int ah_work_queue(struct ah_state *st, const char *kind, const char *subject,
		  struct ah_err *err);
/* Drops the items of subject (every kind when kind is NULL). */
int ah_work_drop(struct ah_state *st, const char *kind, const char *subject,
		 struct ah_err *err);

#endif
