/*
 * Tags: key:value pairs parsed and checked, linked to apps by source, and
 * their counts kept for suggestions.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "strbuf.h"
#include "tags.h"
#include "utf8.h"

static int valid_key(const char *k, size_t len)
{
	size_t i;

	if (!len || len > AH_TAG_KEY_MAX || !isalnum((unsigned char)k[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("._-", k[i]))
			return 0;
	return 1;
}

static int valid_value(const char *v, size_t len)
{
	size_t i;

	if (!len || len > AH_TAG_VALUE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return 0;
	return ah_utf8_valid(v, len);
}

static int set_tag(struct ah_tag *tag, const char *k, size_t klen, const char *v, size_t vlen,
		   const char *field, const char *shown, struct ah_err *err)
{
	if (!valid_key(k, klen))
		return ah_invalid(err, "invalid %s '%s': the key must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit",
				  field, shown, AH_TAG_KEY_MAX);
	if (!valid_value(v, vlen))
		return ah_invalid(err, "invalid %s '%s': the value must be 1-%d characters with no spaces",
				  field, shown, AH_TAG_VALUE_MAX);
	memcpy(tag->key, k, klen);
	tag->key[klen] = '\0';
	memcpy(tag->value, v, vlen);
	tag->value[vlen] = '\0';
	return 0;
}

int ah_tag_parse(const char *s, struct ah_tag *tag, const char *field, struct ah_err *err)
{
	const char *colon = strchr(s, ':');

	if (!colon)
		return ah_invalid(err, "invalid %s '%s': must be key:value", field, s);
	return set_tag(tag, s, (size_t)(colon - s), colon + 1, strlen(colon + 1), field, s, err);
}

int ah_tag_from_json(json_t *v, struct ah_tag *tag, const char *field, struct ah_err *err)
{
	const char *k, *val;

	if (json_is_string(v))
		return ah_tag_parse(json_string_value(v), tag, field, err);
	if (!json_is_object(v))
		return ah_invalid(err, "invalid %s: must be \"key:value\" or {key, value}", field);
	k = json_string_value(json_object_get(v, "key"));
	val = json_string_value(json_object_get(v, "value"));
	if (!k || !val)
		return ah_invalid(err, "invalid %s: key and value must be strings", field);
	return set_tag(tag, k, strlen(k), val, strlen(val), field, k, err);
}

int ah_tags_from_json(json_t *list, struct ah_tag **out, size_t *nr, const char *field,
		      struct ah_err *err)
{
	struct ah_tag *tags = NULL;
	size_t i, j, n = 0;

	*out = NULL;
	*nr = 0;
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return ah_invalid(err, "invalid %s: must be a list", field);
	tags = xcalloc(json_array_size(list), sizeof(*tags));
	for (i = 0; i < json_array_size(list); i++) {
		if (ah_tag_from_json(json_array_get(list, i), &tags[n], field, err) < 0) {
			free(tags);
			return -1;
		}
		for (j = 0; j < n; j++)
			if (!strcasecmp(tags[j].key, tags[n].key) &&
			    !strcasecmp(tags[j].value, tags[n].value))
				break;
		if (j == n)
			n++;
	}
	*out = tags;
	*nr = n;
	return 0;
}

int ah_tag_lookup(struct ah_state *st, const struct ah_tag *tag, sqlite3_int64 *n,
		  struct ah_err *err)
{
	static const char sql[] = "SELECT n FROM tags WHERE key = ? AND value = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	*n = 0;
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, tag->key);
	ah_bind_text(stmt, 2, tag->value);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot look up tag");
	return 0;
}

static const char sql_count[] = "UPDATE tags SET app_count = app_count + ?2 WHERE n = ?1";

static int add_count(struct ah_state *st, sqlite3_int64 tag, sqlite3_int64 by, struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql_count, err);
	int rc;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, tag);
	sqlite3_bind_int64(stmt, 2, by);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : ah_sql_error(st, err, "cannot count tag");
}

/*
 * The tag ids of a bulk import, in a hash table keyed by "key\0value" in
 * lowercase ASCII, as the NOCASE columns compare them: the import links a
 * few hundred tags six hundred thousand times, and each SQL lookup cost
 * about as much as the link itself. Tags are never deleted, and the table
 * lives no longer than the import's transaction.
 */
