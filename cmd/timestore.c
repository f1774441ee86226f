/*
 * apphub timestore: time series in Parquet partitions. ingest makes them,
 * query reads them back raw or downsampled (DuckDB), retention and compact
 * keep them in bounds, sql reads them with DuckDB's SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/fsutil.h"
#include "../lib/parse.h"
#include "../lib/strbuf.h"
#include "../lib/timestore-compile.h"
#include "../lib/timestore-schema.h"
#include "../lib/utf8.h"

static const char *const timestore_usage[] = {
	"apphub timestore ls",
	"apphub timestore show <dataset>",
	"apphub timestore ingest <dataset> [<file>|-] [--format json|ndjson|csv] [--schema-json <json>] [--partition-key <k>] [--idempotency-key <k>]",
	"apphub timestore query <dataset> --from <t> --to <t> [--columns <a,b>] [--filter <'col op value'>]... [--every <dur> --agg <fn:col>...] [--time-column <name>] [--limit <n>] [--format table|json|csv] [--explain]",
	"apphub timestore partitions <dataset> [--from <t>] [--to <t>]",
	"apphub timestore retention <dataset> [--max-age <dur>] [--max-bytes <size>|none] [--apply]",
	"apphub timestore compact <dataset> [--day <yyyy-mm-dd>]",
	"apphub timestore sql [--limit <n>] [--format table|csv|json] <'SELECT ...'>",
	"apphub timestore rm <dataset>",
	NULL
};

/* A number of bytes for people: 512 B, 1.5 KiB, 2.0 MiB. */
static void human_bytes(char buf[32], json_int_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, 32, "%" JSON_INTEGER_FORMAT " B", n);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
}

static json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A time field, "-" when null. */
static const char *jtime(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void text_datasets(json_t *out, int quiet)
{
	json_t *ds, *d;
	size_t i;

	ds = json_object_get(out, "datasets");
	if (!quiet && json_array_size(ds))
		printf("%-32s  %10s  %10s  %5s  %-24s  %s\n", "DATASET", "ROWS", "BYTES", "PARTS",
		       "START", "END");
	json_array_foreach(ds, i, d) {
		char bytes[32];

		if (quiet) {
			printf("%s\n", jstr(d, "slug"));
			continue;
		}
		human_bytes(bytes, jint(d, "bytes"));
		printf("%-32s  %10" JSON_INTEGER_FORMAT "  %10s  %5" JSON_INTEGER_FORMAT
		       "  %-24s  %s\n", jstr(d, "slug"), jint(d, "rows"), bytes,
		       jint(d, "partitions"), jtime(d, "start"), jtime(d, "end"));
	}
}

static int timestore_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "timestore.datasets", json_object(), text_datasets);
}

static void text_partitions(json_t *parts, int quiet)
{
	json_t *p;
	size_t i;

	if (!quiet && json_array_size(parts))
		printf("%-16s  %-10s  %10s  %10s  %-24s  %s\n", "PARTITION", "DAY", "ROWS", "BYTES",
		       "START", "END");
	json_array_foreach(parts, i, p) {
		char bytes[32];

		if (quiet) {
			printf("%s\n", jstr(p, "id"));
			continue;
		}
		human_bytes(bytes, jint(p, "bytes"));
		printf("%-16s  %-10s  %10" JSON_INTEGER_FORMAT "  %10s  %-24s  %s\n", jstr(p, "id"),
		       jstr(p, "day"), jint(p, "rows"), bytes, jtime(p, "start"), jtime(p, "end"));
	}
}

