/*
 * Metastore records: each write checks its input, compares versions,
 * writes the record and its audit row (the store's next revision, with the
 * record as it became) and its event, in one transaction.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"
#include "events.h"
#include "metastore.h"
#include "params.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"

/* A record as read: its row, and what it holds. */
struct rec {
	sqlite3_int64 n;	/* 0: there is none */
	json_t *json;		/* the record's JSON */
	long version;
	int deleted;
};

/* A string field of o, "" when absent or null. */
/*
 * An audit row's record (the table aliased a): the latest change of a
 * record is written without a copy, and the record row, at that version,
 * is it; migration 14's trigger copies it into the row before the record
 * changes again. A bulk load writes each record once, not twice.
 */
#define AUDIT_RECORD \
	"coalesce(a.record, (SELECT json_object('namespace', r.namespace, 'key', r.key," \
	" 'metadata', json(r.metadata), 'tags', json(r.tags), 'owner', r.owner," \
	" 'schemaHash', r.schema_hash, 'version', r.version, 'createdAt', r.created_at," \
	" 'updatedAt', r.updated_at, 'deletedAt', r.deleted_at, 'createdBy', r.created_by," \
	" 'updatedBy', r.updated_by) FROM metastore_records r WHERE r.namespace = a.namespace" \
	" AND r.key = a.key AND r.version = a.version AND a.action <> 'purged'))"

