/*
 * App search: words (stemmed, full-text) and key:value tags, sorted by
 * relevance, name or time, with the facets of the matches.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "apps.h"
#include "search.h"
#include "params.h"
#include "strbuf.h"
#include "tags.h"

#define MAX_TAG_FILTERS 16

struct query {
	json_t *tokens;		/* text tokens, lowercased, unique */
	json_t *tag_names;	/* tag filters as given, for meta */
	sqlite3_int64 tag_ids[MAX_TAG_FILTERS];
	size_t nr_tags;
	int no_match;		/* a tag filter names no known tag */
	const char *status;
	const char *sort;
	int facets;		/* compute the facets (the default) */
	double w_name, w_description, w_tags;
	long limit, offset;
};

void ah_search_words(const char *s, json_t *words)
{
	struct strbuf tok = STRBUF_INIT;

	for (;; s++) {
		unsigned char c = (unsigned char)*s;

		/*
		 * Words are runs of ASCII letters and digits, as the original split
		 * them, and also of non-ASCII letters, which it dropped: FTS5
		 * folds case and diacritics in the phrase, so "café" finds "Café".
		 */
		if (c >= 0x80 || (c && isalnum(c))) {
			strbuf_addch(&tok, c < 0x80 ? tolower(c) : c);
			continue;
		}
		if (tok.len && json_array_size(words) < AH_SEARCH_MAX_WORDS) {
			size_t i;

			for (i = 0; i < json_array_size(words); i++)
				if (!strcmp(json_string_value(json_array_get(words, i)), tok.buf))
					break;
			if (i == json_array_size(words))
				json_array_append_new(words, json_string(tok.buf));
		}
		strbuf_reset(&tok);
		if (!c)
			break;
	}
	strbuf_release(&tok);
}

/* A tag filter; one with an empty key or value is ignored, as documented. */
static int add_tag_filter(struct ah_state *st, struct query *q, const char *s, struct ah_err *err)
{
	const char *colon = strchr(s, ':');
	struct ah_tag tag;
	sqlite3_int64 n;

	if (!colon || colon == s || !colon[1])
		return 0;
	if (ah_tag_parse(s, &tag, "tag", err) < 0)
		return -1;
	if (q->nr_tags == MAX_TAG_FILTERS)
		return ah_invalid(err, "invalid tag: at most %d tag filters", MAX_TAG_FILTERS);
	if (ah_tag_lookup(st, &tag, &n, err) < 0)
		return -1;
	if (!n)
		q->no_match = 1;
	q->tag_ids[q->nr_tags++] = n;
	json_array_append_new(q->tag_names, json_sprintf("%s:%s", tag.key, tag.value));
	return 0;
}

static int parse_weights(struct query *q, const char *s, struct ah_err *err)
{
	char *copy, *item, *save = NULL;
	int ret = 0;

	if (!s || !*s)
		return 0;
	copy = xstrdup(s);
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':'), *end;
		double w;

		if (!colon)
			goto bad;
		*colon = '\0';
		w = strtod(colon + 1, &end);
		if (end == colon + 1 || *end || !(w >= 0 && w <= 1000))
			goto bad;
		if (!strcmp(item, "name"))
			q->w_name = w;
		else if (!strcmp(item, "description"))
			q->w_description = w;
		else if (!strcmp(item, "tags"))
			q->w_tags = w;
		else
			goto bad;
	}
	goto done;
bad:
	ret = ah_invalid(err, "invalid weights '%s': must be like name:4,description:1.5,tags:2", s);
done:
	free(copy);
	return ret;
}

