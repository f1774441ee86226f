/*
 * An ingest batch from json, ndjson or csv into typed columns
 * (lib/timestore-parse.h). Rows are read once into cells, the column
 * types inferred when no schema is stated, then each cell converted; the
 * first bad one is the error, naming its row or line and its column.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timestore-parse.h"
#include "timeutil.h"

uint64_t ah_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

void ah_ts_batch_release(struct ah_ts_batch *b)
{
	size_t c;

	for (c = 0; c < b->ncols && b->cols; c++) {
		free(b->cols[c].i);
		free(b->cols[c].d);
		free(b->cols[c].s);
		free(b->cols[c].slen);
		free(b->cols[c].valid);
	}
	free(b->cols);
	json_decref(b->fields);
	json_decref(b->keep);
	free(b->arena);
	memset(b, 0, sizeof(*b));
}

/* Where a row is, for messages: "row N" (json) or "line N" (ndjson, csv). */
struct where {
	const char *unit;
	const size_t *lines;	/* NULL: row numbers */
};

static size_t where_nr(const struct where *w, size_t r)
{
	return w->lines ? w->lines[r] : r + 1;
}

/* The columns for fields (set in b->fields), with room for nrows. */
static int batch_columns(struct ah_ts_batch *b, size_t nrows, struct ah_err *err)
{
	json_t *f;
	size_t c;

	b->ncols = json_array_size(b->fields);
	b->nrows = nrows;
	b->cols = calloc(b->ncols ? b->ncols : 1, sizeof(*b->cols));
	if (!b->cols)
		return ah_internal(err, "ingest: out of memory");
	json_array_foreach(b->fields, c, f) {
		struct ah_ts_col *col = &b->cols[c];
		size_t n = nrows ? nrows : 1;

		col->name = json_string_value(json_object_get(f, "name"));
		col->type = ah_ts_type_of(json_string_value(json_object_get(f, "type")));
		col->valid = malloc(n);
		if (col->type == AH_TS_DOUBLE)
			col->d = malloc(n * sizeof(*col->d));
		else if (col->type == AH_TS_STRING)
			col->s = malloc(n * sizeof(*col->s)), col->slen = malloc(n * sizeof(*col->slen));
		else
			col->i = malloc(n * sizeof(*col->i));
		if (!col->valid || (!col->d && !col->s && !col->i) || (col->s && !col->slen))
			return ah_internal(err, "ingest: out of memory");
		if (!strcmp(col->name, ah_ts_time_field(b->fields)))
			b->time_col = c;
	}
	return 0;
}

