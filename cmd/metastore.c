/*
 * apphub metastore: JSON records by namespace and key, versioned, with
 * optimistic locking (get, create, put, patch, rm, purge, restore), search
 * with the filter language, bulk writes, audit, namespaces, expression
 * indexes, and watch: the changes after a revision, in order, as they come.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/env.h"
#include "../lib/fsutil.h"
#include "../lib/json-arena.h"
#include "../lib/metastore.h"
#include "../lib/ops.h"
#include "../lib/strbuf.h"

static const char *const metastore_usage[] = {
	"apphub metastore get <ns> <key> [--version <n>] [--include-deleted]",
	"apphub metastore create <ns> <key> [--metadata-json <json> | --metadata-file <file> | --set <path=value>...] [--tag <t>]... [--owner <o>] [--schema-hash <h>] [--idempotency-key <k>]",
	"apphub metastore put <ns> <key> (as create) [--expected-version <n>]",
	"apphub metastore patch <ns> <key> [--metadata-json <json>] [--set <path=value>]... [--unset <path>]... [--tags-add <t>]... [--tags-remove <t>]... [--tags-set <t,...>] [--owner <o>] [--expected-version <n>]",
	"apphub metastore rm <ns> <key> [--expected-version <n>]",
	"apphub metastore purge <ns> <key>",
	"apphub metastore restore <ns> <key> (--version <n> | --audit <id>)",
	"apphub metastore search <ns> [-q <query>] [--filter-json <json>] [--sort <field[:asc|desc]>]... [--limit <n>] [--offset <n>] [--include-deleted] [--projection <f,...>] [--explain]",
	"apphub metastore bulk <file>|-",
	"apphub metastore audit <ns> <key> [--limit <n>] [--offset <n>]",
	"apphub metastore ls",
	"apphub metastore index <ns> [<field> [--drop]]",
	"apphub metastore watch <ns> [<key> | --prefix <p>] [--since <revision>]",
	NULL
};

/*
 * The most one bulk document may hold (100 operations of the largest
 * records); a file may hold any number of them, read as they are parsed.
 */
#define BULK_DOC_MAX ((size_t)256 << 20)
/* what the reader asks read(2) for at a time */
#define BULK_READ ((size_t)1 << 20)
/* watch polls this often (milliseconds) */
#define WATCH_POLL_MS 150

static const char *or_dash(json_t *o, const char *key)
{
	return *jstr(o, key) ? jstr(o, key) : "-";
}

static void text_record(json_t *r)
{
	json_t *t;
	size_t i;
	char *meta;

	printf("namespace:  %s\n", jstr(r, "namespace"));
	printf("key:        %s\n", jstr(r, "key"));
	printf("version:    %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(r, "version")));
	if (*jstr(r, "owner"))
		printf("owner:      %s\n", jstr(r, "owner"));
	if (*jstr(r, "schemaHash"))
		printf("schemaHash: %s\n", jstr(r, "schemaHash"));
	printf("tags:      ");
	json_array_foreach(json_object_get(r, "tags"), i, t)
		printf("%s%s", i ? ", " : " ", json_string_value(t));
	printf("\n");
	printf("createdAt:  %s%s%s\n", jstr(r, "createdAt"), *jstr(r, "createdBy") ? " by " : "",
	       jstr(r, "createdBy"));
	printf("updatedAt:  %s%s%s\n", jstr(r, "updatedAt"), *jstr(r, "updatedBy") ? " by " : "",
	       jstr(r, "updatedBy"));
	if (*jstr(r, "deletedAt"))
		printf("deletedAt:  %s\n", jstr(r, "deletedAt"));
	meta = json_dumps(json_object_get(r, "metadata") ?: json_object(),
			  JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	printf("metadata:   %s\n", meta ? meta : "{}");
	free(meta);
}

/* get: the record; -q its metadata on one line. */
static void text_get(json_t *out, int quiet)
{
	if (quiet) {
		char *meta = json_dumps(json_object_get(out, "metadata"), JSON_COMPACT |
					JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

		puts(meta ? meta : "{}");
		free(meta);
		return;
	}
	text_record(out);
}

/* A write's answer {record, created?, idempotent}: the record; -q its version. */
static void text_write(json_t *out, int quiet)
{
	json_t *r = json_object_get(out, "record");

	if (quiet) {
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(r, "version")));
		return;
	}
	text_record(r);
	if (json_is_true(json_object_get(out, "idempotent")))
		printf("idempotent: true (nothing changed)\n");
}

static int read_metadata_file(const char *path, json_t **out)
{
	struct ah_err err = AH_ERR_INIT;
	json_error_t je;
	char why[AH_JSON_WHY_MAX], *buf = NULL;
	int64_t max;
	size_t len;
	int fd, ret = APPHUB_EXIT_FAILED;

	if (ah_env_size("APPHUB_METASTORE_MAX_RECORD", AH_MS_RECORD_MAX, 1024, &max, &err) < 0) {
		error("%s", err.msg);
		return APPHUB_EXIT_FAILED;
	}
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0 || ah_read_fd_max(fd, (size_t)max, &buf, &len) < 0) {
		if (errno == EFBIG)
			error("metadata file '%s': larger than %lld bytes (APPHUB_METASTORE_MAX_RECORD)",
			      path, (long long)max);
		else
			error("cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!(*out = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je))) {
		error("invalid metadata in '%s': %s", path, ah_json_why(&je, why, sizeof(why)));
		goto done;
	}
	ret = 0;
done:
	free(buf);
	return ret;
}

/* --metadata-json J: its value (the engine says when it is not an object). */
static int parse_json_arg(const char *what, const char *text, json_t **out)
{
	json_error_t je;
	char why[AH_JSON_WHY_MAX];

	if (!(*out = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je))) {
		error("invalid %s: %s", what, ah_json_why(&je, why, sizeof(why)));
		return APPHUB_EXIT_FAILED;
	}
	return 0;
}