static void text_show(json_t *out, int quiet)
{
	json_t *v, *f;
	size_t i, j;
	char bytes[32];

	if (quiet) {
		printf("%s\n", jstr(out, "slug"));
		return;
	}
	human_bytes(bytes, jint(out, "bytes"));
	printf("dataset:     %s\n", jstr(out, "slug"));
	printf("time column: %s\n", jstr(out, "timestampColumn"));
	printf("schema:      version %" JSON_INTEGER_FORMAT "\n", jint(out, "schemaVersion"));
	json_array_foreach(json_object_get(out, "fields"), i, f)
		printf("  %-30s %s\n", jstr(f, "name"), jstr(f, "type"));
	v = json_object_get(json_object_get(out, "retention"), "maxTotalBytes");
	printf("retention:   %" JSON_INTEGER_FORMAT " hours",
	       jint(json_object_get(out, "retention"), "maxAgeHours"));
	if (json_is_integer(v))
		printf(", %" JSON_INTEGER_FORMAT " bytes", json_integer_value(v));
	printf("\n");
	printf("rows:        %" JSON_INTEGER_FORMAT "\n", jint(out, "rows"));
	printf("bytes:       %s\n", bytes);
	printf("partitions:  %zu\n", json_array_size(json_object_get(out, "partitions")));
	printf("range:       %s .. %s\n", jtime(out, "start"), jtime(out, "end"));
	printf("\nSCHEMA HISTORY\n");
	json_array_foreach(json_object_get(out, "schemaVersions"), i, v) {
		printf("  v%-3" JSON_INTEGER_FORMAT " %s ", jint(v, "version"), jstr(v, "createdAt"));
		json_array_foreach(json_object_get(v, "added"), j, f)
			printf(" +%s:%s", jstr(f, "name"), jstr(f, "type"));
		printf("\n");
	}
	if (json_array_size(json_object_get(out, "manifests"))) {
		printf("\n%-16s  %-10s  %7s  %5s  %10s\n", "MANIFEST", "DAY", "VERSION", "PARTS",
		       "ROWS");
		json_array_foreach(json_object_get(out, "manifests"), i, v)
			printf("%-16s  %-10s  %7" JSON_INTEGER_FORMAT "  %5" JSON_INTEGER_FORMAT
			       "  %10" JSON_INTEGER_FORMAT "\n", jstr(v, "id"), jstr(v, "shard"),
			       jint(v, "version"), jint(v, "partitionCount"), jint(v, "rows"));
	}
	if (json_array_size(json_object_get(out, "partitions"))) {
		printf("\n");
		text_partitions(json_object_get(out, "partitions"), 0);
	}
}

static int timestore_show(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		return code;
	return run_op_show(ctx, "timestore.show", json_pack("{s:s}", "slug", argv[0]), text_show);
}

static void text_ingest(json_t *out, int quiet)
{
	json_t *m;
	size_t i;

	if (quiet) {
		json_array_foreach(json_object_get(out, "partitions"), i, m)
			printf("%s\n", jstr(m, "id"));
		return;
	}
	printf("%s %" JSON_INTEGER_FORMAT " rows into %s%s\n",
	       json_is_true(json_object_get(out, "idempotent")) ? "already ingested:" : "ingested",
	       jint(out, "rows"), jstr(json_object_get(out, "dataset"), "slug"),
	       json_is_true(json_object_get(out, "idempotent")) ? " (same idempotency key)" : "");
	json_array_foreach(json_object_get(out, "manifests"), i, m)
		printf("  %s  manifest %s  version %" JSON_INTEGER_FORMAT "  %" JSON_INTEGER_FORMAT
		       " partitions\n", jstr(m, "shard"), jstr(m, "id"), jint(m, "version"),
		       jint(m, "partitionCount"));
}

/* The format a file's name suggests: .csv, .ndjson and .jsonl, else json. */
static const char *format_of(const char *file)
{
	const char *dot = strrchr(file, '.');

	if (dot && !strcmp(dot, ".csv"))
		return "csv";
	if (dot && (!strcmp(dot, ".ndjson") || !strcmp(dot, ".jsonl")))
		return "ndjson";
	return "json";
}

