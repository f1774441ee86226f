#ifndef METASTORE_INDEX_H
#define METASTORE_INDEX_H

#include <jansson.h>
#include "state.h"

/*
 * The metastore's queries over many records: search (a filter compiled by
 * lib/metastore-filter.c, run against metastore_records) and the
 * expression indexes on metadata fields that make its lookups index
 * lookups rather than scans.
 */

/*
 * search: {namespace, filter?, q?, includeDeleted?, limit 1-200 (50),
 * offset?, sort? [{field, direction}] or ["field[:asc|desc]"], projection?,
 * explain?} -> {records, pagination {total, limit, offset}}; with explain,
 * {plan: [EXPLAIN QUERY PLAN details], indexes: [names used]} instead.
 */
int ah_ms_search(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

/*
 * index: {namespace, field} -> {namespace, field, name, createdAt, created}:
 * an index on (namespace, the field's expression), made once.
 */
int ah_ms_index_create(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* index-drop: {namespace, field} -> {namespace, field, name, dropped: true}; 404 when none */
int ah_ms_index_drop(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* indexes: {namespace} -> {indexes: [{namespace, field, name, createdAt}]} */
int ah_ms_indexes(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