/*
 * --set PATH=VALUE into metadata: PATH dotted (objects made on the way,
 * replacing what is not one), VALUE as JSON when it parses, else the string.
 */
static int apply_sets(json_t *metadata, json_t *sets, const struct option *opts)
{
	json_t *s;
	size_t i;

	json_array_foreach(sets, i, s) {
		const char *arg = json_string_value(s), *eq = strchr(arg, '='), *p, *dot;
		json_t *obj = metadata, *v;

		if (!eq || eq == arg)
			return usage_error(metastore_usage, opts,
					   "invalid --set '%s': expected PATH=VALUE", arg);
		v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
		if (!v)
			v = json_string(eq + 1);
		if (!v)
			v = json_stringn_nocheck(eq + 1, strlen(eq + 1));
		for (p = arg; (dot = memchr(p, '.', (size_t)(eq - p))); p = dot + 1) {
			char *seg = xstrndup(p, (size_t)(dot - p));
			json_t *next = json_object_get(obj, seg);

			if (!*seg) {
				free(seg);
				json_decref(v);
				return usage_error(metastore_usage, opts,
						   "invalid --set '%s': empty path segment", arg);
			}
			if (!json_is_object(next)) {
				next = json_object();
				json_object_set_new(obj, seg, next);
			}
			free(seg);
			obj = next;
		}
		if (p == eq) {
			json_decref(v);
			return usage_error(metastore_usage, opts,
					   "invalid --set '%s': empty path segment", arg);
		}
		{
			char *last = xstrndup(p, (size_t)(eq - p));

			json_object_set_new(obj, last, v);
			free(last);
		}
	}
	return 0;
}

/*
 * The metadata of --metadata-json, --metadata-file and --set: *out NULL
 * when none was given. An exit status.
 */
static int metadata_of(const char *json_arg, const char *file, json_t *sets,
		       const struct option *opts, json_t **out)
{
	int code;

	*out = NULL;
	if (json_arg && file)
		return usage_error(metastore_usage, opts,
				   "--metadata-json and --metadata-file do not go together");
	if (json_arg && (code = parse_json_arg("--metadata-json", json_arg, out)))
		return code;
	if (file && (code = read_metadata_file(file, out)))
		return code;
	if (json_array_size(sets)) {
		if (!*out)
			*out = json_object();
		if (!json_is_object(*out)) {
			error("invalid metadata: must be a JSON object to --set paths in it");
			return APPHUB_EXIT_FAILED;
		}
		if ((code = apply_sets(*out, sets, opts)))
			return code;
	}
	return 0;
}

static int write_verb(int argc, const char **argv, struct ctx *ctx, const char *op, int put)
{
	const char *mjson = NULL, *mfile = NULL, *owner = NULL, *schema = NULL, *idem = NULL;
	json_t *sets = NULL, *tags = NULL, *metadata = NULL, *params = NULL;
	long expected = -1;
	struct option create_opts[] = {
		OPT_STRING(0, "metadata-json", &mjson, "json", "the metadata, a JSON object"),
		OPT_STRING(0, "metadata-file", &mfile, "file", "the metadata from a file (- for stdin)"),
		OPT_LIST(0, "set", &sets, "path=value", "set metadata.PATH (dotted) to VALUE (JSON or a string)"),
		OPT_LIST(0, "tag", &tags, "t", "a tag (repeatable)"),
		OPT_STRING(0, "owner", &owner, "o", "the record's owner"),
		OPT_STRING(0, "schema-hash", &schema, "h", "the hash of the metadata's schema"),
		OPT_STRING(0, "idempotency-key", &idem, "k", "the same key again answers the first result"),
		OPT_INT(0, "expected-version", &expected, "n", "only if the record is at version n"),
		OPT_END(),
	};
	int code;

	if (!put)
		create_opts[7] = (struct option)OPT_END();
	if (parse_verb_args(ctx, argc, argv, create_opts, metastore_usage, 2, 2,
			    "a namespace and a key", &code) < 0)
		goto done;
	if ((code = metadata_of(mjson, mfile, sets, create_opts, &metadata)))
		goto done;
	params = json_pack("{s:s, s:s, s:O*, s:O*, s:s*, s:s*, s:s*}", "namespace", argv[0],
			   "key", argv[1], "metadata", metadata, "tags", json_array_size(tags) ? tags : NULL,
			   "owner", owner, "schemaHash", schema, "idempotencyKey", idem);
	if (expected >= 0)
		json_object_set_new(params, "expectedVersion", json_integer(expected));
	code = run_op_show(ctx, op, params, text_write);
	params = NULL;
done:
	json_decref(sets);
	json_decref(tags);
	json_decref(metadata);
	json_decref(params);
	return code;
}