/* -?[0-9]+ fitting int64: 0, else -1. */
static int text_int(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (n && (s[0] == '-' || s[0] == '+'))
		neg = s[i++] == '-';
	if (i == n || n - i > 19)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* A finite number: 0, else -1. Plain decimals of up to 15 digits exactly, the rest by strtod. */
static int text_double(const char *s, size_t n, double *out)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
				      1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
				      1e20, 1e21, 1e22 };
	char buf[64], *end;
	uint64_t m = 0;
	size_t i = 0;
	int digits = 0, frac = 0, dot = 0, neg = 0;
	double v;

	if (n && (s[0] == '-' || s[0] == '+'))
		neg = s[i++] == '-';
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			m = m * 10 + (uint64_t)(s[i] - '0');
			digits++;
			frac += dot;
		} else if (s[i] == '.' && !dot) {
			dot = 1;
		} else {
			break;
		}
	}
	if (i == n && digits && digits <= 15) {
		/* both exact, so one division rounds correctly */
		v = (double)m / p10[frac];
		*out = neg ? -v : v;
		return 0;
	}
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* strtod would take these; a value in a table would not */
	if (strpbrk(buf, "xXnNiI") || buf[0] == ' ' || buf[0] == '\t')
		return -1;
	errno = 0;
	v = strtod(buf, &end);
	if (*end || end == buf || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int text_bool(const char *s, size_t n, int64_t *out)
{
	if (n == 4 && !strncasecmp(s, "true", 4))
		*out = 1;
	else if (n == 5 && !strncasecmp(s, "false", 5))
		*out = 0;
	else
		return -1;
	return 0;
}

/* A time: RFC 3339, or unix milliseconds. */
static int text_time(const char *s, size_t n, int64_t *us)
{
	int64_t ms;

	if (n && n <= 20 && !text_int(s, n, &ms)) {
		if (ms > INT64_MAX / 1000 || ms < INT64_MIN / 1000)
			return -1;
		*us = ms * 1000;
		return 0;
	}
	return ah_time_parse_us(s, n, us);
}

static int cell_error(struct ah_err *err, const struct where *w, size_t r,
		      const struct ah_ts_col *col, const char *why)
{
	return ah_invalid(err, "%s %zu: column '%s': %s", w->unit, where_nr(w, r), col->name, why);
}

/* A text cell (n 0: null) into column col, row r. */
static int text_cell(struct ah_ts_batch *b, struct ah_ts_col *col, size_t r, const char *s,
		     size_t n, const struct where *w, struct ah_err *err)
{
	if (!n) {
		if (col == &b->cols[b->time_col])
			return cell_error(err, w, r, col, "a time is required");
		col->valid[r] = 0;
		col->has_null = 1;
		return 0;
	}
	col->valid[r] = 1;
	switch (col->type) {
	case AH_TS_TIMESTAMP:
		if (text_time(s, n, &col->i[r]) < 0)
			return cell_error(err, w, r, col, "not an RFC 3339 time nor unix milliseconds");
		break;
	case AH_TS_INTEGER:
		if (text_int(s, n, &col->i[r]) < 0)
			return cell_error(err, w, r, col, "not an integer");
		break;
	case AH_TS_DOUBLE:
		if (text_double(s, n, &col->d[r]) < 0)
			return cell_error(err, w, r, col, "not a number");
		break;
	case AH_TS_BOOLEAN:
		if (text_bool(s, n, &col->i[r]) < 0)
			return cell_error(err, w, r, col, "not true or false");
		break;
	case AH_TS_STRING:
		if (n > AH_TS_MAX_CELL)
			return cell_error(err, w, r, col, "longer than 1 MiB");
		col->s[r] = s;
		col->slen[r] = (uint32_t)n;
		break;
	}
	return 0;
}

/* A JSON value (NULL or null: null) into column col, row r. */
static int json_cell(struct ah_ts_batch *b, struct ah_ts_col *col, size_t r, json_t *v,
		     const struct where *w, struct ah_err *err)
{
	const char *s;

	if (!v || json_is_null(v)) {
		if (col == &b->cols[b->time_col])
			return cell_error(err, w, r, col, "a time is required");
		col->valid[r] = 0;
		col->has_null = 1;
		return 0;
	}
	col->valid[r] = 1;
	switch (col->type) {
	case AH_TS_TIMESTAMP:
		if (json_is_integer(v)) {
			json_int_t ms = json_integer_value(v);

			if (ms > INT64_MAX / 1000 || ms < INT64_MIN / 1000)
				return cell_error(err, w, r, col, "out of range");
			col->i[r] = ms * 1000;
		} else if (json_is_real(v)) {
			double ms = json_real_value(v);

			if (!(ms < 9.2e15 && ms > -9.2e15))
				return cell_error(err, w, r, col, "out of range");
			col->i[r] = (int64_t)(ms * 1000 + (ms >= 0 ? 0.5 : -0.5));
		} else if (!(s = json_string_value(v)) ||
			   ah_time_parse_us(s, json_string_length(v), &col->i[r]) < 0) {
			return cell_error(err, w, r, col, "not an RFC 3339 time nor unix milliseconds");
		}
		break;
	case AH_TS_INTEGER:
		if (!json_is_integer(v))
			return cell_error(err, w, r, col, "not an integer");
		col->i[r] = json_integer_value(v);
		break;
	case AH_TS_DOUBLE:
		if (!json_is_number(v))
			return cell_error(err, w, r, col, "not a number");
		col->d[r] = json_number_value(v);
		break;
	case AH_TS_BOOLEAN:
		if (!json_is_boolean(v))
			return cell_error(err, w, r, col, "not true or false");
		col->i[r] = json_is_true(v);
		break;
	case AH_TS_STRING:
		if (!(s = json_string_value(v)))
			return cell_error(err, w, r, col, "not a string");
		if (json_string_length(v) > AH_TS_MAX_CELL)
			return cell_error(err, w, r, col, "longer than 1 MiB");
		col->s[r] = s;
		col->slen[r] = (uint32_t)json_string_length(v);
		break;
	}
	return 0;
}

/* The type inferred column name takes: known's, timestamp for the time column, else -1. */
static int known_type(json_t *known, const char *known_time, const char *name)
{
	const char *tf = known_time;
	json_t *f;
	size_t i;

	json_array_foreach(known, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")) ?: "", name))
			return ah_ts_type_of(json_string_value(json_object_get(f, "type")));
	if (!strcmp(name, tf ? tf : "timestamp"))
		return AH_TS_TIMESTAMP;
	return -1;
}

static int add_field(json_t *fields, const char *name, int type)
{
	return json_array_append_new(fields, json_pack("{s:s, s:s}", "name", name, "type",
						       ah_ts_type_names[type]));
}

/* Whether the batch has a column name: 1 with *c its index (c may be NULL), 0. */
static int column_index(const struct ah_ts_batch *b, const char *name, size_t *c)
{
	size_t i;

	for (i = 0; i < b->ncols; i++)
		if (!strcmp(b->cols[i].name, name)) {
			if (c)
				*c = i;
			return 1;
		}
	return 0;
}

/* The fields as stated: checked, a timestamp among them. */
static int declared_fields(struct ah_ts_batch *b, json_t *schema, struct ah_err *err)
{
	json_t *fields = json_is_object(schema) ? json_object_get(schema, "fields") : schema;

	b->declared = 1;
	return ah_ts_fields_check(fields, "schema", &b->fields, err);
}

static int column_named(json_t *fields, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")) ?: "", name))
			return 1;
	return 0;
}

/* The inferred fields are done: one must be the time. */
static int inferred_done(struct ah_ts_batch *b, const char *tf, struct ah_err *err)
{

	if (tf && !column_named(b->fields, tf))
		return ah_invalid(err, "ingest: column '%s', the dataset's time, is required", tf);
	if (!ah_ts_time_field(b->fields))
		return ah_invalid(err, "schema: no timestamp column: name one 'timestamp' or"
				  " state the schema");
	return 0;
}

/*
 * JSON rows (objects) into the batch: the fields declared or inferred
 * from the rows' keys in the order they first appear.
 */
static int json_rows(struct ah_ts_batch *b, json_t *rows, json_t *schema, json_t *known,
		     const char *known_time, const struct where *w, struct ah_err *err)
{
	size_t r, c, n = json_array_size(rows);
	json_t *row, *v;
	const char *key;

	json_array_foreach(rows, r, row)
		if (!json_is_object(row))
			return ah_invalid(err, "%s %zu: not an object", w->unit, where_nr(w, r));
	if (schema) {
		if (declared_fields(b, schema, err) < 0)
			return -1;
	} else {
		json_t *seen = json_object(), *kinds = json_array();
		int ret = 0;

		b->fields = json_array();
		json_array_foreach(rows, r, row) {
			json_object_foreach(row, key, v) {
				json_t *k = json_object_get(seen, key);
				int t, was;

				if (!k) {
					if (json_object_size(seen) >= AH_TS_MAX_FIELDS) {
						ret = ah_invalid(err, "%s %zu: more than %d columns",
								 w->unit, where_nr(w, r),
								 AH_TS_MAX_FIELDS);
						break;
					}
					if ((ret = ah_ts_column_check("column", key, err)) < 0) {
						ret = ah_invalid(err, "%s %zu: %s", w->unit,
								 where_nr(w, r), err->msg);
						break;
					}
					json_object_set_new(seen, key, json_integer(
						(json_int_t)json_array_size(kinds)));
					json_array_append_new(kinds, json_integer(-1));
					add_field(b->fields, key, AH_TS_STRING);
					k = json_object_get(seen, key);
				}
				c = (size_t)json_integer_value(k);
				was = (int)json_integer_value(json_array_get(kinds, c));
				if ((t = known_type(known, known_time, key)) < 0 && !json_is_null(v)) {
					/* the first kind seen wins; a mismatch is the conversion's error */
					t = json_is_integer(v) ? AH_TS_INTEGER :
					    json_is_real(v) ? AH_TS_DOUBLE :
					    json_is_boolean(v) ? AH_TS_BOOLEAN :
					    json_is_string(v) ? AH_TS_STRING : -1;
					if ((was == AH_TS_DOUBLE && t == AH_TS_INTEGER) ||
					    (was == AH_TS_INTEGER && t == AH_TS_DOUBLE))
						t = AH_TS_DOUBLE;
					else if (was >= 0)
						t = was;
				} else if (t < 0) {
					t = was;
				}
				if (t >= 0)
					json_array_set_new(kinds, c, json_integer(t));
			}
			if (ret)
				break;
		}
		json_array_foreach(kinds, c, v) {
			int t = (int)json_integer_value(v);

			json_object_set_new(json_array_get(b->fields, c), "type",
					    json_string(ah_ts_type_names[t < 0 ? AH_TS_STRING : t]));
		}
		json_decref(seen);
		json_decref(kinds);
		if (ret || inferred_done(b, known_time, err) < 0)
			return -1;
	}
	if (batch_columns(b, n, err) < 0)
		return -1;
	json_array_foreach(rows, r, row) {
		size_t found = 0;

		for (c = 0; c < b->ncols; c++) {
			v = json_object_get(row, b->cols[c].name);
			found += !!v;
			if (json_cell(b, &b->cols[c], r, v, w, err) < 0)
				return -1;
		}
		if (found < json_object_size(row))
			json_object_foreach(row, key, v)
				if (!column_index(b, key, NULL))
					return ah_invalid(err, "%s %zu: column '%.64s': not in the schema",
							  w->unit, where_nr(w, r), key);
	}
	return 0;
}

/* Nesting deeper than max in the n bytes at s (JSON text, strings skipped)? */
static int too_deep(const char *s, size_t n, int max)
{
	int depth = 0, in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max)
				return 1;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return 0;
}

/*
 * ndjson's fast path, for a batch whose every line is a flat object of
 * plain scalars (ASCII, no \u escape, no key twice, numbers that jansson
 * reads without complaint): read here without a jansson object a line,
 * at several times the speed. Any other batch goes to jansson whole, so
 * what it refuses is refused in its words; what the fast path converts
 * follows json_rows() and json_cell() rule for rule (the fuzzer checks
 * the two agree).
 */
int ah_ts_ndjson_fast = 1;

enum { K_NULL, K_STR, K_NUM, K_TRUE, K_FALSE };

struct fcell {
	uint32_t col;
	uint8_t kind, is_int;
	uint32_t n;
	const char *s;			/* a string's bytes */
	union {
		int64_t i;
		double d;
	} v;
};

struct fast {
	struct fcell *cells;
	size_t nr, alloc;
	size_t *row_start;		/* nrows + 1 */
	size_t *lines;
	size_t nrows, ralloc;
	const char **names;		/* into the data */
	uint32_t *name_len;
	size_t *seen;			/* per column: the last row (+1) that had it */
	size_t ncols;
	char *arena;
	size_t apos;
};

static void fast_release(struct fast *f)
{
	free(f->cells);
	free(f->row_start);
	free(f->lines);
	free(f->names);
	free(f->name_len);
	free(f->seen);
	free(f->arena);
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i;
}

/* A plain string at s[i] (the opening quote): 0 with *end after it, -1 for the slow path. */
static int fast_string(struct fast *f, const char *s, size_t i, size_t n, int decode,
		       const char **out, uint32_t *olen, size_t *end)
{
	size_t j = ++i;
	int esc = 0;

	for (; j < n && s[j] != '"'; j++) {
		unsigned char c = (unsigned char)s[j];

		if (c < 0x20 || c >= 0x80)
			return -1;
		if (c == '\\') {
			/* strchr() would find the NUL at the end of its set */
			if (!decode || j + 1 >= n || !s[j + 1] || !strchr("\"\\/bfnrt", s[j + 1]))
				return -1;
			esc = 1;
			j++;
		}
	}
	if (j >= n || j - i > AH_TS_MAX_CELL + 1)
		return -1;
	*end = j + 1;
	if (!esc) {
		*out = s + i;
		*olen = (uint32_t)(j - i);
		return 0;
	}
	*out = f->arena + f->apos;
	for (; i < j; i++) {
		char c = s[i];

		if (c == '\\') {
			c = s[++i];
			c = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' :
			    c == 't' ? '\t' : c;
		}
		f->arena[f->apos++] = c;
	}
	*olen = (uint32_t)(f->arena + f->apos - *out);
	return 0;
}

/* A JSON number at s[i]: 0 with the cell's value and *end, -1 for the slow path. */
static int fast_number(const char *s, size_t i, size_t n, struct fcell *c, size_t *end)
{
	size_t j = i, d0;
	int is_int = 1;

	if (j < n && s[j] == '-')
		j++;
	d0 = j;
	if (j < n && s[j] == '0')
		j++;
	else if (j < n && s[j] >= '1' && s[j] <= '9')
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	else
		return -1;
	if (j < n && s[j] == '.') {
		is_int = 0;
		if (++j >= n || s[j] < '0' || s[j] > '9')
			return -1;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		is_int = 0;
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= n || s[j] < '0' || s[j] > '9')
			return -1;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	}
	c->kind = K_NUM;
	c->is_int = (uint8_t)is_int;
	if (is_int) {
		/* past 18 digits jansson may say "too big": its words, then */
		if (j - d0 > 18 || text_int(s + i, j - i, &c->v.i) < 0)
			return -1;
	} else if (text_double(s + i, j - i, &c->v.d) < 0) {
		return -1;
	}
	*end = j;
	return 0;
}