static const char *jstr_or(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void rec_release(struct rec *r)
{
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

int ah_ms_namespace_check(const char *ns, struct ah_err *err)
{
	size_t n = ns ? strlen(ns) : 0;

	if (!n || n > AH_MS_NAMESPACE_MAX || !isalnum((unsigned char)*ns) ||
	    strspn(ns, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-") != n)
		return ah_invalid(err, "invalid namespace '%.140s': 1 to %d of A-Z a-z 0-9 : . _ -, from a letter or digit",
				  ns ? ns : "", AH_MS_NAMESPACE_MAX);
	return 0;
}

int ah_ms_key_check(const char *key, struct ah_err *err)
{
	size_t n = key ? strlen(key) : 0, i;

	if (!n || n > AH_MS_KEY_MAX)
		return ah_invalid(err, "invalid key: 1 to %d bytes", AH_MS_KEY_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return ah_invalid(err, "invalid key: no control characters");
	if (!ah_utf8_valid(key, n))
		return ah_invalid(err, "invalid key: not UTF-8");
	return 0;
}

static int depth_of(json_t *v, int depth)
{
	int max = depth, d;
	const char *k;
	json_t *c;
	size_t i;

	if (depth > AH_MS_DEPTH_MAX)
		return depth;
	if (json_is_object(v)) {
		json_object_foreach(v, k, c)
			if ((d = depth_of(c, depth + 1)) > max)
				max = d;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if ((d = depth_of(c, depth + 1)) > max)
				max = d;
	}
	return max;
}

static int64_t record_max_value;

static void record_max_read(void)
{
	struct ah_err ignored = AH_ERR_INIT;

	if (ah_env_size("APPHUB_METASTORE_MAX_RECORD", AH_MS_RECORD_MAX, 1024, &record_max_value,
			&ignored) < 0)
		record_max_value = 0;
}

/*
 * APPHUB_METASTORE_MAX_RECORD, read once (a bulk load checks a record at
 * a time), by whichever thread is first; a bad value, each time.
 */
static int record_max(int64_t *out, struct ah_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, record_max_read);
	*out = record_max_value;
	return record_max_value ? 0 :
	       ah_env_size("APPHUB_METASTORE_MAX_RECORD", AH_MS_RECORD_MAX, 1024, out, err);
}

/*
 * v's compact text (NULL when it cannot be written), through a buffer on
 * the stack: jansson's own starts at 16 bytes and doubles, and a record's
 * dump took a third longer through it.
 */
static char *dump_compact(json_t *v, size_t *len)
{
	char buf[8192], *t;
	size_t n = json_dumpb(v, buf, sizeof(buf), JSON_COMPACT);

	*len = n;
	if (!n)
		return NULL;
	t = xmalloc(n + 1);
	if (n <= sizeof(buf))
		memcpy(t, buf, n);
	else if (json_dumpb(v, t, n, JSON_COMPACT) != n) {
		free(t);
		return NULL;
	}
	t[n] = 0;
	return t;
}

/*
 * m checked (an object, its depth, its size); *text, when not NULL, is
 * its compact text, which the write stores.
 */
static int metadata_check(json_t *m, char **text, struct ah_err *err)
{
	int64_t max;
	size_t len;
	char *t;

	if (text)
		*text = NULL;
	if (!json_is_object(m))
		return ah_invalid(err, "invalid metadata: must be a JSON object");
	if (depth_of(m, 1) > AH_MS_DEPTH_MAX)
		return ah_invalid(err, "invalid metadata: nested deeper than %d", AH_MS_DEPTH_MAX);
	if (record_max(&max, err) < 0)
		return -1;
	t = dump_compact(m, &len);
	if ((int64_t)len > max) {
		free(t);
		return ah_invalid(err, "invalid metadata: %zu bytes, over the limit of %lld"
				  " (APPHUB_METASTORE_MAX_RECORD)", len, (long long)max);
	}
	if (text)
		*text = t;
	else
		free(t);
	return 0;
}

static int tag_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* tags (an array of strings) checked, deduplicated and sorted: a new array. */
static json_t *tags_norm(json_t *tags, struct ah_err *err)
{
	json_t **v = NULL, *out;
	size_t i, n = json_array_size(tags), k = 0;

	if (!json_is_array(tags)) {
		ah_invalid(err, "invalid tags: must be an array of strings");
		return NULL;
	}
	if (n > AH_MS_TAGS_MAX) {
		ah_invalid(err, "invalid tags: %zu, more than %d", n, AH_MS_TAGS_MAX);
		return NULL;
	}
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		json_t *t = json_array_get(tags, i);
		size_t len = json_string_length(t);

		if (!json_is_string(t) || !len || len > AH_MS_TAG_MAX) {
			ah_invalid(err, "invalid tag %zu: a string of 1 to %d characters", i,
				   AH_MS_TAG_MAX);
			free(v);
			return NULL;
		}
		v[i] = t;
	}
	qsort(v, n, sizeof(*v), tag_cmp);
	out = json_array();
	for (i = 0; i < n; i++)
		if (!k++ || strcmp(json_string_value(v[i]), json_string_value(v[i - 1])))
			json_array_append(out, v[i]);
	free(v);
	return out;
}

json_t *ah_ms_record_row(sqlite3_stmt *stmt, int f)
{
	json_t *r = json_object();

	json_object_set_new(r, "namespace", json_string(ah_col_text(stmt, f)));
	json_object_set_new(r, "key", json_string(ah_col_text(stmt, f + 1)));
	json_object_set_new(r, "metadata", ah_col_json(stmt, f + 2));
	json_object_set_new(r, "tags", ah_col_json(stmt, f + 3));
	json_object_set_new(r, "owner", ah_col_string(stmt, f + 4));
	json_object_set_new(r, "schemaHash", ah_col_string(stmt, f + 5));
	json_object_set_new(r, "version", json_integer(sqlite3_column_int64(stmt, f + 6)));
	json_object_set_new(r, "createdAt", json_string(ah_col_text(stmt, f + 7)));
	json_object_set_new(r, "updatedAt", json_string(ah_col_text(stmt, f + 8)));
	json_object_set_new(r, "deletedAt", ah_col_string(stmt, f + 9));
	json_object_set_new(r, "createdBy", ah_col_string(stmt, f + 10));
	json_object_set_new(r, "updatedBy", ah_col_string(stmt, f + 11));
	return r;
}

static int rec_read(struct ah_state *st, const char *ns, const char *key, struct rec *r,
		    struct ah_err *err)
{
	static const char sql[] =
		"SELECT r.n, " AH_MS_RECORD_COLUMNS " FROM metastore_records r"
		" WHERE r.namespace = ? AND r.key = ?";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	int rc;

	memset(r, 0, sizeof(*r));
	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r->n = sqlite3_column_int64(stmt, 0);
		r->json = ah_ms_record_row(stmt, 1);
		r->version = (long)sqlite3_column_int64(stmt, 7);
		r->deleted = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read record");
	return 0;
}

/* The namespace and key of params, checked. */
static int ns_key(json_t *params, const char **ns, const char **key, struct ah_err *err)
{
	if (ah_param_need_str(params, "namespace", ns, err) < 0 ||
	    ah_ms_namespace_check(*ns, err) < 0 ||
	    ah_param_need_str(params, "key", key, err) < 0 || ah_ms_key_check(*key, err) < 0)
		return -1;
	return 0;
}

/* expectedVersion, when given, against the record's version: 409 version_conflict. */
static int expect(json_t *params, const struct rec *r, struct ah_err *err)
{
	json_t *v = json_object_get(params, "expectedVersion");
	long want;

	if (!v || json_is_null(v))
		return 0;
	if (ah_param_int(params, "expectedVersion", 0, 0, 1L << 62, &want, err) < 0)
		return -1;
	if (want != (r->n ? r->version : 0))
		return ah_error(err, 409, "version_conflict",
				"version conflict: expected version %ld, the record is at %ld", want,
				r->n ? r->version : 0);
	return 0;
}

/* A change's action, its name (as watch and the audit have it) and its event type. */
static const struct change {
	const char *action, *name, *type;
} changes[] = {
	{ "create", "created", "metastore.record.created" },
	{ "delete", "deleted", "metastore.record.deleted" },
	{ "purge", "purged", "metastore.record.purged" },
	{ "restore", "restored", "metastore.record.restored" },
	{ "update", "updated", "metastore.record.updated" },
};

/* The change of an action (or of its name); an unknown one is an update. */
static const struct change *change_of(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(changes) / sizeof(changes[0]) - 1; i++)
		if (!strcmp(action, changes[i].action) || !strcmp(action, changes[i].name))
			break;
	return &changes[i];
}

/*
 * A write transaction: who writes, its time (every change it makes
 * carries it), and the records it added to each namespace, counted into
 * metastore_namespaces once, not by a trigger a record (a bulk load: 12%
 * of its time).
 */
struct ms_write {
	struct ah_state *st;
	const char *actor;
	char now[AH_ISO_LEN];
	/* the namespace last asked whether it has element indexes, and the answer */
	char *elements_ns;
	int elements;
	/* the values every record it makes shares (its time, its actor, version 1), made once */
	json_t *now_json, *actor_json, *one;
	/* the records it makes are only their namespace, key and version (a brief bulk) */
	int brief;
	/*
	 * The changes made and not logged yet: their audit rows' namespace,
	 * key and action, and version and previous version, written with
	 * their events by two statements (log_flush), not two a change (a
	 * third of a load's writes).
	 */
	struct ah_text_rows log_text;
	struct ah_int_rows log_ints;
	struct ns_added {
		char *ns;
		long n;
	} *added;
	size_t added_nr, added_alloc;
};

static int write_begin(struct ms_write *w, struct ah_state *st, const char *actor,
		       const char *now, struct ah_err *err)
{
	memset(w, 0, sizeof(*w));
	w->st = st;
	w->actor = actor;
	w->log_text.ncols = 3;
	w->log_ints.ncols = 2;
	if (now)
		snprintf(w->now, sizeof(w->now), "%s", now);
	else
		ah_now_iso(w->now);
	return ah_begin_write(st, err);
}

static void count_added(struct ms_write *w, const char *ns)
{
	if (w->added_nr && !strcmp(w->added[w->added_nr - 1].ns, ns)) {
		w->added[w->added_nr - 1].n++;
		return;
	}
	ALLOC_GROW(w->added, w->added_nr + 1, w->added_alloc);
	w->added[w->added_nr].ns = xstrdup(ns);
	w->added[w->added_nr++].n = 1;
}

/*
 * The changes so far into the audit, each with its event, in the order
 * they were made: the audit rows' ids (the revisions) follow one another,
 * and each event's data names its own.
 */
static int log_flush(struct ms_write *w, struct ah_err *err)
{
	static const char sql_audit[] =
		AH_ROWS_WITH
		" INSERT INTO metastore_audit(namespace, key, action, version, previous_version,"
		" actor, created_at) SELECT ah_text_row(?1, x, 1), ah_text_row(?1, x, 2),"
		" ah_text_row(?1, x, 3), ah_int_row(?3, x, 0), nullif(ah_int_row(?3, x, 1), 0),"
		" ?4, ?5 FROM i";
	/* the event ah_event would write, from the row: its data as jansson writes it */
	static const char sql_events[] =
		"INSERT INTO events(time, type, subject, data)"
		" SELECT created_at, 'metastore.record.' || action, namespace || '/' || key,"
		" json_object('namespace', namespace, 'key', key, 'version', version, 'revision', id)"
		" FROM metastore_audit WHERE id BETWEEN ?1 AND ?2 ORDER BY id";
	sqlite3_stmt *stmt;
	sqlite3_int64 last;
	size_t nr = w->log_text.nr;
	int r = ah_rows_stmt(w->st, sql_audit, &w->log_text, AH_TEXT_ROWS_PTR, nr, &stmt, err);

	if (r <= 0)
		return r;
	sqlite3_bind_pointer(stmt, 3, &w->log_ints, AH_INT_ROWS_PTR, NULL);
	ah_bind_kept(stmt, 4, w->actor);
	ah_bind_kept(stmt, 5, w->now);
	if (ah_step_done(w->st, stmt, "cannot record the changes", err) < 0)
		return -1;
	last = sqlite3_last_insert_rowid(w->st->db);
	ah_text_rows_release(&w->log_text);
	w->log_ints.nr = 0;
	if (!(stmt = ah_stmt(w->st, sql_events, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, last - (sqlite3_int64)nr + 1);
	sqlite3_bind_int64(stmt, 2, last);
	return ah_step_done(w->st, stmt, "cannot record events", err);
}

/*
 * The records added so far into their namespaces' counts, and the
 * changes into the audit: before the commit, and before a record changes
 * (its update trigger counts from there, and copies it into its audit
 * row).
 */
static int write_flush(struct ms_write *w, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO metastore_namespaces(namespace, records, deleted, updated_at)"
		" VALUES (?1, ?2, 0, ?3) ON CONFLICT(namespace) DO UPDATE SET"
		" records = records + ?2, updated_at = max(ifnull(updated_at, ''), ?3)";
	sqlite3_stmt *stmt;
	size_t i;

	if (log_flush(w, err) < 0)
		return -1;
	for (i = 0; i < w->added_nr; i++) {
		if (!(stmt = ah_stmt(w->st, sql, err)))
			return -1;
		ah_bind_text(stmt, 1, w->added[i].ns);
		sqlite3_bind_int64(stmt, 2, w->added[i].n);
		ah_bind_text(stmt, 3, w->now);
		if (ah_step_done(w->st, stmt, "cannot count records", err) < 0)
			return -1;
		free(w->added[i].ns);
		w->added[i].ns = NULL;
	}
	w->added_nr = 0;
	return 0;
}

static int write_commit(struct ms_write *w, struct ah_err *err)
{
	return write_flush(w, err) < 0 ? -1 : ah_commit(w->st, err);
}

static void write_release(struct ms_write *w)
{
	size_t i;

	for (i = 0; i < w->added_nr; i++)
		free(w->added[i].ns);
	free(w->added);
	w->added = NULL;
	w->added_nr = w->added_alloc = 0;
	free(w->elements_ns);
	w->elements_ns = NULL;
	json_decref(w->now_json);
	json_decref(w->actor_json);
	json_decref(w->one);
	w->now_json = w->actor_json = w->one = NULL;
	ah_text_rows_release(&w->log_text);
	ah_int_rows_release(&w->log_ints);
}

/* Whether ns has element indexes: asked once a transaction (indexes change in their own). */
static int has_elements(struct ms_write *w, const char *ns, struct ah_err *err)
{
	static const char sql[] = "SELECT 1 FROM metastore_element_ids WHERE namespace = ? LIMIT 1";
	sqlite3_stmt *stmt;
	int r;

	if (w->elements_ns && !strcmp(w->elements_ns, ns))
		return w->elements;
	if (!(stmt = ah_stmt(w->st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, ns);
	if ((r = ah_step_exists(w->st, stmt, "cannot read indexes", err)) < 0)
		return -1;
	free(w->elements_ns);
	w->elements_ns = xstrdup(ns);
	return w->elements = r;
}

/*
 * The element rows (lib/metastore-index.c) of record n in ns, for each of
 * its array fields that ns indexes: added as the record is after a change
 * (none for a deleted one), or dropped as it is before one.
 */
static int elements_keep(struct ms_write *w, const char *ns, sqlite3_int64 n, int add,
			 struct ah_err *err)
{
	/* each element index of ns, its JSON path, and the record's array there */
#define ELEMENTS_OF \
	" FROM metastore_element_ids i, metastore_records r," \
	" json_each(r.metadata, '$.' || substr(i.field, 10)) j" \
	" WHERE i.namespace = ?2 AND r.n = ?1 AND r.deleted_at IS NULL" \
	" AND json_type(r.metadata, '$.' || substr(i.field, 10)) = 'array'"
	static const char sql_add[] =
		"INSERT OR IGNORE INTO metastore_elements SELECT i.ix, j.type, j.atom, r.n"
		ELEMENTS_OF " AND j.type NOT IN ('null', 'object', 'array')";
	static const char sql_drop[] =
		"DELETE FROM metastore_elements WHERE n = ?1 AND (ix, value, type) IN"
		" (SELECT i.ix, j.atom, j.type" ELEMENTS_OF ")";
#undef ELEMENTS_OF
	sqlite3_stmt *stmt;
	int r = has_elements(w, ns, err);

	if (r <= 0)
		return r;
	if (!(stmt = ah_stmt(w->st, add ? sql_add : sql_drop, err)))
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	ah_bind_text(stmt, 2, ns);
	return ah_step_done(w->st, stmt, "cannot index elements", err);
}

/*
 * The audit row of a change to ns/key (the next revision; its record is
 * the record row's until it changes: AUDIT_RECORD) and its event, logged
 * with the others at the next flush (write_flush).
 */
static void record_change(struct ms_write *w, const char *ns, const char *key,
			  const char *action, long version, long previous)
{
	char *cells[] = { xstrdup(ns), xstrdup(key), xstrdup(change_of(action)->name) };
	sqlite3_int64 ints[] = { version, previous };

	ah_text_rows_add(&w->log_text, 0, cells);
	ah_int_rows_add(&w->log_ints, ints);
}

/* What a write sets: metadata, tags, owner, schemaHash (NULL: as they are). */
struct fields {
	json_t *metadata, *tags;
	/* their compact texts, when read from params */
	char *metadata_text, *tags_text;
	const char *owner, *schema_hash;
	int has_owner, has_schema;
};

static int fields_read(json_t *params, int metadata_default, struct fields *f,
		       struct ah_err *err)
{
	json_t *m = json_object_get(params, "metadata"), *t = json_object_get(params, "tags");
	size_t len;

	memset(f, 0, sizeof(*f));
	if (m && !json_is_null(m)) {
		if (metadata_check(m, &f->metadata_text, err) < 0)
			return -1;
		f->metadata = json_incref(m);
	} else if (metadata_default) {
		f->metadata = json_object();
	}
	if (t && !json_is_null(t)) {
		if (!(f->tags = tags_norm(t, err)))
			goto fail;
		f->tags_text = dump_compact(f->tags, &len);
	}
	if (ah_param_str(params, "owner", &f->owner, err) < 0 ||
	    ah_param_str(params, "schemaHash", &f->schema_hash, err) < 0)
		goto fail;
	f->has_owner = json_object_get(params, "owner") != NULL;
	f->has_schema = json_object_get(params, "schemaHash") != NULL;
	return 0;
fail:
	free(f->metadata_text);
	free(f->tags_text);
	json_decref(f->metadata);
	json_decref(f->tags);
	memset(f, 0, sizeof(*f));
	return -1;
}

static void fields_release(struct fields *f)
{
	free(f->metadata_text);
	free(f->tags_text);
	json_decref(f->metadata);
	json_decref(f->tags);
	memset(f, 0, sizeof(*f));
}

/*
 * A bulk document's operations made ready ahead of their writes, on
 * another thread (ah_ms_bulk_prepare): create's and put's fields read,
 * their texts written out, or why they are refused.
 */
struct ah_ms_prep {
	json_t *params;		/* the document they are made from */
	size_t n;
	struct ms_prep {
		int read, failed;
		struct fields f;
		struct ah_err err;
	} *op;
};

/*
 * ns/key's record as a create in w makes it from f. Its strings are
 * jansson's already (params), valid UTF-8: not checked again; a load
 * makes many.
 */
static json_t *record_new(struct ms_write *w, const char *ns, const char *key,
			  const struct fields *f)
{
	json_t *r = json_object();

	if (!w->now_json) {
		w->now_json = json_string(w->now);
		w->actor_json = w->actor ? json_string(w->actor) : json_null();
		w->one = json_integer(1);
	}
	json_object_set_new(r, "namespace", json_string_nocheck(ns));
	json_object_set_new(r, "key", json_string_nocheck(key));
	if (w->brief) {
		json_object_set(r, "version", w->one);
		return r;
	}
	json_object_set_new(r, "metadata", f->metadata ? json_incref(f->metadata) : json_object());
	json_object_set_new(r, "tags", f->tags ? json_incref(f->tags) : json_array());
	json_object_set_new(r, "owner", f->owner ? json_string_nocheck(f->owner) : json_null());
	json_object_set_new(r, "schemaHash",
			    f->schema_hash ? json_string_nocheck(f->schema_hash) : json_null());
	json_object_set(r, "version", w->one);
	json_object_set(r, "createdAt", w->now_json);
	json_object_set(r, "updatedAt", w->now_json);
	json_object_set_new(r, "deletedAt", json_null());
	json_object_set(r, "createdBy", w->actor_json);
	json_object_set(r, "updatedBy", w->actor_json);
	return r;
}

static int read_back(struct ah_state *st, const char *ns, const char *key, json_t **record,
		     struct ah_err *err)
{
	struct rec r;

	if (rec_read(st, ns, key, &r, err) < 0)
		return -1;
	*record = json_incref(r.json);
	rec_release(&r);
	return *record ? 0 : ah_internal(err, "record %s/%s vanished", ns, key);
}

/*
 * A new record ns/key at version 1, *record NULL when one is there (of
 * any version, deleted or not): the insert is the test, so a load of new
 * records reads nothing first.
 */
static int insert(struct ms_write *w, const char *ns, const char *key, struct fields *f,
		  json_t **record, struct ah_err *err)
{
	static const char sql[] =
		"INSERT INTO metastore_records(namespace, key, metadata, tags, owner, schema_hash,"
		" version, created_at, updated_at, created_by, updated_by)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8, ?8)"
		" ON CONFLICT(namespace, key) DO NOTHING";
	sqlite3_stmt *stmt = ah_stmt(w->st, sql, err);
	char *m = NULL, *t = NULL;
	size_t len;
	int rc;

	*record = NULL;
	if (!stmt)
		return -1;
	if (!f->metadata_text)
		m = f->metadata ? dump_compact(f->metadata, &len) : xstrdup("{}");
	if (!f->tags_text)
		t = f->tags ? dump_compact(f->tags, &len) : xstrdup("[]");
	ah_bind_kept(stmt, 1, ns);
	ah_bind_kept(stmt, 2, key);
	ah_bind_kept(stmt, 3, m ? m : f->metadata_text);
	ah_bind_kept(stmt, 4, t ? t : f->tags_text);
	ah_bind_kept(stmt, 5, f->owner);
	ah_bind_kept(stmt, 6, f->schema_hash);
	ah_bind_kept(stmt, 7, w->now);
	ah_bind_kept(stmt, 8, w->actor);
	rc = ah_step_done(w->st, stmt, "cannot record record", err);
	free(m);
	free(t);
	if (rc < 0)
		return -1;
	if (!sqlite3_changes(w->st->db))
		return 0;
	if (elements_keep(w, ns, sqlite3_last_insert_rowid(w->st->db), 1, err) < 0)
		return -1;
	count_added(w, ns);
	/* The record as written, made here rather than read back: bulk loads make many. */
	*record = record_new(w, ns, key, f);
	record_change(w, ns, key, "create", 1, 0);
	return 0;
}

/*
 * The new state of record r with f applied (metadata, tags, owner, schema
 * as given, else as they are); undelete clears deleted_at. When nothing
 * changes the version stays: *idempotent.
 */
static int update(struct ms_write *w, struct rec *r, struct fields *f, int undelete,
		  const char *action, json_t **record, int *idempotent, struct ah_err *err)
{
	static const char sql[] =
		"UPDATE metastore_records SET metadata = ?2, tags = ?3, owner = ?4,"
		" schema_hash = ?5, version = version + 1, updated_at = ?6, updated_by = ?7,"
		" deleted_at = CASE WHEN ?8 THEN NULL ELSE deleted_at END WHERE n = ?1";
	json_t *cur = r->json, *m = f->metadata ? f->metadata : json_object_get(cur, "metadata");
	json_t *t = f->tags ? f->tags : json_object_get(cur, "tags");
	const char *owner = f->has_owner ? f->owner : json_string_value(json_object_get(cur, "owner"));
	const char *schema = f->has_schema ? f->schema_hash :
			     json_string_value(json_object_get(cur, "schemaHash"));
	const char *ns = json_string_value(json_object_get(cur, "namespace"));
	const char *key = json_string_value(json_object_get(cur, "key"));
	sqlite3_stmt *stmt;
	char *mt, *tt;
	size_t len;
	int rc;

	*idempotent = 0;
	if (json_equal(m, json_object_get(cur, "metadata")) &&
	    json_equal(t, json_object_get(cur, "tags")) &&
	    !strcmp(owner ? owner : "", jstr_or(cur, "owner")) &&
	    !strcmp(schema ? schema : "", jstr_or(cur, "schemaHash")) && !(undelete && r->deleted)) {
		*idempotent = 1;
		*record = json_incref(cur);
		return 0;
	}
	if (write_flush(w, err) < 0 || elements_keep(w, ns, r->n, 0, err) < 0 ||
	    !(stmt = ah_stmt(w->st, sql, err)))
		return -1;
	mt = f->metadata && f->metadata_text ? xstrdup(f->metadata_text) : dump_compact(m, &len);
	tt = f->tags && f->tags_text ? xstrdup(f->tags_text) : dump_compact(t, &len);
	sqlite3_bind_int64(stmt, 1, r->n);
	ah_bind_text(stmt, 2, mt);
	ah_bind_text(stmt, 3, tt);
	ah_bind_text(stmt, 4, owner);
	ah_bind_text(stmt, 5, schema);
	ah_bind_text(stmt, 6, w->now);
	ah_bind_text(stmt, 7, w->actor);
	sqlite3_bind_int(stmt, 8, undelete);
	rc = ah_step_done(w->st, stmt, "cannot record record", err);
	free(mt);
	free(tt);
	if (rc < 0 || elements_keep(w, ns, r->n, 1, err) < 0 ||
	    read_back(w->st, ns, key, record, err) < 0)
		return -1;
	record_change(w, ns, key, action, r->version + 1, r->version);
	return 0;
}

/* FNV-1a over the canonical payload: enough to tell a reused key's other payload. */
static void payload_hash(json_t *params, char out[17])
{
	json_t *p = json_deep_copy(params);
	char *text;
	uint64_t h = 14695981039346656037ULL;
	const char *c;

	json_object_del(p, "idempotencyKey");
	text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	for (c = text ? text : ""; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	free(text);
	json_decref(p);
}

/* A seen idempotency key: 1 with *out (its first answer), 0 unseen, -1 (409 for another payload). */
static int idem_seen(struct ah_state *st, const char *ns, json_t *params, json_t **out,
		     struct ah_err *err)
{
	static const char sql[] =
		"SELECT payload_hash, response FROM metastore_idempotency"
		" WHERE namespace = ? AND idempotency_key = ?";
	const char *k = json_string_value(json_object_get(params, "idempotencyKey"));
	sqlite3_stmt *stmt;
	char hash[17];
	int rc, ret = 0;

	if (!k || !*k)
		return 0;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	payload_hash(params, hash);
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, k);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (strcmp(ah_col_text(stmt, 0), hash))
			ret = ah_conflict(err, "idempotency key '%.100s' was used with another payload",
					  k);
		else if ((*out = json_loads(ah_col_text(stmt, 1), 0, NULL)))
			ret = 1;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ah_sql_error(st, err, "cannot read idempotency keys");
	return ret;
}

static int idem_store(struct ah_state *st, const char *ns, json_t *params, json_t *out,
		      struct ah_err *err)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO metastore_idempotency(namespace, idempotency_key,"
		" payload_hash, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	const char *k = json_string_value(json_object_get(params, "idempotencyKey"));
	sqlite3_stmt *stmt;
	char hash[17], now[AH_ISO_LEN], *text;
	int rc;

	if (!k || !*k)
		return 0;
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	payload_hash(params, hash);
	ah_now_iso(now);
	text = json_dumps(out, JSON_COMPACT);
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, k);
	ah_bind_text(stmt, 3, hash);
	ah_bind_text(stmt, 4, text);
	ah_bind_text(stmt, 5, now);
	rc = ah_step_done(st, stmt, "cannot record idempotency key", err);
	free(text);
	return rc;
}

static json_t *answer(json_t *record, int created, int idempotent)
{
	json_t *o = json_pack("{s:o, s:b}", "record", record, "idempotent", idempotent);

	if (created >= 0)
		json_object_set_new(o, "created", json_boolean(created));
	return o;
}

/* The writes inside the caller's transaction. */
static int do_create(struct ms_write *w, json_t *params, struct ms_prep *pre, int upsert,
		     json_t **out, struct ah_err *err)
{
	const char *ns, *key;
	struct fields own, *f = &own;
	struct rec r = { 0 };
	json_t *record = NULL, *v;
	int seen, idem = 0, ret = -1;

	*out = NULL;
	memset(&own, 0, sizeof(own));
	if (ns_key(params, &ns, &key, err) < 0)
		return -1;
	/* null, as JSON clients write an absent value, is no key */
	v = json_object_get(params, "idempotencyKey");
	if (v && !json_is_null(v) && !json_is_string(v))
		return ah_invalid(err, "invalid idempotencyKey: must be a string");
	if ((seen = idem_seen(w->st, ns, params, out, err)) != 0)
		return seen < 0 ? -1 : 0;
	/* made ready ahead (and then its refusal is met here, as it would be), or read now */
	if (pre && pre->failed) {
		*err = pre->err;
		return -1;
	}
	if (pre)
		f = &pre->f;
	else if (fields_read(params, 1, &own, err) < 0)
		return -1;
	/* expecting a version, the record must be there: nothing to insert */
	v = json_object_get(params, "expectedVersion");
	if ((!v || json_is_null(v) || (json_is_integer(v) && !json_integer_value(v))) &&
	    insert(w, ns, key, f, &record, err) < 0)
		goto done;
	if (record) {
		*out = answer(record, 1, 0);
	} else if (rec_read(w->st, ns, key, &r, err) < 0 || expect(params, &r, err) < 0) {
		goto done;
	} else if (!r.n) {
		ah_internal(err, "record %s/%s: neither there nor new", ns, key);
		goto done;
	} else if (!upsert) {
		if (r.deleted) {
			ah_conflict(err, "record %s/%s is deleted: put or restore it", ns, key);
			goto done;
		}
		*out = answer(json_incref(r.json), 0, 1);
	} else {
		if (update(w, &r, f, 1, r.deleted ? "restore" : "update", &record, &idem, err) < 0)
			goto done;
		*out = answer(record, 0, idem);
	}
	if (idem_store(w->st, ns, params, *out, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
	}
	fields_release(&own);
	rec_release(&r);
	return ret;
}

/* metadata deep-merged with patch (objects merge; anything else replaces). */
static void deep_merge(json_t *into, json_t *patch)
{
	const char *k;
	json_t *v, *cur;

	json_object_foreach(patch, k, v) {
		cur = json_object_get(into, k);
		if (json_is_object(cur) && json_is_object(v)) {
			json_t *copy = json_deep_copy(cur);

			deep_merge(copy, v);
			json_object_set_new(into, k, copy);
		} else {
			json_object_set(into, k, v);
		}
	}
}

/* Removes dotted path from m; absent paths are no error. */
static void unset_path(json_t *m, const char *path)
{
	char *copy = xstrdup(path), *dot, *p = copy;
	json_t *o = m;

	while ((dot = strchr(p, '.')) && o) {
		*dot = 0;
		o = json_object_get(o, p);
		if (!json_is_object(o))
			o = NULL;
		p = dot + 1;
	}
	if (o)
		json_object_del(o, p);
	free(copy);
}

static int do_patch(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		    struct ah_err *err)
{
	json_t *tags = json_object_get(params, "tags"), *unset = json_object_get(params,
										  "metadataUnset");
	json_t *m = NULL, *t = NULL, *record = NULL, *v;
	const char *ns, *key;
	struct fields f;
	struct rec r = { 0 };
	size_t i;
	int idem = 0, ret = -1;

	(void)pre;

	*out = NULL;
	memset(&f, 0, sizeof(f));
	if (ns_key(params, &ns, &key, err) < 0)
		return -1;
	if (rec_read(w->st, ns, key, &r, err) < 0)
		goto done;
	if (!r.n || r.deleted) {
		ah_not_found(err, "record %s/%s not found", ns, key);
		goto done;
	}
	if (expect(params, &r, err) < 0)
		goto done;
	m = json_deep_copy(json_object_get(r.json, "metadata"));
	if ((v = json_object_get(params, "metadata")) && !json_is_null(v)) {
		if (!json_is_object(v)) {
			ah_invalid(err, "invalid metadata: must be a JSON object");
			goto done;
		}
		deep_merge(m, v);
	}
	if (unset && !json_is_array(unset)) {
		ah_invalid(err, "invalid metadataUnset: must be an array of paths");
		goto done;
	}
	json_array_foreach(unset, i, v) {
		if (!json_is_string(v)) {
			ah_invalid(err, "invalid metadataUnset: must be an array of paths");
			goto done;
		}
		unset_path(m, json_string_value(v));
	}
	if (metadata_check(m, NULL, err) < 0)
		goto done;
	t = json_deep_copy(json_object_get(r.json, "tags"));
	if (tags && !json_is_null(tags)) {
		json_t *set = json_object_get(tags, "set"), *add = json_object_get(tags, "add");
		json_t *rm = json_object_get(tags, "remove"), *norm;
		size_t j;

		if (!json_is_object(tags)) {
			ah_invalid(err, "invalid tags: {set?, add?, remove?}");
			goto done;
		}
		if (set) {
			json_decref(t);
			t = json_deep_copy(set);
		}
		if (add && json_is_array(add))
			json_array_extend(t, add);
		if ((add && !json_is_array(add)) || (rm && !json_is_array(rm)) ||
		    (set && !json_is_array(set))) {
			ah_invalid(err, "invalid tags: set, add and remove are arrays of strings");
			goto done;
		}
		json_array_foreach(rm, i, v)
			for (j = json_array_size(t); j-- > 0;)
				if (json_equal(json_array_get(t, j), v))
					json_array_remove(t, j);
		if (!(norm = tags_norm(t, err)))
			goto done;
		json_decref(t);
		t = norm;
	}
	f.metadata = json_incref(m);
	f.tags = json_incref(t);
	if (ah_param_str(params, "owner", &f.owner, err) < 0 ||
	    ah_param_str(params, "schemaHash", &f.schema_hash, err) < 0)
		goto done;
	f.has_owner = json_object_get(params, "owner") != NULL;
	f.has_schema = json_object_get(params, "schemaHash") != NULL;
	if (update(w, &r, &f, 0, "update", &record, &idem, err) < 0)
		goto done;
	*out = answer(record, -1, idem);
	ret = 0;
done:
	fields_release(&f);
	json_decref(m);
	json_decref(t);
	rec_release(&r);
	return ret;
}

static int do_delete(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		     struct ah_err *err)
{
	static const char sql[] =
		"UPDATE metastore_records SET deleted_at = ?2, updated_at = ?2, updated_by = ?3,"
		" version = version + 1 WHERE n = ?1";
	const char *ns, *key;
	struct rec r = { 0 };
	sqlite3_stmt *stmt;
	json_t *record = NULL;
	int ret = -1;

	(void)pre;

	*out = NULL;
	if (ns_key(params, &ns, &key, err) < 0)
		return -1;
	if (rec_read(w->st, ns, key, &r, err) < 0)
		goto done;
	if (!r.n || r.deleted) {
		ah_not_found(err, "record %s/%s not found", ns, key);
		goto done;
	}
	if (expect(params, &r, err) < 0 || write_flush(w, err) < 0 ||
	    elements_keep(w, ns, r.n, 0, err) < 0 || !(stmt = ah_stmt(w->st, sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, r.n);
	ah_bind_text(stmt, 2, w->now);
	ah_bind_text(stmt, 3, w->actor);
	if (ah_step_done(w->st, stmt, "cannot delete record", err) < 0 ||
	    read_back(w->st, ns, key, &record, err) < 0)
		goto done;
	record_change(w, ns, key, "delete", r.version + 1, r.version);
	*out = answer(record, -1, 0);
	record = NULL;
	ret = 0;
done:
	json_decref(record);
	rec_release(&r);
	return ret;
}

/* A write of one record, inside the caller's transaction; pre: made ready ahead (bulk). */
typedef int (*ms_write_fn)(struct ms_write *w, json_t *params, struct ms_prep *pre,
			   json_t **out, struct ah_err *err);

/*
 * fn in a write transaction of its own, at now (NULL: the time it
 * begins).
 */
static int in_tx(struct ah_state *st, json_t *params, const char *actor, const char *now,
		 int brief, struct ms_prep *pre, json_t **out, struct ah_err *err, ms_write_fn fn)
{
	struct ms_write w;
	int ret = 0;

	*out = NULL;
	if (write_begin(&w, st, actor, now, err) < 0)
		return -1;
	w.brief = brief;
	if (fn(&w, params, pre, out, err) < 0 || write_commit(&w, err) < 0) {
		ah_rollback(st);
		json_decref(*out);
		*out = NULL;
		ret = -1;
	}
	write_release(&w);
	return ret;
}

static int create_fn(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		     struct ah_err *err)
{
	return do_create(w, params, pre, 0, out, err);
}

static int put_fn(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		  struct ah_err *err)
{
	return do_create(w, params, pre, 1, out, err);
}

int ah_ms_create(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		 struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, create_fn);
}

int ah_ms_put(struct ah_state *st, json_t *params, const char *actor, json_t **out,
	      struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, put_fn);
}

int ah_ms_patch(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, do_patch);
}

int ah_ms_delete(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		 struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, do_delete);
}
static int do_purge(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		    struct ah_err *err)
{
	struct ah_state *st = w->st;
	static const char sql[] = "DELETE FROM metastore_records WHERE n = ?";
	static const char sql_audit[] =
		"DELETE FROM metastore_audit WHERE namespace = ? AND key = ?";
	const char *ns, *key;
	struct rec r = { 0 };
	sqlite3_stmt *stmt;
	int ret = -1;

	(void)pre;

	if (ns_key(params, &ns, &key, err) < 0)
		return -1;
	if (rec_read(st, ns, key, &r, err) < 0)
		goto done;
	if (!r.n) {
		ah_not_found(err, "record %s/%s not found", ns, key);
		goto done;
	}
	if (write_flush(w, err) < 0 || elements_keep(w, ns, r.n, 0, err) < 0 ||
	    !(stmt = ah_stmt(st, sql, err)))
		goto done;
	sqlite3_bind_int64(stmt, 1, r.n);
	if (ah_step_done(st, stmt, "cannot purge record", err) < 0 ||
	    !(stmt = ah_stmt(st, sql_audit, err)))
		goto done;
	/* Its history goes with it; the purge itself stays a change, for watchers. */
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, key);
	if (ah_step_done(st, stmt, "cannot purge record history", err) < 0)
		goto done;
	record_change(w, ns, key, "purge", r.version, r.version);
	*out = json_pack("{s:s, s:s, s:b}", "namespace", ns, "key", key, "purged", 1);
	ret = 0;
done:
	rec_release(&r);
	return ret;
}

int ah_ms_purge(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, do_purge);
}

/* The record as it was at version (or audit entry id), from the audit rows. */
static json_t *snapshot(struct ah_state *st, const char *ns, const char *key, long version,
			long audit_id, struct ah_err *err)
{
	static const char sql_version[] =
		"SELECT * FROM (SELECT " AUDIT_RECORD " AS record FROM metastore_audit a"
		" WHERE a.namespace = ?1 AND a.key = ?2 AND a.version = ?3 ORDER BY a.id DESC)"
		" WHERE record IS NOT NULL LIMIT 1";
	static const char sql_id[] =
		"SELECT * FROM (SELECT " AUDIT_RECORD " AS record FROM metastore_audit a"
		" WHERE a.namespace = ?1 AND a.key = ?2 AND a.id = ?3) WHERE record IS NOT NULL";
	sqlite3_stmt *stmt = ah_stmt(st, audit_id ? sql_id : sql_version, err);
	json_t *rec = NULL;
	int rc;

	if (!stmt)
		return NULL;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, key);
	sqlite3_bind_int64(stmt, 3, audit_id ? audit_id : version);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		rec = json_loads(ah_col_text(stmt, 0), 0, NULL);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ah_sql_error(st, err, "cannot read record history");
	else if (!rec && audit_id)
		ah_not_found(err, "record %s/%s has no audit entry %ld", ns, key, audit_id);
	else if (!rec)
		ah_not_found(err, "record %s/%s has no version %ld", ns, key, version);
	return rec;
}

static int do_restore(struct ms_write *w, json_t *params, struct ms_prep *pre, json_t **out,
		      struct ah_err *err)
{
	struct ah_state *st = w->st;
	const char *ns, *key;
	struct rec r = { 0 };
	struct fields f;
	json_t *snap = NULL, *record = NULL;
	long version, audit;
	int idem, ret = -1;

	(void)pre;

	memset(&f, 0, sizeof(f));
	if (ns_key(params, &ns, &key, err) < 0 ||
	    ah_param_int(params, "version", 0, 0, 1L << 62, &version, err) < 0 ||
	    ah_param_int(params, "auditId", 0, 0, 1L << 62, &audit, err) < 0)
		return -1;
	if (!version == !audit)
		return ah_invalid(err, "restore: give a version or an auditId");
	if (rec_read(st, ns, key, &r, err) < 0)
		goto done;
	if (!r.n) {
		ah_not_found(err, "record %s/%s not found", ns, key);
		goto done;
	}
	if (expect(params, &r, err) < 0 || write_flush(w, err) < 0 ||
	    !(snap = snapshot(st, ns, key, version, audit, err)))
		goto done;
	f.metadata = json_incref(json_object_get(snap, "metadata"));
	f.tags = json_incref(json_object_get(snap, "tags"));
	f.owner = json_string_value(json_object_get(snap, "owner"));
	f.schema_hash = json_string_value(json_object_get(snap, "schemaHash"));
	f.has_owner = f.has_schema = 1;
	if (update(w, &r, &f, 1, "restore", &record, &idem, err) < 0)
		goto done;
	*out = answer(record, -1, idem);
	ret = 0;
done:
	fields_release(&f);
	json_decref(snap);
	rec_release(&r);
	return ret;
}

int ah_ms_restore(struct ah_state *st, json_t *params, const char *actor, json_t **out,
		  struct ah_err *err)
{
	return in_tx(st, params, actor, NULL, 0, NULL, out, err, do_restore);
}

int ah_ms_get(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *ns, *key;
	struct rec r = { 0 };
	long version;
	int deleted_too = 0, ret = -1;

	*out = NULL;
	if (ns_key(params, &ns, &key, err) < 0 ||
	    ah_param_int(params, "version", 0, 0, 1L << 62, &version, err) < 0 ||
	    (json_object_get(params, "includeDeleted") &&
	     ah_param_bool(params, "includeDeleted", &deleted_too, err) < 0))
		return -1;
	if (rec_read(st, ns, key, &r, err) < 0)
		goto done;
	if (!r.n || (r.deleted && !deleted_too && !version)) {
		ah_not_found(err, "record %s/%s not found", ns, key);
		goto done;
	}
	if (version && version != r.version) {
		if (!(*out = snapshot(st, ns, key, version, 0, err)))
			goto done;
	} else {
		*out = json_incref(r.json);
	}
	ret = 0;
done:
	rec_release(&r);
	return ret;
}

static json_t *audit_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:s}",
			 "id", (json_int_t)sqlite3_column_int64(stmt, 0),
			 "action", ah_col_text(stmt, 1),
			 "version", (json_int_t)sqlite3_column_int64(stmt, 2),
			 "previousVersion", ah_col_integer(stmt, 3),
			 "record", ah_col_json(stmt, 4),
			 "actor", ah_col_string(stmt, 5),
			 "createdAt", ah_col_text(stmt, 6));
}

