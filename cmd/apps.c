/*
 * apphub apps: register apps and find them by tags and words.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmd.h"
#include "../lib/strbuf.h"

static const char *const apps_usage[] = {
	"apphub apps [ls] [<token>...] [--tag <k:v>]... [--status <s>] [--sort <order>]",
	"apphub apps search [<token>...] [<options>]",
	"apphub apps add <repo> [--id <id>] [--name <n>] [--description <d>] [--dockerfile <path>] [--tag <k:v>]... [--explicit] [--update]",
	"apphub apps import <file>|- [--update]",
	"apphub apps show <id>",
	"apphub apps history <id> [--limit <n>]",
	"apphub apps retry <id>",
	"apphub apps rm <id>",
	"apphub apps tag <id> add|rm <k:v>...",
	"apphub apps tags [<prefix>] [--limit <n>]",
	NULL
};

static void print_app_text(json_t *app)
{
	json_t *tags = json_object_get(app, "tags"), *t;
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(app, key, v) {
		/* The README is for the app page and --json; 0 attempts says nothing. */
		if (!strcmp(key, "readme") ||
		    (!strcmp(key, "ingestAttempts") && !json_integer_value(v)))
			continue;
		if (!strcmp(key, "tags")) {
			printf("%-18s", "tags:");
			json_array_foreach(tags, i, t)
				printf("%s%s:%s (%s)", i ? ", " : "",
				       json_string_value(json_object_get(t, "key")),
				       json_string_value(json_object_get(t, "value")),
				       json_string_value(json_object_get(t, "source")));
			putchar('\n');
		} else if (json_is_string(v)) {
			char label[64];

			snprintf(label, sizeof(label), "%s:", key);
			printf("%-18s%s\n", label, json_string_value(v));
		} else if (json_is_integer(v)) {
			char label[64];

			snprintf(label, sizeof(label), "%s:", key);
			printf("%-18s%" JSON_INTEGER_FORMAT "\n", label, json_integer_value(v));
		}
	}
}

/* One app a line: id, status and name in aligned columns, then the tags. */
static void print_app_list(json_t *apps, int quiet)
{
	size_t i, wid = 2, wstatus = 6, wname = 4;
	json_t *app;

	json_array_foreach(apps, i, app) {
		size_t l;

		if ((l = strlen(json_string_value(json_object_get(app, "id")))) > wid)
			wid = l;
		if ((l = strlen(json_string_value(json_object_get(app, "status")))) > wstatus)
			wstatus = l;
		if ((l = strlen(json_string_value(json_object_get(app, "name")))) > wname)
			wname = l;
	}
	if (wname > 40)
		wname = 40;
	json_array_foreach(apps, i, app) {
		json_t *t;
		size_t j;

		if (quiet) {
			puts(json_string_value(json_object_get(app, "id")));
			continue;
		}
		printf("%-*s  %-*s  %-*.*s", (int)wid, json_string_value(json_object_get(app, "id")),
		       (int)wstatus, json_string_value(json_object_get(app, "status")),
		       (int)wname, (int)wname, json_string_value(json_object_get(app, "name")));
		json_array_foreach(json_object_get(app, "tags"), j, t)
			printf("%s%s:%s", j ? " " : "  ", json_string_value(json_object_get(t, "key")),
			       json_string_value(json_object_get(t, "value")));
		putchar('\n');
	}
}

static void text_app(json_t *app, int quiet)
{
	if (!quiet)
		print_app_text(app);
}

static void text_search(json_t *res, int quiet)
{
	print_app_list(json_object_get(res, "data"), quiet);
}

static void text_id(json_t *app, int quiet)
{
	if (!quiet)
		puts(json_string_value(json_object_get(app, "id")));
}