static int metastore_create(int argc, const char **argv, struct ctx *ctx)
{
	return write_verb(argc, argv, ctx, "metastore.create", 0);
}

static int metastore_put(int argc, const char **argv, struct ctx *ctx)
{
	return write_verb(argc, argv, ctx, "metastore.put", 1);
}

static int metastore_get(int argc, const char **argv, struct ctx *ctx)
{
	long version = 0;
	int deleted = 0, code;
	struct option opts[] = {
		OPT_INT(0, "version", &version, "n", "that version, from the audit"),
		OPT_BOOL(0, "include-deleted", &deleted, "a soft-deleted record too"),
		OPT_END(),
	};
	json_t *params;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		return code;
	params = json_pack("{s:s, s:s}", "namespace", argv[0], "key", argv[1]);
	if (version)
		json_object_set_new(params, "version", json_integer(version));
	if (deleted)
		json_object_set_new(params, "includeDeleted", json_true());
	return run_op_show(ctx, "metastore.get", params, text_get);
}

static int metastore_patch(int argc, const char **argv, struct ctx *ctx)
{
	const char *mjson = NULL, *owner = NULL, *schema = NULL, *tags_set = NULL;
	json_t *sets = NULL, *unset = NULL, *add = NULL, *remove = NULL, *metadata = NULL;
	json_t *params = NULL, *tags = NULL;
	long expected = -1;
	struct option opts[] = {
		OPT_STRING(0, "metadata-json", &mjson, "json", "a JSON object deep-merged into the metadata"),
		OPT_LIST(0, "set", &sets, "path=value", "set metadata.PATH (dotted) to VALUE (JSON or a string)"),
		OPT_LIST(0, "unset", &unset, "path", "remove metadata.PATH (repeatable)"),
		OPT_LIST(0, "tags-add", &add, "t", "add a tag (repeatable)"),
		OPT_LIST(0, "tags-remove", &remove, "t", "remove a tag (repeatable)"),
		OPT_STRING(0, "tags-set", &tags_set, "t,...", "replace the tags"),
		OPT_STRING(0, "owner", &owner, "o", "the record's owner"),
		OPT_STRING(0, "schema-hash", &schema, "h", "the hash of the metadata's schema"),
		OPT_INT(0, "expected-version", &expected, "n", "only if the record is at version n"),
		OPT_END(),
	};
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		goto done;
	if ((code = metadata_of(mjson, NULL, sets, opts, &metadata)))
		goto done;
	if (tags_set || json_array_size(add) || json_array_size(remove)) {
		tags = json_object();
		if (tags_set) {
			json_t *p = json_pack("{s:s}", "t", tags_set), *list = NULL;
			struct ah_err err = AH_ERR_INIT;

			ah_param_strlist(p, "t", &list, &err);
			json_object_set_new(tags, "set", list);
			json_decref(p);
		}
		if (json_array_size(add))
			json_object_set(tags, "add", add);
		if (json_array_size(remove))
			json_object_set(tags, "remove", remove);
	}
	params = json_pack("{s:s, s:s, s:O*, s:O*, s:O*, s:s*, s:s*}", "namespace", argv[0],
			   "key", argv[1], "metadata", metadata,
			   "metadataUnset", json_array_size(unset) ? unset : NULL, "tags", tags,
			   "owner", owner, "schemaHash", schema);
	if (expected >= 0)
		json_object_set_new(params, "expectedVersion", json_integer(expected));
	code = run_op_show(ctx, "metastore.patch", params, text_write);
	params = NULL;
done:
	json_decref(sets);
	json_decref(unset);
	json_decref(add);
	json_decref(remove);
	json_decref(metadata);
	json_decref(tags);
	json_decref(params);
	return code;
}

static void text_removed(json_t *out, int quiet)
{
	json_t *r = json_object_get(out, "record");

	if (quiet)
		return;
	if (r)
		printf("deleted %s/%s at version %" JSON_INTEGER_FORMAT "\n", jstr(r, "namespace"),
		       jstr(r, "key"), json_integer_value(json_object_get(r, "version")));
	else
		printf("deleted\n");
}

static int metastore_rm(int argc, const char **argv, struct ctx *ctx)
{
	long expected = -1;
	struct option opts[] = {
		OPT_INT(0, "expected-version", &expected, "n", "only if the record is at version n"),
		OPT_END(),
	};
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		return code;
	params = json_pack("{s:s, s:s}", "namespace", argv[0], "key", argv[1]);
	if (expected >= 0)
		json_object_set_new(params, "expectedVersion", json_integer(expected));
	return run_op_show(ctx, "metastore.delete", params, text_removed);
}

static void text_purged(json_t *out, int quiet)
{
	(void)out;
	if (!quiet)
		printf("purged\n");
}

static int metastore_purge(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		return code;
	return run_op_show(ctx, "metastore.purge",
			   json_pack("{s:s, s:s}", "namespace", argv[0], "key", argv[1]),
			   text_purged);
}