static int timestore_ingest(int argc, const char **argv, struct ctx *ctx)
{
	const char *format = NULL, *schema = NULL, *pkey = NULL, *idem = NULL, *file = "-";
	struct option opts[] = {
		OPT_STRING(0, "format", &format, "json|ndjson|csv", "the input's format (default:"
			   " by the file's name, else json)"),
		OPT_STRING(0, "schema-json", &schema, "json", "the schema, {fields: [{name, type}]}"
			   " (ndjson, csv: else inferred)"),
		OPT_STRING(0, "partition-key", &pkey, "k", "the partitions' key"),
		OPT_STRING(0, "idempotency-key", &idem, "k", "the same key again answers the"
			   " first result, writing nothing"),
		OPT_END(),
	};
	json_t *params = NULL, *v;
	json_error_t je;
	char why[AH_JSON_WHY_MAX], *buf = NULL;
	size_t len = 0;
	int code, n, fd;

	if ((n = parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 2,
				 "a dataset and a file (or - for stdin)", &code)) < 0)
		return code;
	if (n == 2)
		file = argv[1];
	if (!format)
		format = format_of(file);
	if (strcmp(format, "json") && strcmp(format, "ndjson") && strcmp(format, "csv"))
		return usage_error(timestore_usage, opts, "--format: json, ndjson or csv, not '%s'",
				   format);
	code = APPHUB_EXIT_FAILED;
	fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0 || ah_read_fd_max(fd, (size_t)ah_ts_max_ingest(), &buf, &len) < 0) {
		error("timestore ingest: cannot read '%s': %s", file,
		      errno == EFBIG ? "larger than APPHUB_TIMESTORE_MAX_INGEST" : strerror(errno));
		goto done;
	}
	if (!strcmp(format, "json")) {
		if (!(params = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je))) {
			error("timestore ingest: invalid JSON in '%s': %s", file,
			      ah_json_why(&je, why, sizeof(why)));
			goto done;
		}
		if (!json_is_object(params)) {
			error("timestore ingest: '%s' must hold a JSON object {schema, partition,"
			      " rows}", file);
			goto done;
		}
	} else {
		params = json_object();
		/* one pass of the checker for ASCII, not jansson's call a character */
		if (!ah_utf8_valid(buf, len) || !(v = json_stringn_nocheck(buf, len))) {
			error("timestore ingest: '%s' is not UTF-8 text", file);
			goto done;
		}
		json_object_set_new(params, "data", v);
	}
	free(buf);
	buf = NULL;
	json_object_set_new(params, "slug", json_string(argv[0]));
	json_object_set_new(params, "format", json_string(format));
	if (schema)
		json_object_set_new(params, "schema", json_string(schema));
	if (pkey)
		json_object_set_new(params, "partitionKey", json_string(pkey));
	if (idem)
		json_object_set_new(params, "idempotencyKey", json_string(idem));
	code = run_op_show(ctx, "timestore.ingest", params, text_ingest);
	params = NULL;
done:
	free(buf);
	json_decref(params);
	return code;
}

static void text_partitions_out(json_t *out, int quiet)
{
	text_partitions(json_object_get(out, "partitions"), quiet);
}

static int timestore_partitions(int argc, const char **argv, struct ctx *ctx)
{
	const char *from = NULL, *to = NULL;
	struct option opts[] = {
		OPT_STRING(0, "from", &from, "t", "only partitions ending at or after t (RFC 3339)"),
		OPT_STRING(0, "to", &to, "t", "only partitions starting before t (RFC 3339)"),
		OPT_END(),
	};
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		return code;
	params = json_pack("{s:s}", "slug", argv[0]);
	if (from)
		json_object_set_new(params, "from", json_string(from));
	if (to)
		json_object_set_new(params, "to", json_string(to));
	return run_op_show(ctx, "timestore.partitions", params, text_partitions_out);
}

static void text_retention(json_t *out, int quiet)
{
	json_t *r = json_object_get(out, "retention"), *p;
	int applied = json_is_true(json_object_get(out, "applied"));
	size_t i;

	if (quiet) {
		json_array_foreach(json_object_get(out, "partitions"), i, p)
			printf("%s\n", jstr(p, "id"));
		return;
	}
	printf("%s: max age %" JSON_INTEGER_FORMAT " hours, ", jstr(out, "dataset"),
	       jint(r, "maxAgeHours"));
	if (json_is_integer(json_object_get(r, "maxTotalBytes")))
		printf("max %" JSON_INTEGER_FORMAT " bytes\n", jint(r, "maxTotalBytes"));
	else
		printf("no size limit\n");
	if (!json_array_size(json_object_get(out, "partitions"))) {
		printf("nothing to remove\n");
		return;
	}
	printf("%s:\n", applied ? "removed" : "would remove (--apply removes)");
	printf("%-16s  %-10s  %-7s  %10s  %10s  %s\n", "PARTITION", "DAY", "REASON", "ROWS",
	       "BYTES", "END");
	json_array_foreach(json_object_get(out, "partitions"), i, p)
		printf("%-16s  %-10s  %-7s  %10" JSON_INTEGER_FORMAT "  %10" JSON_INTEGER_FORMAT
		       "  %s\n", jstr(p, "id"), jstr(p, "day"), jstr(p, "reason"), jint(p, "rows"),
		       jint(p, "bytes"), jtime(p, "end"));
}

