/*
 * libFuzzer target for lib/timestore-parse.c, the timestore's ingest
 * parsers. The first byte picks the format (json body, ndjson, csv) and
 * whether a schema is declared and a dataset's fields known; the rest is
 * the input. Whatever the bytes, reading ends with a batch or a 400 with
 * a message; a batch's columns hold nrows values each, its time column
 * no null, and every string lies within what it was read from. ndjson is
 * read twice, by the fast path and by jansson alone: the two must agree,
 * value for value or message for message.
 * Seeds: t/fuzz/seeds-tsingest. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/timestore-parse.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static json_t *schema, *known;

static void check(const struct ah_ts_batch *b)
{
	size_t c, r;

	if (b->time_col >= b->ncols || b->cols[b->time_col].type != AH_TS_TIMESTAMP)
		abort();
	for (c = 0; c < b->ncols; c++) {
		const struct ah_ts_col *col = &b->cols[c];

		for (r = 0; r < b->nrows; r++) {
			if (!col->valid[r]) {
				if (c == b->time_col)
					abort();
				continue;
			}
			/* every byte of a string is readable (the sanitizer watches) */
			if (col->type == AH_TS_STRING) {
				volatile unsigned char sum = 0;
				uint32_t k;

				for (k = 0; k < col->slen[r]; k++)
					sum ^= (unsigned char)col->s[r][k];
			}
		}
	}
}

/* The two readings of one input agree. */
static void same(int rc1, const struct ah_err *e1, const struct ah_ts_batch *a, int rc2,
		 const struct ah_err *e2, const struct ah_ts_batch *b)
{
	size_t c, r;

	if (rc1 != rc2)
		abort();
	if (rc1) {
		if (strcmp(e1->msg, e2->msg))
			abort();
		return;
	}
	if (!json_equal(a->fields, b->fields) || a->nrows != b->nrows || a->time_col != b->time_col)
		abort();
	for (c = 0; c < a->ncols; c++) {
		const struct ah_ts_col *x = &a->cols[c], *y = &b->cols[c];

		for (r = 0; r < a->nrows; r++) {
			if (x->valid[r] != y->valid[r])
				abort();
			if (!x->valid[r])
				continue;
			if ((x->i && x->i[r] != y->i[r]) ||
			    (x->d && memcmp(&x->d[r], &y->d[r], sizeof(double))) ||
			    (x->s && (x->slen[r] != y->slen[r] ||
				      memcmp(x->s[r], y->s[r], x->slen[r]))))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const formats[] = { "json", "ndjson", "csv" };
	struct ah_err e = AH_ERR_INIT;
	struct ah_ts_batch b;
	json_t *body = NULL;
	const char *format;
	char *text;
	unsigned mode;

	if (!schema) {
		schema = json_loads("{\"fields\":[{\"name\":\"timestamp\",\"type\":\"timestamp\"},"
				    "{\"name\":\"v\",\"type\":\"double\"},{\"name\":\"n\",\"type\":"
				    "\"integer\"},{\"name\":\"s\",\"type\":\"string\"},{\"name\":"
				    "\"ok\",\"type\":\"boolean\"}]}", 0, NULL);
		known = json_incref(json_object_get(schema, "fields"));
	}
	if (!size)
		return 0;
	mode = data[0];
	format = formats[mode % 3];
	/* the input copied, so that a read past its end is the sanitizer's to see */
	text = malloc(size - 1 ? size - 1 : 1);
	memcpy(text, data + 1, size - 1);
	if (mode % 3 == 0) {
		body = json_loadb(text, size - 1, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			free(text);
			return 0;
		}
	} else {
		body = json_object();
	}
	if (mode % 3 == 1) {
		struct ah_ts_batch b2;
		struct ah_err e2 = AH_ERR_INIT;
		int rc1, rc2;

		ah_ts_ndjson_fast = 1;
		rc1 = ah_ts_batch_read(&b, format, body, text, size - 1, (mode & 4) ? schema : NULL,
				       (mode & 8) ? known : NULL, (mode & 8) ? "timestamp" : NULL, &e);
		ah_ts_ndjson_fast = 0;
		rc2 = ah_ts_batch_read(&b2, format, body, text, size - 1, (mode & 4) ? schema : NULL,
				       (mode & 8) ? known : NULL, (mode & 8) ? "timestamp" : NULL, &e2);
		ah_ts_ndjson_fast = 1;
		same(rc1, &e, &b, rc2, &e2, &b2);
		if (!rc1) {
			ah_ts_batch_release(&b);
			ah_ts_batch_release(&b2);
		}
	} else if (!ah_ts_batch_read(&b, format, body, text, size - 1, (mode & 4) ? schema : NULL,
			      (mode & 8) ? known : NULL, (mode & 8) ? "timestamp" : NULL, &e)) {
		check(&b);
		ah_ts_batch_release(&b);
	} else if (e.status != 400 && e.status != 500) {
		abort();
	} else if (!e.msg[0]) {
		abort();
	}
	json_decref(body);
	free(text);
	return 0;
}
