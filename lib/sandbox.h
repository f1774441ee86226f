#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"

/*
 * The one sandbox of apphub: build RUN steps and launches (and what comes
 * next) describe what they want in struct ah_sandbox_opts, their profile;
 * the bwrap command line, the rlimits and the USER lookup are here.
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
	int in_fd;		/* stdin; -1: /dev/null */
	int out_fd;		/* stdout and stderr; -1: /dev/null */
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
	/* Launches (ah_sandbox_argv only): */
	int tmp_mode;		/* the mode of the tmpfs on /tmp; 0: bwrap's default */
	int own_netns;		/* the caller made its network namespace: no --unshare-net */
	int keep_env;		/* bwrap's own environment is the command's: no --clearenv */
};

#define AH_SANDBOX_OPTS_INIT { .in_fd = -1, .out_fd = -1 }

/* A bwrap command line (ah_sandbox_argv); release it with ah_sandbox_argv_release(). */
struct ah_sandbox_argv {
	const char **v;		/* NULL-terminated */
	size_t nr, alloc;
	char **owned;		/* strings to free */
	size_t owned_nr, owned_alloc;
};

#define AH_SANDBOX_ARGV_INIT { 0 }

/* Root of a user namespace mapped by the caller: root keeps capabilities, other users get their own namespace. */
#define AH_SANDBOX_MAPPED 1u
/* The rootfs and the binds are reached through the relocation directory (a mapped RUN). */
#define AH_SANDBOX_RELOCATED 2u

/*
 * The command line of bwrap (argv0 first) that runs opts->argv as the
 * profile says: namespaces, user, capabilities, the seccomp filter read
 * from seccomp_fd, /proc, /dev, /tmp, binds, environment and working
 * directory. The one place the sandbox's bwrap options are written: a
 * RUN (ah_sandbox_run) and a launch (lib/launch-run.c) both use it.
 */
int ah_sandbox_argv(const struct ah_sandbox_opts *opts, const char *argv0, int seccomp_fd,
		    unsigned flags, struct ah_sandbox_argv *a, struct ah_err *err);
void ah_sandbox_argv_release(struct ah_sandbox_argv *a);

/*
 * The resource limits no cgroup holds, as rlimits of the calling process
 * (a sandbox's child before it executes bwrap; async-signal-safe):
 * memory (RLIMIT_AS) and pids (RLIMIT_NPROC) unless cg_enforced has
 * AH_CG_MEMORY or AH_CG_PIDS, CPU time (SIGKILL cpu_grace seconds after
 * SIGXCPU), disk (RLIMIT_FSIZE), nofile; no core dumps.
 */
void ah_sandbox_rlimits(const struct ah_limits *l, unsigned cg_enforced, int64_t cpu_grace);

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
 * A detached overlay mount (fsmount(2)): lowers bottom first, upper and
 * work may be NULL (read-only). Plain directories and whiteouts only, as
 * the layer diff reads them. -1 with errno.
 */
int ah_overlay_mount(char *const *lowers, size_t nr, const char *upper, const char *work);

#endif