static int apps_search(int argc, const char **argv, struct ctx *ctx)
{
	const char *status = NULL, *sort = NULL, *weights = NULL;
	long limit = LONG_MIN, offset = LONG_MIN;
	json_t *tags = NULL, *params;
	struct strbuf q = STRBUF_INIT;
	struct option opts[] = {
		OPT_LIST(0, "tag", &tags, "k:v", "only apps with this tag (repeatable)"),
		OPT_STRING(0, "status", &status, "status", "pending, processing, ready or failed"),
		OPT_STRING(0, "sort", &sort, "order", "relevance, updated or name"),
		OPT_INT(0, "limit", &limit, "n", "at most n apps (1-1000, default 50)"),
		OPT_INT(0, "offset", &offset, "n", "skip the first n apps"),
		OPT_STRING(0, "weights", &weights, "w", "relevance weights, name:4,description:1.5,tags:2"),
		OPT_END(),
	};
	int i, code;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, 0, -1, "search words", &code);
	if (argc < 0)
		return code;
	for (i = 0; i < argc; i++)
		strbuf_addf(&q, "%s%s", i ? " " : "", argv[i]);
	params = json_pack("{s:s, s:o}", "q", q.buf, "tags", tags ? tags : json_array());
	if (status)
		json_object_set_new(params, "status", json_string(status));
	if (sort)
		json_object_set_new(params, "sort", json_string(sort));
	if (weights)
		json_object_set_new(params, "weights", json_string(weights));
	if (limit != LONG_MIN)
		json_object_set_new(params, "limit", json_integer(limit));
	if (offset != LONG_MIN)
		json_object_set_new(params, "offset", json_integer(offset));
	/* The text listing prints the page alone: spare the facets' work. */
	if (!ctx->json)
		json_object_set_new(params, "facets", json_false());
	strbuf_release(&q);
	return run_op_show(ctx, "apps.search", params, text_search);
}

/* A relative path to an existing directory means that directory, as git takes it. */
static char *repo_arg(const char *arg)
{
	struct stat sb;
	char *abs;

	if (arg[0] == '/' || strstr(arg, "://") || stat(arg, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return xstrdup(arg);
	abs = realpath(arg, NULL);
	return abs ? abs : xstrdup(arg);
}

static int apps_add(int argc, const char **argv, struct ctx *ctx)
{
	const char *id = NULL, *name = NULL, *description = NULL, *dockerfile = NULL;
	int explicit = 0, update = 0, code;
	json_t *tags = NULL, *params;
	struct option opts[] = {
		OPT_STRING(0, "id", &id, "id", "the app id (default: from the repository name)"),
		OPT_STRING(0, "name", &name, "name", "display name (default: from package.json or the id)"),
		OPT_STRING(0, "description", &description, "text", "description (default: from the README)"),
		OPT_STRING(0, "dockerfile", &dockerfile, "path", "the Dockerfile's path in the repository"),
		OPT_LIST(0, "tag", &tags, "k:v", "a tag (repeatable)"),
		OPT_BOOL(0, "explicit", &explicit, "keep only the given metadata; no enrichment"),
		OPT_BOOL(0, "update", &update, "update the app if it exists"),
		OPT_END(),
	};
	char *repo;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, 1, 1, "a repository", &code);
	if (argc < 0) {
		json_decref(tags);
		return code;
	}
	repo = repo_arg(argv[0]);
	params = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:b}", "repoUrl", repo,
			   "id", id, "name", name, "description", description,
			   "dockerfilePath", dockerfile,
			   "metadataStrategy", explicit ? "explicit" : "auto", "update", update);
	if (tags)
		json_object_set_new(params, "tags", tags);
	free(repo);
	return run_op_show(ctx, "apps.add", params, text_id);
}

/*
 * Apps a transaction, up to apps.import's maximum: larger batches rewrite
 * the hot index pages less often. With --server a batch also stays under
 * serve's 1 MiB body cap.
 */
#define IMPORT_BATCH 10000
#define IMPORT_BATCH_BYTES (768 * 1024)

static int by_line(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));

	return x < y ? -1 : x > y;
}

