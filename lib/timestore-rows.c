/*
 * A DuckDB result as JSON rows (lib/timestore-rows.h), read chunk by
 * chunk as DuckDB streams it: a cut result is never computed whole, and
 * every type has a JSON form (lists and structs nested, times RFC 3339).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "strbuf.h"
#include "timestore-rows.h"
#include "timeutil.h"

#define NEST_MAX 16

/* The type a result column is called by: the dataset types where they fit. */
static const char *type_name(duckdb_type t)
{
	switch (t) {
	case DUCKDB_TYPE_BOOLEAN:
		return "boolean";
	case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
	case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
	case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_HUGEINT:
	case DUCKDB_TYPE_UHUGEINT:
		return "integer";
	case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL:
		return "double";
	case DUCKDB_TYPE_VARCHAR:
		return "string";
	case DUCKDB_TYPE_BLOB:
		return "blob";
	case DUCKDB_TYPE_TIMESTAMP: case DUCKDB_TYPE_TIMESTAMP_S: case DUCKDB_TYPE_TIMESTAMP_MS:
	case DUCKDB_TYPE_TIMESTAMP_NS: case DUCKDB_TYPE_TIMESTAMP_TZ:
		return "timestamp";
	case DUCKDB_TYPE_DATE:
		return "date";
	case DUCKDB_TYPE_TIME:
		return "time";
	case DUCKDB_TYPE_INTERVAL:
		return "interval";
	case DUCKDB_TYPE_UUID:
		return "uuid";
	case DUCKDB_TYPE_ENUM:
		return "string";
	case DUCKDB_TYPE_LIST: case DUCKDB_TYPE_ARRAY:
		return "list";
	case DUCKDB_TYPE_STRUCT:
		return "struct";
	case DUCKDB_TYPE_MAP:
		return "map";
	case DUCKDB_TYPE_SQLNULL:
		return "null";
	default:
		return NULL;
	}
}

static json_t *time_json(int64_t us)
{
	char buf[AH_TIME_US_LEN];

	ah_time_text_us(buf, us);
	return json_string(buf);
}

static json_t *real_json(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

static double hugeint_double(duckdb_hugeint h)
{
	return (double)h.upper * 18446744073709551616.0 + (double)h.lower;
}

static json_t *hugeint_json(duckdb_hugeint h)
{
	if ((h.upper == 0 && h.lower <= (uint64_t)INT64_MAX) ||
	    (h.upper == -1 && h.lower > (uint64_t)INT64_MAX))
		return json_integer((json_int_t)(int64_t)h.lower);
	return json_real(hugeint_double(h));
}

static json_t *value_json(duckdb_vector vec, duckdb_logical_type lt, idx_t row, int depth,
			  const char *col, struct ah_err *err);

static json_t *list_json(duckdb_vector child, duckdb_logical_type ct, idx_t off, idx_t n,
			 int depth, const char *col, struct ah_err *err)
{
	json_t *arr = json_array(), *v;
	idx_t i;

	for (i = 0; i < n; i++) {
		if (!(v = value_json(child, ct, off + i, depth + 1, col, err))) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, v);
	}
	return arr;
}