static int parse_query(struct ah_state *st, json_t *params, struct query *q, struct ah_err *err)
{
	json_t *tags = NULL;
	const char *text, *weights;
	char *copy = NULL, *tok, *save = NULL;
	size_t i;
	int ret = -1;

	q->tokens = json_array();
	q->tag_names = json_array();
	q->w_name = 4;
	q->w_description = 1.5;
	q->w_tags = 2;
	if (ah_param_str(params, "q", &text, err) < 0 ||
	    ah_param_strlist(params, "tags", &tags, err) < 0 ||
	    ah_param_str(params, "status", &q->status, err) < 0 ||
	    ah_param_str(params, "sort", &q->sort, err) < 0 ||
	    ah_param_str(params, "weights", &weights, err) < 0 ||
	    ah_param_int(params, "limit", 50, 1, 1000, &q->limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 100000000, &q->offset, err) < 0 ||
	    parse_weights(q, weights, err) < 0)
		goto done;
	q->facets = 1;
	if (json_object_get(params, "facets") && ah_param_bool(params, "facets", &q->facets, err) < 0)
		goto done;
	if (q->status && *q->status && strcmp(q->status, "pending") && strcmp(q->status, "processing") &&
	    strcmp(q->status, "ready") && strcmp(q->status, "failed")) {
		ah_invalid(err, "invalid status '%s': must be pending, processing, ready or failed",
			   q->status);
		goto done;
	}
	if (q->status && !*q->status)
		q->status = NULL;
	copy = xstrdup(text ? text : "");
	for (tok = strtok_r(copy, " \t\n\r", &save); tok; tok = strtok_r(NULL, " \t\n\r", &save)) {
		if (strchr(tok, ':')) {
			if (add_tag_filter(st, q, tok, err) < 0)
				goto done;
		} else {
			ah_search_words(tok, q->tokens);
		}
	}
	for (i = 0; i < json_array_size(tags); i++)
		if (add_tag_filter(st, q, json_string_value(json_array_get(tags, i)), err) < 0)
			goto done;
	if (!q->sort || !*q->sort)
		q->sort = json_array_size(q->tokens) ? "relevance" : "updated";
	if (strcmp(q->sort, "relevance") && strcmp(q->sort, "updated") && strcmp(q->sort, "name")) {
		ah_invalid(err, "invalid sort '%s': must be relevance, updated or name", q->sort);
		goto done;
	}
	ret = 0;
done:
	free(copy);
	json_decref(tags);
	return ret;
}

#define FACET_MAX 50

struct facets {
	json_t *tags, *statuses, *owners, *frameworks;
};

static void facets_release(struct facets *f)
{
	json_decref(f->tags);
	json_decref(f->statuses);
	json_decref(f->owners);
	json_decref(f->frameworks);
}

static void facet_add(json_t *list, const char *value, sqlite3_int64 count)
{
	if (json_array_size(list) < FACET_MAX)
		json_array_append_new(list, json_pack("{s:s, s:I}", "value", value,
						      "count", (json_int_t)count));
}

/* Every tag of the matches with its count, in SQL, for the many-tags case. */
static const char sql_facet_tags_m[] =
	"SELECT t.key, t.value, x.c FROM (SELECT at.tag, count(*) AS c FROM m"
	" CROSS JOIN app_tags at ON at.app = m.n GROUP BY at.tag) x"
	" CROSS JOIN tags t ON t.n = x.tag ORDER BY x.c DESC, t.key, t.value";

static void facets_init(struct facets *f)
{
	f->tags = json_array();
	f->owners = json_array();
	f->frameworks = json_array();
}

/* Rows come by count, descending: the top tags, owners and frameworks. */
static void facets_row(struct facets *f, const char *key, const char *value, sqlite3_int64 c)
{
	if (json_array_size(f->tags) < FACET_MAX) {
		char *pair = xstrfmt("%s:%s", key, value);

		facet_add(f->tags, pair, c);
		free(pair);
	}
	if (!strcasecmp(key, "owner"))
		facet_add(f->owners, value, c);
	else if (!strcasecmp(key, "framework"))
		facet_add(f->frameworks, value, c);
}

/* sql yields (key, value, count) by count. */
static int tag_facets(struct ah_state *st, const char *sql, struct facets *f, struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	facets_init(f);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		facets_row(f, ah_col_text(stmt, 0), ah_col_text(stmt, 1),
			   sqlite3_column_int64(stmt, 2));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot compute facets");
	return 0;
}