static int timestore_retention(int argc, const char **argv, struct ctx *ctx)
{
	const char *max_bytes = NULL;
	int64_t max_age = -1, bytes;
	int apply = 0, code;
	struct option opts[] = {
		OPT_DURATION(0, "max-age", &max_age, "remove partitions that ended longer ago"
			     " (whole hours, at least 1h)"),
		OPT_STRING(0, "max-bytes", &max_bytes, "size|none", "then the oldest until the"
			   " dataset fits"),
		OPT_BOOL(0, "apply", &apply, "remove them now (else only list them)"),
		OPT_END(),
	};
	json_t *params;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		return code;
	params = json_pack("{s:s, s:b}", "slug", argv[0], "apply", apply);
	if (max_age != -1) {
		if (max_age < 3600 * 1000) {
			json_decref(params);
			return usage_error(timestore_usage, opts, "--max-age: at least 1h");
		}
		json_object_set_new(params, "maxAgeHours",
				    json_integer((max_age + 3600 * 1000 - 1) / (3600 * 1000)));
	}
	if (max_bytes) {
		if (!strcmp(max_bytes, "none")) {
			json_object_set_new(params, "maxTotalBytes", json_null());
		} else if (ah_parse_size(max_bytes, &bytes) < 0) {
			json_decref(params);
			return usage_error(timestore_usage, opts, "--max-bytes: a size (512k, 64M,"
					   " 2G) or none, not '%s'", max_bytes);
		} else {
			json_object_set_new(params, "maxTotalBytes", json_integer(bytes));
		}
	}
	return run_op_show(ctx, "timestore.retention", params, text_retention);
}

static void text_compact(json_t *out, int quiet)
{
	json_t *d;
	size_t i;

	if (quiet) {
		json_array_foreach(json_object_get(out, "days"), i, d)
			printf("%s\n", jstr(d, "partition"));
		return;
	}
	if (!json_array_size(json_object_get(out, "days")))
		printf("%s: nothing to compact\n", jstr(out, "dataset"));
	json_array_foreach(json_object_get(out, "days"), i, d)
		printf("%s: %zu partitions -> %s (%" JSON_INTEGER_FORMAT " rows), manifest version %"
		       JSON_INTEGER_FORMAT "\n", jstr(d, "day"),
		       json_array_size(json_object_get(d, "removed")), jstr(d, "partition"),
		       jint(d, "rows"), jint(json_object_get(d, "manifest"), "version"));
	if (jint(out, "collected"))
		printf("collected %" JSON_INTEGER_FORMAT " files\n", jint(out, "collected"));
}

static int timestore_compact(int argc, const char **argv, struct ctx *ctx)
{
	const char *day = NULL;
	struct option opts[] = {
		OPT_STRING(0, "day", &day, "yyyy-mm-dd", "only that UTC day"),
		OPT_END(),
	};
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		return code;
	params = json_pack("{s:s}", "slug", argv[0]);
	if (day)
		json_object_set_new(params, "day", json_string(day));
	return run_op_show(ctx, "timestore.compact", params, text_compact);
}

static void text_rm(json_t *out, int quiet)
{
	if (quiet)
		return;
	printf("removed %s (%" JSON_INTEGER_FORMAT " partitions, %" JSON_INTEGER_FORMAT " rows)\n",
	       jstr(out, "dataset"), jint(out, "partitions"), jint(out, "rows"));
}