struct ah_tag_id {
	char kv[AH_TAG_KEY_MAX + AH_TAG_VALUE_MAX + 2];
	size_t len;
	sqlite3_int64 n;
};

static size_t tag_id_key(const struct ah_tag *tag, char *kv)
{
	size_t k = strlen(tag->key), v = strlen(tag->value), i;

	for (i = 0; i < k; i++)
		kv[i] = (char)tolower((unsigned char)tag->key[i]);
	kv[k] = '\0';
	for (i = 0; i < v; i++)
		kv[k + 1 + i] = (char)tolower((unsigned char)tag->value[i]);
	return k + 1 + v;
}

static size_t tag_id_hash(const char *kv, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)kv[i]) * 16777619u;
	return h;
}

/* The slot of kv: its entry, or the empty one where it would go. */
static struct ah_tag_id *tag_id_slot(struct ah_tag_id *ids, size_t cap, const char *kv, size_t len)
{
	size_t i = tag_id_hash(kv, len) & (cap - 1);

	while (ids[i].n && (ids[i].len != len || memcmp(ids[i].kv, kv, len)))
		i = (i + 1) & (cap - 1);
	return &ids[i];
}

static sqlite3_int64 tag_id_get(struct ah_state *st, const struct ah_tag *tag)
{
	char kv[AH_TAG_KEY_MAX + AH_TAG_VALUE_MAX + 2];
	size_t len;

	if (!st->tag_ids_cap)
		return 0;
	len = tag_id_key(tag, kv);
	return tag_id_slot(st->tag_ids, st->tag_ids_cap, kv, len)->n;
}

static void tag_id_put(struct ah_state *st, const struct ah_tag *tag, sqlite3_int64 n)
{
	struct ah_tag_id *slot;
	char kv[AH_TAG_KEY_MAX + AH_TAG_VALUE_MAX + 2];
	size_t len, i;

	if (2 * (st->tag_ids_nr + 1) > st->tag_ids_cap) {
		struct ah_tag_id *old = st->tag_ids;
		size_t old_cap = st->tag_ids_cap;

		st->tag_ids_cap = old_cap ? 2 * old_cap : 256;
		st->tag_ids = xcalloc(st->tag_ids_cap, sizeof(*st->tag_ids));
		for (i = 0; i < old_cap; i++)
			if (old[i].n)
				*tag_id_slot(st->tag_ids, st->tag_ids_cap, old[i].kv, old[i].len) = old[i];
		free(old);
	}
	len = tag_id_key(tag, kv);
	slot = tag_id_slot(st->tag_ids, st->tag_ids_cap, kv, len);
	if (!slot->n)
		st->tag_ids_nr++;
	memcpy(slot->kv, kv, len);
	slot->len = len;
	slot->n = n;
}

void ah_tags_defer_counts(struct ah_state *st)
{
	st->defer_tag_counts = 1;
	st->tag_counts_nr = 0;
}

void ah_tags_cancel_counts(struct ah_state *st)
{
	if (st->links)
		st->links->nr = 0;
	st->links_source = NULL;
	st->defer_tag_counts = 0;
	st->tag_counts_nr = 0;
	free(st->tag_ids);
	st->tag_ids = NULL;
	st->tag_ids_nr = st->tag_ids_cap = 0;
}

static int cmp_int64(const void *a, const void *b)
{
	sqlite3_int64 x = *(const sqlite3_int64 *)a, y = *(const sqlite3_int64 *)b;

	return x < y ? -1 : x > y;
}

int ah_tags_flush_counts(struct ah_state *st, struct ah_err *err)
{
	size_t i, j;
	int ret = 0;

	if (st->tag_counts_nr)
		qsort(st->tag_counts, st->tag_counts_nr, sizeof(*st->tag_counts), cmp_int64);
	for (i = 0; i < st->tag_counts_nr && !ret; i = j) {
		for (j = i; j < st->tag_counts_nr && st->tag_counts[j] == st->tag_counts[i]; j++)
			;
		ret = add_count(st, st->tag_counts[i], (sqlite3_int64)(j - i), err);
	}
	ah_tags_cancel_counts(st);
	return ret;
}

