#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cgroup.h"
#include "err.h"

/*
 * The one sandbox of apphub: build RUN steps and launches (and what comes
 * next) describe what they want in struct ah_sandbox_opts, their profile;
 * the bwrap command line, the rlimits, the USER lookup and the one child
 * that is set up and executes bwrap (ah_sandbox_spawn, or in two steps
 * ah_sandbox_fork and ah_sandbox_exec) are here.
 *
 * A command run in a root file system directory under bubblewrap (bwrap,
 * found on PATH): its own pid, mount, ipc and uts namespaces, no network
 * (--unshare-net) or the host's, a fresh /proc, a minimal /dev, a tmpfs
 * on /tmp, only the environment given, a working directory, a user, and
 * resource limits. bwrap runs with --die-with-parent in its own process
 * group, so a timeout (or the caller's death) ends everything it started.
 *
 * Users: as host root, the command never holds host root. It runs in a
 * user namespace whose ids 0-65535 are host ids AH_SANDBOX_UID_BASE + id,
 * and its root file system is an idmapped mount (an overlay of idmapped
 * layers), so the ids on disk are the ids inside: what root writes there
 * is owned by 0. Root inside has Docker's default capabilities over that
 * namespace only (see seccomp.h), the seccomp filter, no_new_privs and a
 * cgroup with the limits. Where idmapped mounts or that user namespace
 * cannot be made, the command is refused, never run as host root.
 * Otherwise (apphub run by a user) bwrap makes a user namespace mapping
 * uid/gid to the caller's ids, so what the command writes is owned by the
 * caller on the host.
 *
 *	struct ah_sandbox_opts o = AH_SANDBOX_OPTS_INIT;
 *	o.rootfs = dir; o.argv = argv; o.out_fd = log;
 *	if (ah_sandbox_run(&o, &status, &err) < 0) ... (bwrap missing, timeout)
 *	status is the exit status, or 128 + the signal that ended it
 */

/* Host uid and gid of root in a sandbox run by host root (65536 ids). */
#define AH_SANDBOX_UID_BASE 200000
#define AH_SANDBOX_UID_COUNT 65536

struct ah_limits {
	int64_t memory_bytes;	/* cgroup memory (RLIMIT_AS without one); 0: none */
	int64_t cpu_seconds;	/* RLIMIT_CPU; 0: none */
	int64_t pids;		/* cgroup pids (RLIMIT_NPROC without one); 0: none */
	int64_t nofile;		/* RLIMIT_NOFILE; 0: the default */
	int64_t tmp_bytes;	/* the size of the tmpfs on /tmp; 0: bwrap's default */
	double cpus;		/* cgroup CPU quota; 0: none */
	/*
	 * What the command may add to its root (the overlay's upper
	 * directory, else the rootfs), counted by logical size while it runs
	 * and once after; also RLIMIT_FSIZE. 0: none.
	 */
	int64_t disk_bytes;
};

enum ah_bind_mode {
	AH_BIND_RO,
	AH_BIND_RW,
};

/* A host path made visible at dest inside the sandbox. */
struct ah_sandbox_bind {
	const char *src;
	const char *dest;
	enum ah_bind_mode mode;
};

#define AH_SANDBOX_MAX_ARGS 4096

/* A RUN's cgroup is <this>-<pid of its owner>-<n> (ah_cgroup_reclaim). */
#define AH_SANDBOX_CGROUP_PREFIX "apphub-run-"