static int fast_push(struct fast *f, const struct fcell *c)
{
	if (f->nr == f->alloc) {
		size_t alloc = f->alloc ? f->alloc * 2 : 8192;
		struct fcell *cells = realloc(f->cells, alloc * sizeof(*cells));

		if (!cells)
			return -1;
		f->cells = cells;
		f->alloc = alloc;
	}
	f->cells[f->nr++] = *c;
	return 0;
}

/* The column of a key, made on its first appearance: -1 for the slow path. */
static int fast_column(struct fast *f, const char *k, uint32_t kn, size_t guess, uint32_t *col)
{
	size_t c;

	if (guess < f->ncols && f->name_len[guess] == kn && !memcmp(f->names[guess], k, kn)) {
		*col = (uint32_t)guess;
		return 0;
	}
	for (c = 0; c < f->ncols; c++)
		if (f->name_len[c] == kn && !memcmp(f->names[c], k, kn)) {
			*col = (uint32_t)c;
			return 0;
		}
	if (f->ncols >= AH_TS_MAX_FIELDS || kn > 64)
		return -1;
	if (!f->names) {
		f->names = malloc(AH_TS_MAX_FIELDS * sizeof(*f->names));
		f->name_len = malloc(AH_TS_MAX_FIELDS * sizeof(*f->name_len));
		f->seen = calloc(AH_TS_MAX_FIELDS, sizeof(*f->seen));
		if (!f->names || !f->name_len || !f->seen)
			return -1;
	}
	f->names[f->ncols] = k;
	f->name_len[f->ncols] = kn;
	*col = (uint32_t)f->ncols++;
	return 0;
}