/* Prints the batch's errors in line order and moves them to errors. */
static void report_errors(json_t *batch_errors, json_t *errors)
{
	size_t i, n = json_array_size(batch_errors);
	json_t **v = xcalloc(n, sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = json_array_get(batch_errors, i);
	qsort(v, n, sizeof(*v), by_line);
	for (i = 0; i < n; i++) {
		error("line %" JSON_INTEGER_FORMAT ": %s",
		      json_integer_value(json_object_get(v[i], "line")),
		      json_string_value(json_object_get(v[i], "message")));
		json_array_append(errors, v[i]);
	}
	free(v);
	json_array_clear(batch_errors);
}

/*
 * Sends one batch; adds its count to imported and its errors, with the
 * lines that did not parse (batch_errors), to errors.
 */
static int import_batch(struct ctx *ctx, json_t *items, json_t *lines, int update,
			json_int_t *imported, json_t *batch_errors, json_t *errors)
{
	json_t *params = json_pack("{s:O, s:O, s:b}", "items", items, "lines", lines,
				   "update", update), *out = NULL;
	int code = 0;

	if (json_array_size(items))
		code = run_op(ctx, "apps.import", params, &out);
	json_decref(params);
	json_array_clear(items);
	json_array_clear(lines);
	if (code)
		return code;
	if (out) {
		*imported += json_integer_value(json_object_get(out, "imported"));
		json_array_extend(batch_errors, json_object_get(out, "errors"));
	}
	report_errors(batch_errors, errors);
	json_decref(out);
	return 0;
}

/* A batch of lines: the apps, their line numbers and the lines that did not parse. */
struct import_lines {
	json_t *items, *lines, *errors;
	int last;		/* the file ends with it */
};

static void import_lines_free(struct import_lines *b)
{
	if (!b)
		return;
	json_decref(b->items);
	json_decref(b->lines);
	json_decref(b->errors);
	free(b);
}

/*
 * Reads the file a batch at a time. Parsing the JSON is a tenth of a local
 * import, so a thread parses the next batch while this one is written
 * (not with --server, where the request is what takes the time).
 */
struct import_reader {
	FILE *fp;
	int byte_cap;
	json_int_t lineno;
	char *line;
	size_t cap;
	json_t *carry;		/* a line held over for the next batch */
	json_int_t carry_lineno;
	size_t carry_len;
	int threaded, stop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct import_lines *ready;
};

static struct import_lines *read_lines(struct import_reader *r)
{
	struct import_lines *b = xcalloc(1, sizeof(*b));
	size_t bytes = 0;
	ssize_t len;

	b->items = json_array();
	b->lines = json_array();
	b->errors = json_array();
	if (r->carry) {
		json_array_append_new(b->items, r->carry);
		json_array_append_new(b->lines, json_integer(r->carry_lineno));
		bytes = r->carry_len;
		r->carry = NULL;
	}
	while (json_array_size(b->items) < IMPORT_BATCH) {
		char why[AH_JSON_WHY_MAX];
		json_error_t jerr;
		json_t *item;

		if ((len = getline(&r->line, &r->cap, r->fp)) < 0) {
			b->last = 1;
			break;
		}
		r->lineno++;
		if (strspn(r->line, " \t\r\n") == (size_t)len)
			continue;
		item = json_loadb(r->line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(item)) {
			json_array_append_new(b->errors, json_pack("{s:I, s:s}", "line", r->lineno,
					      "message", item ? "not a JSON object"
					      : ah_json_why(&jerr, why, sizeof(why))));
			json_decref(item);
			continue;
		}
		/* The batch goes first if this line would take it over the byte cap. */
		if (r->byte_cap && json_array_size(b->items) && bytes + (size_t)len > IMPORT_BATCH_BYTES) {
			r->carry = item;
			r->carry_lineno = r->lineno;
			r->carry_len = (size_t)len;
			break;
		}
		json_array_append_new(b->items, item);
		json_array_append_new(b->lines, json_integer(r->lineno));
		bytes += (size_t)len;
	}
	return b;
}

/* Parses a batch once the last one is taken: two in memory at most. */
static void *reader_main(void *arg)
{
	struct import_reader *r = arg;
	int last = 0;

	while (!last) {
		struct import_lines *b;

		pthread_mutex_lock(&r->lock);
		while (r->ready && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		last = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (last)
			break;
		b = read_lines(r);
		last = b->last;
		pthread_mutex_lock(&r->lock);
		if (r->stop) {
			last = 1;
			import_lines_free(b);
		} else {
			r->ready = b;
			pthread_cond_broadcast(&r->cond);
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

static void reader_start(struct import_reader *r, FILE *fp, int remote)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->byte_cap = remote;
	if (remote)
		return;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	/* Without a thread, the batches are read in turn. */
	r->threaded = !pthread_create(&r->thread, NULL, reader_main, r);
}

static struct import_lines *next_lines(struct import_reader *r)
{
	struct import_lines *b;

	if (!r->threaded)
		return read_lines(r);
	pthread_mutex_lock(&r->lock);
	while (!r->ready)
		pthread_cond_wait(&r->cond, &r->lock);
	b = r->ready;
	r->ready = NULL;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return b;
}

static void reader_finish(struct import_reader *r)
{
	if (r->threaded) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
		import_lines_free(r->ready);
	}
	if (!r->byte_cap) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
	}
	json_decref(r->carry);
	free(r->line);
}

static int apps_import(int argc, const char **argv, struct ctx *ctx)
{
	int update = 0, code, last = 0;
	struct option opts[] = {
		OPT_BOOL(0, "update", &update, "update apps that exist"),
		OPT_END(),
	};
	json_t *errors = json_array(), *out;
	json_int_t imported = 0;
	struct import_reader reader;
	FILE *fp = NULL;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, 1, 1,
			       "one file (or - for standard input)", &code);
	if (argc < 0)
		goto done;
	fp = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
	if (!fp) {
		error("cannot open '%s': %m", argv[0]);
		code = APPHUB_EXIT_FAILED;
		goto done;
	}
	code = 0;
	reader_start(&reader, fp, ctx->server != NULL);
	while (!code && !last) {
		struct import_lines *b = next_lines(&reader);

		last = b->last;
		code = import_batch(ctx, b->items, b->lines, update, &imported, b->errors, errors);
		import_lines_free(b);
	}
	reader_finish(&reader);
	if (code)
		goto done;
	out = json_pack("{s:I, s:I, s:O}", "imported", imported,
			"failed", (json_int_t)json_array_size(errors), "errors", errors);
	if (ctx->json)
		print_json(out);
	else if (!ctx->quiet)
		printf("imported %" JSON_INTEGER_FORMAT ", failed %zu\n", imported,
		       json_array_size(errors));
	json_decref(out);
	code = json_array_size(errors) ? APPHUB_EXIT_FAILED : 0;
done:
	if (fp && fp != stdin)
		fclose(fp);
	json_decref(errors);
	return code;
}

static int one_id(int argc, const char **argv, struct ctx *ctx, const char *op,
		  void (*text)(json_t *, int))
{
	struct option opts[] = { OPT_END() };
	json_t *params;
	int code;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, 1, 1, "an app id", &code);
	if (argc < 0)
		return code;
	params = json_pack("{s:s}", "id", argv[0]);
	return run_op_show(ctx, op, params, text);
}