/* One value of a vector as JSON; NULL with err for a type not shown here. */
static json_t *value_json(duckdb_vector vec, duckdb_logical_type lt, idx_t row, int depth,
			  const char *col, struct ah_err *err)
{
	uint64_t *validity = duckdb_vector_get_validity(vec);
	void *data = duckdb_vector_get_data(vec);
	duckdb_type t = duckdb_get_type_id(lt);
	json_t *v = NULL;

	if (depth > NEST_MAX) {
		ah_invalid(err, "column '%s': nested deeper than %d", col, NEST_MAX);
		return NULL;
	}
	if (validity && !duckdb_validity_row_is_valid(validity, row))
		return json_null();
	switch (t) {
	case DUCKDB_TYPE_BOOLEAN:
		return json_boolean(((bool *)data)[row]);
	case DUCKDB_TYPE_TINYINT:
		return json_integer(((int8_t *)data)[row]);
	case DUCKDB_TYPE_SMALLINT:
		return json_integer(((int16_t *)data)[row]);
	case DUCKDB_TYPE_INTEGER:
		return json_integer(((int32_t *)data)[row]);
	case DUCKDB_TYPE_BIGINT:
		return json_integer(((int64_t *)data)[row]);
	case DUCKDB_TYPE_UTINYINT:
		return json_integer(((uint8_t *)data)[row]);
	case DUCKDB_TYPE_USMALLINT:
		return json_integer(((uint16_t *)data)[row]);
	case DUCKDB_TYPE_UINTEGER:
		return json_integer(((uint32_t *)data)[row]);
	case DUCKDB_TYPE_UBIGINT: {
		uint64_t u = ((uint64_t *)data)[row];

		return u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
	}
	case DUCKDB_TYPE_HUGEINT:
		return hugeint_json(((duckdb_hugeint *)data)[row]);
	case DUCKDB_TYPE_UHUGEINT: {
		duckdb_uhugeint u = ((duckdb_uhugeint *)data)[row];

		if (!u.upper && u.lower <= (uint64_t)INT64_MAX)
			return json_integer((json_int_t)u.lower);
		return json_real((double)u.upper * 18446744073709551616.0 + (double)u.lower);
	}
	case DUCKDB_TYPE_FLOAT:
		return real_json(((float *)data)[row]);
	case DUCKDB_TYPE_DOUBLE:
		return real_json(((double *)data)[row]);
	case DUCKDB_TYPE_DECIMAL: {
		double scale = 1, d;
		uint8_t k;

		for (k = duckdb_decimal_scale(lt); k; k--)
			scale *= 10;

		switch (duckdb_decimal_internal_type(lt)) {
		case DUCKDB_TYPE_SMALLINT:
			d = ((int16_t *)data)[row];
			break;
		case DUCKDB_TYPE_INTEGER:
			d = ((int32_t *)data)[row];
			break;
		case DUCKDB_TYPE_BIGINT:
			d = (double)((int64_t *)data)[row];
			break;
		default:
			d = hugeint_double(((duckdb_hugeint *)data)[row]);
			break;
		}
		return real_json(d / scale);
	}
	case DUCKDB_TYPE_VARCHAR: {
		duckdb_string_t *s = &((duckdb_string_t *)data)[row];

		v = json_stringn(duckdb_string_t_data(s), duckdb_string_t_length(*s));
		return v ? v : json_string("\xef\xbf\xbd");
	}
	case DUCKDB_TYPE_BLOB: {
		/* as DuckDB prints one: printable ASCII kept, other bytes \xNN */
		duckdb_string_t *s = &((duckdb_string_t *)data)[row];
		const unsigned char *p = (const unsigned char *)duckdb_string_t_data(s);
		uint32_t len = duckdb_string_t_length(*s), k;
		struct strbuf sb = STRBUF_INIT;

		for (k = 0; k < len; k++) {
			if (p[k] >= 0x20 && p[k] < 0x7f && p[k] != '\\')
				strbuf_addch(&sb, (char)p[k]);
			else
				strbuf_addf(&sb, "\\x%02X", p[k]);
		}
		v = json_string(sb.buf);
		strbuf_release(&sb);
		return v;
	}
	case DUCKDB_TYPE_TIMESTAMP: case DUCKDB_TYPE_TIMESTAMP_TZ:
		return time_json(((int64_t *)data)[row]);
	case DUCKDB_TYPE_TIMESTAMP_S:
		return time_json(((int64_t *)data)[row] * 1000000);
	case DUCKDB_TYPE_TIMESTAMP_MS:
		return time_json(((int64_t *)data)[row] * 1000);
	case DUCKDB_TYPE_TIMESTAMP_NS:
		return time_json(((int64_t *)data)[row] / 1000);
	case DUCKDB_TYPE_DATE: {
		time_t secs = (time_t)((int32_t *)data)[row] * 86400;
		struct tm tm;
		char buf[32];

		gmtime_r(&secs, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
		return json_string(buf);
	}
	case DUCKDB_TYPE_TIME: {
		int64_t us = ((int64_t *)data)[row];
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%02d:%02d:%02d", (int)(us / 3600000000LL),
				 (int)(us / 60000000 % 60), (int)(us / 1000000 % 60));

		if (us % 1000000)
			snprintf(buf + n, sizeof(buf) - (size_t)n, ".%06d", (int)(us % 1000000));
		return json_string(buf);
	}
	case DUCKDB_TYPE_INTERVAL: {
		duckdb_interval iv = ((duckdb_interval *)data)[row];

		return json_pack("{s:i, s:i, s:I}", "months", iv.months, "days", iv.days, "micros",
				 (json_int_t)iv.micros);
	}
	case DUCKDB_TYPE_UUID: {
		duckdb_hugeint h = ((duckdb_hugeint *)data)[row];
		uint64_t hi = (uint64_t)h.upper ^ (1ULL << 63), lo = h.lower;
		char buf[40];

		snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
			 (unsigned long long)(hi >> 32), (unsigned long long)(hi >> 16 & 0xffff),
			 (unsigned long long)(hi & 0xffff), (unsigned long long)(lo >> 48),
			 (unsigned long long)(lo & 0xffffffffffffULL));
		return json_string(buf);
	}
	case DUCKDB_TYPE_ENUM: {
		idx_t idx;
		char *s;

		switch (duckdb_enum_internal_type(lt)) {
		case DUCKDB_TYPE_UTINYINT:
			idx = ((uint8_t *)data)[row];
			break;
		case DUCKDB_TYPE_USMALLINT:
			idx = ((uint16_t *)data)[row];
			break;
		default:
			idx = ((uint32_t *)data)[row];
			break;
		}
		s = duckdb_enum_dictionary_value(lt, idx);
		v = json_string(s ? s : "");
		duckdb_free(s);
		return v;
	}
	case DUCKDB_TYPE_LIST: {
		duckdb_list_entry e = ((duckdb_list_entry *)data)[row];
		duckdb_logical_type ct = duckdb_list_type_child_type(lt);

		v = list_json(duckdb_list_vector_get_child(vec), ct, e.offset, e.length, depth, col,
			      err);
		duckdb_destroy_logical_type(&ct);
		return v;
	}
	case DUCKDB_TYPE_ARRAY: {
		duckdb_logical_type ct = duckdb_array_type_child_type(lt);
		idx_t n = duckdb_array_type_array_size(lt);

		v = list_json(duckdb_array_vector_get_child(vec), ct, row * n, n, depth, col, err);
		duckdb_destroy_logical_type(&ct);
		return v;
	}
	case DUCKDB_TYPE_STRUCT: {
		idx_t i, n = duckdb_struct_type_child_count(lt);

		v = json_object();
		for (i = 0; i < n; i++) {
			duckdb_logical_type ct = duckdb_struct_type_child_type(lt, i);
			char *name = duckdb_struct_type_child_name(lt, i);
			json_t *f = value_json(duckdb_struct_vector_get_child(vec, i), ct, row,
					       depth + 1, col, err);

			duckdb_destroy_logical_type(&ct);
			if (!f) {
				duckdb_free(name);
				json_decref(v);
				return NULL;
			}
			json_object_set_new(v, name ? name : "", f);
			duckdb_free(name);
		}
		return v;
	}
	case DUCKDB_TYPE_MAP: {
		/* a list of {key, value}: keys need not be strings */
		duckdb_list_entry e = ((duckdb_list_entry *)data)[row];
		duckdb_vector child = duckdb_list_vector_get_child(vec);
		duckdb_logical_type kt = duckdb_map_type_key_type(lt);
		duckdb_logical_type vt = duckdb_map_type_value_type(lt);
		idx_t k;

		v = json_array();
		for (k = 0; k < e.length && v; k++) {
			json_t *key = value_json(duckdb_struct_vector_get_child(child, 0), kt,
						 e.offset + k, depth + 1, col, err);
			json_t *val = key ? value_json(duckdb_struct_vector_get_child(child, 1), vt,
						       e.offset + k, depth + 1, col, err) : NULL;

			if (!val) {
				json_decref(key);
				json_decref(v);
				v = NULL;
				break;
			}
			json_array_append_new(v, json_pack("{s:o, s:o}", "key", key, "value", val));
		}
		duckdb_destroy_logical_type(&kt);
		duckdb_destroy_logical_type(&vt);
		return v;
	}
	case DUCKDB_TYPE_SQLNULL:
		return json_null();
	default:
		ah_invalid(err, "column '%s': its type (DuckDB type %d) is not shown here; cast it, as %s::VARCHAR",
			   col, (int)t, col);
		return NULL;
	}
}