/* One line, a flat object: 0, or -1 for the slow path. */
static int fast_line(struct fast *f, const char *s, size_t n, size_t row)
{
	size_t i = skip_ws(s, 0, n), k = 0;
	struct fcell c;

	if (i >= n || s[i] != '{')
		return -1;
	i = skip_ws(s, i + 1, n);
	if (i < n && s[i] == '}')
		return skip_ws(s, i + 1, n) == n ? 0 : -1;
	for (;; k++) {
		const char *key;
		uint32_t kn;

		memset(&c, 0, sizeof(c));
		if (i >= n || s[i] != '"' || fast_string(f, s, i, n, 0, &key, &kn, &i) < 0 ||
		    fast_column(f, key, kn, k, &c.col) < 0)
			return -1;
		if (f->seen[c.col] == row + 1)
			return -1;
		f->seen[c.col] = row + 1;
		i = skip_ws(s, i, n);
		if (i >= n || s[i] != ':')
			return -1;
		i = skip_ws(s, i + 1, n);
		if (i >= n)
			return -1;
		if (s[i] == '"') {
			c.kind = K_STR;
			if (fast_string(f, s, i, n, 1, &c.s, &c.n, &i) < 0)
				return -1;
		} else if (n - i >= 4 && !memcmp(s + i, "true", 4)) {
			c.kind = K_TRUE;
			i += 4;
		} else if (n - i >= 5 && !memcmp(s + i, "false", 5)) {
			c.kind = K_FALSE;
			i += 5;
		} else if (n - i >= 4 && !memcmp(s + i, "null", 4)) {
			c.kind = K_NULL;
			i += 4;
		} else if (fast_number(s, i, n, &c, &i) < 0) {
			return -1;
		}
		if (fast_push(f, &c) < 0)
			return -1;
		i = skip_ws(s, i, n);
		if (i < n && s[i] == ',') {
			i = skip_ws(s, i + 1, n);
			continue;
		}
		if (i < n && s[i] == '}')
			return skip_ws(s, i + 1, n) == n ? 0 : -1;
		return -1;
	}
}

