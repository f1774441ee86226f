/*
 * The timestore's writes (lib/timestore-ingest.h). A partition's file is
 * complete before any record names it: DuckDB writes it to a temporary
 * name in its day's directory, it is fsynced and renamed, the directory
 * fsynced, and only then is the partition recorded, in one transaction
 * with its manifest. A process killed before that leaves a file no record
 * names, which the collector removes once it is older than the grace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "duck.h"
#include "env.h"
#include "fsutil.h"
#include "params.h"
#include "random-id.h"
#include "strbuf.h"
#include "timestore-ingest.h"
#include "timestore-parse.h"
#include "timestore.h"
#include "timeutil.h"

#define US_PER_DAY (86400LL * 1000000)

static int grace_ms(int64_t *out, struct ah_err *err)
{
	int64_t s;

	if (ah_env_int("APPHUB_TIMESTORE_GRACE", 300, 0, &s, err) < 0)
		return -1;
	*out = s * 1000;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* A day number as yyyy-mm-dd; -1 outside years 1 to 9999. */
static int day_text(int64_t day, char buf[11])
{
	int64_t y;
	unsigned m, d;

	ah_civil_from_days(day, &y, &m, &d);
	if (y < 1 || y > 9999)
		return -1;
	snprintf(buf, 11, "%04d-%02u-%02u", (int)y, m, d);
	return 0;
}

/* A path of ours as an SQL string literal: quotes doubled. */
static void sql_path(struct strbuf *sb, const char *path)
{
	const char *p;

	strbuf_addch(sb, '\'');
	for (p = path; *p; p++) {
		if (*p == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '\'');
}

static int fsync_path(const char *path, int dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0)), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static const duckdb_type duck_type_ids[AH_TS_NTYPES] = {
	DUCKDB_TYPE_TIMESTAMP, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_BIGINT,
	DUCKDB_TYPE_BOOLEAN,
};

/* Rows idx[at..at+m) of b into chunk, a column a vector (m at most the vector size). */
static void fill_chunk(duckdb_data_chunk chunk, const struct ah_ts_batch *b, const uint32_t *idx,
		       size_t at, size_t m)
{
	size_t c, k;

	for (c = 0; c < b->ncols; c++) {
		const struct ah_ts_col *col = &b->cols[c];
		duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
		void *data = duckdb_vector_get_data(vec);
		uint64_t *validity = NULL;

		if (col->has_null) {
			duckdb_vector_ensure_validity_writable(vec);
			validity = duckdb_vector_get_validity(vec);
		}
		for (k = 0; k < m; k++) {
			uint32_t r = idx[at + k];

			if (validity && !col->valid[r]) {
				duckdb_validity_set_row_invalid(validity, k);
				continue;
			}
			switch (col->type) {
			case AH_TS_TIMESTAMP:
				((duckdb_timestamp *)data)[k].micros = col->i[r];
				break;
			case AH_TS_INTEGER:
				((int64_t *)data)[k] = col->i[r];
				break;
			case AH_TS_BOOLEAN:
				((bool *)data)[k] = col->i[r] != 0;
				break;
			case AH_TS_DOUBLE:
				((double *)data)[k] = col->d[r];
				break;
			case AH_TS_STRING:
				duckdb_vector_assign_string_element_len(vec, k, col->s[r], col->slen[r]);
				break;
			}
		}
	}
	duckdb_data_chunk_set_size(chunk, m);
}

/*
 * The rows being written, each under a token: the table function
 * ah_ts_rows(token) hands them to DuckDB chunk by chunk, so that COPY
 * writes them without a table between (no storage, no second scan). A
 * token not registered here (SQL of someone else's) is refused at bind.
 */