static int metastore_restore(int argc, const char **argv, struct ctx *ctx)
{
	long version = 0, audit = 0;
	struct option opts[] = {
		OPT_INT(0, "version", &version, "n", "the record as it was at version n"),
		OPT_INT(0, "audit", &audit, "id", "the record as audit entry id left it"),
		OPT_END(),
	};
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		return code;
	if (!version == !audit)
		return usage_error(metastore_usage, opts, "metastore restore: give one of --version and --audit");
	params = json_pack("{s:s, s:s}", "namespace", argv[0], "key", argv[1]);
	json_object_set_new(params, version ? "version" : "auditId",
			    json_integer(version ? version : audit));
	return run_op_show(ctx, "metastore.restore", params, text_write);
}

static void text_search(json_t *out, int quiet)
{
	json_t *r, *v;
	size_t i;

	if (json_object_get(out, "plan")) {
		json_array_foreach(json_object_get(out, "plan"), i, v)
			printf("%s\n", json_string_value(v));
		printf("indexes:");
		json_array_foreach(json_object_get(out, "indexes"), i, v)
			printf(" %s", json_string_value(v));
		printf("%s\n", json_array_size(json_object_get(out, "indexes")) ? "" : " (none)");
		return;
	}
	if (!quiet && json_array_size(json_object_get(out, "records")))
		printf("%-40s  %-7s  %s\n", "KEY", "VERSION", "UPDATED");
	json_array_foreach(json_object_get(out, "records"), i, r) {
		if (quiet)
			puts(jstr(r, "key"));
		else
			printf("%-40s  %-7" JSON_INTEGER_FORMAT "  %s\n", jstr(r, "key"),
			       json_integer_value(json_object_get(r, "version")), or_dash(r, "updatedAt"));
	}
}

static int metastore_search(int argc, const char **argv, struct ctx *ctx)
{
	const char *q = NULL, *fjson = NULL, *projection = NULL;
	json_t *sort = NULL, *filter = NULL, *params = NULL;
	long limit = 0, offset = 0;
	int deleted = 0, plan = 0, code;
	struct option opts[] = {
		OPT_STRING('q', "query", &q, "query", "terms 'field op value' ANDed (ops : = != >= <= > <)"),
		OPT_STRING(0, "filter-json", &fjson, "json", "a filter: conditions, groups, not"),
		OPT_LIST(0, "sort", &sort, "field[:asc|desc]", "sort by (repeatable, at most 5)"),
		OPT_INT(0, "limit", &limit, "n", "at most n records (1-200, default 50)"),
		OPT_INT(0, "offset", &offset, "n", "skip n records"),
		OPT_BOOL(0, "include-deleted", &deleted, "soft-deleted records too"),
		OPT_STRING(0, "projection", &projection, "f,...", "only these fields of each record"),
		OPT_BOOL(0, "explain", &plan, "the query plan and the indexes it uses, not the records"),
		OPT_END(),
	};

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 1, 1, "a namespace", &code) < 0)
		goto done;
	if (fjson && (code = parse_json_arg("--filter-json", fjson, &filter)))
		goto done;
	params = json_pack("{s:s, s:s*, s:O*, s:O*, s:s*}", "namespace", argv[0], "q", q,
			   "filter", filter, "sort", json_array_size(sort) ? sort : NULL,
			   "projection", projection);
	if (limit)
		json_object_set_new(params, "limit", json_integer(limit));
	if (offset)
		json_object_set_new(params, "offset", json_integer(offset));
	if (deleted)
		json_object_set_new(params, "includeDeleted", json_true());
	if (plan)
		json_object_set_new(params, "explain", json_true());
	code = run_op_show(ctx, "metastore.search", params, text_search);
	params = NULL;
done:
	json_decref(sort);
	json_decref(filter);
	json_decref(params);
	return code;
}

/* One bulk document's reply: printed, its failures counted. */
static void bulk_print(struct ctx *ctx, json_t *out, size_t *n, size_t *failed)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(out, "operations"), i, o) {
		json_t *r = json_object_get(o, "record"), *e = json_object_get(o, "error");
		int ok = !strcmp(jstr(o, "status"), "ok");

		*failed += !ok;
		++*n;
		if (ctx->json || ctx->quiet)
			continue;
		if (ok)
			printf("%zu ok %s %s/%s v%" JSON_INTEGER_FORMAT "\n", *n, jstr(o, "type"),
			       jstr(r, "namespace"), jstr(r, "key"),
			       json_integer_value(json_object_get(r, "version")));
		else
			printf("%zu error %s: %s: %s\n", *n, or_dash(o, "type"), jstr(e, "code"),
			       jstr(e, "message"));
	}
	if (ctx->json) {
		json_dumpf(out, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
}

/*
 * A bulk file's documents, parsed a step ahead in a thread of their own
 * while the one before is written; the same thread runs the operation's
 * pure part (ah_op_prepare: its records checked and written out), and
 * frees what it made once written, with the writer's reply: the writer is
 * the load's slowest part.
 */
#define BULK_AHEAD 4
/* written documents the reader has not freed yet, at most */
#define BULK_SPENT (BULK_AHEAD + 2)
/* the memory its documents are parsed into (lib/json-arena.h): reserved, used as needed */
#define BULK_ARENA ((size_t)256 << 20)
#define BULK_OP "metastore.bulk"

struct bulk_doc {
	json_t *doc;
	size_t len;		/* of its text */
	void *prepared;
	struct ah_json_part part;
	json_t *out;		/* the writer's reply, freed with it */
};

struct bulk_reader {
	const char *file;
	int fd, eof, err;	/* err: read(2)'s errno, or EFBIG for a document too large */
	/* what was read and not yet parsed: from off to len */
	char *buf;
	size_t alloc, len, off, docs;
	int prepare;		/* run the operation's pure part (not with --server) */
	int brief;		/* ask for brief replies: their records are not printed */
	struct bulk_doc ready[BULK_AHEAD];
	size_t head, count;
	struct bulk_doc spent[BULK_SPENT];
	size_t spent_nr;
	int done, stop;
	char error[256];
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void bulk_doc_release(struct bulk_doc *d)
{
	/* first: it holds values of the document's */
	json_decref(d->out);
	ah_op_prepared_free(BULK_OP, d->prepared);
	/* in the arena a document goes whole; what spilled from it, value by value */
	if (!ah_json_arena_on() || d->part.spilled)
		json_decref(d->doc);
	ah_json_arena_release(&d->part);
	memset(d, 0, sizeof(*d));
}

/* Under the lock: frees the documents written, in order, without it. */
static void bulk_free_spent(struct bulk_reader *r)
{
	struct bulk_doc spent[BULK_SPENT];
	size_t i, n = r->spent_nr;

	memcpy(spent, r->spent, n * sizeof(*spent));
	r->spent_nr = 0;
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < n; i++)
		bulk_doc_release(&spent[i]);
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->cond);
}