/*
 * The tag facets of the matches in m. Their links are counted in a hash
 * table here: GROUP BY would sort every link, tens of thousands for a
 * popular tag. Only the distinct tags are then looked up and sorted; when
 * there are very many of them SQL does the whole job instead.
 */
#define MAX_COUNTED_TAGS 4096

struct tag_count {
	sqlite3_int64 tag, count;
	char *key, *value;
};

static int by_count(const void *a, const void *b)
{
	const struct tag_count *x = a, *y = b;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcasecmp(x->key, y->key)))
		return c;
	return strcasecmp(x->value, y->value);
}

static int count_links(struct ah_state *st, struct tag_count **out, size_t *nr,
		       struct ah_err *err)
{
	static const char sql_links[] =
		"SELECT at.tag FROM m CROSS JOIN app_tags at ON at.app = m.n";
	size_t cap = 1024, used = 0, i;
	struct tag_count *slots = xcalloc(cap, sizeof(*slots));
	sqlite3_stmt *stmt = ah_stmt(st, sql_links, err);
	int rc, ret = -1;

	if (!stmt)
		goto done;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sqlite3_int64 tag = sqlite3_column_int64(stmt, 0);

		if (2 * (used + 1) > cap) {
			struct tag_count *old = slots;
			size_t old_cap = cap;

			if (used >= MAX_COUNTED_TAGS) {
				sqlite3_reset(stmt);
				ret = 1;
				goto done;
			}
			cap *= 2;
			slots = xcalloc(cap, sizeof(*slots));
			for (i = 0; i < old_cap; i++) {
				size_t h = (size_t)old[i].tag * 0x9e3779b97f4a7c15ull & (cap - 1);

				if (!old[i].tag)
					continue;
				while (slots[h].tag)
					h = (h + 1) & (cap - 1);
				slots[h] = old[i];
			}
			free(old);
		}
		i = (size_t)tag * 0x9e3779b97f4a7c15ull & (cap - 1);
		while (slots[i].tag && slots[i].tag != tag)
			i = (i + 1) & (cap - 1);
		if (!slots[i].tag) {
			slots[i].tag = tag;
			used++;
		}
		slots[i].count++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot compute facets");
		goto done;
	}
	for (i = 0, *nr = 0; i < cap; i++)
		if (slots[i].tag)
			slots[(*nr)++] = slots[i];
	*out = slots;
	slots = NULL;
	ret = 0;
done:
	free(slots);
	return ret;
}