struct rows_job {
	const struct ah_ts_batch *b;
	const uint32_t *idx;
	size_t n;
	int64_t token;
	struct rows_job *next;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rows_job *jobs;
static int64_t jobs_seq;

struct rows_scan {
	size_t at;
};

static void rows_bind(duckdb_bind_info info)
{
	duckdb_value v = duckdb_bind_get_parameter(info, 0);
	int64_t token = duckdb_get_int64(v);
	struct rows_job *job;
	size_t c;

	duckdb_destroy_value(&v);
	pthread_mutex_lock(&jobs_lock);
	for (job = jobs; job && job->token != token; job = job->next)
		;
	pthread_mutex_unlock(&jobs_lock);
	if (!job) {
		duckdb_bind_set_error(info, "ah_ts_rows: no such batch");
		return;
	}
	for (c = 0; c < job->b->ncols; c++) {
		duckdb_logical_type t = duckdb_create_logical_type(duck_type_ids[job->b->cols[c].type]);

		duckdb_bind_add_result_column(info, job->b->cols[c].name, t);
		duckdb_destroy_logical_type(&t);
	}
	duckdb_bind_set_cardinality(info, job->n, true);
	duckdb_bind_set_bind_data(info, job, NULL);
}

static void rows_init(duckdb_init_info info)
{
	struct rows_scan *scan = calloc(1, sizeof(*scan));

	if (!scan) {
		duckdb_init_set_error(info, "ah_ts_rows: out of memory");
		return;
	}
	duckdb_init_set_init_data(info, scan, free);
	duckdb_init_set_max_threads(info, 1);
}

static void rows_scan(duckdb_function_info info, duckdb_data_chunk out)
{
	const struct rows_job *job = duckdb_function_get_bind_data(info);
	struct rows_scan *scan = duckdb_function_get_init_data(info);
	size_t vsize = duckdb_vector_size();
	size_t m = job->n - scan->at < vsize ? job->n - scan->at : vsize;

	fill_chunk(out, job->b, job->idx, scan->at, m);
	scan->at += m;
}

/* ah_ts_rows on the connection's database (once: another time is refused, and harmless). */
static void rows_register(duckdb_connection conn)
{
	duckdb_table_function tf = duckdb_create_table_function();
	duckdb_logical_type big = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);

	duckdb_table_function_set_name(tf, "ah_ts_rows");
	duckdb_table_function_add_parameter(tf, big);
	duckdb_table_function_set_bind(tf, rows_bind);
	duckdb_table_function_set_init(tf, rows_init);
	duckdb_table_function_set_function(tf, rows_scan);
	duckdb_register_table_function(conn, tf);
	duckdb_destroy_table_function(&tf);
	duckdb_destroy_logical_type(&big);
}

/* Rows idx[0..n) of b as a Parquet file at path (zstd), in time order. */
static int write_parquet(duckdb_connection conn, const struct ah_ts_batch *b, const uint32_t *idx,
			 size_t n, int sorted, const char *path, struct ah_err *err)
{
	struct strbuf sql = STRBUF_INIT;
	struct rows_job job = { .b = b, .idx = idx, .n = n }, **pp;
	int ret;

	pthread_mutex_lock(&jobs_lock);
	job.token = ++jobs_seq;
	job.next = jobs;
	jobs = &job;
	pthread_mutex_unlock(&jobs_lock);
	strbuf_addf(&sql, "COPY (SELECT * FROM ah_ts_rows(%" PRId64 ")", job.token);
	if (!sorted)
		strbuf_addf(&sql, " ORDER BY \"%s\"", b->cols[b->time_col].name);
	strbuf_addstr(&sql, ") TO ");
	sql_path(&sql, path);
	strbuf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd)");
	ret = ah_duck_exec(conn, sql.buf, "ingest: writing parquet", err);
	pthread_mutex_lock(&jobs_lock);
	for (pp = &jobs; *pp != &job; pp = &(*pp)->next)
		;
	*pp = job.next;
	pthread_mutex_unlock(&jobs_lock);
	strbuf_release(&sql);
	return ret;
}

/*
 * The file a partition will be: its directory made, its id, the
 * temporary and final absolute paths and the relative path (recorded).
 */
struct part_file {
	struct strbuf dir, tmp, final;
};

