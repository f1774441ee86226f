/*
 * libFuzzer target for lib/timestore-parse.c, the timestore's ingest
 * parsers. The first byte picks the format (json body, ndjson, csv) and
 * whether a schema is declared and a dataset's fields known; the rest is
 * the input. Whatever the bytes, reading ends with a batch or a 400 with
 * a message; a batch's columns hold nrows values each, its time column
 * no null, and every string lies within what it was read from.
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
	if (!ah_ts_batch_read(&b, format, body, text, size - 1, (mode & 4) ? schema : NULL,
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