int ah_ms_audit(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT a.id, a.action, a.version, a.previous_version, " AUDIT_RECORD ", a.actor,"
		" a.created_at FROM metastore_audit a WHERE a.namespace = ? AND a.key = ?"
		" ORDER BY a.id DESC LIMIT ? OFFSET ?";
	static const char sql_count[] =
		"SELECT count(*) FROM metastore_audit WHERE namespace = ? AND key = ?";
	const char *ns, *key;
	sqlite3_stmt *stmt;
	long limit, offset;
	json_t *rows;
	sqlite3_int64 total = 0;
	int rc;

	*out = NULL;
	if (ns_key(params, &ns, &key, err) < 0 ||
	    ah_param_int(params, "limit", 50, 1, 200, &limit, err) < 0 ||
	    ah_param_int(params, "offset", 0, 0, 1L << 30, &offset, err) < 0 ||
	    !(stmt = ah_stmt(st, sql_count, err)))
		return -1;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		total = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot count audit entries");
	if (!total)
		return ah_not_found(err, "record %s/%s not found", ns, key);
	if (!(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, ns);
	ah_bind_text(stmt, 2, key);
	sqlite3_bind_int64(stmt, 3, limit);
	sqlite3_bind_int64(stmt, 4, offset);
	if (!(rows = ah_step_rows(st, stmt, audit_row, "cannot read audit entries", err)))
		return -1;
	*out = json_pack("{s:o, s:{s:I, s:i, s:i}}", "entries", rows, "pagination", "total",
			 (json_int_t)total, "limit", (int)limit, "offset", (int)offset);
	return 0;
}

static json_t *namespace_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:I, s:I, s:s}", "namespace", ah_col_text(stmt, 0), "records",
			 (json_int_t)sqlite3_column_int64(stmt, 1), "deleted",
			 (json_int_t)sqlite3_column_int64(stmt, 2), "updatedAt",
			 ah_col_text(stmt, 3));
}