static int part_file_prepare(struct ah_state *st, const char *slug, struct ah_ts_new_part *p,
			     struct part_file *f, struct ah_err *err)
{
	ah_random_id(p->id, sizeof(p->id), 'p');
	strbuf_init(&f->dir, 0);
	strbuf_init(&f->tmp, 0);
	strbuf_init(&f->final, 0);
	strbuf_addf(&f->dir, "%s/timestore/%s/%s", st->dir, slug, p->day);
	strbuf_addf(&f->tmp, "%s/.%s.parquet.tmp", f->dir.buf, p->id);
	strbuf_addf(&f->final, "%s/%s.parquet", f->dir.buf, p->id);
	if (asprintf(&p->path, "timestore/%s/%s/%s.parquet", slug, p->day, p->id) < 0) {
		p->path = NULL;
		return ah_internal(err, "ingest: out of memory");
	}
	if (ah_mkdir_p(f->dir.buf, 0700) < 0)
		return ah_internal(err, "ingest: cannot make '%s': %s", f->dir.buf, strerror(errno));
	return 0;
}

static void part_file_release(struct part_file *f)
{
	strbuf_release(&f->dir);
	strbuf_release(&f->tmp);
	strbuf_release(&f->final);
}

/* The written temporary file made durable under its final name; *bytes its size. */
static int part_file_publish(struct part_file *f, int64_t *bytes, struct ah_err *err)
{
	struct stat sb;

	if (fsync_path(f->tmp.buf, 0) < 0 || stat(f->tmp.buf, &sb) < 0)
		return ah_internal(err, "ingest: cannot sync '%s': %s", f->tmp.buf, strerror(errno));
	*bytes = sb.st_size;
	if (rename(f->tmp.buf, f->final.buf) < 0)
		return ah_internal(err, "ingest: cannot rename '%s': %s", f->tmp.buf,
				   strerror(errno));
	if (fsync_path(f->dir.buf, 1) < 0)
		return ah_internal(err, "ingest: cannot sync '%s': %s", f->dir.buf, strerror(errno));
	return 0;
}

/* A row's index and day, to group a batch by day. */
struct row_day {
	int64_t day;
	uint32_t row;
};