/* The tag's id, the tag stored when new; remembered while counts are deferred. */
static int tag_id(struct ah_state *st, const struct ah_tag *tag, sqlite3_int64 *n,
		  struct ah_err *err)
{
	static const char sql_tag[] =
		"INSERT INTO tags(key, value) VALUES (?, ?) ON CONFLICT DO NOTHING";
	sqlite3_stmt *stmt;
	int rc;

	*n = st->defer_tag_counts ? tag_id_get(st, tag) : 0;
	if (*n)
		return 0;
	if (ah_tag_lookup(st, tag, n, err) < 0)
		return -1;
	if (!*n) {
		if (!(stmt = ah_stmt(st, sql_tag, err)))
			return -1;
		ah_bind_text(stmt, 1, tag->key);
		ah_bind_text(stmt, 2, tag->value);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE)
			return ah_sql_error(st, err, "cannot store tag");
		*n = sqlite3_last_insert_rowid(st->db);
	}
	if (st->defer_tag_counts)
		tag_id_put(st, tag, *n);
	return 0;
}

static void count_later(struct ah_state *st, sqlite3_int64 tag)
{
	if (st->tag_counts_nr == st->tag_counts_alloc) {
		st->tag_counts_alloc = st->tag_counts_alloc ? 2 * st->tag_counts_alloc : 1024;
		st->tag_counts = xrealloc(st->tag_counts, st->tag_counts_alloc * sizeof(*st->tag_counts));
	}
	st->tag_counts[st->tag_counts_nr++] = tag;
}