struct ah_sandbox_opts {
	const char *rootfs;	/* the directory mounted at / */
	int rootfs_readonly;	/* 0: read-write (RUN), 1: read-only */
	const char *const *argv;	/* NULL-terminated; argv[0] is looked up in the sandbox's PATH */
	const char *const *env;	/* "K=V", NULL-terminated; the whole environment */
	const char *workdir;	/* inside the sandbox; NULL: "/" */
	uid_t uid;		/* inside the sandbox */
	gid_t gid;
	const char *network;	/* "none" (NULL) or "host" */
	const char *hostname;	/* NULL: bwrap's default */
	struct ah_limits limits;
	int64_t timeout_ms;	/* ah_sandbox_run/wait: 0 for none */
	int in_fd;		/* stdin; -1: /dev/null (ah_sandbox_exec: early's) */
	int out_fd;		/* stdout and stderr; -1: /dev/null (ah_sandbox_exec: early's) */
	/* Job handlers (ah_sandbox_spawn and _run only; 0 or -1: none): */
	int err_fd;		/* stderr apart from stdout */
	int extra_fd;		/* the command's fd 3 (its progress lines) */
	/*
	 * ah_sandbox_run: called while the command runs instead of sleeping,
	 * at most max_ms each time (it may poll pidfd, readable once the
	 * command ended, with its own descriptors); returning 1 ends the
	 * command (a cancel): the error's code is "canceled".
	 */
	int (*wait_hook)(void *cls, int pidfd, int64_t max_ms);
	void *wait_cls;
	const struct ah_sandbox_bind *binds;	/* mounted after /proc, /dev and /tmp */
	size_t binds_nr;
	int no_tmpfs;		/* keep the rootfs's /tmp instead of a tmpfs */
	/*
	 * Overlay lowers (bottom first), upper and work directories (siblings)
	 * that the sandbox mounts at rootfs (an empty directory) in a mount
	 * namespace of its own, each layer idmapped. Needs root.
	 */
	char *const *ovl_lowers;
	size_t ovl_lowers_nr;
	const char *ovl_upper, *ovl_work;
	int64_t cpu_grace;	/* seconds from SIGXCPU (limits.cpu_seconds) to SIGKILL */
	/* Launches: */
	int tmp_mode;		/* the mode of the tmpfs on /tmp; 0: bwrap's default */
	int own_netns;		/* the caller made its network namespace: no --unshare-net */
	/* env is bwrap's own environment, which the command keeps: no --clearenv */
	int keep_env;
};

#define AH_SANDBOX_OPTS_INIT { .in_fd = -1, .out_fd = -1 }

/* The user a command runs as, from an image's USER or a request. */
struct ah_sandbox_user {
	uid_t uid;
	gid_t gid;
	char *home;		/* its passwd entry's home; NULL: no entry */
};

/* A numeric user is taken as it is, with group 0 (a build's USER and --chown). */
#define AH_USER_ID_ALONE 1u

/*
 * user[:group] (names or ids, ids below max_id) as the root's (a
 * directory fd) /etc/passwd and /etc/group say, their links resolved
 * inside that root. A user's group is its passwd entry's; an id not in
 * passwd has group 0, as with Docker. The one USER lookup: builds and
 * launches use it. Errors (400) name what is missing.
 */
int ah_sandbox_user(int rootfd, const char *spec, long max_id, unsigned flags,
		    struct ah_sandbox_user *u, struct ah_err *err);

/* The path of bwrap on PATH (static storage), or NULL with err (status 503). */
const char *ah_sandbox_bwrap(struct ah_err *err);

/*
 * Starts the command and returns at once: *pid is bwrap's, the leader of
 * its process group. Wait for it with ah_sandbox_wait(); stop it with
 * ah_sandbox_kill().
 */
int ah_sandbox_spawn(const struct ah_sandbox_opts *opts, pid_t *pid, struct ah_err *err);
/*
 * Waits for pid (from ah_sandbox_spawn) at most timeout_ms (0: no limit);
 * *status is its exit status or 128 + signal. On timeout the process
 * group is killed and reaped, and the error (status 504, code "timeout")
 * says "timed out after N s".
 */
int ah_sandbox_wait(pid_t pid, int64_t timeout_ms, int *status, struct ah_err *err);
/* SIGKILLs pid's process group (the sandbox and everything in it). */
void ah_sandbox_kill(pid_t pid);
/*
 * spawn + wait with opts->timeout_ms, in a cgroup of its own with the
 * limits (as root). A limit that ended the command is an error, code
 * "limit": "ran out of memory (limit 256 MiB)", "reached its process
 * limit (1024)".
 */