static int apps_show(int argc, const char **argv, struct ctx *ctx)
{
	return one_id(argc, argv, ctx, "apps.show", text_app);
}

static int apps_rm(int argc, const char **argv, struct ctx *ctx)
{
	return one_id(argc, argv, ctx, "apps.rm", NULL);
}

static int apps_tag(int argc, const char **argv, struct ctx *ctx)
{
	struct option opts[] = { OPT_END() };
	json_t *params, *list;
	int code, i, add;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, 3, -1,
			       "an app id, add or rm, and tags", &code);
	if (argc < 0)
		return code;
	if (strcmp(argv[1], "add") && strcmp(argv[1], "rm"))
		return usage_error(apps_usage, NULL, "%s: '%s' is not add or rm", ctx->name, argv[1]);
	add = !strcmp(argv[1], "add");
	list = json_array();
	for (i = 2; i < argc; i++)
		json_array_append_new(list, json_string(argv[i]));
	params = json_pack("{s:s, s:o}", "id", argv[0], add ? "add" : "remove", list);
	return run_op_show(ctx, "apps.tag", params, NULL);
}

static void text_suggest(json_t *res, int quiet)
{
	json_t *s;
	size_t i;

	(void)quiet;
	json_array_foreach(json_object_get(res, "data"), i, s) {
		const char *type = json_string_value(json_object_get(s, "type"));

		printf("%s%s\n", json_string_value(json_object_get(s, "value")),
		       !strcmp(type, "key") ? ":" : "");
	}
}

