/*
 * test-tool: the library's parsers driven from the test suite.
 *
 *   test-tool dockerfile [--build-arg K=V]... [--target T] FILE
 *	prints the parse as JSON; on bad input, the error on stderr, exit 1
 *   test-tool dockerignore IGNOREFILE PATH...
 *	prints "PATH excluded|included" a line (a PATH ending in '/' is a
 *	directory: "excluded (descend)" when an exception may re-include
 *	something under it)
 *   test-tool readme [--max N] FILE
 *	prints the description ingest takes from the README FILE (its format
 *	from its name), or nothing when it has none
 *   test-tool semver A [B]
 *	prints whether A is a semantic version (valid or invalid), and with B
 *	how A ranks against B (-1, 0 or 1)
 *   test-tool bundle-unpack TGZ DEST
 *	unpacks the bundle TGZ into DEST (ah_bundle_unpack) and prints its
 *	manifest as JSON; on a refusal, the error on stderr, exit 1
 *   test-tool job-stop BUNDLE-DIR WORK-DIR MS
 *	runs the bundle's handler in WORK-DIR (ah_job_exec) and stops it
 *	once MS milliseconds have passed, as a cancel does; prints the
 *	outcome {ok, stopped, message} as JSON
 *   test-tool dag STEPS-JSON
 *	checks a workflow's steps and prints {roots, order, edges}; on bad
 *	steps "<code>: <message>" on stderr, exit 1
 *   test-tool template [--check] VALUE-JSON [SCOPE-JSON]
 *	prints VALUE rendered against SCOPE (--check: the syntax only, "ok");
 *	on an error "<status> <code>: <message>" on stderr, exit 1
 *   test-tool yaml FILE|-
 *	prints the YAML document as JSON (ah_yaml_to_json)
 *   test-tool workflow-def FILE|-
 *	parses and checks a workflow definition and prints its normalized
 *	form (sorted keys); on an error "error <status> <code>: <message>"
 *	on stderr, exit 1
 *   test-tool http-call REQUEST-JSON
 *	makes the request (ah_http_call) and prints the response as JSON; on
 *	an error "error <status> <code>: <message>" on stderr (and the
 *	response, when there is one, on stdout), exit 1
 *   test-tool cron-next EXPR TZ AFTER [N]
 *	prints the N (1) occurrences of EXPR in zone TZ strictly after the
 *	RFC 3339 time AFTER, one a line as RFC 3339 UTC ("none" when there is
 *	none); on a bad EXPR, TZ or time the error on stderr, exit 1
 *   test-tool cron-prev EXPR TZ BEFORE
 *	prints the last occurrence strictly before BEFORE, as cron-next does
 *   test-tool tz-offset TZ TIME...
 *	prints zone TZ's offset from UTC at each TIME (RFC 3339, or @unix-seconds)
 *	in seconds east, one a line
 *   test-tool schedule-check SCHEDULE-JSON
 *	prints the schedule normalized (sorted keys); on an error
 *	"error <status> <code>: <message>" on stderr, exit 1
 *   test-tool mfilter --field FIELD
 *	prints the field's SQL expression (ah_mfilter_field_sql)
 *   test-tool mfilter [--db FILE [--ns NS] [--count] [--explain]] FILTER-JSON
 *		     [Q [SORT-JSON [PROJECTION-JSON]]]
 *	compiles a metastore search (ah_mfilter_compile; "" or null: none) and
 *	prints "where: ", "binds: ", "order: " and "projection: " lines; with
 *	--db, runs it over FILE's metastore_records in namespace NS ("ns")
 *	and prints the keys found, a line (--count: how many, the query of a
 *	page's total, without ORDER BY; --explain: EXPLAIN QUERY PLAN's
 *	details); on an error "error <status> <code>: <message>" on stderr,
 *	exit 1
 *   test-tool sql DATABASE SQL
 *	runs SQL as the sqlite3 shell would (rows a line, columns joined
 *	by '|'), with the search index's tokenizer, which the shell lacks
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../lib/bundle.h"
#include "../../lib/cron.h"
#include "../../lib/dag.h"
#include "../../lib/state.h"
#include "../../lib/dockerfile.h"
#include "../../lib/dockerignore.h"
#include "../../lib/fts-stem.h"
#include "../../lib/http-call.h"
#include "../../lib/job-exec.h"
#include "../../lib/markdown.h"
#include "../../lib/metastore-filter.h"
#include "../../lib/strbuf.h"
#include "../../lib/template.h"
#include "../../lib/timeutil.h"
#include "../../lib/tz.h"
#include "../../lib/utf8.h"
#include "../../lib/workflow-def.h"
#include "../../lib/yaml-json.h"

static int read_file(const char *path, size_t cap, struct strbuf *sb)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (!f)
		return error("cannot open '%s'", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb->len <= cap)
		strbuf_add(sb, buf, n);
	fclose(f);
	return 0;
}

static json_t *strv(char *const *v, size_t nr)
{
	json_t *a = json_array();

	for (size_t i = 0; i < nr; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *kvs_json(const struct ah_df_kv *kvs, size_t nr)
{
	json_t *a = json_array();

	for (size_t i = 0; i < nr; i++)
		json_array_append_new(a, json_pack("[s,s?]", kvs[i].key, kvs[i].value));
	return a;
}

static json_t *instr_json(const struct ah_df_instr *in, int nested)
{
	json_t *o = json_object();
	size_t i;

	json_object_set_new(o, "kind", json_string(ah_df_kind_name(in->kind)));
	if (!nested) {
		json_object_set_new(o, "line", json_integer(in->line));
		if (in->end_line != in->line)
			json_object_set_new(o, "endLine", json_integer(in->end_line));
	}
	json_object_set_new(o, "original", json_string(in->original));
	if (in->flags_nr) {
		json_t *a = json_array();

		for (i = 0; i < in->flags_nr; i++)
			json_array_append_new(a, json_sprintf("--%s=%s", in->flags[i].name,
							      in->flags[i].value));
		json_object_set_new(o, "flags", a);
	}
	switch (in->kind) {
	case AH_DF_RUN:
	case AH_DF_CMD:
	case AH_DF_ENTRYPOINT:
	case AH_DF_SHELL:
		json_object_set_new(o, "form", json_string(in->exec_form ? "exec" : "shell"));
		break;
	case AH_DF_HEALTHCHECK:
		if (in->health.none) {
			json_object_set_new(o, "none", json_true());
			break;
		}
		json_object_set_new(o, "form", json_string(in->exec_form ? "exec" : "shell"));
		json_object_set_new(o, "health", json_pack("{s:I,s:I,s:I,s:I,s:i}",
			"intervalNs", (json_int_t)in->health.interval_ns,
			"timeoutNs", (json_int_t)in->health.timeout_ns,
			"startPeriodNs", (json_int_t)in->health.start_period_ns,
			"startIntervalNs", (json_int_t)in->health.start_interval_ns,
			"retries", in->health.retries));
		break;
	case AH_DF_COPY:
	case AH_DF_ADD:
	case AH_DF_VOLUME:
		if (in->exec_form)
			json_object_set_new(o, "form", json_string("exec"));
		break;
	default:
		break;
	}
	if (in->args_nr)
		json_object_set_new(o, "args", strv(in->args, in->args_nr));
	if (in->kvs_nr)
		json_object_set_new(o, "kvs", kvs_json(in->kvs, in->kvs_nr));
	if (in->heredocs_nr) {
		json_t *a = json_array();

		for (i = 0; i < in->heredocs_nr; i++) {
			const struct ah_df_heredoc *h = &in->heredocs[i];

			json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:b,s:i}", "name", h->name,
							   "body", h->body, "expand", h->expand,
							   "stripTabs", h->strip_tabs, "fd", h->fd));
		}
		json_object_set_new(o, "heredocs", a);
	}
	if (in->ports_nr) {
		json_t *a = json_array();

		for (i = 0; i < in->ports_nr; i++) {
			const struct ah_df_port *pt = &in->ports[i];

			if (pt->start == pt->end)
				json_array_append_new(a, json_sprintf("%u/%s", pt->start, pt->proto));
			else
				json_array_append_new(a, json_sprintf("%u-%u/%s", pt->start, pt->end,
								      pt->proto));
		}
		json_object_set_new(o, "ports", a);
	}
	if (in->trigger)
		json_object_set_new(o, "trigger", instr_json(in->trigger, 1));
	if (in->kind == AH_DF_COPY && !nested && ah_df_flag(in, "from"))
		json_object_set_new(o, "fromStage", in->from_stage >= 0 ?
				    json_integer(in->from_stage) : json_null());
	if (in->env_nr)
		json_object_set_new(o, "env", strv(in->env, in->env_nr));
	return o;
}

static json_t *dockerfile_json(const struct ah_dockerfile *df)
{
	json_t *o = json_object(), *stages = json_array(), *a = json_array();
	char esc[2] = { df->escape, '\0' };
	size_t i, j;

	if (df->syntax)
		json_object_set_new(o, "syntax", json_string(df->syntax));
	if (df->escape != '\\')
		json_object_set_new(o, "escape", json_string(esc));
	for (i = 0; i < df->meta_args_nr; i++)
		json_array_append_new(a, instr_json(&df->meta_args[i], 0));
	if (df->meta_args_nr)
		json_object_set_new(o, "metaArgs", a);
	else
		json_decref(a);
	json_object_set_new(o, "target", json_integer((json_int_t)df->target));
	for (i = 0; i < df->stages_nr; i++) {
		const struct ah_df_stage *st = &df->stages[i];
		json_t *s = json_object(), *ins = json_array();

		json_object_set_new(s, "name", st->name ? json_string(st->name) : json_null());
		json_object_set_new(s, "base", json_string(st->base));
		if (st->base_stage >= 0)
			json_object_set_new(s, "baseStage", json_integer(st->base_stage));
		if (st->platform)
			json_object_set_new(s, "platform", json_string(st->platform));
		if (st->env_nr)
			json_object_set_new(s, "env", kvs_json(st->env, st->env_nr));
		for (j = 0; j < st->instrs_nr; j++)
			json_array_append_new(ins, instr_json(&st->instrs[j], 0));
		json_object_set_new(s, "instructions", ins);
		json_array_append_new(stages, s);
	}
	json_object_set_new(o, "stages", stages);
	return o;
}

/* A stand-in base image environment: image "env-test" has PATH and HOME. */
static const char *test_base_env(void *data, const char *image, const char *platform,
				 const char *name)
{
	(void)data;
	(void)platform;
	if (strcmp(image, "env-test"))
		return NULL;
	if (!strcmp(name, "PATH"))
		return "/usr/local/bin:/usr/bin:/bin";
	if (!strcmp(name, "HOME"))
		return "/root";
	return NULL;
}