/* json_cell() for a cell of the fast path (NULL: the row has no such key). */
static int fast_cell(struct ah_ts_batch *b, struct ah_ts_col *col, size_t r,
		     const struct fcell *v, const struct where *w, struct ah_err *err)
{
	if (!v || v->kind == K_NULL) {
		if (col == &b->cols[b->time_col])
			return cell_error(err, w, r, col, "a time is required");
		col->valid[r] = 0;
		col->has_null = 1;
		return 0;
	}
	col->valid[r] = 1;
	switch (col->type) {
	case AH_TS_TIMESTAMP:
		if (v->kind == K_NUM && v->is_int) {
			if (v->v.i > INT64_MAX / 1000 || v->v.i < INT64_MIN / 1000)
				return cell_error(err, w, r, col, "out of range");
			col->i[r] = v->v.i * 1000;
		} else if (v->kind == K_NUM) {
			double ms = v->v.d;

			if (!(ms < 9.2e15 && ms > -9.2e15))
				return cell_error(err, w, r, col, "out of range");
			col->i[r] = (int64_t)(ms * 1000 + (ms >= 0 ? 0.5 : -0.5));
		} else if (v->kind != K_STR || ah_time_parse_us(v->s, v->n, &col->i[r]) < 0) {
			return cell_error(err, w, r, col, "not an RFC 3339 time nor unix milliseconds");
		}
		break;
	case AH_TS_INTEGER:
		if (v->kind != K_NUM || !v->is_int)
			return cell_error(err, w, r, col, "not an integer");
		col->i[r] = v->v.i;
		break;
	case AH_TS_DOUBLE:
		if (v->kind != K_NUM)
			return cell_error(err, w, r, col, "not a number");
		col->d[r] = v->is_int ? (double)v->v.i : v->v.d;
		break;
	case AH_TS_BOOLEAN:
		if (v->kind != K_TRUE && v->kind != K_FALSE)
			return cell_error(err, w, r, col, "not true or false");
		col->i[r] = v->kind == K_TRUE;
		break;
	case AH_TS_STRING:
		if (v->kind != K_STR)
			return cell_error(err, w, r, col, "not a string");
		if (v->n > AH_TS_MAX_CELL)
			return cell_error(err, w, r, col, "longer than 1 MiB");
		col->s[r] = v->s;
		col->slen[r] = v->n;
		break;
	}
	return 0;
}

/*
 * The fast path: 1 when it read the batch (*ret its outcome), 0 when the
 * batch is jansson's (b untouched).
 */
static int ndjson_fast(struct ah_ts_batch *b, const char *data, size_t len, json_t *schema,
		       json_t *known, const char *known_time, struct ah_err *err, int *ret)
{
	struct fast f = { 0 };
	struct where w = { "line", NULL };
	size_t pos = 0, line = 0, r, e, c;
	uint32_t *map = NULL;
	int *kinds = NULL;

	*ret = -1;
	if (!ah_ts_ndjson_fast || !(f.arena = malloc(len + 1)))
		goto slow;
	while (pos < len) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += n + (nl != NULL);
		if (skip_ws(s, 0, n) == n)
			continue;
		if (f.nrows + 1 >= f.ralloc) {
			size_t alloc = f.ralloc ? f.ralloc * 2 : 1024;
			size_t *rs = realloc(f.row_start, alloc * sizeof(*rs));
			size_t *ls = rs ? realloc(f.lines, alloc * sizeof(*ls)) : NULL;

			if (rs)
				f.row_start = rs;
			if (!ls)
				goto slow;
			f.lines = ls;
			f.ralloc = alloc;
		}
		f.row_start[f.nrows] = f.nr;
		f.lines[f.nrows] = line;
		if (fast_line(&f, s, n, f.nrows) < 0)
			goto slow;
		f.nrows++;
	}
	if (!f.nrows)
		goto slow;
	f.row_start[f.nrows] = f.nr;
	/* from here on the batch is the fast path's: its errors are final */
	w.lines = f.lines;
	b->arena = f.arena;
	f.arena = NULL;
	if (schema) {
		if (declared_fields(b, schema, err) < 0)
			goto done;
	} else {
		/* a column's name and known type once, not a cell at a time */
		if (!(kinds = malloc(2 * (f.ncols + 1) * sizeof(*kinds))))
			goto oom;
		b->fields = json_array();
		for (c = 0; c < f.ncols; c++) {
			char name[80];

			snprintf(name, sizeof(name), "%.*s", (int)f.name_len[c], f.names[c]);
			kinds[c] = -1;
			kinds[f.ncols + c] = known_type(known, known_time, name);
			add_field(b->fields, name, AH_TS_STRING);
		}
		for (r = 0, c = 0; r < f.nrows; r++)
			for (e = f.row_start[r]; e < f.row_start[r + 1]; e++) {
				const struct fcell *v = &f.cells[e];
				int t = kinds[f.ncols + v->col], was = kinds[v->col];

				if (v->col == c) {
					/* its first appearance, as json_rows() meets it */
					const char *name = json_string_value(json_object_get(
						json_array_get(b->fields, c), "name"));

					if (ah_ts_column_check("column", name, err) < 0) {
						ah_invalid(err, "%s %zu: %s", w.unit, where_nr(&w, r),
							   err->msg);
						goto done;
					}
					c++;
				}
				if (t < 0 && v->kind != K_NULL) {
					t = v->kind == K_NUM ? (v->is_int ? AH_TS_INTEGER : AH_TS_DOUBLE) :
					    v->kind == K_STR ? AH_TS_STRING : AH_TS_BOOLEAN;
					if ((was == AH_TS_DOUBLE && t == AH_TS_INTEGER) ||
					    (was == AH_TS_INTEGER && t == AH_TS_DOUBLE))
						t = AH_TS_DOUBLE;
					else if (was >= 0)
						t = was;
				} else if (t < 0) {
					t = was;
				}
				kinds[v->col] = t;
			}
		for (c = 0; c < f.ncols; c++)
			json_object_set_new(json_array_get(b->fields, c), "type",
					    json_string(ah_ts_type_names[kinds[c] < 0 ? AH_TS_STRING :
									 kinds[c]]));
		if (inferred_done(b, known_time, err) < 0)
			goto done;
	}
	if (batch_columns(b, f.nrows, err) < 0)
		goto done;
	/* each fast column's batch column, ncols for none (not in the schema) */
	if (!(map = malloc((f.ncols + 1) * sizeof(*map))))
		goto oom;
	for (c = 0; c < f.ncols; c++) {
		size_t k;

		map[c] = (uint32_t)b->ncols;
		for (k = 0; k < b->ncols; k++)
			if (strlen(b->cols[k].name) == f.name_len[c] &&
			    !memcmp(b->cols[k].name, f.names[c], f.name_len[c]))
				map[c] = (uint32_t)k;
	}
	{
		const struct fcell **at = calloc(b->ncols + 1, sizeof(*at));

		if (!at)
			goto oom;
		for (r = 0; r < f.nrows; r++) {
			const struct fcell *unknown = NULL;

			for (e = f.row_start[r]; e < f.row_start[r + 1]; e++) {
				if (map[f.cells[e].col] < b->ncols)
					at[map[f.cells[e].col]] = &f.cells[e];
				else if (!unknown)
					unknown = &f.cells[e];
			}
			for (c = 0; c < b->ncols; c++) {
				if (fast_cell(b, &b->cols[c], r, at[c], &w, err) < 0) {
					free(at);
					goto done;
				}
				at[c] = NULL;
			}
			if (unknown) {
				/* the name is not NUL-terminated in the data: its length */
				ah_invalid(err, "%s %zu: column '%.*s': not in the schema", w.unit,
					   where_nr(&w, r), (int)f.name_len[unknown->col],
					   f.names[unknown->col]);
				free(at);
				goto done;
			}
		}
		free(at);
	}
	/* the strings point into the data and the arena, kept by the caller and b */
	*ret = 0;
	goto done;