/* One transition a line: time, status, attempt, message (commit, duration). */
static void text_history(json_t *res, int quiet)
{
	json_t *e;
	size_t i;

	(void)quiet;
	json_array_foreach(json_object_get(res, "data"), i, e) {
		json_t *attempt = json_object_get(e, "attempt"), *ms = json_object_get(e, "durationMs");
		const char *sha = json_string_value(json_object_get(e, "commitSha"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		printf("%s  %-10s  ", json_string_value(json_object_get(e, "createdAt")),
		       json_string_value(json_object_get(e, "status")));
		if (json_is_integer(attempt))
			printf("#%-3" JSON_INTEGER_FORMAT, json_integer_value(attempt));
		else
			printf("%-4s", "-");
		printf("  %s", msg ? msg : "");
		if (sha && json_is_integer(ms))
			printf(" (%.12s, %" JSON_INTEGER_FORMAT " ms)", sha, json_integer_value(ms));
		else if (json_is_integer(ms))
			printf(" (%" JSON_INTEGER_FORMAT " ms)", json_integer_value(ms));
		putchar('\n');
	}
}

/*
 * tags [<prefix>] and history <id>: one operand, passed as key (at least
 * min of them), and --limit.
 */
static int one_with_limit(int argc, const char **argv, struct ctx *ctx, const char *op,
			  const char *key, int min, const char *what, const char *limit_help,
			  void (*text)(json_t *, int))
{
	long limit = LONG_MIN;
	struct option opts[] = {
		OPT_INT(0, "limit", &limit, "n", limit_help),
		OPT_END(),
	};
	json_t *params;
	int code;

	argc = parse_verb_args(ctx, argc, argv, opts, apps_usage, min, 1, what, &code);
	if (argc < 0)
		return code;
	params = json_pack("{s:s}", key, argc ? argv[0] : "");
	if (limit != LONG_MIN)
		json_object_set_new(params, "limit", json_integer(limit));
	return run_op_show(ctx, op, params, text);
}

static int apps_tags(int argc, const char **argv, struct ctx *ctx)
{
	return one_with_limit(argc, argv, ctx, "tags.suggest", "prefix", 0, "one prefix at most",
			      "at most n suggestions (1-50, default 10)", text_suggest);
}

static int apps_history(int argc, const char **argv, struct ctx *ctx)
{
	return one_with_limit(argc, argv, ctx, "apps.history", "id", 1, "an app id",
			      "at most n events (1-1000, default 25)", text_history);
}

static int apps_retry(int argc, const char **argv, struct ctx *ctx)
{
	return one_id(argc, argv, ctx, "apps.retry", NULL);
}

static const struct verb apps_verbs[] = {
	{ "add", apps_add },
	{ "history", apps_history },
	{ "import", apps_import },
	{ "ls", apps_search },
	{ "retry", apps_retry },
	{ "rm", apps_rm },
	{ "search", apps_search },
	{ "show", apps_show },
	{ "tag", apps_tag },
	{ "tags", apps_tags },
};

int cmd_apps(int argc, const char **argv, struct ctx *ctx)
{
	return run_verb(apps_verbs, sizeof(apps_verbs) / sizeof(apps_verbs[0]), "ls", "apps",
			apps_usage, argc - 1, argv + 1, ctx);
}