int ah_ms_namespaces(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT namespace, records, deleted, updated_at FROM metastore_namespaces"
		" ORDER BY namespace";
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	json_t *rows;

	(void)params;
	if (!stmt || !(rows = ah_step_rows(st, stmt, namespace_row, "cannot list namespaces", err)))
		return -1;
	*out = json_pack("{s:o}", "namespaces", rows);
	return 0;
}

/* The first column of sql's one row; 0 when it has none (or sql cannot run: no sqlite_stat1 yet). */
static sqlite3_int64 int_of(struct ah_state *st, const char *sql)
{
	struct ah_err ignored = AH_ERR_INIT;
	sqlite3_stmt *stmt = ah_stmt(st, sql, &ignored);
	sqlite3_int64 v = 0;

	if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	if (stmt)
		sqlite3_reset(stmt);
	return v;
}

int ah_ms_analyze(struct ah_state *st, int force, struct ah_err *err)
{
	static const char sql_now[] = "SELECT sum(records + deleted) FROM metastore_namespaces";
	/* the unique index's first figure: the rows when it was analyzed */
	static const char sql_then[] =
		"SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE"
		" tbl = 'metastore_records' AND idx = 'sqlite_autoindex_metastore_records_1'";
	sqlite3_int64 now, then;

	if (!force) {
		now = int_of(st, sql_now);
		then = int_of(st, sql_then);
		/* few records: any plan is quick */
		if (now < 1000 || (then && now <= 2 * then && 2 * now >= then))
			return 0;
	}
	/* a load's: a sample of each index, as PRAGMA optimize takes (5% of a load's writes, whole) */
	return ah_exec(st, force ? "PRAGMA analysis_limit = 0; ANALYZE metastore_records" :
		       "PRAGMA analysis_limit = 1000; ANALYZE metastore_records", err);
}

