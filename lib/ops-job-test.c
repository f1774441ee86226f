/*
 * The operation jobs.test (apphub jobs test DIR): a bundle's handler run
 * from its directory under the sandbox of a real run (job-exec.h), in a
 * temporary work directory, its log reported as it comes. Local only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bundle.h"
#include "fsutil.h"
#include "job-exec.h"
#include "ops.h"
#include "strbuf.h"

/* The input a test may give (a file or --input-json). */
#define TEST_INPUT_MAX (1 << 20)

struct test_run {
	struct ah_ctx *ctx;
	int log_fd;
	off_t shown;		/* of the log, reported so far */
};

/* The log's new bytes to ctx->progress as {type: "log", data}. */
static void show_log(struct test_run *t)
{
	char buf[65536];
	ssize_t n;

	if (!t->ctx->progress)
		return;
	while ((n = pread(t->log_fd, buf, sizeof(buf), t->shown)) > 0) {
		/* the bytes as they are: the caller writes them out, never as JSON */
		json_t *line = json_pack("{s:s, s:o}", "type", "log", "data",
					 json_stringn_nocheck(buf, (size_t)n));

		t->shown += n;
		if (line)
			t->ctx->progress(t->ctx, line, NULL);
		json_decref(line);
	}
}

static int test_stop(void *cls)
{
	show_log(cls);
	return 0;
}

static void test_progress(void *cls, json_t *line)
{
	struct test_run *t = cls;

	show_log(t);
	if (t->ctx->progress)
		t->ctx->progress(t->ctx, line, NULL);
}

/* The file at path (at most TEST_INPUT_MAX bytes) as JSON. */
static json_t *read_json(const char *path, const char *what, struct ah_err *err)
{
	struct strbuf sb = STRBUF_INIT;
	char why[AH_JSON_WHY_MAX];
	json_error_t je;
	json_t *j = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		ah_invalid(err, "cannot read %s '%s': %s", what, path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TEST_INPUT_MAX) {
		ah_error(err, 413, "too_large", "%s '%s': not a file of at most 1 MiB", what, path);
		goto done;
	}
	strbuf_grow(&sb, (size_t)st.st_size);
	if (ah_read_full(fd, sb.buf, (size_t)st.st_size) < 0) {
		ah_invalid(err, "cannot read %s '%s': %s", what, path, strerror(errno));
		goto done;
	}
	strbuf_setlen(&sb, (size_t)st.st_size);
	if (!(j = json_loadb(sb.buf, sb.len, JSON_REJECT_DUPLICATES, &je)))
		ah_invalid(err, "invalid %s '%s': %s", what, path, ah_json_why(&je, why, sizeof(why)));
done:
	if (fd >= 0)
		close(fd);
	strbuf_release(&sb);
	return j;
}

/*
 * The handler's input: given is {parameters, ...} (its parameters taken)
 * or the parameters themselves.
 */
static json_t *test_input(json_t *given, const struct ah_bundle *b)
{
	json_t *p = json_object_get(given, "parameters");

	if (!p)
		p = given;
	return json_pack("{s:o, s:{s:s, s:i}, s:{s:s, s:s}}", "parameters",
			 p ? json_incref(p) : json_object(), "run", "id",
			 "r-000000000000", "attempt", 1, "job", "slug", b->slug, "version",
			 b->version);
}

/*
 * jobs.test: {dir, inputJson? (JSON text), input? (a file)} -> {ok,
 * result, errorMessage, status, timedOut, outputs, logSize, logTruncated};
 * the log and fd-3 lines go to ctx->progress as they come.
 */
static int op_jobs_test(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_bundle b;
	struct ah_job_spec s;
	struct ah_job_outcome o;
	struct test_run t = { ctx, -1, 0 };
	const char *dir, *text, *file, *tmp = getenv("TMPDIR");
	char *base = NULL, *work = NULL, *log = NULL, why[AH_JSON_WHY_MAX];
	json_t *given = NULL, *input = NULL, *tests;
	json_error_t je;
	int ret = -1, loaded = 0, ran = 0;

	memset(&o, 0, sizeof(o));
	if (ah_param_need_str(params, "dir", &dir, err) < 0 ||
	    ah_param_str(params, "inputJson", &text, err) < 0 ||
	    ah_param_str(params, "input", &file, err) < 0)
		return -1;
	if (text && file)
		return ah_invalid(err, "--input-json and --input: give one of them");
	if (text && strlen(text) > TEST_INPUT_MAX)
		return ah_error(err, 413, "too_large", "--input-json: more than 1 MiB");
	if (ah_bundle_load(dir, &b, err) < 0)
		return -1;
	loaded = 1;
	if (text && !(given = json_loads(text, JSON_REJECT_DUPLICATES, &je))) {
		ah_invalid(err, "invalid --input-json: %s", ah_json_why(&je, why, sizeof(why)));
		goto done;
	}
	if (file && !(given = read_json(file, "input", err)))
		goto done;
	tests = json_object_get(b.config, "tests");
	if (!text && !file && json_is_string(json_object_get(tests, "sampleInputPath"))) {
		char *sample = xstrfmt("%s/%s", b.dir, json_string_value(json_object_get(
								 tests, "sampleInputPath")));

		/* no sample input file: empty parameters */
		if (access(sample, F_OK) == 0 && !(given = read_json(sample, "sample input", err))) {
			free(sample);
			goto done;
		}
		free(sample);
	}
	input = test_input(given, &b);
	base = xstrfmt("%s/apphub-job-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		ah_internal(err, "cannot make '%s': %s", base, strerror(errno));
		free(base);
		base = NULL;
		goto done;
	}
	work = xstrfmt("%s/work", base);
	log = xstrfmt("%s/log", base);
	if (mkdir(work, 0755) < 0 ||
	    (t.log_fd = open(log, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		ah_internal(err, "cannot make '%s': %s", work, strerror(errno));
		goto done;
	}
	memset(&s, 0, sizeof(s));
	s.bundle_dir = b.dir;
	s.manifest = b.manifest;
	s.work_dir = work;
	s.input = input;
	s.log_fd = t.log_fd;
	s.stop = test_stop;
	s.progress = test_progress;
	s.cls = &t;
	if (ah_job_exec(&s, &o, err) < 0)
		goto done;
	ran = 1;
	/* a log cut to its tail was rewritten: that tail is shown after the head */
	if (o.log_truncated)
		t.shown = 0;
	show_log(&t);
	/* the files are gone with the work directory: their names and sizes stay */
	*out = json_pack("{s:b, s:O?, s:s?, s:i, s:b, s:O, s:I, s:b}", "ok", o.ok, "result",
			 o.result, "errorMessage", o.message, "status", o.status, "timedOut",
			 o.timed_out, "outputs", o.outputs, "logSize", (json_int_t)o.log_size,
			 "logTruncated", o.log_truncated);
	ret = 0;
done:
	if (t.log_fd >= 0)
		close(t.log_fd);
	if (base) {
		struct ah_err ignored = AH_ERR_INIT;

		ah_remove_tree(base, &ignored);
	}
	if (ran)
		ah_job_outcome_release(&o);
	if (loaded)
		ah_bundle_release(&b);
	json_decref(given);
	json_decref(input);
	free(base);
	free(work);
	free(log);
	return ret;
}

const struct ah_op ops_job_test[] = {
	{ .name = "jobs.test", .fn = op_jobs_test,
	  .summary = "Run a bundle's handler from its directory under the sandbox of a run" },
	{ NULL },
};