static int row_day_cmp(const void *a, const void *b)
{
	const struct row_day *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* The payload's hash, for an idempotency key: the params but the key and the slug. */
static void payload_hash(json_t *params, char out[17])
{
	json_t *p = json_deep_copy(params);
	char *text;
	uint64_t h;

	json_object_del(p, "idempotencyKey");
	json_object_del(p, "slug");
	/* json is the default: a body with or without it is the same payload */
	if (!strcmp(json_string_value(json_object_get(p, "format")) ?: "json", "json"))
		json_object_del(p, "format");
	text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	h = ah_fnv1a(AH_FNV_INIT, text ? text : "", text ? strlen(text) : 0);
	snprintf(out, 17, "%016" PRIx64, h);
	free(text);
	json_decref(p);
}

/* The dataset, NULL when there is none yet. */
static int current_dataset(struct ah_state *st, const char *slug, json_t **ds,
			   struct ah_err *err)
{
	if (ah_ts_dataset(st, slug, ds, err) < 0) {
		if (err->status != 404)
			return -1;
		*err = (struct ah_err)AH_ERR_INIT;
		*ds = NULL;
	}
	return 0;
}

/*
 * A batch for an existing dataset is split and ranged by the dataset's
 * time column, which it must have for every row, whatever else it has.
 */
static int dataset_time(struct ah_ts_batch *b, const char *name, struct ah_err *err)
{
	size_t c, r;

	for (c = 0; c < b->ncols && strcmp(b->cols[c].name, name); c++)
		;
	if (c == b->ncols)
		return ah_invalid(err, "ingest: column '%s', the dataset's time, is required", name);
	if (b->cols[c].type != AH_TS_TIMESTAMP)
		return ah_invalid(err, "schema: column '%s' retyped from timestamp to %s: only"
				  " additive changes are accepted", name,
				  ah_ts_type_names[b->cols[c].type]);
	for (r = 0; b->cols[c].has_null && r < b->nrows; r++)
		if (!b->cols[c].valid[r])
			return ah_invalid(err, "row %zu: column '%s': a time is required", r + 1,
					  name);
	b->time_col = c;
	return 0;
}

/* The declared schema: params' schema, an object {fields} or array, or JSON text of either. */
static int schema_param(json_t *params, json_t **out, struct ah_err *err)
{
	json_t *s = json_object_get(params, "schema");

	*out = NULL;
	if (!s || json_is_null(s))
		return 0;
	if (json_is_string(s)) {
		json_error_t je;
		char why[AH_JSON_WHY_MAX];

		if (json_string_length(s) > (1 << 20))
			return ah_invalid(err, "invalid schema: larger than 1 MiB");
		if (!(*out = json_loadb(json_string_value(s), json_string_length(s),
					JSON_REJECT_DUPLICATES, &je)))
			return ah_invalid(err, "invalid schema: not JSON: %s",
					  ah_json_why(&je, why, sizeof(why)));
	} else {
		*out = json_incref(s);
	}
	if (!json_is_object(*out) && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return ah_invalid(err, "invalid schema: an object {fields} or an array of fields");
	}
	return 0;
}

int ah_ts_ingest(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *format = NULL, *data = NULL, *idem = NULL;
	static const char *const formats[] = { "json", "ndjson", "csv", NULL };
	struct ah_ts_batch b = { 0 };
	struct ah_ts_new_part *parts = NULL;
	struct part_file *files = NULL;
	struct row_day *rd = NULL;
	uint32_t *idx = NULL;
	json_t *ds = NULL, *known, *schema = NULL, *merged = NULL, *added = NULL, *v;
	duckdb_connection conn = NULL;
	size_t len = 0, nparts = 0, nfiles = 0, i, j, r;
	char hash[17] = "";
	int64_t lo, hi;
	int rc, ret = -1;

	*out = NULL;
	if (ah_param_need_str(params, "slug", &slug, err) < 0 || ah_ts_slug_check(slug, err) < 0 ||
	    ah_param_enum(params, "format", formats, &format, err) < 0 ||
	    schema_param(params, &schema, err) < 0)
		goto done;
	if (!format)
		format = "json";
	if (strcmp(format, "json")) {
		if (!(v = json_object_get(params, "data")) || !json_is_string(v)) {
			ah_invalid(err, "invalid data: the %s text is required", format);
			goto done;
		}
		data = json_string_value(v);
		len = json_string_length(v);
		if ((int64_t)len > ah_ts_max_ingest()) {
			ah_error(err, 413, "too_large", "ingest: larger than %" PRId64 " bytes",
				 ah_ts_max_ingest());
			goto done;
		}
	}
	if ((v = json_object_get(params, "idempotencyKey")) && json_is_string(v) &&
	    json_string_length(v)) {
		idem = json_string_value(v);
		payload_hash(params, hash);
		if ((rc = ah_ts_idem_lookup(st, slug, idem, hash, out, err)) != 0) {
			ret = rc < 0 ? -1 : 0;
			goto done;
		}
	}
	if (current_dataset(st, slug, &ds, err) < 0)
		goto done;
	known = ds ? json_object_get(ds, "fields") : NULL;
	if (ah_ts_batch_read(&b, format, params, data, len, schema, known,
			     json_string_value(json_object_get(ds, "timestampColumn")), err) < 0 ||
	    (ds && dataset_time(&b, json_string_value(json_object_get(ds, "timestampColumn")),
				err) < 0))
		goto done;
	if (b.nrows > UINT32_MAX) {
		ah_invalid(err, "ingest: more than %u rows", UINT32_MAX);
		goto done;
	}
	/* refused before anything is written; the commit checks again */
	if (ah_ts_schema_merge(known, b.fields, b.declared, &merged, &added, err) < 0)
		goto done;

	/* the rows by day: most batches are one day, already in order */
	if (!(rd = malloc(b.nrows * sizeof(*rd))) || !(idx = malloc(b.nrows * sizeof(*idx)))) {
		ah_internal(err, "ingest: out of memory");
		goto done;
	}
	lo = INT64_MAX;
	hi = INT64_MIN;
	for (r = 0; r < b.nrows; r++) {
		rd[r].day = floor_div(b.cols[b.time_col].i[r], US_PER_DAY);
		rd[r].row = (uint32_t)r;
		if (rd[r].day < lo)
			lo = rd[r].day;
		if (rd[r].day > hi)
			hi = rd[r].day;
	}
	if (lo != hi && hi - lo < 4096) {
		/* a few days: a counting sort, stable, in one pass more */
		size_t *start = calloc((size_t)(hi - lo + 2), sizeof(*start));
		struct row_day *sorted = malloc(b.nrows * sizeof(*sorted));

		if (!start || !sorted) {
			free(start);
			free(sorted);
			ah_internal(err, "ingest: out of memory");
			goto done;
		}
		for (r = 0; r < b.nrows; r++)
			start[rd[r].day - lo + 1]++;
		for (i = 1; i <= (size_t)(hi - lo); i++)
			start[i] += start[i - 1];
		for (r = 0; r < b.nrows; r++)
			sorted[start[rd[r].day - lo]++] = rd[r];
		free(start);
		free(rd);
		rd = sorted;
	} else if (lo != hi) {
		qsort(rd, b.nrows, sizeof(*rd), row_day_cmp);
	}
	for (r = 0; r < b.nrows; r++)
		idx[r] = rd[r].row;
	nparts = 0;
	for (i = 0; i < b.nrows; i = j) {
		for (j = i; j < b.nrows && rd[j].day == rd[i].day; j++)
			;
		nparts++;
	}
	parts = calloc(nparts, sizeof(*parts));
	files = calloc(nparts, sizeof(*files));
	if (!parts || !files) {
		ah_internal(err, "ingest: out of memory");
		goto done;
	}
	if (ah_duck_connect(&conn, err) < 0)
		goto done;
	rows_register(conn);
	for (i = 0, nparts = 0; i < b.nrows; i = j) {
		struct ah_ts_new_part *p = &parts[nparts++];
		const int64_t *ts = b.cols[b.time_col].i;
		int sorted = 1;

		if (day_text(rd[i].day, p->day) < 0) {
			ah_invalid(err, "row %u: column '%s': a time outside the years 1 to 9999",
				   rd[i].row + 1, b.cols[b.time_col].name);
			goto done;
		}
		p->start_us = p->end_us = ts[idx[i]];
		for (j = i; j < b.nrows && rd[j].day == rd[i].day; j++) {
			int64_t t = ts[idx[j]];

			if (j > i && t < ts[idx[j - 1]])
				sorted = 0;
			if (t < p->start_us)
				p->start_us = t;
			if (t > p->end_us)
				p->end_us = t;
		}
		p->rows = (int64_t)(j - i);
		if (part_file_prepare(st, slug, p, &files[nfiles++], err) < 0 ||
		    write_parquet(conn, &b, idx + i, j - i, sorted, files[nfiles - 1].tmp.buf, err) < 0 ||
		    part_file_publish(&files[nfiles - 1], &p->bytes, err) < 0)
			goto done;
	}
	{
		struct ah_ts_commit c = {
			.slug = slug, .fields = b.fields, .declared = b.declared,
			.partition_key = b.partition_key, .attributes = b.attributes,
			.idem_key = idem, .idem_hash = hash, .parts = parts, .nr = nparts,
		};

		if ((rc = ah_ts_ingest_commit(st, &c, out, err)) < 0)
			goto done;
		if (rc == 1) {
			/* the same key's ingest won meanwhile: ours goes */
			for (i = 0; i < nfiles; i++)
				unlink(files[i].final.buf);
			nfiles = 0;
		}
	}
	nfiles = 0;
	ret = 0;
done:
	/* a failed ingest leaves nothing: its files go (the collector takes any left) */
	for (i = 0; i < nfiles; i++) {
		unlink(files[i].tmp.buf);
		unlink(files[i].final.buf);
	}
	for (i = 0; files && i < nparts; i++)
		part_file_release(&files[i]);
	for (i = 0; parts && i < nparts; i++)
		free(parts[i].path);
	free(files);
	free(parts);
	free(rd);
	free(idx);
	if (conn)
		duckdb_disconnect(&conn);
	ah_ts_batch_release(&b);
	json_decref(ds);
	json_decref(schema);
	json_decref(merged);
	json_decref(added);
	return ret;
}

/* Merges a day's live partitions into one. *result NULL when there was nothing to merge. */
static int compact_day(struct ah_state *st, duckdb_connection conn, const char *slug,
		       const char *time_col, const char *day, json_t **result, struct ah_err *err)
{
	json_t *old = NULL, *ids = json_array(), *p, *manifest = NULL;
	struct ah_ts_new_part part = { 0 };
	struct part_file f;
	struct strbuf sql = STRBUF_INIT, abs = STRBUF_INIT;
	size_t i;
	int ret = -1, have_file = 0, prepared = 0;

	*result = NULL;
	if (ah_ts_day_partitions(st, slug, day, &old, err) < 0)
		goto done;
	if (json_array_size(old) < 2) {
		ret = 0;
		goto done;
	}
	snprintf(part.day, sizeof(part.day), "%s", day);
	part.start_us = INT64_MAX;
	part.end_us = INT64_MIN;
	strbuf_addstr(&sql, "COPY (SELECT * FROM read_parquet([");
	json_array_foreach(old, i, p) {
		const char *s = json_string_value(json_object_get(p, "start"));
		const char *e = json_string_value(json_object_get(p, "end"));
		int64_t su = 0, eu = 0;

		if (!s || !e || ah_time_parse_us(s, strlen(s), &su) < 0 ||
		    ah_time_parse_us(e, strlen(e), &eu) < 0) {
			ah_internal(err, "compact: partition '%s': its range does not read",
				    json_string_value(json_object_get(p, "id")));
			goto done;
		}
		if (su < part.start_us)
			part.start_us = su;
		if (eu > part.end_us)
			part.end_us = eu;
		part.rows += json_integer_value(json_object_get(p, "rows"));
		json_array_append(ids, json_object_get(p, "id"));
		strbuf_reset(&abs);
		strbuf_addf(&abs, "%s/%s", st->dir, json_string_value(json_object_get(p, "path")));
		if (i)
			strbuf_addstr(&sql, ", ");
		sql_path(&sql, abs.buf);
	}
	if (part_file_prepare(st, slug, &part, &f, err) < 0) {
		prepared = 1;
		goto done;
	}
	prepared = 1;
	strbuf_addf(&sql, "], union_by_name = true) ORDER BY \"%s\") TO ", time_col);
	sql_path(&sql, f.tmp.buf);
	strbuf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd)");
	have_file = 1;
	if (ah_duck_exec(conn, sql.buf, "compact: duckdb", err) < 0 ||
	    part_file_publish(&f, &part.bytes, err) < 0 ||
	    ah_ts_compact_commit(st, slug, day, ids, &part, &manifest, err) < 0)
		goto done;
	have_file = 0;
	*result = json_pack("{s:s, s:o, s:s, s:I, s:I, s:O}", "day", day, "manifest", manifest,
			    "partition", part.id, "rows", (json_int_t)part.rows,
			    "bytes", (json_int_t)part.bytes,
			    "removed", json_object_get(manifest, "removed"));
	json_object_del(manifest, "removed");
	ret = 0;
done:
	if (have_file) {
		unlink(f.tmp.buf);
		unlink(f.final.buf);
	}
	if (prepared)
		part_file_release(&f);
	free(part.path);
	strbuf_release(&sql);
	strbuf_release(&abs);
	json_decref(old);
	json_decref(ids);
	return ret;
}