/*
 * Reads until want bytes after off are there or the file ends (keeping
 * what is after off), without waiting for more than is ready once the
 * first read, which may wait when block, brought something: a writer of
 * the input that pauses gets its document written. 0, or -1 (r->err).
 */
static int bulk_fill(struct bulk_reader *r, size_t want, int block)
{
	struct pollfd ready = { .fd = r->fd, .events = POLLIN };
	ssize_t got;

	while (!r->eof && r->len - r->off < want) {
		if (!block && poll(&ready, 1, 0) <= 0)
			break;
		block = 0;
		if (r->off > r->alloc / 2) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		if (r->alloc - r->len < BULK_READ) {
			r->alloc = r->alloc ? 2 * r->alloc : 4 * BULK_READ;
			r->buf = xrealloc(r->buf, r->alloc);
		}
		do
			got = read(r->fd, r->buf + r->len, r->alloc - r->len);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			r->err = errno;
			return -1;
		}
		r->len += got;
		r->eof = !got;
	}
	return 0;
}

/*
 * The next document, from what was read (json_loadb: through a callback
 * jansson takes a tenth longer): one that goes on past it is parsed
 * again with more, up to BULK_DOC_MAX.
 */
static json_t *bulk_parse(struct bulk_reader *r, json_error_t *je)
{
	size_t have;
	json_t *doc;

	for (;;) {
		have = r->len - r->off;
		doc = json_loadb(r->buf + r->off, have, JSON_REJECT_DUPLICATES |
				 JSON_DISABLE_EOF_CHECK, je);
		/* an error where what was read ends may be a document that goes on */
		if (doc || r->eof || (json_error_code(je) != json_error_premature_end_of_input &&
				      (size_t)je->position + 64 < have))
			return doc;
		if (have >= BULK_DOC_MAX) {
			r->err = EFBIG;
			return NULL;
		}
		/* twice as much, when it is there: a large document is not parsed again a read at a time */
		if (bulk_fill(r, 2 * have, 1) < 0)
			return NULL;
	}
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void *bulk_read(void *arg)
{
	struct bulk_reader *r = arg;
	char why[AH_JSON_WHY_MAX];
	json_error_t je;
	struct bulk_doc d;
	int ahead;

	memset(&d, 0, sizeof(d));
	for (;;) {
		while (!bulk_fill(r, 1, 1) && r->off < r->len && is_space(r->buf[r->off]))
			r->off++;
		if (!r->err)
			bulk_fill(r, BULK_READ, 0);
		if (r->err) {
			snprintf(r->error, sizeof(r->error), "metastore bulk: cannot read '%s': %s",
				 r->file, strerror(r->err));
			break;
		}
		if (r->off == r->len && r->docs)
			break;
		ah_json_arena_begin();
		d.doc = bulk_parse(r, &je);
		r->docs++;
		if (!d.doc || !json_is_object(d.doc)) {
			if (d.doc)
				snprintf(r->error, sizeof(r->error), "metastore bulk: '%s' must hold JSON"
					 " objects {operations, continueOnError}", r->file);
			else if (r->err)
				snprintf(r->error, sizeof(r->error), "metastore bulk: %s '%s' (document"
					 " %zu): %s", r->err == EFBIG ? "too large a document in" :
					 "cannot read", r->file, r->docs, r->err == EFBIG ?
					 "over 256 MiB" : strerror(r->err));
			else
				snprintf(r->error, sizeof(r->error), "metastore bulk: invalid JSON in"
					 " '%s' (document %zu): %s", r->file, r->docs,
					 ah_json_why(&je, why, sizeof(why)));
			ah_json_arena_end(&d.part);
			json_decref(d.doc);
			break;
		}
		r->off += je.position;
		d.len = je.position;
		if (r->brief && !json_object_get(d.doc, "brief"))
			json_object_set_new(d.doc, "brief", json_true());
		/*
		 * Its pure part, when this thread is ahead of the writer (a
		 * document waits): else the writer runs it, and the two keep
		 * pace (parsing alone takes about as long as the writes).
		 */
		pthread_mutex_lock(&r->lock);
		ahead = r->count > 0;
		pthread_mutex_unlock(&r->lock);
		d.prepared = r->prepare && ahead ? ah_op_prepare(BULK_OP, d.doc) : NULL;
		ah_json_arena_end(&d.part);
		pthread_mutex_lock(&r->lock);
		for (;;) {
			if (r->spent_nr)
				bulk_free_spent(r);
			if (r->count < BULK_AHEAD || r->stop)
				break;
			pthread_cond_wait(&r->cond, &r->lock);
		}
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			bulk_doc_release(&d);
			return NULL;
		}
		r->ready[(r->head + r->count++) % BULK_AHEAD] = d;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&r->lock);
	r->done = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/*
 * Gives back a written document: the reader frees it (its documents'
 * memory is its alone), unless it is done.
 */
static void bulk_give(struct bulk_reader *r, struct bulk_doc *d)
{
	pthread_mutex_lock(&r->lock);
	while (!r->done && r->spent_nr == BULK_SPENT) {
		pthread_cond_broadcast(&r->cond);
		pthread_cond_wait(&r->cond, &r->lock);
	}
	if (!r->done) {
		r->spent[r->spent_nr++] = *d;
		memset(d, 0, sizeof(*d));
	}
	pthread_mutex_unlock(&r->lock);
	bulk_doc_release(d);
}

/*
 * The next document into *d: 1; 0 when none came within wait_ms (-1:
 * waits as long as it takes); -1 after the last, or at an error (r->error).
 */
static int bulk_take(struct bulk_reader *r, struct bulk_doc *d, int wait_ms)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->count && !r->done)
		if (wait_ms < 0)
			pthread_cond_wait(&r->cond, &r->lock);
		else if (pthread_cond_timedwait(&r->cond, &r->lock, &until))
			break;
	got = r->count ? 1 : r->done ? -1 : 0;
	if (got > 0) {
		*d = r->ready[r->head];
		r->head = (r->head + 1) % BULK_AHEAD;
		r->count--;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

/*
 * The documents written since the last commit, and their replies: a
 * group commits together (ah_ctx_commit) once it holds BULK_GROUP of them
 * or BULK_GROUP_BYTES, once its first has waited BULK_GROUP_MS, or when
 * the reader has had no next one for BULK_WAIT_MS: a load of documents one
 * after another commits ten times fewer, and a writer that sends them
 * slowly still sees each committed at once. Replies are printed after the
 * commit, so that what is printed is written.
 */
#define BULK_GROUP 16
#define BULK_GROUP_BYTES ((size_t)16 << 20)
#define BULK_GROUP_MS 100
#define BULK_WAIT_MS 10

struct bulk_group {
	struct bulk_doc doc[BULK_GROUP];
	size_t nr, bytes, first;	/* first: the number of its first document */
	struct timespec began;
};

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Commits the group, prints its replies and gives its documents back: 0, or the exit code. */
static int bulk_commit(struct ctx *ctx, struct bulk_reader *r, struct bulk_group *g, size_t *n,
		       size_t *failed)
{
	struct ah_err err = AH_ERR_INIT;
	size_t i;
	int code = 0;

	if (ah_ctx_commit(&ctx->op, &err) < 0) {
		error("metastore bulk: documents %zu to %zu not written: %s", g->first,
		      g->first + g->nr - 1, err.msg);
		code = exit_status(&err);
	}
	for (i = 0; i < g->nr; i++) {
		if (!code)
			bulk_print(ctx, g->doc[i].out, n, failed);
		bulk_give(r, &g->doc[i]);
	}
	/* a writer of the input may wait for these before it sends more */
	fflush(stdout);
	g->first += g->nr;
	g->nr = g->bytes = 0;
	return code;
}

/*
 * bulk FILE: one {operations, continueOnError} document, or several one
 * after another (JSON Lines): each is a transaction of its own, so a load
 * of many records takes one process, not one a hundred.
 */
static int metastore_bulk(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	struct bulk_reader r = { .lock = PTHREAD_MUTEX_INITIALIZER,
				 .cond = PTHREAD_COND_INITIALIZER };
	struct bulk_doc d;
	struct bulk_group g = { .first = 1 };
	json_t *out = NULL;
	size_t i, n = 0, failed = 0;
	pthread_t reader;
	int code, started = 0, arena = 0;

	memset(&d, 0, sizeof(d));
	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 1, 1,
			    "a file of operations (or - for stdin)", &code) < 0)
		return code;
	code = APPHUB_EXIT_FAILED;
	r.fd = strcmp(argv[0], "-") ? open(argv[0], O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (r.fd < 0) {
		error("metastore bulk: cannot read '%s': %s", argv[0], strerror(errno));
		goto done;
	}
	r.file = argv[0];
	r.prepare = !ctx->server;
	r.brief = !ctx->json;
	ctx->op.group = !ctx->server;
	/* without it, documents are parsed and freed value by value */
	arena = !ah_json_arena_start(BULK_ARENA);
	if (pthread_create(&reader, NULL, bulk_read, &r)) {
		error("metastore bulk: cannot start a thread: %s", strerror(errno));
		goto done;
	}
	started = 1;
	for (;;) {
		int got = bulk_take(&r, &d, g.nr ? BULK_WAIT_MS : -1);

		if (got <= 0) {
			if (g.nr && (code = bulk_commit(ctx, &r, &g, &n, &failed)))
				goto done;
			if (got < 0)
				break;
			continue;
		}
		if (!g.nr)
			clock_gettime(CLOCK_MONOTONIC, &g.began);
		ctx->op.prepared = d.prepared;
		code = run_op(ctx, BULK_OP, d.doc, &out);
		ctx->op.prepared = NULL;
		if (code) {
			/* refused, it wrote nothing; the documents before it are written */
			int c = g.nr ? bulk_commit(ctx, &r, &g, &n, &failed) : 0;

			code = c ? c : code;
			goto done;
		}
		d.out = out;
		out = NULL;
		g.bytes += d.len;
		g.doc[g.nr++] = d;
		memset(&d, 0, sizeof(d));
		if ((g.nr == BULK_GROUP || g.bytes >= BULK_GROUP_BYTES ||
		     ms_since(&g.began) >= BULK_GROUP_MS) &&
		    (code = bulk_commit(ctx, &r, &g, &n, &failed)))
			goto done;
	}
	if (*r.error) {
		error("%s", r.error);
		code = APPHUB_EXIT_FAILED;
	} else if (failed) {
		error("metastore bulk: %zu of %zu operations failed", failed, n);
		code = APPHUB_EXIT_FAILED;
	}
done:
	if (started) {
		pthread_mutex_lock(&r.lock);
		r.stop = 1;
		pthread_cond_broadcast(&r.cond);
		pthread_mutex_unlock(&r.lock);
		pthread_join(reader, NULL);
		while (r.count--)
			bulk_doc_release(&r.ready[r.head++ % BULK_AHEAD]);
		while (r.spent_nr)
			bulk_doc_release(&r.spent[--r.spent_nr]);
	}
	for (i = 0; i < g.nr; i++)
		bulk_doc_release(&g.doc[i]);
	json_decref(out);
	bulk_doc_release(&d);
	if (arena)
		ah_json_arena_stop();
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	return code;
}

