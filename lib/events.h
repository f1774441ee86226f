#ifndef EVENTS_H
#define EVENTS_H

#include <jansson.h>
#include "state.h"

/*
 * Appends an event inside the caller's transaction, so an event exists
 * exactly when its state change does. data is stolen (may be NULL).
 */
int ah_event(struct ah_state *st, const char *type, const char *subject, json_t *data,
	     struct ah_err *err);
/*
 * One event per row, in order, in one statement (a bulk import's): the
 * rows' cells are time, type, subject and data (JSON text).
 */
int ah_events_rows(struct ah_state *st, struct ah_text_rows *rows, struct ah_err *err);
/*
 * The events after since (with has_since), oldest first; without, the
 * newest limit, still oldest first. type is a glob or NULL.
 */
json_t *ah_events_list(struct ah_state *st, int has_since, long since, const char *type,
		       long limit, struct ah_err *err);

#endif