static const struct {
	const char *type;
	ms_write_fn fn;
	int fields;	/* create's fields, which ah_ms_bulk_prepare reads */
} bulk_ops[] = {
	{ "create", create_fn, 1 },
	{ "delete", do_delete, 0 },
	{ "patch", do_patch, 0 },
	{ "put", put_fn, 1 },
	{ "upsert", put_fn, 1 },
};

static int bulk_fn(const char *type)
{
	size_t i;

	for (i = 0; type && i < sizeof(bulk_ops) / sizeof(bulk_ops[0]); i++)
		if (!strcmp(type, bulk_ops[i].type))
			return (int)i;
	return -1;
}

struct ah_ms_prep *ah_ms_bulk_prepare(json_t *params)
{
	json_t *ops = json_object_get(params, "operations"), *op;
	size_t i, n = json_array_size(ops);
	struct ah_ms_prep *p;
	int k;

	if (!n || n > 100)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->params = params;
	p->n = n;
	p->op = xcalloc(n, sizeof(*p->op));
	json_array_foreach(ops, i, op) {
		k = bulk_fn(json_string_value(json_object_get(op, "type")));
		if (!json_is_object(op) || k < 0 || !bulk_ops[k].fields)
			continue;
		p->op[i].read = 1;
		p->op[i].failed = fields_read(op, 1, &p->op[i].f, &p->op[i].err) < 0;
	}
	return p;
}