static void text_audit(json_t *out, int quiet)
{
	json_t *e;
	size_t i;

	if (!quiet && json_array_size(json_object_get(out, "entries")))
		printf("%-8s  %-9s  %-7s  %-16s  %s\n", "ID", "ACTION", "VERSION", "ACTOR", "TIME");
	json_array_foreach(json_object_get(out, "entries"), i, e) {
		if (quiet)
			printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(e, "id")));
		else
			printf("%-8" JSON_INTEGER_FORMAT "  %-9s  %-7" JSON_INTEGER_FORMAT "  %-16s  %s\n",
			       json_integer_value(json_object_get(e, "id")), jstr(e, "action"),
			       json_integer_value(json_object_get(e, "version")), or_dash(e, "actor"),
			       jstr(e, "createdAt"));
	}
}

static int metastore_audit(int argc, const char **argv, struct ctx *ctx)
{
	long limit = 0, offset = 0;
	struct option opts[] = {
		OPT_INT(0, "limit", &limit, "n", "at most n entries"),
		OPT_INT(0, "offset", &offset, "n", "skip n entries"),
		OPT_END(),
	};
	json_t *params;
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 2, 2, "a namespace and a key",
			    &code) < 0)
		return code;
	params = json_pack("{s:s, s:s}", "namespace", argv[0], "key", argv[1]);
	if (limit)
		json_object_set_new(params, "limit", json_integer(limit));
	if (offset)
		json_object_set_new(params, "offset", json_integer(offset));
	return run_op_show(ctx, "metastore.audit", params, text_audit);
}