static int cmd_dockerfile(int argc, const char **argv)
{
	struct ah_df_options opts = { NULL, 0, NULL, test_base_env, NULL };
	const char **build_args = xcalloc((size_t)argc + 1, sizeof(*build_args));
	struct strbuf sb = STRBUF_INIT;
	struct ah_dockerfile *df = NULL;
	struct ah_err err = AH_ERR_INIT;
	const char *file = NULL;
	int i, ret = 1;
	char *out;
	json_t *j;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--build-arg") && i + 1 < argc) {
			build_args[opts.build_args_nr++] = argv[++i];
		} else if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			opts.target = argv[++i];
		} else if (!file && argv[i][0] != '-') {
			file = argv[i];
		} else {
			error("usage: test-tool dockerfile [--build-arg K=V]... [--target T] FILE");
			ret = 129;
			goto done;
		}
	}
	if (!file) {
		error("usage: test-tool dockerfile [--build-arg K=V]... [--target T] FILE");
		ret = 129;
		goto done;
	}
	opts.build_args = build_args;
	if (read_file(file, AH_DOCKERFILE_MAX_SIZE, &sb) < 0)
		goto done;
	if (ah_dockerfile_parse(sb.buf, sb.len, file, &opts, &df, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto done;
	}
	j = dockerfile_json(df);
	out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(out);
	free(out);
	json_decref(j);
	ret = 0;
done:
	ah_dockerfile_free(df);
	strbuf_release(&sb);
	free(build_args);
	return ret;
}