oom:
	ah_internal(err, "ingest: out of memory");
done:
	free(map);
	free(kinds);
	fast_release(&f);
	return 1;
slow:
	fast_release(&f);
	return 0;
}

static int ndjson_read(struct ah_ts_batch *b, const char *data, size_t len, json_t *schema,
		       json_t *known, const char *known_time, struct ah_err *err)
{
	int fast_ret;

	if (ndjson_fast(b, data, len, schema, known, known_time, err, &fast_ret))
		return fast_ret;
	size_t pos = 0, line = 0, nr = 0, alloc = 0, *lines = NULL;
	json_t *rows = json_array();
	struct where w = { "line", NULL };
	int ret = -1;

	b->keep = rows;
	while (pos < len) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		json_error_t je;
		json_t *row;

		line++;
		pos += n + (nl != NULL);
		if (skip_ws(s, 0, n) == n)
			continue;
		if (too_deep(s, n, AH_TS_MAX_DEPTH)) {
			ah_invalid(err, "line %zu: nested deeper than %d", line, AH_TS_MAX_DEPTH);
			goto done;
		}
		if (!(row = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je))) {
			char why[AH_JSON_WHY_MAX];

			ah_json_why(&je, why, sizeof(why));
			ah_invalid(err, "line %zu: not JSON: %s", line, why);
			goto done;
		}
		json_array_append_new(rows, row);
		if (nr == alloc) {
			size_t *nl2;

			alloc = alloc ? alloc * 2 : 1024;
			if (!(nl2 = realloc(lines, alloc * sizeof(*lines)))) {
				ah_internal(err, "ingest: out of memory");
				goto done;
			}
			lines = nl2;
		}
		lines[nr++] = line;
	}
	w.lines = lines;
	ret = json_rows(b, rows, schema, known, known_time, &w, err);
done:
	free(lines);
	return ret;
}

struct csv_cell {
	const char *s;
	uint32_t n;
};

struct csv {
	struct csv_cell *cells;
	size_t nr, alloc;		/* cells */
	size_t *lines;			/* each record's first line */
	size_t nrec, rec_alloc;
};

static int csv_push(struct csv *t, const char *s, size_t n, struct ah_err *err)
{
	if (t->nr == t->alloc) {
		size_t alloc = t->alloc ? t->alloc * 2 : 4096;
		struct csv_cell *c = realloc(t->cells, alloc * sizeof(*c));

		if (!c)
			return ah_internal(err, "ingest: out of memory");
		t->cells = c;
		t->alloc = alloc;
	}
	t->cells[t->nr].s = s;
	t->cells[t->nr].n = (uint32_t)n;
	t->nr++;
	return 0;
}

/*
 * Splits csv (RFC 4180: "" in a quoted field is a quote; CRLF or LF) into
 * records of ncols cells (the header's count), quoted fields unescaped
 * into arena. Blank lines are skipped; a ragged record is the error.
 */
static int csv_split(const char *data, size_t len, char *arena, struct csv *t, size_t *ncols,
		     struct ah_err *err)
{
	size_t pos = 0, line = 1, apos = 0;