static int match_facets(struct ah_state *st, struct facets *f, struct ah_err *err)
{
	static const char sql_tag[] = "SELECT key, value FROM tags WHERE n = ?";
	struct tag_count *tags = NULL;
	sqlite3_stmt *stmt;
	size_t nr = 0, i;
	int ret = -1, rc;

	rc = count_links(st, &tags, &nr, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return tag_facets(st, sql_facet_tags_m, f, err);
	if (!(stmt = ah_stmt(st, sql_tag, err)))
		goto done;
	for (i = 0; i < nr; i++) {
		sqlite3_bind_int64(stmt, 1, tags[i].tag);
		rc = sqlite3_step(stmt);
		tags[i].key = xstrdup(rc == SQLITE_ROW ? ah_col_text(stmt, 0) : "");
		tags[i].value = xstrdup(rc == SQLITE_ROW ? ah_col_text(stmt, 1) : "");
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW) {
			nr = i + 1;
			ah_sql_error(st, err, "cannot compute facets");
			goto done;
		}
	}
	qsort(tags, nr, sizeof(*tags), by_count);
	facets_init(f);
	for (i = 0; i < nr; i++)
		facets_row(f, tags[i].key, tags[i].value, tags[i].count);
	ret = 0;
done:
	for (i = 0; i < nr; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
	return ret;
}

static int status_facet(struct ah_state *st, const char *sql, struct facets *f,
			struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	f->statuses = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		facet_add(f->statuses, ah_col_text(stmt, 0), sqlite3_column_int64(stmt, 1));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot compute facets");
	return 0;
}

/*
 * The matches go into a temporary table m(n, score) once; the count, the
 * page and every facet then read it. An unfiltered listing skips it: the
 * counts kept on tags and the indexes on apps answer directly.
 */
static const char sql_m_reset[] =
	"CREATE TEMP TABLE IF NOT EXISTS m(n INTEGER PRIMARY KEY, score REAL);"
	"DELETE FROM m";

static const char sql_facet_status_m[] =
	"SELECT a.status, count(*) AS c FROM m CROSS JOIN apps a INDEXED BY apps_n_status ON a.n = m.n"
	" GROUP BY a.status ORDER BY c DESC, a.status";
static const char sql_facet_tags_all[] =
	"SELECT key, value, app_count AS c FROM tags WHERE app_count > 0"
	" ORDER BY c DESC, key, value";
static const char sql_facet_status_all[] =
	"SELECT status, count(*) AS c FROM apps GROUP BY status ORDER BY c DESC, status";

/* Ties in score go to the newer registration, without reading the apps. */
static const char sql_page_relevance[] =
	"SELECT n FROM m ORDER BY score, n DESC LIMIT ?1 OFFSET ?2";
static const char sql_page_updated_m[] =
	"SELECT m.n FROM m CROSS JOIN apps a INDEXED BY apps_n_status ON a.n = m.n"
	" ORDER BY a.updated_at DESC, a.n DESC LIMIT ?1 OFFSET ?2";
/* Many matches: walk the updated_at index and stop at the page. */
static const char sql_page_updated_many[] =
	"SELECT a.n FROM apps a INDEXED BY apps_updated WHERE a.n IN (SELECT n FROM m)"
	" ORDER BY a.updated_at DESC, a.n DESC LIMIT ?1 OFFSET ?2";
static const char sql_page_name_m[] =
	"SELECT m.n FROM m CROSS JOIN apps a ON a.n = m.n"
	" ORDER BY a.name COLLATE NOCASE, a.id LIMIT ?1 OFFSET ?2";
static const char sql_page_updated_all[] =
	"SELECT n FROM apps ORDER BY updated_at DESC, n DESC LIMIT ?1 OFFSET ?2";
static const char sql_page_name_all[] =
	"SELECT n FROM apps ORDER BY name COLLATE NOCASE, id LIMIT ?1 OFFSET ?2";
static const char sql_count_m[] = "SELECT count(*) FROM m";
static const char sql_count_all[] = "SELECT count(*) FROM apps";

#define TAG_BITMAP_MAX_BITS ((sqlite3_uint64)1 << 27)

/*
 * Sets b to the apps carrying every tag filter of q; leaves b->bits NULL
 * when app numbers run so high that the bitmap would be too large.
 */
static int tag_bitmap(struct ah_state *st, struct query *q, struct ah_bitmap *b,
		      struct ah_err *err)
{
	static const char sql_max[] = "SELECT coalesce(max(n), 0) FROM apps";
	static const char sql_links[] = "SELECT app FROM app_tags WHERE tag = ?";
	unsigned char *one = NULL;
	sqlite3_stmt *stmt;
	size_t i, j, size;
	int rc, ret = -1;

	if (!(stmt = ah_stmt(st, sql_max, err)))
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return ah_sql_error(st, err, "cannot search");
	}
	b->nbits = (sqlite3_uint64)sqlite3_column_int64(stmt, 0) + 1;
	sqlite3_reset(stmt);
	if (b->nbits > TAG_BITMAP_MAX_BITS)
		return 0;
	size = (size_t)(b->nbits + 7) / 8;
	b->bits = xcalloc(size, 1);
	one = xcalloc(size, 1);
	if (!(stmt = ah_stmt(st, sql_links, err)))
		goto done;
	for (i = 0; i < q->nr_tags; i++) {
		unsigned char *dst = i ? one : b->bits;

		if (i)
			memset(one, 0, size);
		sqlite3_bind_int64(stmt, 1, q->tag_ids[i]);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			sqlite3_int64 n = sqlite3_column_int64(stmt, 0);

			if (n >= 0 && (sqlite3_uint64)n < b->nbits)
				dst[n >> 3] |= 1 << (n & 7);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			ah_sql_error(st, err, "cannot search");
			goto done;
		}
		for (j = 0; i && j < size; j++)
			b->bits[j] &= one[j];
	}
	ret = 0;
