#ifndef JOB_EXEC_H
#define JOB_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"

/*
 * One job handler run in the sandbox (sandbox.h): the bundle read-only at
 * /bundle, work_dir read-write at /work (its working directory), the
 * host's /usr and a few /etc files, a tmpfs /tmp, no network unless the
 * manifest's capabilities list "network", the manifest's limits and a
 * timeout that ends the whole process tree.
 *
 * The contract, for every runtime: input on stdin, the result (JSON, at
 * most 1 MiB) on stdout, the log on stderr (to log_fd, at most 16 MiB,
 * its tail kept), progress lines on fd 3 ({"type":"metric","name",
 * "value"}, {"type":"output","name","path"}), exit 0 for success. node
 * and python run apphub's harness, which calls the entry's default
 * export, else its handler, with a context.
 */

struct ah_job_spec {
	const char *bundle_dir;
	json_t *manifest;
	const char *work_dir;	/* exists; files left there are outputs */
	json_t *input;		/* {parameters, run{id, attempt}, job{slug, version}} */
	int log_fd;		/* the handler's stderr goes here; -1: nowhere */
	int64_t timeout_ms;	/* 0: the manifest's timeoutMs, else 15 min */
	int (*stop)(void *cls);	/* polled every ~200 ms; 1 ends the run (cancel) */
	/* each valid fd-3 line, as it is put in outputs (borrowed: incref to keep it) */
	void (*progress)(void *cls, json_t *line);
	void *cls;
};

struct ah_job_outcome {
	int ok;
	int status;		/* the handler's exit status, 128 + signal */
	int timed_out;
	int stopped;
	json_t *result;		/* ok: the handler's result */
	json_t *outputs;	/* [{type: "file", name, path, size} | {type: "metric", name, data}] */
	char *message;		/* !ok: why */
	int64_t log_size;	/* bytes the handler wrote to stderr */
	int log_truncated;
};

#define AH_JOB_RESULT_MAX (1 << 20)
#define AH_JOB_LOG_MAX (16 << 20)
#define AH_JOB_PROGRESS_LINE_MAX 65536
#define AH_JOB_PROGRESS_LINES_MAX 10000

/*
 * Runs the handler. -1 only when nothing could run (bwrap, the runtime or
 * the entry missing: the error names the field); a handler that failed is
 * 0 with o->ok 0 and o->message. Release o with ah_job_outcome_release().
 */
int ah_job_exec(const struct ah_job_spec *s, struct ah_job_outcome *o, struct ah_err *err);
void ah_job_outcome_release(struct ah_job_outcome *o);

/*
 * One fd-3 line (without its newline): *out the output or metric it
 * reports ({type: "file", name, path: <host path under work_dir>, size}
 * or {type: "metric", name, data}), or -1 with why (a short reason).
 */
int ah_job_progress_line(const char *line, size_t len, const char *work_dir, json_t **out,
			 char *why, size_t whylen);

#endif