	*ncols = 0;
	while (pos < len) {
		size_t start_line = line, fields = 0;
		int end = 0;

		if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n')) {
			pos += data[pos] == '\r' ? 2 : 1;
			line++;
			continue;
		}
		while (!end) {
			const char *s;
			size_t n;

			if (pos < len && data[pos] == '"') {
				s = arena + apos;
				pos++;
				for (;;) {
					if (pos >= len)
						return ah_invalid(err, "line %zu: a quoted field is not"
								  " closed", start_line);
					if (data[pos] == '"') {
						if (pos + 1 < len && data[pos + 1] == '"') {
							arena[apos++] = '"';
							pos += 2;
							continue;
						}
						pos++;
						break;
					}
					if (data[pos] == '\n')
						line++;
					arena[apos++] = data[pos++];
				}
				n = (size_t)(arena + apos - s);
				if (pos < len && data[pos] != ',' && data[pos] != '\n' &&
				    !(data[pos] == '\r' && (pos + 1 == len || data[pos + 1] == '\n')))
					return ah_invalid(err, "line %zu: text after a quoted field's"
							  " closing quote", line);
			} else {
				s = data + pos;
				while (pos < len && data[pos] != ',' && data[pos] != '\n' &&
				       !(data[pos] == '\r' && (pos + 1 == len || data[pos + 1] == '\n')))
					pos++;
				n = (size_t)(data + pos - s);
			}
			if (n > AH_TS_MAX_CELL)
				return ah_invalid(err, "line %zu: a field longer than 1 MiB", line);
			if (++fields > AH_TS_MAX_FIELDS)
				return ah_invalid(err, "line %zu: more than %d fields", start_line,
						  AH_TS_MAX_FIELDS);
			if (csv_push(t, s, n, err) < 0)
				return -1;
			if (pos < len && data[pos] == ',') {
				pos++;
				continue;
			}
			if (pos < len && data[pos] == '\r')
				pos++;
			if (pos < len && data[pos] == '\n')
				pos++;
			line++;
			end = 1;
		}
		if (!t->nrec)
			*ncols = fields;
		else if (fields != *ncols)
			return ah_invalid(err, "line %zu: %zu fields, the header has %zu", start_line,
					  fields, *ncols);
		if (t->nrec == t->rec_alloc) {
			size_t alloc = t->rec_alloc ? t->rec_alloc * 2 : 1024;
			size_t *l = realloc(t->lines, alloc * sizeof(*l));

			if (!l)
				return ah_internal(err, "ingest: out of memory");
			t->lines = l;
			t->rec_alloc = alloc;
		}
		t->lines[t->nrec++] = start_line;
	}
	if (!t->nrec)
		return ah_invalid(err, "csv: no header line");
	return 0;
}

/* The type a csv column's values all read as (non-empty ones): integer, double, boolean, string. */
static int csv_infer(const struct csv *t, size_t ncols, size_t c)
{
	int can_int = 1, can_double = 1, can_bool = 1, any = 0;
	size_t r;

	for (r = 1; r < t->nrec; r++) {
		const struct csv_cell *cell = &t->cells[r * ncols + c];
		int64_t i;
		double d;

		if (!cell->n)
			continue;
		any = 1;
		if (can_int && text_int(cell->s, cell->n, &i) < 0)
			can_int = 0;
		if (!can_int && can_double && text_double(cell->s, cell->n, &d) < 0)
			can_double = 0;
		if (can_bool && text_bool(cell->s, cell->n, &i) < 0)
			can_bool = 0;
		if (!can_int && !can_double && !can_bool)
			break;
	}
	if (!any)
		return AH_TS_STRING;
	return can_int ? AH_TS_INTEGER : can_double ? AH_TS_DOUBLE : can_bool ? AH_TS_BOOLEAN :
	       AH_TS_STRING;
}

static int csv_read(struct ah_ts_batch *b, const char *data, size_t len, json_t *schema,
		    json_t *known, const char *known_time, struct ah_err *err)
{
	struct csv t = { 0 };
	struct where w = { "line", NULL };
	size_t ncols, c, r, *map = NULL;
	int ret = -1;

	if (!(b->arena = malloc(len + 1))) {
		ah_internal(err, "ingest: out of memory");
		goto done;
	}
	if (csv_split(data, len, b->arena, &t, &ncols, err) < 0)
		goto done;
	/* the header */
	b->keep = json_array();
	for (c = 0; c < ncols; c++) {
		char name[80];
		size_t k;

		snprintf(name, sizeof(name), "%.*s", (int)(t.cells[c].n > 70 ? 70 : t.cells[c].n),
			 t.cells[c].s);
		if (t.cells[c].n > 64 || memchr(t.cells[c].s, '\0', t.cells[c].n) ||
		    ah_ts_column_check("column", name, err) < 0) {
			ah_invalid(err, "line 1: column %zu: not a column name (letters, digits and"
				   " '_', not starting with a digit, at most 64)", c + 1);
			goto done;
		}
		for (k = 0; k < c; k++)
			if (t.cells[k].n == t.cells[c].n &&
			    !memcmp(t.cells[k].s, t.cells[c].s, t.cells[c].n)) {
				ah_invalid(err, "line 1: column '%s' twice", name);
				goto done;
			}
		/* the header's names, NUL-terminated, in place of its cells */
		json_array_append_new(b->keep, json_string(name));
		t.cells[c].s = json_string_value(json_array_get(b->keep, c));
	}
	if (schema) {
		if (declared_fields(b, schema, err) < 0)
			goto done;
		for (c = 0; c < ncols; c++) {
			json_t *f;
			size_t k;
			int found = 0;

			json_array_foreach(b->fields, k, f)
				found |= !strcmp(json_string_value(json_object_get(f, "name")),
						 t.cells[c].s);
			if (!found) {
				ah_invalid(err, "line 1: column '%s': not in the schema", t.cells[c].s);
				goto done;
			}
		}
	} else {
		b->fields = json_array();
		for (c = 0; c < ncols; c++) {
			int ty = known_type(known, known_time, t.cells[c].s);

			add_field(b->fields, t.cells[c].s, ty >= 0 ? ty : csv_infer(&t, ncols, c));
		}
		if (inferred_done(b, known_time, err) < 0)
			goto done;
	}
	if (batch_columns(b, t.nrec - 1, err) < 0)
		goto done;
	/* each column's header index, ncols when the header lacks it */
	if (!(map = malloc((b->ncols + 1) * sizeof(*map)))) {
		ah_internal(err, "ingest: out of memory");
		goto done;
	}
	for (c = 0; c < b->ncols; c++) {
		map[c] = ncols;
		for (r = 0; r < ncols; r++)
			if (!strcmp(t.cells[r].s, b->cols[c].name))
				map[c] = r;
		if (map[c] == ncols && c == b->time_col) {
			ah_invalid(err, "line 1: the time column '%s' is not in the header",
				   b->cols[c].name);
			goto done;
		}
	}
	w.lines = t.lines + 1;
	for (c = 0; c < b->ncols; c++) {
		struct ah_ts_col *col = &b->cols[c];

		for (r = 0; r + 1 < t.nrec; r++) {
			const struct csv_cell *cell = map[c] < ncols ?
				&t.cells[(r + 1) * ncols + map[c]] : NULL;

			if (text_cell(b, col, r, cell ? cell->s : NULL, cell ? cell->n : 0, &w,
				      err) < 0)
				goto done;
		}
	}
	ret = 0;
done:
	free(map);
	free(t.cells);
	free(t.lines);
	return ret;
}