static int cmd_dockerignore(int argc, const char **argv)
{
	static const char *const names[] = { "included", "excluded", "excluded (descend)" };
	struct strbuf sb = STRBUF_INIT;
	struct ah_dockerignore *di = NULL;
	struct ah_err err = AH_ERR_INIT;
	int ret = 1;

	if (argc < 2) {
		error("usage: test-tool dockerignore IGNOREFILE PATH...");
		ret = 129;
		goto done;
	}
	if (read_file(argv[1], AH_DOCKERIGNORE_MAX_SIZE, &sb) < 0)
		goto done;
	if (ah_dockerignore_parse(sb.buf, sb.len, argv[1], &di, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto done;
	}
	for (int i = 2; i < argc; i++) {
		size_t len = strlen(argv[i]);
		int is_dir = len > 1 && argv[i][len - 1] == '/';

		printf("%s %s\n", argv[i], names[ah_dockerignore_match(di, argv[i], is_dir)]);
	}
	ret = 0;
done:
	ah_dockerignore_free(di);
	strbuf_release(&sb);
	return ret;
}

static int cmd_readme(int argc, const char **argv)
{
	struct strbuf sb = STRBUF_INIT;
	size_t max = AH_README_DESCRIPTION_MAX;
	char *text = NULL, *d;
	int ret = 1;

	if (argc == 4 && !strcmp(argv[1], "--max")) {
		max = strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		error("usage: test-tool readme [--max N] FILE");
		ret = 129;
		goto done;
	}
	if (read_file(argv[1], 1024 * 1024, &sb) < 0)
		goto done;
	/* as ingest keeps a README: valid UTF-8, bad bytes replaced */
	text = ah_utf8_clean(sb.buf, sb.len, 0, NULL);
	d = ah_readme_description(text, ah_readme_format(argv[1]), max);
	if (d)
		puts(d);
	free(d);
	ret = 0;
done:
	free(text);
	strbuf_release(&sb);
	return ret;
}

static int cmd_sql(int argc, const char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	const char *sql, *tail;
	int ret = 1, rc, i;

	if (argc != 3) {
		error("usage: test-tool sql DATABASE SQL");
		return 129;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    ah_fts_stem_register(db) != SQLITE_OK)
		goto fail;
	for (sql = argv[2]; *sql; sql = tail) {
		if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK)
			goto fail;
		if (!stmt)
			break;
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			for (i = 0; i < sqlite3_column_count(stmt); i++)
				printf("%s%s", (const char *)sqlite3_column_text(stmt, i) ?
				       (const char *)sqlite3_column_text(stmt, i) : "",
				       i + 1 < sqlite3_column_count(stmt) ? "|" : "\n");
		sqlite3_finalize(stmt);
		stmt = NULL;
		if (rc != SQLITE_DONE)
			goto fail;
	}
	ret = 0;
	goto done;
fail:
	error("%s: %s", argv[1], db ? sqlite3_errmsg(db) : "out of memory");
done:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return ret;
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stop_after(void *cls)
{
	return monotonic_ms() >= *(long long *)cls;
}

static int cmd_job_stop(int argc, const char **argv)
{
	struct ah_bundle b;
	struct ah_job_spec s;
	struct ah_job_outcome o;
	struct ah_err err = AH_ERR_INIT;
	long long deadline;
	json_t *out;
	char *text;

	if (argc != 4) {
		fprintf(stderr, "usage: test-tool job-stop BUNDLE-DIR WORK-DIR MS\n");
		return 129;
	}
	if (ah_bundle_load(argv[1], &b, &err) < 0) {
		error("%s", err.msg);
		return 1;
	}
	deadline = monotonic_ms() + atoll(argv[3]);
	memset(&s, 0, sizeof(s));
	s.bundle_dir = b.dir;
	s.manifest = b.manifest;
	s.work_dir = argv[2];
	s.log_fd = 2;
	s.stop = stop_after;
	s.cls = &deadline;
	if (ah_job_exec(&s, &o, &err) < 0) {
		error("%s", err.msg);
		ah_bundle_release(&b);
		return 1;
	}
	out = json_pack("{s:b, s:b, s:s?}", "ok", o.ok, "stopped", o.stopped, "message", o.message);
	text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text)
		puts(text);
	free(text);
	json_decref(out);
	ah_job_outcome_release(&o);
	ah_bundle_release(&b);
	return 0;
}