int ah_ts_compact(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *day = NULL;
	json_t *ds = NULL, *days = NULL, *done_days = json_array(), *d;
	duckdb_connection conn = NULL;
	int64_t collected = 0, us;
	char check[40];
	size_t i;
	int ret = -1;

	*out = NULL;
	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_str(params, "day", &day, err) < 0 || ah_ts_dataset(st, slug, &ds, err) < 0)
		goto done;
	if (day && *day) {
		snprintf(check, sizeof(check), "%.10sT00:00:00Z", day);
		if (strlen(day) != 10 || ah_time_parse_us(check, strlen(check), &us) < 0) {
			ah_invalid(err, "invalid day '%.40s': yyyy-mm-dd", day);
			goto done;
		}
		days = json_pack("[s]", day);
	} else if (ah_ts_compactable_days(st, slug, &days, err) < 0) {
		goto done;
	}
	if (json_array_size(days) && ah_duck_connect(&conn, err) < 0)
		goto done;
	json_array_foreach(days, i, d) {
		json_t *r;

		if (compact_day(st, conn, slug, json_string_value(json_object_get(ds,
			"timestampColumn")), json_string_value(d), &r, err) < 0)
			goto done;
		if (r)
			json_array_append_new(done_days, r);
	}
	if (ah_ts_gc(st, slug, &collected, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:O, s:I}", "dataset", slug, "days", done_days,
			 "collected", (json_int_t)collected);
	ret = 0;
