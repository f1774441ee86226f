#ifndef CMD_H
#define CMD_H

#include <jansson.h>
#include "../lib/ops.h"
#include "../lib/parse-options.h"

/* What every command gets: the operation context and the output mode. */
struct ctx {
	struct ah_ctx op;
	int json;
	int quiet;
	/* --server, $APPHUB_SERVER: run operations on a remote serve */
	const char *server;
	/* "apps show": the command and verb running, for messages */
	char name[64];
};

typedef int (*cmd_fn)(int argc, const char **argv, struct ctx *ctx);

/* A verb of a command; tables are sorted by name. */
struct verb {
	const char *name;
	cmd_fn fn;
};

int cmd_apps(int argc, const char **argv, struct ctx *ctx);
int cmd_build(int argc, const char **argv, struct ctx *ctx);
int cmd_events(int argc, const char **argv, struct ctx *ctx);
int cmd_gc(int argc, const char **argv, struct ctx *ctx);
int cmd_image(int argc, const char **argv, struct ctx *ctx);
int cmd_ingest(int argc, const char **argv, struct ctx *ctx);
int cmd_launch(int argc, const char **argv, struct ctx *ctx);
int cmd_serve(int argc, const char **argv, struct ctx *ctx);

/*
 * Parses a command's options plus the common --json and -q. Returns the
 * number of arguments left, or -1 with *code set: 0 after printing -h usage
 * to stdout, 129 after a usage error on stderr.
 */
int parse_cmd_options(struct ctx *ctx, int argc, const char **argv, const struct option *opts,
		      const char *const *usage, int *code);
int usage_error(const char *const *usage, const struct option *opts, const char *fmt, ...)
	APPHUB_FMT(3, 4);

/*
 * The one way a verb reads its arguments: its options (and --json, -q)
 * anywhere before "--", then at least min and at most max operands (max -1:
 * no limit); what names them for the message ("an app id", "a file and an
 * image name"). Returns the number of operands, moved to the front of argv,
 * or -1 with *code set as parse_cmd_options() does. The messages are
 * "apphub <cmd> <verb>: <what> is required" and "...: too many arguments,
 * expects <what>".
 */
int parse_verb_args(struct ctx *ctx, int argc, const char **argv, const struct option *opts,
		    const char *const *usage, int min, int max, const char *what, int *code);

/*
 * With --server, refuses a command (verb NULL) or verb that cannot run
 * remotely, from the one list of them in common.c: prints "apphub <cmd>
 * <verb>: cannot run with --server: <why>" and returns 1, before anything
 * touches the local state. Returns 0 otherwise. run_verb() calls it for
 * every verb, apphub.c for every command.
 */
int refuse_remote(const struct ctx *ctx, const char *cmd, const char *verb);

/* Runs a verb from a sorted table; argv[0] names it, else def runs. */
int run_verb(const struct verb *verbs, size_t nr, const char *def, const char *cmd,
	     const char *const *usage, int argc, const char **argv, struct ctx *ctx);

/* Calls an operation; on error prints it and returns the exit status. */
int run_op(struct ctx *ctx, const char *name, json_t *params, json_t **out);
int exit_status(const struct ah_err *err);
/* run_op() against ctx->server, through the helper apphub-remote. */
int run_remote_op(struct ctx *ctx, const char *name, json_t *params, json_t **out);

/* Prints a result as JSON (indented on a terminal, one line otherwise). */
void print_json(json_t *v);

#endif
