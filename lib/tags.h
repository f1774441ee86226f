#ifndef TAGS_H
#define TAGS_H

#include <jansson.h>
#include "state.h"

/*
 * Tags (lib/tags.c): key:value pairs parsed and checked, linked to apps by
 * source, counted for suggestions.
 */
#define AH_TAG_KEY_MAX 64
#define AH_TAG_VALUE_MAX 200

struct ah_tag {
	char key[AH_TAG_KEY_MAX + 1];
	char value[AH_TAG_VALUE_MAX + 1];
};

/* Parses and validates "key:value"; field names the parameter in messages. */
int ah_tag_parse(const char *s, struct ah_tag *tag, const char *field, struct ah_err *err);
/* Parses a JSON tag: "k:v" or {key, value}. */
int ah_tag_from_json(json_t *v, struct ah_tag *tag, const char *field, struct ah_err *err);
/*
 * A list of tags (JSON array of either form) into a new array of unique
 * tags, first seen wins, compared case-insensitively on "k:v".
 */
int ah_tags_from_json(json_t *list, struct ah_tag **out, size_t *nr, const char *field,
		      struct ah_err *err);

/*
 * Links app n to the tag (created when new); an existing link is kept. This
 * is the only way links are made: it keeps tags.app_count.
 */
int ah_tag_link(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		const char *source, struct ah_err *err);
/*
 * ah_tag_link() for an app registered in this transaction, with no links
 * yet. While counts are deferred, the link is only noted, and written with
 * the others in one statement by ah_tags_flush_links(): an import makes
 * hundreds of thousands, and a statement each cost most of their time.
 * Flush before anything reads or changes those apps' links.
 */
int ah_tag_link_new(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		    const char *source, struct ah_err *err);
int ah_tags_flush_links(struct ah_state *st, struct ah_err *err);
int ah_tag_unlink(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		  struct ah_err *err);
/* Removes app n's links from source (every source when NULL). */
int ah_tags_unlink_source(struct ah_state *st, sqlite3_int64 app, const char *source,
			  struct ah_err *err);
/*
 * Defers the app_count updates of ah_tag_link() until the flush, which
 * applies them one statement per distinct tag: a bulk import links the same
 * few tags thousands of times. Meanwhile, within the one transaction,
 * ah_tag_link() also remembers the ids of the tags it has looked up. A
 * failed import rolls back and calls ah_tags_cancel_counts() instead, which
 * also drops the links not yet written.
 */
void ah_tags_defer_counts(struct ah_state *st);
int ah_tags_flush_counts(struct ah_state *st, struct ah_err *err);
void ah_tags_cancel_counts(struct ah_state *st);

/* The tag's row id, or 0 when no such tag exists. */
int ah_tag_lookup(struct ah_state *st, const struct ah_tag *tag, sqlite3_int64 *n,
		  struct ah_err *err);

/*
 * Tag keys starting with prefix (no colon), or key:value pairs (with one),
 * case-insensitively, at most limit: [{type, value, label}].
 */
json_t *ah_tags_suggest(struct ah_state *st, const char *prefix, long limit, struct ah_err *err);

#endif