done:
	if (conn)
		duckdb_disconnect(&conn);
	json_decref(ds);
	json_decref(days);
	json_decref(done_days);
	return ret;
}

int ah_ts_retention(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug;
	json_t *ds = NULL, *plan = NULL, *ids = NULL, *dropped = NULL, *v, *p;
	int64_t age = 0, bytes = -1, collected = 0;
	int has_age = 0, has_bytes = 0, apply = 0, ret = -1;
	size_t i;

	*out = NULL;
	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_bool(params, "apply", &apply, err) < 0)
		goto done;
	if ((v = json_object_get(params, "maxAgeHours")) && !json_is_null(v)) {
		long h;

		if (ah_param_int(params, "maxAgeHours", 720, 1, 24L * 365 * 1000, &h, err) < 0)
			goto done;
		has_age = 1;
		age = h;
	}
	if ((v = json_object_get(params, "maxTotalBytes"))) {
		has_bytes = 1;
		if (!json_is_null(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "none"))) {
			long b;

			if (ah_param_int(params, "maxTotalBytes", 0, 0, LONG_MAX, &b, err) < 0)
				goto done;
			bytes = b;
		}
	}
	if (has_age || has_bytes) {
		if (ah_ts_retention_set(st, slug, has_age, age, has_bytes, bytes, &ds, err) < 0)
			goto done;
	} else if (ah_ts_dataset(st, slug, &ds, err) < 0) {
		goto done;
	}
	if (ah_ts_retention_plan(st, slug, ah_now_ms(), &plan, err) < 0)
		goto done;
	if (apply && json_array_size(plan)) {
		ids = json_array();
		json_array_foreach(plan, i, p)
			json_array_append(ids, json_object_get(p, "id"));
		if (ah_ts_partitions_drop(st, slug, ids, &dropped, err) < 0)
			goto done;
	}
	if (apply && ah_ts_gc(st, slug, &collected, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:O, s:O, s:b, s:I}", "dataset", slug, "retention",
			 json_object_get(ds, "retention"), "partitions", plan, "applied", apply,
			 "collected", (json_int_t)collected);
	ret = 0;