/* The largest TGZ read: above the unpacker's own caps, so that they are what refuses. */
#define BUNDLE_UNPACK_READ_MAX ((size_t)512 << 20)

static int cmd_bundle_unpack(int argc, const char **argv)
{
	struct strbuf sb = STRBUF_INIT;
	struct ah_err err = AH_ERR_INIT;
	json_t *manifest = NULL;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: test-tool bundle-unpack TGZ DEST\n");
		return 129;
	}
	if (read_file(argv[1], BUNDLE_UNPACK_READ_MAX, &sb) < 0)
		goto done;
	if (ah_bundle_unpack(sb.buf, sb.len, argv[2], &manifest, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		goto done;
	}
	json_dumpf(manifest, stdout, JSON_SORT_KEYS);
	putchar('\n');
	ret = 0;
done:
	json_decref(manifest);
	strbuf_release(&sb);
	return ret;
}

/* A JSON argument, or NULL after saying why. */
static json_t *json_arg(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

	if (!v)
		fprintf(stderr, "test-tool: not JSON: %s\n", je.text);
	return v;
}

static int cmd_dag(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *steps, *out = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-tool dag STEPS-JSON\n");
		return 129;
	}
	if (!(steps = json_arg(argv[1])))
		return 1;
	if (ah_dag_check(steps, &out, &err) < 0) {
		fprintf(stderr, "%s: %s\n", err.code, err.msg);
	} else {
		char *text = json_dumps(out, JSON_COMPACT);

		puts(text);
		free(text);
		ret = 0;
	}
	json_decref(out);
	json_decref(steps);
	return ret;
}

