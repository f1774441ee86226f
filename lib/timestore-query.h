#ifndef TIMESTORE_QUERY_H
#define TIMESTORE_QUERY_H

/*
 * Reading the timestore back with DuckDB: a dataset's rows in a time
 * range, raw or downsampled, from the Parquet files of the partitions that
 * overlap the range only; and read-only SQL over every dataset.
 */
#include <jansson.h>
#include "err.h"
#include "state.h"

/*
 * params {slug, timeRange: {start, end}, timestampColumn?, columns?: [..],
 * filters?: [{column, op, value}], downsample?: {intervalUnit (second,
 * minute, hour, day, week, month), intervalSize, aggregations: [{fn,
 * column?, alias?, percentile?}]}, limit?, explain?}: *out {rows,
 * columns: [{name, type}], mode: raw|downsampled}, or with explain
 * {partitions, sql}. Ops: eq neq lt lte gt gte in contains. Functions:
 * avg min max sum median count count_distinct percentile (percentile:
 * 0..1, 0.95 by default). Aliases: <fn>_<column>, count, p<NN>_<column>.
 * 404 for an unknown dataset; 400 naming a bad column, op, function,
 * time or limit.
 */
int ah_ts_query(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

/*
 * params {sql, limit?}: one SELECT (or WITH ... SELECT) over views named
 * after the datasets, each over its live Parquet files, in a database of
 * its own that reads no file outside the timestore and cannot be set
 * otherwise; anything else is 400. *out {rows, columns, truncated}.
 */
int ah_ts_sql(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