done:
	free(one);
	return ret;
}

/*
 * Fills m with the apps matching every filter, from fixed fragments and
 * bound values only. The most selective source drives: the full-text match
 * when there are words (bm25 is computed only for the rows that pass the
 * other filters), else the first tag's links, else the status index.
 * The full-text match meets the tag filters in a bitmap of their apps: it
 * may yield most of the catalogue (a short prefix), and a bit test per row
 * is cheaper than a b-tree probe.
 */
static int fill_matches(struct ah_state *st, struct query *q, struct ah_err *err)
{
	struct strbuf sql = STRBUF_INIT, match = STRBUF_INIT;
	struct ah_bitmap tags = { 0 };
	sqlite3_stmt *stmt = NULL;
	int bind = 1, ret = -1;
	size_t i, first_tag = 0;
	const char *id;

	if (ah_exec(st, sql_m_reset, err) < 0)
		goto done;
	if (q->no_match)
		return 0;
	if (json_array_size(q->tokens)) {
		for (i = 0; i < json_array_size(q->tokens); i++)
			strbuf_addf(&match, "%s\"%s\"*", i ? " AND " : "",
				    json_string_value(json_array_get(q->tokens, i)));
		/* The Dockerfile path weighs 1, less than any of the default weights. */
		strbuf_addstr(&sql, "INSERT INTO m(n, score) SELECT rowid, bm25(apps_fts, ?, ?, ?, 1)"
			      " FROM apps_fts WHERE apps_fts MATCH ?");
		if (q->nr_tags && tag_bitmap(st, q, &tags, err) < 0)
			goto done;
		if (tags.bits) {
			strbuf_addstr(&sql, " AND ah_in_bitmap(?, rowid)");
			first_tag = q->nr_tags;
		}
		id = "rowid";
	} else if (q->nr_tags) {
		strbuf_addstr(&sql, "INSERT INTO m(n, score) SELECT app, 0 FROM app_tags WHERE tag = ?");
		first_tag = 1;
		id = "app";
	} else {
		strbuf_addstr(&sql, "INSERT INTO m(n, score) SELECT n, 0 FROM apps WHERE status = ?");
		id = "n";
	}
	for (i = first_tag; i < q->nr_tags; i++)
		strbuf_addf(&sql, " AND %s IN (SELECT app FROM app_tags WHERE tag = ?)", id);
	if (q->status && (json_array_size(q->tokens) || q->nr_tags))
		strbuf_addf(&sql, " AND (SELECT status FROM apps WHERE n = %s) = ?", id);
	if (sqlite3_prepare_v2(st->db, sql.buf, -1, &stmt, NULL) != SQLITE_OK) {
		ah_sql_error(st, err, "cannot search");
		goto done;
	}
	if (match.len) {
		sqlite3_bind_double(stmt, bind++, q->w_name);
		sqlite3_bind_double(stmt, bind++, q->w_description);
		sqlite3_bind_double(stmt, bind++, q->w_tags);
		ah_bind_text(stmt, bind++, match.buf);
		if (tags.bits)
			sqlite3_bind_pointer(stmt, bind++, &tags, AH_BITMAP_PTR, NULL);
	}
	if (!match.len && !q->nr_tags)
		ah_bind_text(stmt, bind++, q->status);
	for (i = 0; i < q->nr_tags && !tags.bits; i++)
		sqlite3_bind_int64(stmt, bind++, q->tag_ids[i]);
	if (q->status && (match.len || q->nr_tags))
		ah_bind_text(stmt, bind++, q->status);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot search");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	free(tags.bits);
	strbuf_release(&sql);
	strbuf_release(&match);
	return ret;
}