static int cmd_template(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *v, *scope = NULL, *out = NULL;
	int check = argc > 1 && !strcmp(argv[1], "--check"), ret = 1;

	if (argc != 2 + check && argc != 3 + check) {
		fprintf(stderr, "usage: test-tool template [--check] VALUE-JSON [SCOPE-JSON]\n");
		return 129;
	}
	if (!(v = json_arg(argv[1 + check])) ||
	    (argc == 3 + check && !(scope = json_arg(argv[2 + check]))))
		goto done;
	if (check ? ah_template_check(v, "value", &err) :
		    ah_template_render(v, scope, "value", &out, &err)) {
		fprintf(stderr, "%d %s: %s\n", err.status, err.code, err.msg);
		goto done;
	}
	if (check) {
		puts("ok");
	} else {
		char *text = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);

		puts(text);
		free(text);
	}
	ret = 0;
done:
	json_decref(v);
	json_decref(scope);
	json_decref(out);
	return ret;
}

/* A file's text, or stdin's for "-"; a little over the cap, for the callee to refuse. */
static int read_input(const char *path, struct strbuf *sb)
{
	char buf[65536];
	size_t n;

	if (strcmp(path, "-"))
		return read_file(path, 64 << 20, sb);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0 && sb->len <= (64 << 20))
		strbuf_add(sb, buf, n);
	return 0;
}

static void print_json(json_t *v, size_t flags)
{
	char *text = json_dumps(v, flags | JSON_ENCODE_ANY);

	puts(text);
	free(text);
}

static int cmd_yaml(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	struct strbuf sb = STRBUF_INIT;
	json_t *out = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-tool yaml FILE|-\n");
		return 129;
	}
	if (read_input(argv[1], &sb) < 0)
		goto done;
	if (ah_yaml_to_json(sb.buf, sb.len, &out, &err) < 0) {
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
		goto done;
	}
	print_json(out, JSON_COMPACT);
	ret = 0;
done:
	json_decref(out);
	strbuf_release(&sb);
	return ret;
}

static int cmd_workflow_def(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	struct strbuf sb = STRBUF_INIT;
	json_t *def = NULL, *out = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-tool workflow-def FILE|-\n");
		return 129;
	}
	if (read_input(argv[1], &sb) < 0)
		goto done;
	if (ah_workflow_def_parse(sb.buf, sb.len, &def, &err) < 0 ||
	    ah_workflow_def_check(def, &out, &err) < 0) {
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
		goto done;
	}
	print_json(out, JSON_COMPACT | JSON_SORT_KEYS);
	ret = 0;
done:
	json_decref(def);
	json_decref(out);
	strbuf_release(&sb);
	return ret;
}

static int cmd_http_call(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *req, *resp = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-tool http-call REQUEST-JSON\n");
		return 129;
	}
	if (!(req = json_arg(argv[1])))
		return 1;
	if (ah_http_call(req, &resp, &err) < 0)
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
	else
		ret = 0;
	if (resp)
		print_json(resp, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(resp);
	json_decref(req);
	return ret;
}

static int cmd_semver(int argc, const char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: test-tool semver A [B]\n");
		return 129;
	}
	if (argc == 2)
		puts(ah_semver_check(argv[1]) ? "valid" : "invalid");
	else
		printf("%d\n", ah_semver_cmp(argv[1], argv[2]));
	return 0;
}