int ah_tag_link(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		const char *source, struct ah_err *err)
{
	static const char sql_link[] =
		"INSERT OR IGNORE INTO app_tags(app, tag, source) VALUES (?, ?, ?)";
	sqlite3_stmt *stmt;
	sqlite3_int64 n;
	int rc;

	if (tag_id(st, tag, &n, err) < 0 || !(stmt = ah_stmt(st, sql_link, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	sqlite3_bind_int64(stmt, 2, n);
	ah_bind_text(stmt, 3, source);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot tag app");
	if (!sqlite3_changes(st->db))
		return 0;
	if (!st->defer_tag_counts)
		return add_count(st, n, 1, err);
	count_later(st, n);
	return 0;
}

int ah_tag_link_new(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		    const char *source, struct ah_err *err)
{
	sqlite3_int64 row[2];
	size_t i;

	if (!st->defer_tag_counts)
		return ah_tag_link(st, app, tag, source, err);
	if (st->links_source && strcmp(st->links_source, source) &&
	    ah_tags_flush_links(st, err) < 0)
		return -1;
	if (tag_id(st, tag, &row[1], err) < 0)
		return -1;
	if (!st->links) {
		st->links = xcalloc(1, sizeof(*st->links));
		st->links->ncols = 2;
	}
	/* The app's links are the last ones: a tag twice is linked once. */
	for (i = st->links->nr; i-- > 0 && st->links->v[2 * i] == app; )
		if (st->links->v[2 * i + 1] == row[1])
			return 0;
	row[0] = app;
	st->links_source = source;
	ah_int_rows_add(st->links, row);
	count_later(st, row[1]);
	return 0;
}

int ah_tags_flush_links(struct ah_state *st, struct ah_err *err)
{
	/*
	 * A plain INSERT: the apps are new, so a link that exists already is
	 * a bug, and ignoring it would count it twice.
	 */
	static const char sql[] =
		AH_ROWS_WITH
		" INSERT INTO app_tags(app, tag, source)"
		" SELECT ah_int_row(?1, x, 0), ah_int_row(?1, x, 1), ?3 FROM i";
	sqlite3_stmt *stmt;
	int ret;

	if (!st->links)
		return 0;
	if ((ret = ah_rows_stmt(st, sql, st->links, AH_INT_ROWS_PTR, st->links->nr, &stmt, err)) <= 0)
		return ret;
	ah_bind_text(stmt, 3, st->links_source);
	ret = ah_step_done(st, stmt, "cannot tag apps", err);
	st->links->nr = 0;
	st->links_source = NULL;
	return ret;
}

int ah_tag_unlink(struct ah_state *st, sqlite3_int64 app, const struct ah_tag *tag,
		  struct ah_err *err)
{
	static const char sql[] = "DELETE FROM app_tags WHERE app = ? AND tag = ?";
	sqlite3_stmt *stmt;
	sqlite3_int64 n;

	if (ah_tag_lookup(st, tag, &n, err) < 0)
		return -1;
	if (!n)
		return 0;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	sqlite3_bind_int64(stmt, 2, n);
	return ah_step_done(st, stmt, "cannot untag app", err);
}

int ah_tags_unlink_source(struct ah_state *st, sqlite3_int64 app, const char *source,
			  struct ah_err *err)
{
	static const char sql[] =
		"DELETE FROM app_tags WHERE app = ?1 AND (?2 IS NULL OR source = ?2)";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, app);
	ah_bind_text(stmt, 2, source);
	return ah_step_done(st, stmt, "cannot untag app", err);
}

/* The exclusive upper bound of the strings that start with prefix. */
static char *prefix_end(const char *prefix)
{
	/* No UTF-8 text holds 0xff, so prefix + 0xff sorts after every extension. */
	return xstrfmt("%s\xff", prefix);
}

/*
 * Keys by prefix without ':', key:value pairs with it; ranges over the
 * NOCASE index rather than LIKE, so '%' and '_' are plain characters.
 */
json_t *ah_tags_suggest(struct ah_state *st, const char *p, long limit, struct ah_err *err)
{
	static const char sql_keys[] =
		"SELECT key, sum(app_count) AS c FROM tags"
		" WHERE key >= ?1 AND key < ?2 AND app_count > 0"
		" GROUP BY key ORDER BY key, c DESC LIMIT ?3";
	static const char sql_pairs[] =
		"SELECT key, value FROM tags"
		" WHERE key >= ?1 AND key < ?2 AND value >= ?4 AND value < ?5 AND app_count > 0"
		" ORDER BY key, value, app_count DESC LIMIT ?3";
	struct strbuf prefix = STRBUF_INIT;
	sqlite3_stmt *stmt = NULL;
	const char *colon;
	char *kend = NULL, *vend = NULL, *k = NULL;
	json_t *data = NULL;
	int rc, ret = -1;
	size_t i;

	strbuf_addstr(&prefix, p ? p : "");
	strbuf_trim(&prefix);
	for (i = 0; i < prefix.len; i++)
		prefix.buf[i] = (char)tolower((unsigned char)prefix.buf[i]);
	colon = strchr(prefix.buf, ':');
	if (!colon) {
		kend = prefix_end(prefix.buf);
		if (!(stmt = ah_stmt(st, sql_keys, err)))
			goto done;
		ah_bind_text(stmt, 1, prefix.buf);
	} else {
		k = xstrndup(prefix.buf, (size_t)(colon - prefix.buf));
		kend = prefix_end(k);
		vend = prefix_end(colon + 1);
		if (!(stmt = ah_stmt(st, sql_pairs, err)))
			goto done;
		ah_bind_text(stmt, 1, k);
		ah_bind_text(stmt, 4, colon + 1);
		ah_bind_text(stmt, 5, vend);
	}
	ah_bind_text(stmt, 2, kend);
	sqlite3_bind_int64(stmt, 3, limit);
	data = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *key = ah_col_text(stmt, 0);
		char *value = colon ? xstrfmt("%s:%s", key, ah_col_text(stmt, 1)) : xstrdup(key);

		json_array_append_new(data, json_pack("{s:s, s:s, s:s}",
						      "type", colon ? "pair" : "key",
						      "value", value, "label", value));
		free(value);
	}
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot suggest tags");
		goto done;
	}
	ret = 0;
done:
	if (stmt)
		sqlite3_reset(stmt);
	if (ret < 0) {
		json_decref(data);
		data = NULL;
	}
	strbuf_release(&prefix);
	free(k);
	free(kend);
	free(vend);
	return data;
}
