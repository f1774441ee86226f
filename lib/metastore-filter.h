#ifndef METASTORE_FILTER_H
#define METASTORE_FILTER_H

#include <jansson.h>
#include "err.h"
#include "strbuf.h"

/*
 * The metastore's filter language, compiled to SQL over
 * "metastore_records r" with bound values only.
 *
 * Fields: the columns key, owner, schemaHash, version, createdAt,
 * updatedAt, deletedAt, createdBy, updatedBy, tags (an array), and
 * metadata.<path> (segments of [A-Za-z0-9_-], joined by '.'; "metadata"
 * alone for contains and has_key); a bare name that is not a column means
 * metadata.<name>. "namespace" is refused: a search is one namespace's.
 *
 * Nodes: a condition {field, operator, value | values}; a group {type:
 * "group", operator: "and" | "or", filters: [...]}; {type: "not", filter}.
 * The root is at depth 1, a node inside it at 2, ...: deeper than 8 is
 * refused. Operators: eq neq lt lte gt gte between (values: [lo, hi])
 * contains has_key array_contains exists (value true, the default: present
 * and not null; false: absent or null).
 *
 * Metadata compares by the operand's type: a number only with numbers, a
 * string only with strings (so "10" is never 10), true/false with JSON
 * true/false, null as IS NULL (eq) / IS NOT NULL (neq). neq and not are
 * the complements of eq and of their filter: a record without the field
 * is "not equal".
 *
 * Errors are 400 "invalid" naming the problem ("filter deeper than 8",
 * "unknown operator 'x'", "between needs two values", "q: cannot parse
 * term 'x'", "namespace is not a filter field: the search is one
 * namespace's").
 */

#define AH_MFILTER_DEPTH_MAX 8
#define AH_MFILTER_NODES_MAX 256	/* nodes in one filter (q terms included) */
#define AH_MFILTER_SORT_MAX 5
#define AH_MFILTER_PROJECTION_MAX 64
#define AH_MFILTER_PATH_MAX 256		/* bytes of a metadata path */
#define AH_MFILTER_Q_MAX 4096		/* bytes of a q string */

/* A compiled search: a WHERE fragment over table alias r, its bound values in order. */
struct ah_mfilter {
	struct strbuf where;	/* "" when no filter; else "(...)" */
	json_t *binds;		/* array: strings, integers, reals, null, booleans(as 1/0) */
	struct strbuf order;	/* "r.updated_at DESC, r.n DESC" without ORDER BY */
	json_t *projection;	/* NULL, or the fields to keep */
	/*
	 * Set before compiling, or NULL: {field's SQL: element index id} of
	 * the fields whose arrays' elements are indexed (metastore_elements):
	 * array_contains on a scalar is a lookup there rather than a scan.
	 */
	json_t *elements;
	/*
	 * "": count with where. Else the count's own query, with where's
	 * parameters (the namespace first): a filter that is one lookup of
	 * elements counts them, reading no record.
	 */
	struct strbuf count;
};

void ah_mfilter_init(struct ah_mfilter *f);
void ah_mfilter_release(struct ah_mfilter *f);

/*
 * q shorthand -> a filter JSON ({type: group, operator: and, filters:
 * [...]}): terms "field op value" separated by spaces, ANDed; ops
 * ": = != >= <= > <" (":" and "=" are eq); values typed (null true false,
 * numbers, "quoted strings" with \" and \\, else a bare string). 400 naming
 * the term that does not parse.
 */
int ah_mfilter_parse_q(const char *q, json_t **filter, struct ah_err *err);

/*
 * filter JSON (and/or q; both given: ANDed) -> where + binds; sort JSON
 * (an array of {field, direction: asc|desc} or "field[:asc|desc]", at most
 * 5; NULL: updatedAt desc) -> order, always ending with r.n; projection (an
 * array of field names: columns, namespace, metadata, metadata.<path>, or a
 * bare name meaning metadata.<name>) -> projection, the names as given
 * normalized ("status" -> "metadata.status"). Any argument may be NULL.
 * On error f keeps nothing useful; release it anyway.
 */
int ah_mfilter_compile(json_t *filter, const char *q, json_t *sort, json_t *projection,
		       struct ah_mfilter *f, struct ah_err *err);

/*
 * The SQL expression of a field: columns by name (r.key, r.schema_hash,
 * ...), metadata.<path> (or a bare non-column name) as
 * json_extract(r.metadata, '$.<path>') — the text the index maker uses
 * (without the "r.", which CREATE INDEX cannot name: SQLite matches an
 * indexed expression by its columns, not by the alias), so expression
 * indexes on metastore_records match. 400 naming a field that is none.
 */
int ah_mfilter_field_sql(const char *field, struct strbuf *out, struct ah_err *err);

#endif
