#ifndef TIMESTORE_OPS_H
#define TIMESTORE_OPS_H

/*
 * The timestore's operations, listed once. apphub-timestore carries them
 * with their functions (lib/ops-timestore.c); serve, which must not load
 * DuckDB, carries the same names, routes and scopes with a function that
 * asks its long-lived apphub-timestore (lib/ops-timestore-remote.c).
 *
 * TS_OP(name, method, path, scope, function, created, max_body, summary):
 * max_body the largest request body when more than serve's default
 * (a function as struct ah_op's), or NULL.
 */
#define TIMESTORE_OPS \
	TS_OP("timestore.compact", "POST", "/datasets/:slug/compact", SCOPE_TIMESTORE_WRITE, \
	      op_ts_compact, 0, NULL, "Merge a day's small partitions into one") \
	TS_OP("timestore.datasets", "GET", "/datasets", SCOPE_TIMESTORE_READ, op_ts_datasets, 0, \
	      NULL, \
	      "The datasets, with their rows, bytes and time range") \
	TS_OP("timestore.ingest", "POST", "/datasets/:slug/ingest", SCOPE_TIMESTORE_WRITE, \
	      op_ts_ingest, 1, ah_ts_max_ingest_body, \
	      "Ingest rows as new partitions; the dataset is made on first use") \
	TS_OP("timestore.partitions", "GET", "/datasets/:slug/partitions", SCOPE_TIMESTORE_READ, \
	      op_ts_partitions, 0, NULL, "A dataset's live partitions") \
	TS_OP("timestore.query", "POST", "/datasets/:slug/query", SCOPE_TIMESTORE_READ, \
	      op_ts_query, 0, NULL, "Rows in a time range, raw or downsampled") \
	TS_OP("timestore.retention", "PUT", "/datasets/:slug/retention", SCOPE_TIMESTORE_WRITE, \
	      op_ts_retention, 0, NULL, "Set (and with apply, apply) a dataset's retention") \
	TS_OP("timestore.rm", "DELETE", "/datasets/:slug", SCOPE_TIMESTORE_WRITE, op_ts_rm, 0, \
	      NULL, \
	      "Remove a dataset and its partitions") \
	TS_OP("timestore.show", "GET", "/datasets/:slug", SCOPE_TIMESTORE_READ, op_ts_show, 0, \
	      NULL, \
	      "A dataset: schema history, partitions, rows, bytes, time range") \
	TS_OP("timestore.sql", "POST", "/timestore/sql", SCOPE_TIMESTORE_READ, op_ts_sql, 0, NULL, \
	      "Read-only SQL over the datasets, each a view of its Parquet files")

#endif