void ah_ms_bulk_prep_free(struct ah_ms_prep *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		fields_release(&p->op[i].f);
	free(p->op);
	free(p);
}

int ah_ms_bulk(struct ah_state *st, json_t *params, struct ah_ms_prep *prep, const char *actor,
	       json_t **out, struct ah_err *err)
{
	json_t *ops = json_object_get(params, "operations"), *op, *results = NULL;
	/* the strings every result has, made once */
	json_t *ok = NULL, *types[sizeof(bulk_ops) / sizeof(bulk_ops[0])] = { NULL };
	struct ms_write w;
	char now[AH_ISO_LEN];
	size_t i, n = json_array_size(ops);
	int each = 0, brief = 0, began = 0, ret = -1;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	if (!json_is_array(ops) || !n || n > 100)
		return ah_invalid(err, "invalid operations: an array of 1 to 100 operations");
	if ((json_object_get(params, "continueOnError") &&
	     ah_param_bool(params, "continueOnError", &each, err) < 0) ||
	    (json_object_get(params, "brief") && ah_param_bool(params, "brief", &brief, err) < 0))
		return -1;
	json_array_foreach(ops, i, op) {
		const char *type = json_string_value(json_object_get(op, "type"));

		if (!json_is_object(op) || !type || bulk_fn(type) < 0)
			return ah_invalid(err, "invalid operation %zu: type must be create, put, patch or delete",
					  i);
	}
	/* made ready for other params, it is not these' */
	if (prep && (prep->params != params || prep->n != n))
		prep = NULL;
	/* A document's writes carry one time, also each in its own transaction. */
	ah_now_iso(now);
	if (!each) {
		if (write_begin(&w, st, actor, now, err) < 0)
			return -1;
		w.brief = brief;
		began = 1;
	}
	results = json_array();
	json_array_foreach(ops, i, op) {
		int k = bulk_fn(json_string_value(json_object_get(op, "type")));
		struct ms_prep *pre = prep && prep->op[i].read ? &prep->op[i] : NULL;
		struct ah_err why = AH_ERR_INIT;
		json_t *res = NULL, *rec;
		int r;

		r = each ? in_tx(st, op, actor, now, brief, pre, &res, &why,
				    bulk_ops[k].fn) :
		    bulk_ops[k].fn(&w, op, pre, &res, &why);
		if (r < 0 && !each) {
			/* Atomic: the first refusal is the answer, and nothing was written. */
			char msg[sizeof(why.msg)];

			snprintf(msg, sizeof(msg), "%s", why.msg);
			ah_error(err, why.status, why.code, "operation %zu (%s): %s", i,
				 bulk_ops[k].type, msg);
			goto done;
		}
		if (r < 0) {
			json_array_append_new(results, json_pack("{s:s, s:s, s:{s:i, s:s, s:s}}",
				"status", "error", "type", bulk_ops[k].type, "error", "statusCode",
				why.status, "code", why.code ? why.code : "error", "message", why.msg));
		} else {
			if (!ok)
				ok = json_string("ok");
			if (!types[k])
				types[k] = json_string(bulk_ops[k].type);
			rec = json_object_get(res, "record");
			json_array_append_new(results, json_pack("{s:O, s:O, s:O, s:O?}", "status",
				ok, "type", types[k], "record", rec ? rec : res, "idempotent",
				json_object_get(res, "idempotent")));
		}
		json_decref(res);
	}
	if (began && write_commit(&w, err) < 0)
		goto done;
	began = 0;
	/* a load's records change the plans: the statistics follow */
	{
		struct ah_err ignored = AH_ERR_INIT;

		ah_ms_analyze(st, 0, &ignored);
	}
	*out = json_pack("{s:O}", "operations", results);
	ret = 0;
done:
	if (began)
		ah_rollback(st);
	write_release(&w);
	json_decref(results);
	json_decref(ok);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		json_decref(types[i]);
	return ret;
}