static int count(struct ah_state *st, const char *sql, json_int_t *total, struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	rc = sqlite3_step(stmt);
	*total = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : ah_sql_error(st, err, "cannot count apps");
}

static int page(struct ah_state *st, const char *sql, struct query *q, json_t *data,
		struct ah_err *err)
{
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	sqlite3_int64 ns[1000];
	size_t nr = 0, i;
	int rc;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, q->limit);
	sqlite3_bind_int64(stmt, 2, q->offset);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && nr < 1000)
		ns[nr++] = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot list apps");
	for (i = 0; i < nr; i++) {
		json_t *app = ah_app_json(st, ns[i], err);

		if (!app)
			return -1;
		/* The README belongs to the app page (apps show), not to listings. */
		json_object_del(app, "readme");
		json_array_append_new(data, app);
	}
	return 0;
}

/*
 * The search of apps.search (its parameters as lib/ops-search.c takes them).
 * facets:false leaves the facets out: counting every tag of every match is
 * most of the work of a broad search, and a listing that only prints the
 * page (apps search without --json) has no use for them.
 */
int ah_apps_search(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	struct query q = { 0 };
	struct facets f = { 0 };
	json_t *data = json_array();
	json_int_t total = 0;
	int all, in_tx = 0, ret = -1;
	const char *page_sql;

	if (ah_begin_read(st, err) < 0)
		goto done;
	in_tx = 1;
	if (parse_query(st, params, &q, err) < 0)
		goto done;
	all = !json_array_size(q.tokens) && !q.nr_tags && !q.status && !q.no_match;
	if (all) {
		page_sql = !strcmp(q.sort, "name") ? sql_page_name_all : sql_page_updated_all;
		if (count(st, sql_count_all, &total, err) < 0 || page(st, page_sql, &q, data, err) < 0)
			goto done;
		if (q.facets && (tag_facets(st, sql_facet_tags_all, &f, err) < 0 ||
				 status_facet(st, sql_facet_status_all, &f, err) < 0))
			goto done;
	} else {
		if (!strcmp(q.sort, "name"))
			page_sql = sql_page_name_m;
		else if (!strcmp(q.sort, "relevance") && json_array_size(q.tokens))
			page_sql = sql_page_relevance;
		else
			page_sql = sql_page_updated_m;
		if (fill_matches(st, &q, err) < 0 || count(st, sql_count_m, &total, err) < 0)
			goto done;
		if (page_sql == sql_page_updated_m && total >= 1000)
			page_sql = sql_page_updated_many;
		if (page(st, page_sql, &q, data, err) < 0)
			goto done;
		if (q.facets && (match_facets(st, &f, err) < 0 ||
				 status_facet(st, sql_facet_status_m, &f, err) < 0))
			goto done;
	}
	*out = json_pack("{s:O, s:I, s:o*, s:{s:O, s:O, s:s, s:{s:f, s:f, s:f}, s:I, s:I}}",
			 "data", data, "total", total,
			 "facets", !q.facets ? NULL :
			 json_pack("{s:O, s:O, s:O, s:O}", "tags", f.tags, "statuses", f.statuses,
				   "owners", f.owners, "frameworks", f.frameworks),
			 "meta", "tokens", q.tokens, "tags", q.tag_names, "sort", q.sort,
			 "weights", "name", q.w_name, "description", q.w_description, "tags", q.w_tags,
			 "limit", (json_int_t)q.limit, "offset", (json_int_t)q.offset);
	ret = 0;
done:
	if (in_tx)
		ah_rollback(st);
	json_decref(data);
	facets_release(&f);
	json_decref(q.tokens);
	json_decref(q.tag_names);
	return ret;
}