int ah_sandbox_run(const struct ah_sandbox_opts *opts, int *status, struct ah_err *err);

/*
 * A sandbox in two steps, for a caller that has the sandbox's cgroups
 * long before it knows what to run (a launch, whose image and root are
 * made ready meanwhile). ah_sandbox_fork() forks the child at once: it
 * joins the cgroups (a join waits for an RCU grace period, 5-20 ms, which
 * the child spends while its caller works), makes a user namespace of
 * its own and a network namespace, and waits. ah_sandbox_exec() maps the
 * user namespace and has the child execute bwrap as opts say, through
 * the same setup as ah_sandbox_spawn: one fork in all.
 *
 *	struct ah_sandbox_early e = AH_SANDBOX_EARLY_INIT;
 *	struct ah_sandbox_child c = AH_SANDBOX_CHILD_INIT;
 *	e.cgroups = dirs; e.userns_base = base; e.userns_count = n; e.netns = 1;
 *	ah_sandbox_fork(&c, &e, &err) ... ah_sandbox_exec(&c, &opts, &err)
 *	... waitpid(c.pid) ... ah_sandbox_child_release(&c)
 */
struct ah_sandbox_early {
	/* the directories it joins first (NULL-terminated, at most AH_CGROUP_MAX); NULL: none */
	const char *const *cgroups;
	/* its user namespace: ids 0 .. userns_count - 1 are host userns_base + id */
	uid_t userns_base;
	unsigned userns_count;
	int netns;		/* a network namespace of its own, with its loopback up */
	int in_fd;		/* stdin; -1: /dev/null */
	int out_fd;		/* stdout and stderr; -1: /dev/null */
};

#define AH_SANDBOX_EARLY_INIT { .in_fd = -1, .out_fd = -1 }

struct ah_sandbox_child {
	pid_t pid;		/* the child, bwrap once executed; -1: none */
	int netns;		/* after ah_sandbox_exec: its network namespace, the caller's to close; -1 */
	/* after ah_sandbox_exec: why early cgroup i could not be joined (errno), 0: joined */
	int cgroup_errno[AH_CGROUP_MAX];
	/* ah_sandbox_exec's: */
	int sync, go;		/* the pipes to the child */
	int seccomp_fd;
	uid_t userns_base;
	unsigned userns_count;
	int want_netns;
};

#define AH_SANDBOX_CHILD_INIT { .pid = -1, .netns = -1, .sync = -1, .go = -1, .seccomp_fd = -1 }

/* Forks c's child, which gets ready as early says and waits for ah_sandbox_exec(). */
int ah_sandbox_fork(struct ah_sandbox_child *c, const struct ah_sandbox_early *early,
		    struct ah_err *err);
/*
 * Has c's child execute bwrap for opts: its stdio is early's; as root of
 * its user namespace it keeps its capabilities for bwrap, as any other
 * user it runs bwrap in a user namespace of bwrap's own; every limit is
 * an rlimit too, whatever the cgroups hold. Returns once the child has the
 * command, before it executes it: a failure from there ends it with
 * status 122 (its user), 125 (its setup), 126 (its parent gone) or 127
 * (bwrap). On error the child is killed and reaped (c->pid is -1).
 */
int ah_sandbox_exec(struct ah_sandbox_child *c, const struct ah_sandbox_opts *opts,
		    struct ah_err *err);
/* Closes what c holds; the child, if any, is left as it is. */
void ah_sandbox_child_release(struct ah_sandbox_child *c);

/*
 * A detached overlay mount (fsmount(2)): lowers bottom first, upper and
 * work may be NULL (read-only). Plain directories and whiteouts only, as
 * the layer diff reads them. -1 with errno.
 */
int ah_overlay_mount(char *const *lowers, size_t nr, const char *upper, const char *work);

#endif