int ah_duck_rows(duckdb_prepared_statement st, long limit, int bad_status, const char *what,
		 json_t **rows, json_t **columns, int *truncated, struct ah_err *err)
{
	duckdb_pending_result pending = NULL;
	duckdb_result res;
	duckdb_logical_type *types = NULL;
	const char **names = NULL;
	duckdb_data_chunk chunk = NULL;
	int have_res = 0, ret = -1;
	idx_t ncol = 0, i;
	long n = 0;

	*rows = json_array();
	*columns = json_array();
	*truncated = 0;
	if (duckdb_pending_prepared_streaming(st, &pending) == DuckDBError) {
		const char *msg = duckdb_pending_error(pending);

		ah_error(err, bad_status, bad_status == 400 ? "invalid" : "internal", "%s: %s", what,
			 msg ? msg : "cannot run");
		goto done;
	}
	if (duckdb_execute_pending(pending, &res) == DuckDBError) {
		const char *msg = duckdb_result_error(&res);

		ah_error(err, bad_status, bad_status == 400 ? "invalid" : "internal", "%s: %s", what,
			 msg ? msg : "failed");
		duckdb_destroy_result(&res);
		goto done;
	}
	have_res = 1;
	ncol = duckdb_column_count(&res);
	types = calloc(ncol ? ncol : 1, sizeof(*types));
	names = calloc(ncol ? ncol : 1, sizeof(*names));
	if (!types || !names) {
		ah_internal(err, "%s: out of memory", what);
		goto done;
	}
	for (i = 0; i < ncol; i++) {
		const char *tn;

		types[i] = duckdb_column_logical_type(&res, i);
		names[i] = duckdb_column_name(&res, i);
		tn = type_name(duckdb_get_type_id(types[i]));
		json_array_append_new(*columns, json_pack("{s:s, s:s}", "name", names[i] ? names[i] : "",
							  "type", tn ? tn : "other"));
	}
	while ((chunk = duckdb_fetch_chunk(res))) {
		idx_t size = duckdb_data_chunk_get_size(chunk), r;
		duckdb_vector vecs[256], *vp = vecs;

		if (!size) {
			duckdb_destroy_data_chunk(&chunk);
			break;
		}
		if (ncol > 256 && !(vp = calloc(ncol, sizeof(*vp)))) {
			ah_internal(err, "%s: out of memory", what);
			goto done;
		}
		for (i = 0; i < ncol; i++)
			vp[i] = duckdb_data_chunk_get_vector(chunk, i);
		for (r = 0; r < size; r++, n++) {
			json_t *row;

			if (n >= limit) {
				*truncated = 1;
				break;
			}
			row = json_object();
			for (i = 0; i < ncol; i++) {
				json_t *v = value_json(vp[i], types[i], r, 0, names[i] ? names[i] : "", err);

				if (!v) {
					json_decref(row);
					if (vp != vecs)
						free(vp);
					goto done;
				}
				json_object_set_new(row, names[i] ? names[i] : "", v);
			}
			json_array_append_new(*rows, row);
		}
		if (vp != vecs)
			free(vp);
		duckdb_destroy_data_chunk(&chunk);
		if (*truncated)
			break;
	}
	if (!*truncated && duckdb_result_error(&res)) {
		ah_error(err, bad_status, bad_status == 400 ? "invalid" : "internal", "%s: %s", what,
			 duckdb_result_error(&res));
		goto done;
	}
	ret = 0;
done:
	if (chunk)
		duckdb_destroy_data_chunk(&chunk);
	for (i = 0; types && i < ncol; i++)
		duckdb_destroy_logical_type(&types[i]);
	free(types);
	free(names);
	if (have_res)
		duckdb_destroy_result(&res);
	if (pending)
		duckdb_destroy_pending(&pending);
	if (ret < 0) {
		json_decref(*rows);
		json_decref(*columns);
		*rows = *columns = NULL;
	}
	return ret;
}