done:
	json_decref(ds);
	json_decref(plan);
	json_decref(ids);
	json_decref(dropped);
	return ret;
}

int ah_ts_remove(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	struct strbuf dir = STRBUF_INIT;
	const char *slug;
	int ret = -1;

	*out = NULL;
	if (ah_param_need_str(params, "slug", &slug, err) < 0 || ah_ts_slug_check(slug, err) < 0 ||
	    ah_begin_write(st, err) < 0)
		goto done;
	/*
	 * The files go while the write lock is held: an ingest committing
	 * after finds its file gone and fails rather than name a missing file.
	 */
	strbuf_addf(&dir, "%s/timestore/%s", st->dir, slug);
	if (ah_ts_dataset_delete(st, slug, out, err) < 0 || ah_remove_tree(dir.buf, err) < 0 ||
	    ah_commit(st, err) < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
		goto done;
	}
	ret = 0;
done:
	strbuf_release(&dir);
	return ret;
}

int ah_ts_gc(struct ah_state *st, const char *slug, int64_t *collected, struct ah_err *err)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, rel = STRBUF_INIT;
	json_t *known = NULL, *v;
	char **days = NULL;
	size_t ndays = 0, d;
	int64_t grace, now = ah_now_ms();
	const char *key;
	int fd, ret = -1;

	*collected = 0;
	if (grace_ms(&grace, err) < 0 || ah_ts_known_paths(st, slug, &known, err) < 0)
		goto done;
	strbuf_addf(&dir, "%s/timestore/%s", st->dir, slug);
	if ((fd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno != ENOENT) {
		ah_internal(err, "gc: cannot read '%s': %s", dir.buf, strerror(errno));
		goto done;
	}
	if (fd >= 0 && ah_dir_names_fd(fd, &days, &ndays) < 0) {
		ah_internal(err, "gc: cannot read '%s': %s", dir.buf, strerror(errno));
		goto done;
	}
	for (d = 0; d < ndays; d++) {
		char **names = NULL;
		size_t nnames = 0, k, left = 0;
		struct stat sb;

		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, days[d]);
		if ((fd = open(path.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
		    ah_dir_names_fd(fd, &names, &nnames) < 0)
			continue;
		for (k = 0; k < nnames; k++) {
			strbuf_reset(&rel);
			strbuf_addf(&rel, "timestore/%s/%s/%s", slug, days[d], names[k]);
			strbuf_reset(&path);
			strbuf_addf(&path, "%s/%s", st->dir, rel.buf);
			v = json_object_get(known, rel.buf);
			if (v && json_is_null(v)) {
				left++;
				continue;
			}
			if (v) {
				if (now - json_integer_value(v) < grace) {
					left++;
					continue;
				}
			} else if (lstat(path.buf, &sb) < 0 ||
				   now - ((int64_t)sb.st_mtim.tv_sec * 1000 +
					  sb.st_mtim.tv_nsec / 1000000) < grace) {
				/* a file an ingest has not recorded yet, perhaps */
				left++;
				continue;
			}
			if (unlink(path.buf) < 0 && errno != ENOENT) {
				left++;
				continue;
			}
			++*collected;
			if (v && ah_ts_forget_path(st, slug, rel.buf, err) < 0) {
				ah_names_free(names, nnames);
				goto done;
			}
			json_object_del(known, rel.buf);
		}
		ah_names_free(names, nnames);
		/* an empty day's directory, once no ingest can be about to use it */
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, days[d]);
		if (!left && !lstat(path.buf, &sb) &&
		    now - (int64_t)sb.st_mtim.tv_sec * 1000 >= grace + 1000)
			rmdir(path.buf);
	}
	/* removed partitions whose files are gone already (a collector killed midway) */
	json_object_foreach(known, key, v) {
		struct stat sb;

		if (json_is_null(v) || now - json_integer_value(v) < grace)
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", st->dir, key);
		if (lstat(path.buf, &sb) < 0 && errno == ENOENT &&
		    ah_ts_forget_path(st, slug, key, err) < 0)
			goto done;
	}
	ret = 0;
done:
	ah_names_free(days, ndays);
	strbuf_release(&dir);
	strbuf_release(&path);
	strbuf_release(&rel);
	json_decref(known);
	return ret;
}