/* argv's zone and cron expression (expr may be NULL); the error on stderr. */
static int cron_args(const char *expr, const char *zone, struct ah_cron *c, struct ah_tz **tz)
{
	struct ah_err err = AH_ERR_INIT;

	if ((expr && ah_cron_parse(expr, c, &err) < 0) || ah_tz_load(zone, tz, &err) < 0) {
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
		return -1;
	}
	return 0;
}

/* An RFC 3339 time, or "@S" unix seconds, as unix ms; the error on stderr. */
static int time_arg(const char *s, int64_t *ms)
{
	char *end;

	if (*s == '@') {
		long long v = strtoll(s + 1, &end, 10);

		if (end != s + 1 && !*end) {
			*ms = (int64_t)v * 1000;
			return 0;
		}
	} else if (!ah_time_parse(s, ms)) {
		return 0;
	}
	fprintf(stderr, "test-tool: bad time '%s'\n", s);
	return -1;
}

static void print_instant(int64_t ms)
{
	char buf[AH_ISO_LEN];

	if (ms < 0) {
		puts("none");
		return;
	}
	ah_iso_time(buf, ms);
	puts(buf);
}

static int cmd_cron(int argc, const char **argv)
{
	int prev = !strcmp(argv[0], "cron-prev"), ret = 1;
	struct ah_tz *tz = NULL;
	struct ah_cron c;
	long n = 1, i;
	int64_t t;

	if (argc != 4 && (prev || argc != 5)) {
		fprintf(stderr, "usage: test-tool %s EXPR TZ TIME%s\n", argv[0], prev ? "" : " [N]");
		return 129;
	}
	if (argc == 5 && ((n = atol(argv[4])) < 1 || n > 100000)) {
		fprintf(stderr, "test-tool: bad count '%s'\n", argv[4]);
		return 129;
	}
	if (cron_args(argv[1], argv[2], &c, &tz) < 0 || time_arg(argv[3], &t) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		t = prev ? ah_cron_prev(&c, tz, t) : ah_cron_next(&c, tz, t);
		print_instant(t);
		if (t < 0)
			break;
	}
	ret = 0;
done:
	ah_tz_free(tz);
	return ret;
}

static int cmd_tz_offset(int argc, const char **argv)
{
	struct ah_tz *tz = NULL;
	int64_t t;
	int ret = 1, i;

	if (argc < 3) {
		fprintf(stderr, "usage: test-tool tz-offset TZ TIME...\n");
		return 129;
	}
	if (cron_args(NULL, argv[1], NULL, &tz) < 0)
		goto done;
	for (i = 2; i < argc; i++) {
		/* Seconds, not ms, for times before 1970 too. */
		if (time_arg(argv[i], &t) < 0)
			goto done;
		printf("%d\n", ah_tz_offset(tz, t >= 0 ? t / 1000 : -((-t + 999) / 1000)));
	}
	ret = 0;
done:
	ah_tz_free(tz);
	return ret;
}

static int cmd_schedule_check(int argc, const char **argv)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *in, *out = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: test-tool schedule-check SCHEDULE-JSON\n");
		return 129;
	}
	if (!(in = json_arg(argv[1])))
		return 1;
	if (ah_schedule_check(in, &out, &err) < 0) {
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
	} else {
		print_json(out, JSON_COMPACT | JSON_SORT_KEYS);
		ret = 0;
	}
	json_decref(in);
	json_decref(out);
	return ret;
}

static json_t *mfilter_json_arg(const char *s, int *bad)
{
	json_error_t je;
	json_t *v;

	if (!s || !*s)
		return NULL;
	if (!(v = json_loads(s, JSON_DECODE_ANY, &je))) {
		fprintf(stderr, "test-tool: bad JSON '%s': %s\n", s, je.text);
		*bad = 1;
	}
	return v;
}