static json_t *change_row(sqlite3_stmt *stmt)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:s}",
			 "revision", (json_int_t)sqlite3_column_int64(stmt, 0),
			 "type", change_of(ah_col_text(stmt, 1))->name,
			 "namespace", ah_col_text(stmt, 2), "key", ah_col_text(stmt, 3),
			 "version", (json_int_t)sqlite3_column_int64(stmt, 4),
			 "record", ah_col_json(stmt, 5), "time", ah_col_text(stmt, 6));
}

int ah_ms_changes(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] =
		"SELECT a.id, a.action, a.namespace, a.key, a.version, " AUDIT_RECORD ", a.created_at"
		" FROM metastore_audit a WHERE a.id > ?1 AND a.namespace = ?2"
		" AND (?3 IS NULL OR a.key = ?3)"
		" AND (?4 IS NULL OR substr(a.key, 1, length(?4)) = ?4) ORDER BY a.id LIMIT ?5";
	static const char sql_latest[] =
		"SELECT ifnull((SELECT seq FROM sqlite_sequence WHERE name = 'metastore_audit'), 0)";
	const char *ns, *key, *prefix;
	sqlite3_stmt *stmt;
	long since, limit;
	json_t *rows;
	sqlite3_int64 latest = 0;
	int rc;

	*out = NULL;
	if (ah_param_need_str(params, "namespace", &ns, err) < 0 ||
	    ah_ms_namespace_check(ns, err) < 0 || ah_param_str(params, "key", &key, err) < 0 ||
	    ah_param_str(params, "prefix", &prefix, err) < 0 ||
	    ah_param_int(params, "since", 0, 0, 1L << 62, &since, err) < 0 ||
	    ah_param_int(params, "limit", 1000, 1, 10000, &limit, err) < 0)
		return -1;
	if (ah_begin_read(st, err) < 0)
		return -1;
	if (!(stmt = ah_stmt(st, sql_latest, err)))
		goto fail;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		latest = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		ah_sql_error(st, err, "cannot read the revision");
		goto fail;
	}
	if (!(stmt = ah_stmt(st, sql, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, since);
	ah_bind_text(stmt, 2, ns);
	ah_bind_text(stmt, 3, key && *key ? key : NULL);
	ah_bind_text(stmt, 4, prefix && *prefix ? prefix : NULL);
	sqlite3_bind_int64(stmt, 5, limit);
	if (!(rows = ah_step_rows(st, stmt, change_row, "cannot read changes", err)))
		goto fail;
	ah_rollback(st);
	*out = json_pack("{s:o, s:I}", "changes", rows, "revision", (json_int_t)latest);
	return 0;
fail:
	ah_rollback(st);
	return -1;
}