/* The body's partition {key, attributes, timeRange}, and idempotencyKey. */
static int partition_read(struct ah_ts_batch *b, json_t *body, struct ah_err *err)
{
	json_t *p = json_object_get(body, "partition"), *v, *attr, *range;
	const char *key;

	if (p && !json_is_null(p) && !json_is_object(p))
		return ah_invalid(err, "invalid partition: must be an object");
	if ((v = json_object_get(p, "key")) && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) > 256)
			return ah_invalid(err, "invalid partition.key: a string of at most 256"
					  " characters");
		b->partition_key = json_string_value(v);
	}
	if ((v = json_object_get(body, "partitionKey")) && json_is_string(v)) {
		if (json_string_length(v) > 256)
			return ah_invalid(err, "invalid partitionKey: at most 256 characters");
		b->partition_key = json_string_value(v);
	}
	if ((attr = json_object_get(p, "attributes")) && !json_is_null(attr)) {
		if (!json_is_object(attr) || json_object_size(attr) > 64)
			return ah_invalid(err, "invalid partition.attributes: an object of at most"
					  " 64 strings");
		json_object_foreach(attr, key, v)
			if (!json_is_string(v) || json_string_length(v) > 1024 || strlen(key) > 128)
				return ah_invalid(err, "invalid partition.attributes.%.64s: a string"
						  " of at most 1024 characters", key);
		b->attributes = attr;
	}
	if ((range = json_object_get(p, "timeRange")) && !json_is_null(range)) {
		const char *s = json_string_value(json_object_get(range, "start"));
		const char *e = json_string_value(json_object_get(range, "end"));
		int64_t su, eu;

		if (!json_is_object(range) || !s || !e)
			return ah_invalid(err, "invalid partition.timeRange: {start, end} required");
		if (ah_time_parse_us(s, strlen(s), &su) < 0)
			return ah_invalid(err, "invalid partition.timeRange.start '%.64s': not an"
					  " RFC 3339 time", s);
		if (ah_time_parse_us(e, strlen(e), &eu) < 0)
			return ah_invalid(err, "invalid partition.timeRange.end '%.64s': not an"
					  " RFC 3339 time", e);
		if (eu < su)
			return ah_invalid(err, "invalid partition.timeRange: end before start");
	}
	if ((v = json_object_get(body, "idempotencyKey")) && !json_is_null(v)) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 256)
			return ah_invalid(err, "invalid idempotencyKey: a string of 1 to 256"
					  " characters");
		b->idempotency_key = json_string_value(v);
	}
	return 0;
}

int ah_ts_batch_read(struct ah_ts_batch *b, const char *format, json_t *body, const char *data,
		     size_t len, json_t *schema, json_t *known, const char *known_time,
		     struct ah_err *err)
{
	int ret = -1;

	memset(b, 0, sizeof(*b));
	if (body && partition_read(b, body, err) < 0)
		goto done;
	if (!format || !strcmp(format, "json")) {
		json_t *rows = json_object_get(body, "rows"), *s = json_object_get(body, "schema");
		struct where w = { "row", NULL };

		if (!json_is_array(rows)) {
			ah_invalid(err, "invalid rows: must be an array of objects");
			goto done;
		}
		if (s && !json_is_null(s)) {
			if (!json_is_object(s)) {
				ah_invalid(err, "invalid schema: must be an object {fields}");
				goto done;
			}
			schema = s;
		}
		ret = json_rows(b, rows, schema, known, known_time, &w, err);
	} else if (!strcmp(format, "ndjson")) {
		ret = ndjson_read(b, data ? data : "", data ? len : 0, schema, known, known_time,
				  err);
	} else if (!strcmp(format, "csv")) {
		ret = csv_read(b, data ? data : "", data ? len : 0, schema, known, known_time, err);
	} else {
		ah_invalid(err, "invalid format '%.32s': json, ndjson or csv", format);
	}
	if (!ret && !b->nrows) {
		ah_invalid(err, "ingest: no rows");
		ret = -1;
	}
done:
	if (ret)
		ah_ts_batch_release(b);
	return ret;
}