static void text_namespaces(json_t *out, int quiet)
{
	json_t *n;
	size_t i;

	if (!quiet && json_array_size(json_object_get(out, "namespaces")))
		printf("%-40s  %s\n", "NAMESPACE", "RECORDS");
	json_array_foreach(json_object_get(out, "namespaces"), i, n) {
		if (quiet)
			puts(jstr(n, "namespace"));
		else
			printf("%-40s  %" JSON_INTEGER_FORMAT "\n", jstr(n, "namespace"),
			       json_integer_value(json_object_get(n, "records")));
	}
}

static int metastore_ls(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	int code;

	if (parse_verb_args(ctx, argc, argv, opts, metastore_usage, 0, 0, "nothing", &code) < 0)
		return code;
	return run_op_show(ctx, "metastore.namespaces", json_object(), text_namespaces);
}

static void text_index(json_t *out, int quiet)
{
	if (quiet)
		puts(jstr(out, "name"));
	else if (json_is_true(json_object_get(out, "dropped")))
		printf("dropped index %s on %s in %s\n", jstr(out, "name"), jstr(out, "field"),
		       jstr(out, "namespace"));
	else
		printf("index %s on %s in %s %s\n", jstr(out, "name"), jstr(out, "field"),
		       jstr(out, "namespace"),
		       json_is_true(json_object_get(out, "created")) ? "created" : "exists");
}

