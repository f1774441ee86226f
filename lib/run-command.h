#ifndef RUN_COMMAND_H
#define RUN_COMMAND_H

#include <sys/types.h>
#include "err.h"
#include "strbuf.h"

/*
 * Running another program, as git's run-command does: a struct ah_child
 * says what runs and where its standard streams go. ah_child_start() forks
 * and executes it, ah_child_finish() waits for it, and ah_child_run() does
 * both, feeding its input and collecting its output on the way. Programs
 * in a sandbox are lib/sandbox.c's, not this.
 */
#define AH_CHILD_NULL (-1)	/* /dev/null */
#define AH_CHILD_INHERIT (-2)	/* this process's own */
#define AH_CHILD_CAPTURE (-3)	/* a pipe: collected by ah_child_run, else out_fd/err_fd */

struct ah_child {
	const char *const *argv;	/* argv[0] is looked up on PATH unless it has a '/' */
	const char *file;		/* what runs instead, argv[0] only its name (multi-call) */
	const char *const *env;		/* "NAME=value" set, "NAME" unset; NULL-ended, or NULL */
	const char *in;			/* ah_child_run: its stdin's bytes; NULL: /dev/null */
	int out, err;			/* a descriptor or AH_CHILD_*; err_to_out: err goes with out */
	int err_to_out;
	int death_sig;			/* sent to it when this process dies; 0: none */
	size_t out_max, err_max;	/* what ah_child_run keeps of each; 0: all */

	pid_t pid;
	int in_fd, out_fd, err_fd;	/* this process's ends of its pipes, or -1 */
	struct strbuf out_buf, err_buf;	/* what ah_child_run collected */
};

#define AH_CHILD_INIT { .out = AH_CHILD_NULL, .err = AH_CHILD_NULL, .pid = -1, .in_fd = -1, \
			.out_fd = -1, .err_fd = -1, .out_buf = STRBUF_INIT, .err_buf = STRBUF_INIT }

/* Starts it; -1 with err when it cannot (a program that is not there exits 127). */
int ah_child_start(struct ah_child *c, struct ah_err *err);
/* Waits for it: its exit status, 128 + the signal that ended it. */
int ah_child_finish(struct ah_child *c);
/* Starts it, writes c->in, collects what it captures, waits: its status, or -1 with err. */
int ah_child_run(struct ah_child *c, struct ah_err *err);
/* Closes what is left open of its pipes and releases what was collected. */
void ah_child_release(struct ah_child *c);

#endif