static int mfilter_run(const char *file, const char *ns, int explain, int count,
		       struct ah_mfilter *f)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	json_t *v;
	size_t i;
	int ret = 1, rc;

	strbuf_addf(&sql, "%sSELECT %s FROM metastore_records r WHERE r.namespace = ?%s%s",
		    explain ? "EXPLAIN QUERY PLAN " : "", count ? "count(*)" : "r.key",
		    f->where.len ? " AND " : "", f->where.buf);
	if (!count)
		strbuf_addf(&sql, " ORDER BY %s", f->order.buf);
	if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    ah_sql_functions(db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql.buf, -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
	json_array_foreach(f->binds, i, v) {
		int k = (int)i + 2;

		if (json_is_string(v))
			sqlite3_bind_text(stmt, k, json_string_value(v), -1, SQLITE_STATIC);
		else if (json_is_integer(v))
			sqlite3_bind_int64(stmt, k, json_integer_value(v));
		else if (json_is_real(v))
			sqlite3_bind_double(stmt, k, json_real_value(v));
		else
			sqlite3_bind_null(stmt, k);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		printf("%s\n", (const char *)sqlite3_column_text(stmt, explain ? 3 : 0));
	if (rc != SQLITE_DONE)
		goto fail;
	ret = 0;
	goto done;
fail:
	fprintf(stderr, "test-tool: %s: %s\n", file, db ? sqlite3_errmsg(db) : "out of memory");
done:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	strbuf_release(&sql);
	return ret;
}

static int cmd_mfilter(int argc, const char **argv)
{
	const char *db = NULL, *ns = "ns";
	json_t *filter = NULL, *sort = NULL, *proj = NULL;
	struct ah_err err = AH_ERR_INIT;
	struct ah_mfilter f;
	int explain = 0, count = 0, bad = 0, ret = 1, i = 1;
	char *s;

	if (argc == 3 && !strcmp(argv[1], "--field")) {
		struct strbuf sb = STRBUF_INIT;

		if (ah_mfilter_field_sql(argv[2], &sb, &err))
			fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
		else
			printf("%s\n", sb.buf);
		strbuf_release(&sb);
		return err.status ? 1 : 0;
	}
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--ns") && i + 1 < argc)
			ns = argv[++i];
		else if (!strcmp(argv[i], "--explain"))
			explain = 1;
		else if (!strcmp(argv[i], "--count"))
			count = 1;
		else
			break;
	}
	if (argc - i < 1 || argc - i > 4) {
		fprintf(stderr, "usage: test-tool mfilter [--db FILE [--ns NS] [--count] [--explain]] "
			"FILTER-JSON [Q [SORT-JSON [PROJECTION-JSON]]]\n");
		return 129;
	}
	filter = mfilter_json_arg(argv[i], &bad);
	sort = mfilter_json_arg(argc - i > 2 ? argv[i + 2] : NULL, &bad);
	proj = mfilter_json_arg(argc - i > 3 ? argv[i + 3] : NULL, &bad);
	ah_mfilter_init(&f);
	if (bad)
		goto done;
	if (ah_mfilter_compile(filter, argc - i > 1 ? argv[i + 1] : NULL, sort, proj, &f, &err)) {
		fprintf(stderr, "error %d %s: %s\n", err.status, err.code, err.msg);
		goto done;
	}
	if (db) {
		ret = mfilter_run(db, ns, explain, count, &f);
		goto done;
	}
	printf("where: %s\n", f.where.buf);
	s = json_dumps(f.binds, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("binds: %s\n", s);
	free(s);
	printf("order: %s\n", f.order.buf);
	if (f.projection) {
		s = json_dumps(f.projection, JSON_COMPACT);
		printf("projection: %s\n", s);
		free(s);
	}
	ret = 0;
done:
	ah_mfilter_release(&f);
	json_decref(filter);
	json_decref(sort);
	json_decref(proj);
	return ret;
}

int main(int argc, const char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "mfilter"))
		return cmd_mfilter(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "bundle-unpack"))
		return cmd_bundle_unpack(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "dockerfile"))
		return cmd_dockerfile(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "dockerignore"))
		return cmd_dockerignore(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "job-stop"))
		return cmd_job_stop(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "readme"))
		return cmd_readme(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "dag"))
		return cmd_dag(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "template"))
		return cmd_template(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "semver"))
		return cmd_semver(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sql"))
		return cmd_sql(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "yaml"))
		return cmd_yaml(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "workflow-def"))
		return cmd_workflow_def(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "http-call"))
		return cmd_http_call(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "cron-next") || !strcmp(argv[1], "cron-prev")))
		return cmd_cron(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "tz-offset"))
		return cmd_tz_offset(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "schedule-check"))
		return cmd_schedule_check(argc - 1, argv + 1);
	fprintf(stderr, "usage: test-tool (bundle-unpack | dag | dockerfile | dockerignore | job-stop | mfilter | readme | semver | sql | template | yaml | workflow-def | http-call | cron-next | cron-prev | tz-offset | schedule-check) ...\n");
	return 129;
}