static void text_indexes(json_t *out, int quiet)
{
	json_t *x;
	size_t i;

	if (!quiet && json_array_size(json_object_get(out, "indexes")))
		printf("%-32s  %-30s  %s\n", "FIELD", "NAME", "CREATED");
	json_array_foreach(json_object_get(out, "indexes"), i, x) {
		if (quiet)
			puts(jstr(x, "field"));
		else
			printf("%-32s  %-30s  %s\n", jstr(x, "field"), jstr(x, "name"),
			       jstr(x, "createdAt"));
	}
}

static int metastore_index(int argc, const char **argv, struct ctx *ctx)
{
	int drop = 0, code;
	struct option opts[] = {
		OPT_BOOL(0, "drop", &drop, "drop the field's index"),
		OPT_END(),
	};

	if ((argc = parse_verb_args(ctx, argc, argv, opts, metastore_usage, 1, 2,
				    "a namespace and a field", &code)) < 0)
		return code;
	if (argc == 1) {
		if (drop)
			return usage_error(metastore_usage, opts, "metastore index: --drop needs a field");
		return run_op_show(ctx, "metastore.indexes",
				   json_pack("{s:s}", "namespace", argv[0]), text_indexes);
	}
	return run_op_show(ctx, drop ? "metastore.index-drop" : "metastore.index",
			   json_pack("{s:s, s:s}", "namespace", argv[0], "field", argv[1]),
			   text_index);
}

static void print_change(struct ctx *ctx, json_t *c)
{
	if (ctx->json) {
		char *s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);

		puts(s ? s : "{}");
		free(s);
	} else {
		printf("%" JSON_INTEGER_FORMAT " %s %s/%s v%" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(c, "revision")), jstr(c, "type"),
		       jstr(c, "namespace"), jstr(c, "key"),
		       json_integer_value(json_object_get(c, "version")));
	}
}

/*
 * watch: polls metastore.changes every WATCH_POLL_MS, here or through
 * --server (GET /records/:namespace/watch answers the same JSON), after
 * the revision given or the store's latest at the start; forever.
 */
static int metastore_watch(int argc, const char **argv, struct ctx *ctx)
{
	const char *prefix = NULL;
	long since = -1;
	struct option opts[] = {
		OPT_STRING(0, "prefix", &prefix, "p", "only keys that start with p"),
		OPT_INT(0, "since", &since, "revision", "the changes after this revision (default: from now)"),
		OPT_END(),
	};
	json_t *base, *out = NULL;
	int code;

	if ((argc = parse_verb_args(ctx, argc, argv, opts, metastore_usage, 1, 2,
				    "a namespace and a key", &code)) < 0)
		return code;
	if (argc == 2 && prefix)
		return usage_error(metastore_usage, opts, "metastore watch: a key and --prefix do not go together");
	if (since < -1)
		return usage_error(metastore_usage, opts, "metastore watch: invalid --since %ld", since);
	base = json_pack("{s:s, s:s*, s:s*}", "namespace", argv[0], "key", argc == 2 ? argv[1] : NULL,
			 "prefix", prefix);
	if (since < 0) {
		json_t *p = json_deep_copy(base);

		json_object_set_new(p, "limit", json_integer(1));
		code = run_op(ctx, "metastore.changes", p, &out);
		json_decref(p);
		if (code)
			goto done;
		since = (long)json_integer_value(json_object_get(out, "revision"));
	}
	for (;;) {
		json_t *p = json_deep_copy(base), *changes, *c;
		size_t i, n;
		long limit = 1000;

		json_object_set_new(p, "since", json_integer(since));
		json_object_set_new(p, "limit", json_integer(limit));
		json_decref(out);
		out = NULL;
		code = run_op(ctx, "metastore.changes", p, &out);
		json_decref(p);
		if (code)
			goto done;
		changes = json_object_get(out, "changes");
		n = json_array_size(changes);
		json_array_foreach(changes, i, c) {
			print_change(ctx, c);
			since = (long)json_integer_value(json_object_get(c, "revision"));
		}
		if (fflush(stdout) || ferror(stdout)) {
			error("cannot write output");
			code = APPHUB_EXIT_FATAL;
			goto done;
		}
		/* Fewer than asked: every change up to the store's revision was seen. */
		if (n < (size_t)limit) {
			long rev = (long)json_integer_value(json_object_get(out, "revision"));

			if (rev > since)
				since = rev;
			nanosleep(&(struct timespec){ 0, WATCH_POLL_MS * 1000000L }, NULL);
		}
	}
done:
	json_decref(base);
	json_decref(out);
	return code;
}

static const struct verb metastore_verbs[] = {
	{ "audit", metastore_audit },
	{ "bulk", metastore_bulk },
	{ "create", metastore_create },
	{ "get", metastore_get },
	{ "index", metastore_index },
	{ "ls", metastore_ls },
	{ "patch", metastore_patch },
	{ "purge", metastore_purge },
	{ "put", metastore_put },
	{ "restore", metastore_restore },
	{ "rm", metastore_rm },
	{ "search", metastore_search },
	{ "watch", metastore_watch },
};

int cmd_metastore(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(metastore_verbs, sizeof(metastore_verbs) / sizeof(metastore_verbs[0]), "ls",
			"metastore", metastore_usage, argc - 1, argv + 1, ctx);
}