static int timestore_rm(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		return code;
	return run_op_show(ctx, "timestore.rm", json_pack("{s:s}", "slug", argv[0]), text_rm);
}

/*
 * v as %g would write it with k significant digits, from its 17 digits
 * (digits, decimal exponent exp) rounded to k: into buf.
 */
static void g_text(char *buf, int neg, const char *digits, int exp, int k)
{
	char d[20];
	int i, n = k, carry;

	memcpy(d, digits, 17);
	carry = d[k] >= '5';
	for (i = k - 1; i >= 0 && carry; i--) {
		if (d[i] == '9') {
			d[i] = '0';
		} else {
			d[i]++;
			carry = 0;
		}
	}
	if (carry) {
		/* 9.99... rounded up: 1 and one more in the exponent */
		memmove(d + 1, d, (size_t)k - 1);
		d[0] = '1';
		exp++;
	}
	while (n > 1 && d[n - 1] == '0')
		n--;
	if (neg)
		*buf++ = '-';
	if (exp < -4 || exp >= k) {
		*buf++ = d[0];
		if (n > 1) {
			*buf++ = '.';
			memcpy(buf, d + 1, (size_t)n - 1);
			buf += n - 1;
		}
		sprintf(buf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		*buf++ = '0';
		*buf++ = '.';
		for (i = exp + 1; i < 0; i++)
			*buf++ = '0';
		memcpy(buf, d, (size_t)n);
		buf[n] = 0;
	} else {
		for (i = 0; i < n || i <= exp; i++) {
			if (i == exp + 1)
				*buf++ = '.';
			*buf++ = i < n ? d[i] : '0';
		}
		*buf = 0;
	}
}

/*
 * The fewest digits, from 15 to 17, that read back as v: one printf and a
 * strtod a try, not a printf a try.
 */
static void shortest(struct strbuf *sb, double v)
{
	char e[40], digits[20], buf[48];
	const char *p = e;
	int neg, exp, k, i = 0;

	snprintf(e, sizeof(e), "%.16e", v);
	neg = *p == '-';
	p += neg;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[i++] = *p;
	digits[i] = '0';
	exp = atoi(p + 1);
	for (k = 15; k < 17; k++) {
		g_text(buf, neg, digits, exp, k);
		if (strtod(buf, NULL) == v) {
			strbuf_addstr(sb, buf);
			return;
		}
	}
	g_text(buf, neg, digits, exp, 17);
	strbuf_addstr(sb, buf);
}

/*
 * v's shortest text that reads back as v. One with at most 6 decimals
 * (a reading, a min or max of them) is written without printf: a
 * downsample prints hundreds of thousands of numbers, and printf's are
 * most of its output's time. (r / 1e6 and strtod of the text are both the
 * double nearest the same decimal, so equal to v means it reads back.)
 */
static void double_text(struct strbuf *sb, double v)
{
	if (fabs(v) < 1e12) {
		long long r = llround(v * 1e6);

		if ((double)r / 1e6 == v) {
			unsigned long long a = r < 0 ? (unsigned long long)-r : (unsigned long long)r;
			unsigned long long ip = a / 1000000, fp = a % 1000000;
			int digits = 6;

			char t[48], *e = t + sizeof(t), *q = e;

			/* backwards: the decimals without their trailing zeros, then the integer */
			if (fp) {
				while (fp % 10 == 0) {
					fp /= 10;
					digits--;
				}
				while (digits-- > 0) {
					*--q = (char)('0' + fp % 10);
					fp /= 10;
				}
				*--q = '.';
			}
			do {
				*--q = (char)('0' + ip % 10);
				ip /= 10;
			} while (ip);
			if (r < 0)
				*--q = '-';
			strbuf_add(sb, q, (size_t)(e - q));
			return;
		}
	}
	if (!isfinite(v)) {
		strbuf_addstr(sb, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	shortest(sb, v);
}

/* A cell as text: a string as it is, null empty, anything else its JSON. */
static void cell_text(struct strbuf *sb, json_t *v)
{
	char *t;

	if (json_is_string(v)) {
		strbuf_add(sb, json_string_value(v), json_string_length(v));
	} else if (json_is_real(v)) {
		double_text(sb, json_real_value(v));
	} else if (json_is_integer(v)) {
		strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (v && !json_is_null(v)) {
		t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		strbuf_addstr(sb, t ? t : "");
		free(t);
	}
}

/* RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
static void csv_field(struct strbuf *out, const char *s, size_t n)
{
	size_t i;

	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n)) {
		strbuf_add(out, s, n);
		return;
	}
	strbuf_addch(out, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, s[i]);
	}
	strbuf_addch(out, '"');
}

/* The output goes out in pieces of this much: one write, not one a cell. */
#define OUT_CHUNK (1 << 16)

static void flush_out(struct strbuf *out, int last)
{
	if (out->len >= OUT_CHUNK || (last && out->len)) {
		fwrite(out->buf, 1, out->len, stdout);
		strbuf_reset(out);
	}
}

/* {rows, columns} as format: table (aligned, a header), csv, or json. */
static void print_rows(json_t *out, const char *format, int quiet)
{
	json_t *cols = json_object_get(out, "columns"), *rows = json_object_get(out, "rows"), *c, *r;
	size_t i, j, nc = json_array_size(cols);
	struct strbuf sb = STRBUF_INIT, cell = STRBUF_INIT;
	const char **names;
	size_t *width;

	if (!strcmp(format, "json")) {
		print_json(out);
		return;
	}
	names = xcalloc(nc ? nc : 1, sizeof(*names));
	json_array_foreach(cols, i, c)
		names[i] = json_string_value(json_object_get(c, "name"));
	if (!strcmp(format, "csv")) {
		for (i = 0; i < nc; i++) {
			if (i)
				strbuf_addch(&sb, ',');
			csv_field(&sb, names[i], strlen(names[i]));
		}
		strbuf_addch(&sb, '\n');
		json_array_foreach(rows, j, r) {
			for (i = 0; i < nc; i++) {
				strbuf_reset(&cell);
				cell_text(&cell, json_object_get(r, names[i]));
				if (i)
					strbuf_addch(&sb, ',');
				csv_field(&sb, cell.buf, cell.len);
			}
			strbuf_addch(&sb, '\n');
			flush_out(&sb, 0);
		}
		goto done;
	}
	width = xcalloc(nc ? nc : 1, sizeof(*width));
	for (i = 0; i < nc; i++)
		width[i] = strlen(names[i]);
	json_array_foreach(rows, j, r)
		for (i = 0; i < nc; i++) {
			strbuf_reset(&cell);
			cell_text(&cell, json_object_get(r, names[i]));
			if (cell.len > width[i])
				width[i] = cell.len > 60 ? 60 : cell.len;
		}
	if (!quiet) {
		for (i = 0; i < nc; i++)
			strbuf_addf(&sb, "%s%-*s", i ? "  " : "", i + 1 < nc ? (int)width[i] : 0, names[i]);
		strbuf_addch(&sb, '\n');
	}
	json_array_foreach(rows, j, r) {
		for (i = 0; i < nc; i++) {
			strbuf_reset(&cell);
			cell_text(&cell, json_object_get(r, names[i]));
			strbuf_addf(&sb, "%s%-*s", i ? "  " : "", i + 1 < nc ? (int)width[i] : 0, cell.buf);
		}
		strbuf_addch(&sb, '\n');
		flush_out(&sb, 0);
	}
	free(width);
done:
	flush_out(&sb, 1);
	strbuf_release(&sb);
	strbuf_release(&cell);
	free(names);
}

static int check_format(const char *format, int json)
{
	if (json)
		return 0;
	return strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv") ? -1 : 0;
}

static int timestore_query(int argc, const char **argv, struct ctx *ctx)
{
	const char *from = NULL, *to = NULL, *columns = NULL, *every = NULL, *format = "table";
	const char *time_col = NULL;
	json_t *filters = NULL, *aggs = NULL, *params = NULL, *out = NULL, *v, *list = NULL;
	long limit = 0;
	int explain = 0, code;
	struct option opts[] = {
		OPT_STRING(0, "from", &from, "t", "the range's start (RFC 3339, or unix ms), included"),
		OPT_STRING(0, "to", &to, "t", "the range's end, excluded"),
		OPT_STRING(0, "columns", &columns, "a,b", "the columns (raw rows; all by default)"),
		OPT_LIST(0, "filter", &filters, "'col op value'", "a condition (repeatable; ANDed)"),
		OPT_STRING(0, "every", &every, "interval", "downsample: one row an interval (30s, 5m, 1h, 1d, 1w, 1mo)"),
		OPT_LIST(0, "agg", &aggs, "fn:col", "an aggregation of each interval (avg:temp, p95:latency, count; repeatable)"),
		OPT_STRING(0, "time-column", &time_col, "name", "the time column (the dataset's by default)"),
		OPT_INT(0, "limit", &limit, "n", "at most n rows (raw: 1000 by default; at most 500000)"),
		OPT_STRING(0, "format", &format, "f", "table, csv or json"),
		OPT_BOOL(0, "explain", &explain, "say which partitions would be read, and the SQL"),
		OPT_END(),
	};
	struct ah_err err = AH_ERR_INIT;
	size_t i;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a dataset", &code) < 0)
		goto done;
	code = APPHUB_EXIT_USAGE;
	if (!from || !to) {
		code = usage_error(timestore_usage, opts, "query needs --from and --to");
		goto done;
	}
	if (!!every != !!json_array_size(aggs)) {
		code = usage_error(timestore_usage, opts, "--every and --agg go together");
		goto done;
	}
	if (check_format(format, ctx->json) < 0) {
		code = usage_error(timestore_usage, opts, "--format is table, csv or json");
		goto done;
	}
	code = APPHUB_EXIT_FAILED;
	params = json_pack("{s:s, s:{s:s, s:s}, s:b}", "slug", argv[0], "timeRange", "start", from,
			   "end", to, "explain", explain);
	if (columns)
		json_object_set_new(params, "columns", json_string(columns));
	if (time_col)
		json_object_set_new(params, "timestampColumn", json_string(time_col));
	if (limit)
		json_object_set_new(params, "limit", json_integer(limit));
	if (json_array_size(filters)) {
		list = json_array();
		json_array_foreach(filters, i, v) {
			json_t *f;

			if (ah_ts_filter_parse(json_string_value(v), &f, &err) < 0)
				goto refused;
			json_array_append_new(list, f);
		}
		json_object_set_new(params, "filters", list);
		list = NULL;
	}
	if (every) {
		json_t *ds, *a;

		if (ah_ts_every_parse(every, &ds, &err) < 0)
			goto refused;
		list = json_array();
		json_array_foreach(aggs, i, v) {
			if (ah_ts_agg_parse(json_string_value(v), &a, &err) < 0) {
				json_decref(ds);
				goto refused;
			}
			json_array_append_new(list, a);
		}
		json_object_set_new(ds, "aggregations", list);
		list = NULL;
		json_object_set_new(params, "downsample", ds);
	}
	if ((code = run_op(ctx, "timestore.query", params, &out)))
		goto done;
	if (ctx->json || explain)
		print_json(out);
	else
		print_rows(out, format, ctx->quiet);
	code = 0;
	goto done;
refused:
	error("%s", err.msg);
	code = exit_status(&err);
done:
	json_decref(filters);
	json_decref(aggs);
	json_decref(params);
	json_decref(out);
	json_decref(list);
	return code;
}

static int timestore_sql(int argc, const char **argv, struct ctx *ctx)
{
	const char *format = "table";
	long limit = 0;
	int code;
	struct option opts[] = {
		OPT_INT(0, "limit", &limit, "n", "at most n rows (500000 by default)"),
		OPT_STRING(0, "format", &format, "f", "table, csv or json"),
		OPT_END(),
	};
	json_t *params, *out = NULL;

	if (parse_verb_args(ctx, argc, argv, opts, timestore_usage, 1, 1, "a query", &code) < 0)
		return code;
	if (check_format(format, ctx->json) < 0)
		return usage_error(timestore_usage, opts, "--format is table, csv or json");
	params = json_pack("{s:s}", "sql", argv[0]);
	if (limit)
		json_object_set_new(params, "limit", json_integer(limit));
	code = run_op(ctx, "timestore.sql", params, &out);
	json_decref(params);
	if (code)
		return code;
	print_rows(out, ctx->json ? "json" : format, ctx->quiet);
	if (json_is_true(json_object_get(out, "truncated")) && !ctx->json)
		error("timestore sql: more rows than --limit: cut");
	json_decref(out);
	return 0;
}

static const struct verb timestore_verbs[] = {
	{ "compact", timestore_compact },
	{ "ingest", timestore_ingest },
	{ "ls", timestore_ls },
	{ "partitions", timestore_partitions },
	{ "query", timestore_query },
	{ "retention", timestore_retention },
	{ "rm", timestore_rm },
	{ "show", timestore_show },
	{ "sql", timestore_sql },
};

int cmd_timestore(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(timestore_verbs, sizeof(timestore_verbs) / sizeof(timestore_verbs[0]), "ls",
			"timestore", timestore_usage, argc - 1, argv + 1, ctx);
}

/*
 * timestore-serve: serve's long-lived helper (lib/ops-timestore-remote.c),
 * a hidden builtin reached as apphub-timestore-serve. One line of JSON in,
 * {op, params, subject}, one line out, {result} or {error:{status, code,
 * message}}, until its input ends (serve gone). The state and DuckDB stay
 * open between requests: that is why it lives.
 */
#define TS_SERVE_LINE_MAX ((size_t)1 << 30)

static json_t *ts_serve_error(const struct ah_err *err)
{
	return json_pack("{s:{s:i, s:s, s:s}}", "error", "status", err->status ? err->status : 500,
			 "code", err->code ? err->code : "internal", "message", err->msg);
}

/* Only the timestore's operations: its table carries the light ones too. */
static int ts_serve_op(const char *name)
{
	return !strncmp(name, "timestore.", 10) && ah_op_find(name);
}

static json_t *ts_serve_one(struct ctx *ctx, const char *line, size_t len)
{
	struct ah_err err = AH_ERR_INIT;
	json_error_t je;
	json_t *req = json_loadb(line, len, 0, &je), *params, *out = NULL, *answer;
	const char *name, *subject;

	name = json_string_value(json_object_get(req, "op"));
	subject = json_string_value(json_object_get(req, "subject"));
	params = json_object_get(req, "params");
	if (!req || !json_is_object(req) || !name) {
		char why[AH_JSON_WHY_MAX];

		ah_invalid(&err, "timestore helper: not a request: %s",
			   req ? "no op" : ah_json_why(&je, why, sizeof(why)));
	} else if (!ts_serve_op(name)) {
		ah_not_found(&err, "unknown operation '%.80s'", name);
	} else {
		ctx->op.subject = subject ? subject : "serve";
		if (ah_op_call(&ctx->op, name, json_is_null(params) ? NULL : params, &out,
			       &err) < 0)
			json_decref(out), out = NULL;
		ctx->op.subject = "serve";
	}
	answer = out ? json_pack("{s:o}", "result", out) : ts_serve_error(&err);
	json_decref(req);
	return answer;
}

int cmd_timestore_serve(int argc, const char **argv, struct ctx *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int code = 0;

	(void)argv;
	if (argc > 1) {
		error("timestore-serve: takes no arguments");
		return 129;
	}
	ctx->op.subject = "serve";
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_t *answer;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n)
			continue;
		if ((size_t)n > TS_SERVE_LINE_MAX) {
			struct ah_err err = AH_ERR_INIT;

			ah_error(&err, 413, "too_large", "timestore helper: a request over 1 GiB");
			answer = ts_serve_error(&err);
		} else {
			answer = ts_serve_one(ctx, line, (size_t)n);
		}
		if (!answer || json_dumpf(answer, stdout, JSON_COMPACT | JSON_ENCODE_ANY) < 0 ||
		    putchar('\n') == EOF || fflush(stdout)) {
			json_decref(answer);
			error("timestore-serve: cannot answer: %s", strerror(errno));
			code = 1;
			break;
		}
		json_decref(answer);
	}
	free(line);
	return code;
}
