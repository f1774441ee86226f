#ifndef CGROUP_H
#define CGROUP_H

#include <stdint.h>

/*
 * Control groups for a sandbox (a RUN step, a launch): one directory
 * under this process's own cgroup, in the unified hierarchy (v2) or, on a
 * v1 or hybrid host, in each controller's hierarchy. The limits of memory
 * (swap included), processes and CPU hold for everything the sandbox
 * starts, whatever uid it runs as; killing the group ends them all.
 *
 *	struct ah_cgroup cg = AH_CGROUP_INIT;
 *	ah_cgroup_make(&cg, "apphub-x", &limits);	(parent)
 *	ah_cgroup_join(&cg);				(child, before exec)
 *	ah_cgroup_hit(&cg, AH_CG_MEMORY) ...		(after: which limit ended it)
 *	ah_cgroup_remove(&cg);
 */

#define AH_CG_MEMORY 1u
#define AH_CG_PIDS 2u
#define AH_CG_CPU 4u

struct ah_cgroup_limits {
	int64_t memory_bytes;	/* 0: none */
	int64_t pids;		/* 0: none */
	double cpus;		/* 0: none */
};

#define AH_CGROUP_MAX 4

struct ah_cgroup {
	char *dirs[AH_CGROUP_MAX];	/* made directories */
	int nr;
	int v2;			/* index of the unified one, -1 */
	int memory, pids;	/* index of the directory holding that limit, -1 */
	unsigned enforced;	/* AH_CG_* that hold */
};

#define AH_CGROUP_INIT { .v2 = -1, .memory = -1, .pids = -1 }

/*
 * Makes name's directories with limits written; cg->enforced says which
 * hold (none when this process may not make cgroups). 0, or -1 when a
 * directory could be made but a limit not written (cg has what was made).
 */
int ah_cgroup_make(struct ah_cgroup *cg, const char *name, const struct ah_cgroup_limits *limits);
/* Moves the calling process into cg's directories (a child, before it execs); -1 with errno. */
int ah_cgroup_join(const struct ah_cgroup *cg);
/* Whether the limit `what` (AH_CG_MEMORY or AH_CG_PIDS) was reached in cg. */
int ah_cgroup_hit(const struct ah_cgroup *cg, unsigned what);
/* fn(data, pid) for each process in dir (its cgroup.procs). */
void ah_cgroup_each_pid(const char *dir, void (*fn)(void *data, pid_t pid), void *data);
/* Kills what is left in dir and removes it. */
void ah_cgroup_remove_dir(const char *dir);
/* Kills what is left in cg, removes its directories, frees them. */
void ah_cgroup_remove(struct ah_cgroup *cg);

/*
 * Removes (unless dry_run) the directories named prefix<pid>-... beside
 * this process's own cgroup, in every hierarchy, whose <pid> is gone: what
 * a sandbox's owner killed with -9 left. fn(cb, dir) for each (or NULL).
 */
void ah_cgroup_reclaim(const char *prefix, int dry_run, void (*fn)(void *cb, const char *dir),
		       void *cb);

/* value to dir/file; -1 with errno. */
int ah_cgroup_write(const char *dir, const char *file, const char *value);

#endif
