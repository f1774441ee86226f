/*
 * Commands under bubblewrap: the bwrap command line of a profile, and the
 * one child that is set up for it (cgroups, rlimits, user, descriptors)
 * and executes bwrap, at once (RUN steps) or in two steps (launches).
 * See sandbox.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "exec-path.h"
#include "fsutil.h"
#include "sandbox.h"
#include "seccomp.h"
#include "strbuf.h"

const char *ah_sandbox_bwrap(struct ah_err *err)
{
	static char found[PATH_MAX];

	if (*found || ah_path_lookup("bwrap", found, sizeof(found)))
		return found;
	ah_error(err, 503, "unavailable",
		 "bwrap not found on PATH: RUN steps and launches need bubblewrap "
		 "(apt-get install bubblewrap)");
	return NULL;
}

/* A bwrap command line (sandbox_argv). */
struct sandbox_argv {
	const char **v;		/* NULL-terminated */
	size_t nr, alloc;
	char **owned;		/* strings to free */
	size_t owned_nr, owned_alloc;
};

#define SANDBOX_ARGV_INIT { 0 }

/* Root of a user namespace mapped by the caller: root keeps capabilities, other users get their own namespace. */
#define AH_SANDBOX_MAPPED 1u
/* The rootfs and the binds are reached through the relocation directory (a mapped RUN). */
#define AH_SANDBOX_RELOCATED 2u

static void add(struct sandbox_argv *a, const char *s)
{
	if (a->nr + 2 > a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 64;
		a->v = xrealloc(a->v, a->alloc * sizeof(*a->v));
	}
	a->v[a->nr++] = s;
	a->v[a->nr] = NULL;
}

static const char *own(struct sandbox_argv *a, char *s)
{
	if (a->owned_nr == a->owned_alloc) {
		a->owned_alloc = a->owned_alloc ? 2 * a->owned_alloc : 16;
		a->owned = xrealloc(a->owned, a->owned_alloc * sizeof(*a->owned));
	}
	a->owned[a->owned_nr++] = s;
	return s;
}

static void argv_release(struct sandbox_argv *a)
{
	size_t i;

	for (i = 0; i < a->owned_nr; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

#define RELOC_DIR "/tmp/.apphub-sandbox"

/*
 * As host root, the sandbox is mapped: it runs in the user namespace of
 * AH_SANDBOX_UID_BASE (see sandbox.h); what it needs ready before the fork
 * is here.
 */
struct mapped {
	int on;
	int userns;		/* the user namespace's fd */
	int root_clone;		/* the idmapped rootfs, detached; -1 */
	int *clones;		/* the idmapped layers, detached */
	size_t clones_nr;
	char **paths;		/* lowers' paths through the clones, bottom first */
	char *upper, *work;
};

/* Where relocate() puts the rootfs (i 0) or bind i - 1, else path. */
static const char *reloc(unsigned flags, struct sandbox_argv *a, size_t i, const char *path)
{
	return flags & AH_SANDBOX_RELOCATED ? own(a, xstrfmt(RELOC_DIR "/%zu", i)) : path;
}

/*
 * The command line of bwrap ("bwrap" first: what the sandbox sees as its
 * /proc/1/cmdline, not the host's path) that runs opts->argv as the
 * profile says: namespaces, user, capabilities, the seccomp filter read
 * from seccomp_fd, /proc, /dev, /tmp, binds, environment and working
 * directory. The one place the sandbox's bwrap options are written.
 */
static int sandbox_argv(const struct ah_sandbox_opts *o, int seccomp_fd, unsigned flags,
			struct sandbox_argv *a, struct ah_err *err)
{
	size_t i;
	/* a user namespace of bwrap's own: a user's, or USER in a mapped sandbox */
	int userns = !(flags & AH_SANDBOX_MAPPED) || o->uid != 0;

	if (!o->rootfs || !o->argv || !o->argv[0])
		return ah_internal(err, "sandbox: a root file system and a command are required");
	if (o->network && strcmp(o->network, "none") && strcmp(o->network, "host"))
		return ah_invalid(err, "invalid network '%s': must be none or host", o->network);
	add(a, "bwrap");
	add(a, o->rootfs_readonly ? "--ro-bind" : "--bind");
	add(a, reloc(flags, a, 0, o->rootfs));
	add(a, "/");
	add(a, "--unshare-pid");
	add(a, "--unshare-ipc");
	add(a, "--unshare-uts");
	add(a, "--unshare-cgroup-try");
	if (!o->own_netns && (!o->network || !strcmp(o->network, "none")))
		add(a, "--unshare-net");
	if (userns) {
		add(a, "--unshare-user");
		add(a, "--uid");
		add(a, own(a, xstrfmt("%u", (unsigned)o->uid)));
		add(a, "--gid");
		add(a, own(a, xstrfmt("%u", (unsigned)o->gid)));
		/* no more user namespaces inside (seccomp refuses them too) */
		add(a, "--disable-userns");
	} else {
		/* root of the mapped namespace: Docker's default capabilities, over it only */
		add(a, "--cap-drop");
		add(a, "ALL");
		for (i = 0; ah_sandbox_caps[i]; i++) {
			add(a, "--cap-add");
			add(a, ah_sandbox_caps[i]);
		}
	}
	add(a, "--seccomp");
	add(a, own(a, xstrfmt("%d", seccomp_fd)));
	add(a, "--new-session");
	if (o->hostname) {
		add(a, "--hostname");
		add(a, o->hostname);
	}
	add(a, "--die-with-parent");
	add(a, "--proc");
	add(a, "/proc");
	add(a, "--dev");
	add(a, "/dev");
	if (!o->no_tmpfs) {
		if (o->tmp_mode) {
			add(a, "--perms");
			add(a, own(a, xstrfmt("%o", (unsigned)o->tmp_mode)));
		}
		if (o->limits.tmp_bytes > 0) {
			add(a, "--size");
			add(a, own(a, xstrfmt("%lld", (long long)o->limits.tmp_bytes)));
		}
		add(a, "--tmpfs");
		add(a, "/tmp");
	}
	for (i = 0; i < o->binds_nr; i++) {
		add(a, o->binds[i].mode == AH_BIND_RW ? "--bind" : "--ro-bind");
		add(a, reloc(flags, a, i + 1, o->binds[i].src));
		add(a, o->binds[i].dest);
	}
	if (!o->keep_env)
		add(a, "--clearenv");
	for (i = 0; !o->keep_env && o->env && o->env[i]; i++) {
		const char *eq = strchr(o->env[i], '=');

		if (!eq || eq == o->env[i])
			continue;
		add(a, "--setenv");
		add(a, own(a, xstrndup(o->env[i], (size_t)(eq - o->env[i]))));
		add(a, eq + 1);
	}
	add(a, "--chdir");
	add(a, o->workdir && *o->workdir ? o->workdir : "/");
	add(a, "--");
	for (i = 0; o->argv[i]; i++)
		add(a, o->argv[i]);
	return 0;
}

static void set_limit(int res, int64_t v, int64_t grace)
{
	struct rlimit rl;

	if (v <= 0)
		return;
	rl.rlim_cur = (rlim_t)v;
	rl.rlim_max = (rlim_t)(v + grace);
	setrlimit(res, &rl);
}

/*
 * The resource limits no cgroup holds, as rlimits of the calling process
 * (a sandbox's child before it executes bwrap; async-signal-safe):
 * memory (RLIMIT_AS) and pids (RLIMIT_NPROC) unless cg_enforced has
 * AH_CG_MEMORY or AH_CG_PIDS, CPU time (SIGKILL cpu_grace seconds after
 * SIGXCPU), disk (RLIMIT_FSIZE), nofile; no core dumps.
 */
static void sandbox_rlimits(const struct ah_limits *l, unsigned cg_enforced, int64_t cpu_grace)
{
	struct rlimit none_rl = { 0, 0 };

	if (!(cg_enforced & AH_CG_MEMORY))
		set_limit(RLIMIT_AS, l->memory_bytes, 0);
	if (!(cg_enforced & AH_CG_PIDS))
		set_limit(RLIMIT_NPROC, l->pids, 0);
	set_limit(RLIMIT_CPU, l->cpu_seconds, cpu_grace);
	set_limit(RLIMIT_FSIZE, l->disk_bytes, 0);
	set_limit(RLIMIT_NOFILE, l->nofile, 0);
	setrlimit(RLIMIT_CORE, &none_rl);
}

int ah_overlay_mount(char *const *lowers, size_t nr, const char *upper, const char *work)
{
	int fd = fsopen("overlay", FSOPEN_CLOEXEC), mnt = -1, e;
	size_t i;

	if (fd < 0)
		return -1;
	for (i = nr; i-- > 0;)
		if (fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0)
			goto done;
	if (upper && (fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
		      fsconfig(fd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
		      /* the upper is read back at once: no need to sync it */
		      fsconfig(fd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0))
		goto done;
	if (fsconfig(fd, FSCONFIG_SET_STRING, "redirect_dir", "off", 0) < 0 ||
	    fsconfig(fd, FSCONFIG_SET_STRING, "metacopy", "off", 0) < 0 ||
	    fsconfig(fd, FSCONFIG_SET_STRING, "index", "off", 0) < 0 ||
	    fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto done;
	mnt = fsmount(fd, FSMOUNT_CLOEXEC, 0);
done:
	e = errno;
	close(fd);
	errno = e;
	return mnt;
}

/* ---- the mapped sandbox (host root) ---- */

static int write_proc(pid_t pid, const char *file, const char *data)
{
	char path[64];
	int fd, ret;
	size_t len = strlen(data);

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

/*
 * The user namespace whose root is AH_SANDBOX_UID_BASE, made once per
 * process by a child that only holds it while its maps are written.
 * setgroups stays allowed: package managers drop groups with it.
 */
static int sandbox_userns(struct ah_err *err)
{
	static int cached = -1;
	char map[64], c = 0, path[64];
	int sync[2], fd = -1, expected = -1;
	pid_t pid;

	if (__atomic_load_n(&cached, __ATOMIC_ACQUIRE) >= 0)
		return cached;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return ah_internal(err, "sandbox: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sync[0]);
		close(sync[1]);
		return ah_internal(err, "sandbox: cannot fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sync[0]);
		c = unshare(CLONE_NEWUSER) < 0 ? 'e' : 'u';
		if (write(sync[1], &c, 1) == 1)
			pause();
		_exit(0);
	}
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1 || c != 'u') {
		ah_error(err, 503, "unavailable", "sandbox: cannot make a user namespace: "
			 "RUN steps and launches need them (user.max_user_namespaces)");
		goto done;
	}
	snprintf(map, sizeof(map), "0 %d %d\n", AH_SANDBOX_UID_BASE, AH_SANDBOX_UID_COUNT);
	if (write_proc(pid, "uid_map", map) < 0 || write_proc(pid, "gid_map", map) < 0) {
		ah_internal(err, "sandbox: cannot map the user namespace: %s", strerror(errno));
		goto done;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ah_internal(err, "sandbox: cannot open '%s': %s", path, strerror(errno));
done:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(sync[0]);
	if (fd < 0)
		return -1;
	/* another thread may have made one meanwhile: keep the first */
	if (!__atomic_compare_exchange_n(&cached, &expected, fd, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		close(fd);
	return cached;
}

/* A detached clone of path whose ids are seen through the sandbox's user namespace. */
static int idmapped(const struct mapped *m, const char *path, struct ah_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)m->userns };
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), e;

	if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return ah_error(err, 503, "unavailable",
				"sandbox: cannot idmap '%s' for the sandbox's user namespace "
				"(idmapped mounts need Linux 5.19 or later and a file system "
				"that has them): %s; refusing to run it as host root",
				path, strerror(e));
	}
	return fd;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash != path ? xstrndup(path, (size_t)(slash - path)) : xstrdup("/");
}

static void mapped_release(struct mapped *m)
{
	size_t i;

	if (m->root_clone >= 0)
		close(m->root_clone);
	for (i = 0; i < m->clones_nr; i++)
		close(m->clones[i]);
	for (i = 0; m->paths && m->paths[i]; i++)
		free(m->paths[i]);
	free(m->paths);
	free(m->clones);
	free(m->upper);
	free(m->work);
}

/* The user namespace and the idmapped clones, before the fork. */
static int mapped_prepare(const struct ah_sandbox_opts *o, struct mapped *m, struct ah_err *err)
{
	char *dir = NULL, *wdir = NULL;
	size_t i;
	int fd, ret = -1;

	if ((m->userns = sandbox_userns(err)) < 0)
		return -1;
	if (!o->ovl_lowers_nr) {
		m->root_clone = idmapped(m, o->rootfs, err);
		return m->root_clone < 0 ? -1 : 0;
	}
	/* overlayfs is not idmapped itself: its layers are, and it is mounted over them */
	m->clones = xcalloc(o->ovl_lowers_nr + 1, sizeof(*m->clones));
	m->paths = xcalloc(o->ovl_lowers_nr + 1, sizeof(*m->paths));
	for (i = 0; i < o->ovl_lowers_nr; i++) {
		if ((fd = idmapped(m, o->ovl_lowers[i], err)) < 0)
			goto done;
		m->clones[m->clones_nr++] = fd;
		m->paths[i] = xstrfmt("/proc/self/fd/%d", fd);
	}
	if (o->ovl_upper) {
		/* upper and work on one mount, as overlayfs wants */
		dir = dir_of(o->ovl_upper);
		wdir = dir_of(o->ovl_work);
		if (strcmp(dir, wdir)) {
			ah_internal(err, "sandbox: the overlay's upper and work are not siblings");
			goto done;
		}
		if ((fd = idmapped(m, dir, err)) < 0)
			goto done;
		m->clones[m->clones_nr++] = fd;
		m->upper = xstrfmt("/proc/self/fd/%d/%s", fd, o->ovl_upper + strlen(dir) + 1);
		m->work = xstrfmt("/proc/self/fd/%d/%s", fd, o->ovl_work + strlen(dir) + 1);
	}
	ret = 0;
done:
	free(dir);
	free(wdir);
	return ret;
}

/* In the child: effective capabilities = permitted (setfsuid drops the file ones). */
static int caps_raise(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * In the child: the overlay of the idmapped layers at rootfs. overlayfs
 * does its upper-layer work with its creator's credentials: they are
 * the namespace's root (fsuid AH_SANDBOX_UID_BASE, which the idmap
 * writes as 0) with the host root's capabilities, so it can make its
 * work directory and copy files up with their owners.
 */
static int mapped_overlay(const struct ah_sandbox_opts *o, const struct mapped *m)
{
	int mnt, e;

	setfsgid(AH_SANDBOX_UID_BASE);
	setfsuid(AH_SANDBOX_UID_BASE);
	if (caps_raise() < 0)
		return -1;
	mnt = ah_overlay_mount(m->paths, o->ovl_lowers_nr, m->upper, m->work);
	e = errno;
	setfsuid(0);
	setfsgid(0);
	if (mnt < 0) {
		errno = e;
		return -1;
	}
	return move_mount(mnt, "", AT_FDCWD, o->rootfs, MOVE_MOUNT_F_EMPTY_PATH);
}

/* In the child: a mount namespace of its own, the root file system at rootfs. */
static int own_mounts(const struct ah_sandbox_opts *o, const struct mapped *m)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (o->ovl_lowers_nr)
		return mapped_overlay(o, m);
	if (m->root_clone >= 0)
		return move_mount(m->root_clone, "", AT_FDCWD, o->rootfs, MOVE_MOUNT_F_EMPTY_PATH);
	return 0;
}

/*
 * In the child, before it enters the user namespace, where it may not
 * reach the rootfs and the bind sources (a state directory of 0700 owned
 * by host root): they are bound under a tmpfs on /tmp (RELOC_DIR/<i>), in
 * the child's mount namespace only.
 */
static int relocate(const struct ah_sandbox_opts *o)
{
	char from[64], to[sizeof(RELOC_DIR) + 32];
	int fds[64], ret = -1;
	size_t i, n = o->binds_nr + 1;

	if (n > sizeof(fds) / sizeof(*fds)) {
		errno = E2BIG;
		return -1;
	}
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++)
		if ((fds[i] = open(i ? o->binds[i - 1].src : o->rootfs, O_PATH | O_CLOEXEC)) < 0)
			goto done;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
	    mkdir(RELOC_DIR, 0755) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(from, sizeof(from), "/proc/self/fd/%d", fds[i]);
		snprintf(to, sizeof(to), RELOC_DIR "/%zu", i);
		if (fstat(fds[i], &sb) < 0 ||
		    (S_ISDIR(sb.st_mode) ? mkdir(to, 0755) : mknod(to, S_IFREG | 0644, 0)) < 0 ||
		    mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
			goto done;
	}
	ret = 0;
done:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

/*
 * In the child: into the sandbox's user namespace, with no host group
 * left; child_exec() then takes the uid and gid there (host
 * AH_SANDBOX_UID_BASE + id). bwrap holds capabilities over that
 * namespace only.
 */
static int enter_userns(const struct ah_sandbox_opts *o, const struct mapped *m)
{
	if (relocate(o) < 0 || setns(m->userns, CLONE_NEWUSER) < 0 || setgroups(0, NULL) < 0)
		return -1;
	return 0;
}

/*
 * Why a sandbox's child ended before bwrap ran, as its exit status (a
 * child of ah_sandbox_fork; one of ah_sandbox_spawn reports errno instead).
 */
enum child_step {
	STEP_USERNS = 120,	/* its user namespace */
	STEP_SYNC,		/* its parent stopped talking */
	STEP_IDS,		/* its user */
	STEP_NETNS,		/* its network namespace */
	STEP_LOOPBACK,		/* its loopback interface */
	STEP_SETUP,		/* its stdio, cgroups, command or seccomp filter */
	STEP_PARENT,		/* its parent is gone */
	STEP_EXEC,		/* bwrap */
};

/*
 * What a child does between the fork and bwrap, for ah_sandbox_spawn and
 * ah_sandbox_exec alike, pointing into memory the child has (the
 * parent's, or the payload it read).
 */
struct child_setup {
	pid_t parent;
	int pgrp;			/* a process group of its own */
	int in, out;			/* stdin; stdout and stderr */
	int err, extra;			/* stderr apart (> 0), fd 3 (> 0) */
	const struct ah_cgroup *cg;	/* joined here; NULL: none, or joined already */
	const struct ah_limits *limits;
	unsigned cg_enforced;		/* the limits the cgroups hold: no rlimit for them */
	int64_t cpu_grace;
	/* a mapped RUN: its own mounts, then into the user namespace m->userns */
	const struct ah_sandbox_opts *o;
	const struct mapped *m;
	int set_ids;			/* uid and gid taken (in the user namespace it is in) */
	uid_t uid;
	gid_t gid;
	int seccomp_fd;
	const char *bwrap;
	char *const *argv;
	char *const *envp;		/* NULL: this process's */
};

/* In the child, first: signals as a new program expects them, and death with the parent. */
static int child_begin(pid_t parent)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* a parent that died before the prctl would not send it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return -1;
	return 0;
}

/*
 * In the child: the setup, then bwrap. Returns only on failure, with
 * errno and the step (enum child_step) that failed.
 */
static int child_exec(const struct child_setup *c)
{
	if (child_begin(c->parent) < 0)
		return STEP_PARENT;
	if (c->pgrp)
		setpgid(0, 0);
	if (dup2(c->in, 0) < 0 || dup2(c->out, 1) < 0 ||
	    dup2(c->err > 0 ? c->err : c->out, 2) < 0 || (c->extra > 0 && dup2(c->extra, 3) < 0))
		return STEP_SETUP;
	/* as host root, before the user namespace */
	if (c->cg && ah_cgroup_join(c->cg) < 0)
		return STEP_SETUP;
	sandbox_rlimits(c->limits, c->cg_enforced, c->cpu_grace);
	if (c->m && (own_mounts(c->o, c->m) < 0 || enter_userns(c->o, c->m) < 0))
		return STEP_IDS;
	if (c->set_ids && (setresgid(c->gid, c->gid, c->gid) < 0 ||
			   setresuid(c->uid, c->uid, c->uid) < 0))
		return STEP_IDS;
	/*
	 * Nothing of this process reaches the sandbox but stdio and the
	 * filter, which bwrap reads: a descriptor some library opened
	 * without O_CLOEXEC is closed on exec too.
	 */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (c->seccomp_fd < 0 || fcntl(c->seccomp_fd, F_SETFD, 0) < 0 ||
	    (c->extra > 0 && fcntl(3, F_SETFD, 0) < 0))
		return STEP_SETUP;
	/* again: a change of credentials clears it */
	if (child_begin(c->parent) < 0)
		return STEP_PARENT;
	execve(c->bwrap, c->argv, c->envp ? c->envp : environ);
	return STEP_EXEC;
}

static int spawn(const struct ah_sandbox_opts *o, const struct ah_cgroup *cg, pid_t *pid,
		 struct ah_err *err)
{
	struct sandbox_argv a = SANDBOX_ARGV_INIT;
	struct mapped m = { .on = geteuid() == 0, .userns = -1, .root_clone = -1 };
	const char *bwrap = ah_sandbox_bwrap(err);
	int pfd[2] = { -1, -1 }, ret = -1, null_fd = -1, child_errno = 0, seccomp_fd = -1;
	pid_t child, parent = getpid();
	ssize_t n;

	if (!bwrap)
		goto done;
	if (o->ovl_lowers_nr && !m.on) {
		ah_internal(err, "sandbox: an overlay root needs root");
		goto done;
	}
	if ((m.on && mapped_prepare(o, &m, err) < 0) ||
	    (seccomp_fd = ah_seccomp_bpf_fd(err)) < 0)
		goto done;
	/* fds 0-3 are the command's: the filter's must not be one of them */
	if (seccomp_fd <= 3) {
		int high = fcntl(seccomp_fd, F_DUPFD_CLOEXEC, 10);

		close(seccomp_fd);
		if ((seccomp_fd = high) < 0) {
			ah_internal(err, "sandbox: %s", strerror(errno));
			goto done;
		}
	}
	if (sandbox_argv(o, seccomp_fd,
			 m.on ? AH_SANDBOX_MAPPED | AH_SANDBOX_RELOCATED : 0, &a, err) < 0)
		goto done;
	if (a.nr > AH_SANDBOX_MAX_ARGS) {
		ah_invalid(err, "sandbox: more than %d arguments", AH_SANDBOX_MAX_ARGS);
		goto done;
	}
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		ah_internal(err, "sandbox: %s", strerror(errno));
		goto done;
	}
	child = fork();
	if (child < 0) {
		ah_internal(err, "sandbox: cannot fork: %s", strerror(errno));
		goto done;
	}
	if (child == 0) {
		struct child_setup cs = {
			.parent = parent,
			.pgrp = 1,
			.in = o->in_fd >= 0 ? o->in_fd : null_fd,
			.out = o->out_fd >= 0 ? o->out_fd : null_fd,
			.err = o->err_fd > 0 ? o->err_fd : 0,
			.extra = o->extra_fd > 0 ? o->extra_fd : 0,
			.cg = cg,
			.limits = &o->limits,
			.cg_enforced = cg ? cg->enforced : 0,
			.cpu_grace = o->cpu_grace,
			.o = o,
			.m = m.on ? &m : NULL,
			.set_ids = m.on,
			.uid = o->uid,
			.gid = o->gid,
			.seccomp_fd = seccomp_fd,
			.bwrap = bwrap,
			.argv = (char *const *)a.v,
			.envp = o->keep_env ? (char *const *)o->env : NULL,
		};

		child_exec(&cs);
		child_errno = errno;
		n = write(pfd[1], &child_errno, sizeof(child_errno));
		(void)n;
		_exit(127);
	}
	/* Both sides, so the parent's kill never races the child's setpgid. */
	setpgid(child, child);
	close(pfd[1]);
	pfd[1] = -1;
	do
		n = read(pfd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(child_errno)) {
		waitpid(child, NULL, 0);
		if (m.on)
			ah_error(err, 503, "unavailable", "sandbox: cannot set up the sandbox's "
				 "namespaces for '%s': %s; refusing to run it as host root",
				 bwrap, strerror(child_errno));
		else
			ah_internal(err, "sandbox: cannot run '%s': %s", bwrap, strerror(child_errno));
		goto done;
	}
	*pid = child;
	ret = 0;
done:
	ah_close_pair(pfd);
	if (null_fd >= 0)
		close(null_fd);
	if (seccomp_fd >= 0)
		close(seccomp_fd);
	mapped_release(&m);
	argv_release(&a);
	return ret;
}

int ah_sandbox_spawn(const struct ah_sandbox_opts *o, pid_t *pid, struct ah_err *err)
{
	return spawn(o, NULL, pid, err);
}

/* ---- in two steps ---- */

/* What ah_sandbox_exec() sends the child: this, then the strings (NUL-ended). */
struct payload {
	uint32_t uid, gid;
	uint32_t argc;		/* bwrap's path, then argc arguments */
	uint32_t envc;		/* then envc strings; UINT32_MAX: none, the child's environment */
	uint32_t len;		/* of the strings */
	int64_t cpu_grace;
	struct ah_limits limits;
};

#define PAYLOAD_MAX (64u << 20)

/* What the child says once it is ready (after its namespaces). */
struct ready {
	int cgroup_errno[AH_CGROUP_MAX];
};

/* The loopback interface of the network namespace the caller is in, up. */
static int loopback_up(void)
{
	struct ifreq ifr;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (sk >= 0 && ioctl(sk, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ret = ioctl(sk, SIOCSIFFLAGS, &ifr);
	}
	if (sk >= 0)
		close(sk);
	return ret;
}

/*
 * The child of ah_sandbox_fork; never returns. sync and go are its ends
 * of the pipes (the parent's are closed, so that a read sees the parent
 * gone). The payload is read into an anonymous mapping of its own.
 */
static void early_child(const struct ah_sandbox_early *e, pid_t parent, int sync, int go,
			int in, int out, int seccomp_fd)
{
	struct ready r;
	struct payload pl;
	struct child_setup cs;
	char c, *blob, *p, **v;
	size_t i, nstr, size;

	if (child_begin(parent) < 0)
		_exit(STEP_PARENT);
	memset(&r, 0, sizeof(r));
	/* Into the cgroups before it runs anything; as host root, before the user namespace. */
	for (i = 0; e->cgroups && e->cgroups[i] && i < AH_CGROUP_MAX; i++)
		if (ah_cgroup_write(e->cgroups[i], "cgroup.procs", "0") < 0)
			r.cgroup_errno[i] = errno ? errno : EIO;
	if (unshare(CLONE_NEWUSER) < 0)
		_exit(STEP_USERNS);
	if (write(sync, "u", 1) != 1 || read(go, &c, 1) != 1)
		_exit(STEP_SYNC);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(STEP_IDS);
	if (e->netns && unshare(CLONE_NEWNET) < 0)
		_exit(STEP_NETNS);
	if (e->netns && loopback_up() < 0)
		_exit(STEP_LOOPBACK);
	if (ah_write_full(sync, &r, sizeof(r)) < 0 || ah_read_full(go, &pl, sizeof(pl)) < 0 ||
	    pl.len > PAYLOAD_MAX || pl.argc < 2 || pl.argc > pl.len ||
	    (pl.envc != UINT32_MAX && pl.envc > pl.len))
		_exit(STEP_SETUP);
	nstr = 1 + pl.argc + (pl.envc == UINT32_MAX ? 0 : pl.envc);
	/* the pointers (argv, NULL, envp, NULL), then the strings */
	size = (nstr + 2) * sizeof(char *) + pl.len + 1;
	v = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		_exit(STEP_SETUP);
	blob = (char *)(v + nstr + 2);
	if (ah_read_full(go, blob, pl.len) < 0)
		_exit(STEP_SETUP);
	blob[pl.len] = '\0';
	/* bwrap's path, argv[0 .. argc - 1] at v, envp at v + argc + 1 */
	for (p = blob, i = 0; i < nstr; p += strlen(p) + 1, i++) {
		if (p >= blob + pl.len)
			_exit(STEP_SETUP);
		if (i)
			v[i <= pl.argc ? i - 1 : i] = p;
	}
	v[pl.argc] = NULL;
	v[nstr + 1] = NULL;
	memset(&cs, 0, sizeof(cs));
	cs.parent = parent;
	cs.in = in;
	cs.out = out;
	cs.limits = &pl.limits;
	/* the cgroups were made by the caller: every limit an rlimit too */
	cs.cg_enforced = 0;
	cs.cpu_grace = pl.cpu_grace;
	/* root keeps its capabilities for bwrap; any other user runs it in a user namespace of its own */
	cs.set_ids = 1;
	cs.uid = pl.uid;
	cs.gid = pl.gid;
	cs.seccomp_fd = seccomp_fd;
	cs.bwrap = blob;
	cs.argv = v;
	cs.envp = pl.envc == UINT32_MAX ? NULL : v + pl.argc + 1;
	_exit(child_exec(&cs));
}

void ah_sandbox_child_release(struct ah_sandbox_child *c)
{
	int *fds[] = { &c->sync, &c->go, &c->seccomp_fd, &c->netns };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int ah_sandbox_fork(struct ah_sandbox_child *c, const struct ah_sandbox_early *e,
		    struct ah_err *err)
{
	int sync[2] = { -1, -1 }, go[2] = { -1, -1 }, null_fd = -1, ret = -1;
	pid_t parent = getpid(), pid;

	if (!e->userns_count) {
		ah_internal(err, "sandbox: a sandbox forked early needs a user namespace");
		goto done;
	}
	if ((c->seccomp_fd = ah_seccomp_bpf_fd(err)) < 0)
		goto done;
	if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		ah_internal(err, "cannot make pipes: %s", strerror(errno));
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		ah_internal(err, "cannot fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		close(sync[0]);
		close(go[1]);
		early_child(e, parent, sync[1], go[0], e->in_fd >= 0 ? e->in_fd : null_fd,
			    e->out_fd >= 0 ? e->out_fd : null_fd, c->seccomp_fd);
	}
	c->pid = pid;
	c->sync = sync[0];
	c->go = go[1];
	sync[0] = go[1] = -1;
	c->userns_base = e->userns_base;
	c->userns_count = e->userns_count;
	c->want_netns = e->netns;
	ret = 0;
done:
	ah_close_pair(sync);
	ah_close_pair(go);
	if (null_fd >= 0)
		close(null_fd);
	if (ret < 0)
		ah_sandbox_child_release(c);
	return ret;
}

static void add_strings(struct strbuf *sb, const char *const *v, uint32_t *nr)
{
	for (*nr = 0; v && v[*nr]; (*nr)++)
		strbuf_add(sb, v[*nr], strlen(v[*nr]) + 1);
}

int ah_sandbox_exec(struct ah_sandbox_child *c, const struct ah_sandbox_opts *o,
		    struct ah_err *err)
{
	struct sandbox_argv a = SANDBOX_ARGV_INIT;
	struct strbuf blob = STRBUF_INIT;
	struct payload pl;
	struct ready r;
	const char *bwrap = ah_sandbox_bwrap(err);
	char path[64], map[64], c1;
	int ret = -1;

	if (!bwrap)
		goto done;
	if (o->ovl_lowers_nr) {
		ah_internal(err, "sandbox: a sandbox forked early cannot mount an overlay");
		goto done;
	}
	if (sandbox_argv(o, c->seccomp_fd, AH_SANDBOX_MAPPED, &a, err) < 0)
		goto done;
	/* its user namespace, mapped */
	if (read(c->sync, &c1, 1) != 1)
		goto died;
	snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)c->userns_base, c->userns_count);
	/* no setgroups inside: the host groups it holds stay */
	write_proc(c->pid, "setgroups", "deny");
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)c->pid);
	if (write_proc(c->pid, "uid_map", map) < 0) {
		ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)c->pid);
	if (write_proc(c->pid, "gid_map", map) < 0) {
		ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if (write(c->go, "g", 1) != 1 || ah_read_full(c->sync, &r, sizeof(r)) < 0)
		goto died;
	memcpy(c->cgroup_errno, r.cgroup_errno, sizeof(c->cgroup_errno));
	if (c->want_netns) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c->pid);
		c->netns = open(path, O_RDONLY | O_CLOEXEC);
		if (c->netns < 0) {
			ah_internal(err, "cannot open '%s': %s", path, strerror(errno));
			goto done;
		}
	}
	memset(&pl, 0, sizeof(pl));
	strbuf_add(&blob, bwrap, strlen(bwrap) + 1);
	add_strings(&blob, a.v + 0, &pl.argc);
	if (o->keep_env)
		add_strings(&blob, o->env, &pl.envc);
	else
		pl.envc = UINT32_MAX;
	pl.uid = (uint32_t)o->uid;
	pl.gid = (uint32_t)o->gid;
	pl.len = (uint32_t)blob.len;
	pl.cpu_grace = o->cpu_grace;
	pl.limits = o->limits;
	if (blob.len > PAYLOAD_MAX) {
		ah_invalid(err, "sandbox: a command line and environment of more than %u bytes",
			   PAYLOAD_MAX);
		goto done;
	}
	if (ah_write_full(c->go, &pl, sizeof(pl)) < 0 || ah_write_full(c->go, blob.buf, blob.len) < 0)
		goto died;
	ret = 0;
	goto done;
died:
	{
		int status = 0;

		waitpid(c->pid, &status, 0);
		c->pid = -1;
		ah_internal(err, "the sandbox could not be set up (step %d)",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	}
done:
	if (ret < 0 && c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
	}
	/* the child has what it needs (or is gone): only the network namespace stays */
	{
		int netns = c->netns;

		c->netns = -1;
		ah_sandbox_child_release(c);
		c->netns = netns;
	}
	strbuf_release(&blob);
	argv_release(&a);
	return ret;
}

void ah_sandbox_kill(pid_t pid)
{
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int decode(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 255;
}

/* A limit wait_in() holds itself, beside the cgroup's AH_CG_*. */
#define HIT_DISK 0x100u

/* The tree whose growth disk_bytes bounds, and what it held at the start. */
struct disk_watch {
	const char *dir;
	int64_t base, bound;
};

static int disk_over(const struct disk_watch *dw)
{
	return dw && dw->dir && ah_tree_size(dw->dir, 1, dw->base + dw->bound) > dw->base + dw->bound;
}

/*
 * ah_sandbox_wait; with cg, a limit reached (a fork bomb against pids.max,
 * a process the OOM killer took) ends the whole sandbox at once: *hit says
 * which (AH_CG_*).
 */
static int wait_in(pid_t pid, int64_t timeout_ms, const struct ah_cgroup *cg,
		   const struct disk_watch *dw, const struct ah_sandbox_opts *o, unsigned *hit,
		   int *status, struct ah_err *err)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	/* a walk of the tree costs more than a counter: twice a second */
	int64_t next_disk = dw && dw->dir ? now_ms() + 500 : 0;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), ws = 0;
	long sleep_us = 1000;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			if (pidfd >= 0)
				close(pidfd);
			return ah_internal(err, "sandbox: waitpid: %s", strerror(errno));
		}
		if (cg && (ah_cgroup_hit(cg, AH_CG_PIDS) || ah_cgroup_hit(cg, AH_CG_MEMORY))) {
			*hit = ah_cgroup_hit(cg, AH_CG_MEMORY) ? AH_CG_MEMORY : AH_CG_PIDS;
			ah_sandbox_kill(pid);
			while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (next_disk && now_ms() >= next_disk) {
			if (disk_over(dw)) {
				*hit = HIT_DISK;
				ah_sandbox_kill(pid);
				while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
					;
				break;
			}
			next_disk = now_ms() + 500;
		}
		if (deadline && now_ms() >= deadline) {
			ah_sandbox_kill(pid);
			while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
				;
			if (pidfd >= 0)
				close(pidfd);
			/* As it was given: "1 s", "300 ms". */
			if (timeout_ms % 1000)
				return ah_error(err, 504, "timeout", "timed out after %lld ms",
						(long long)timeout_ms);
			return ah_error(err, 504, "timeout", "timed out after %lld s",
					(long long)(timeout_ms / 1000));
		}
		if (pidfd >= 0 || (o && o->wait_hook)) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			/* a cgroup's counters are looked at 20 times a second */
			int64_t most = cg || (o && o->wait_hook) ? 50 : next_disk ? 500 : 60000;
			int64_t left = deadline ? deadline - now_ms() : most;

			left = left < 0 ? 0 : left > most ? most : left;
			if (!o || !o->wait_hook)
				poll(&p, 1, (int)left);
			else if (o->wait_hook(o->wait_cls, pidfd, left) == 1) {
				ah_sandbox_kill(pid);
				while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
					;
				if (pidfd >= 0)
					close(pidfd);
				return ah_error(err, 409, "canceled", "canceled");
			}
		} else {
			struct timespec ts = { 0, sleep_us * 1000 };

			nanosleep(&ts, NULL);
			if (sleep_us < 20000)
				sleep_us *= 2;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	*status = decode(ws);
	return 0;
}

int ah_sandbox_wait(pid_t pid, int64_t timeout_ms, int *status, struct ah_err *err)
{
	unsigned hit = 0;

	return wait_in(pid, timeout_ms, NULL, NULL, NULL, &hit, status, err);
}

/* "256 MiB", "1.5 GiB" */
static void human(char *buf, size_t sz, int64_t bytes)
{
	if (bytes >= (1LL << 30) && !(bytes % (1LL << 30)))
		snprintf(buf, sz, "%lld GiB", (long long)(bytes >> 30));
	else if (bytes >= (1LL << 30))
		snprintf(buf, sz, "%.1f GiB", (double)bytes / (1LL << 30));
	else
		snprintf(buf, sz, "%lld MiB", (long long)(bytes >> 20));
}

int ah_sandbox_run(const struct ah_sandbox_opts *opts, int *status, struct ah_err *err)
{
	static unsigned seq;
	struct ah_cgroup cg = AH_CGROUP_INIT;
	struct ah_cgroup_limits cl = { opts->limits.memory_bytes, opts->limits.pids,
				       opts->limits.cpus };
	char name[64], size[32];
	struct disk_watch dw = { NULL, 0, opts->limits.disk_bytes };
	unsigned hit = 0;
	pid_t pid;
	int ret = -1;

	if (dw.bound > 0) {
		dw.dir = opts->ovl_upper ? opts->ovl_upper : opts->rootfs;
		dw.base = ah_tree_size(dw.dir, 1, INT64_MAX);
	}

	/*
	 * As root, a cgroup of its own: the limits hold for every process,
	 * whatever its uid. A limit no cgroup can hold (a v2 hierarchy that
	 * does not delegate the controller) falls back to an rlimit in spawn().
	 */
	if (geteuid() == 0 && (cl.memory_bytes > 0 || cl.pids > 0 || cl.cpus > 0)) {
		snprintf(name, sizeof(name), AH_SANDBOX_CGROUP_PREFIX "%d-%u", (int)getpid(),
			 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
		ah_cgroup_make(&cg, name, &cl);
	}
	if (spawn(opts, cg.nr ? &cg : NULL, &pid, err) < 0 ||
	    wait_in(pid, opts->timeout_ms, cg.nr ? &cg : NULL, &dw, opts, &hit, status, err) < 0)
		goto done;
	ret = 0;
	/* what was written in the last half second counts too */
	if (!hit && (disk_over(&dw) || *status == 128 + SIGXFSZ))
		hit = HIT_DISK;
	if (!*status && !hit)
		goto done;
	if (hit == HIT_DISK) {
		human(size, sizeof(size), dw.bound);
		ret = ah_error(err, 400, "limit", "wrote more than its writable layer's limit (%s)",
			       size);
	} else if (hit == AH_CG_MEMORY || ah_cgroup_hit(&cg, AH_CG_MEMORY)) {
		human(size, sizeof(size), cl.memory_bytes);
		ret = ah_error(err, 400, "limit", "ran out of memory (limit %s)", size);
	} else if (hit == AH_CG_PIDS || ah_cgroup_hit(&cg, AH_CG_PIDS)) {
		ret = ah_error(err, 400, "limit", "reached its process limit (%lld processes)",
			       (long long)cl.pids);
	}
done:
	/* what is left (daemons started by the command) ends with it */
	ah_cgroup_remove(&cg);
	return ret;
}

/* ---- the user ---- */

#define PASSWD_MAX_LINES 100000

/* A decimal id below max, or -1. */
static long parse_id(const char *s, long max)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end || errno || v >= max ? -1 : v;
}

/*
 * The entry of /etc/passwd (fields 7) or /etc/group (4) in root whose
 * name is key, or whose id (field 3) is key when by_id: its fields in
 * f[] (pointing into line), 1; 0 when none. Links resolve inside root.
 */
static int db_find(int rootfd, const char *file, int nf, const char *key, int by_id,
		   char *line, size_t size, char **f)
{
	struct open_how how;
	FILE *fp = NULL;
	int fd, found = 0, n = 0;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, file, &how, sizeof(how));
	if (fd >= 0 && !(fp = fdopen(fd, "r")))
		close(fd);
	while (fp && !found && n++ < PASSWD_MAX_LINES && fgets(line, (int)size, fp)) {
		char *p = line;
		int i;

		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < nf; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (i < nf - 1)
			continue;
		if (i == nf)
			i--;
		found = !strcmp(f[by_id ? 2 : 0], key);
	}
	if (fp)
		fclose(fp);
	return found;
}

int ah_sandbox_user(int rootfd, const char *spec, long max_id, unsigned flags,
		    struct ah_sandbox_user *u, struct ah_err *err)
{
	char line[4096], *f[7], *user = xstrdup(spec), *group = strchr(user, ':');
	long uid, gid = 0;
	int ret = -1, by_id;

	u->home = NULL;
	if (group)
		*group++ = '\0';
	by_id = (uid = parse_id(user, max_id)) >= 0;
	if (!*user || (!by_id && isdigit((unsigned char)*user))) {
		ah_invalid(err, "invalid user '%s': a name or an id below %ld", spec, max_id);
		goto done;
	}
	if ((!by_id || !(flags & AH_USER_ID_ALONE)) &&
	    db_find(rootfd, "/etc/passwd", 7, user, by_id, line, sizeof(line), f)) {
		uid = parse_id(f[2], max_id);
		gid = parse_id(f[3], max_id);
		if (uid < 0 || gid < 0) {
			ah_invalid(err, "user '%s': its ids in the image's /etc/passwd are not below %ld",
				   user, max_id);
			goto done;
		}
		u->home = xstrdup(*f[5] ? f[5] : "/");
	} else if (!by_id) {
		ah_invalid(err, "user '%s': not in the image's /etc/passwd", user);
		goto done;
	}
	if (group && *group) {
		if ((gid = parse_id(group, max_id)) < 0) {
			if (isdigit((unsigned char)*group) ||
			    !db_find(rootfd, "/etc/group", 4, group, 0, line, sizeof(line), f) ||
			    (gid = parse_id(f[2], max_id)) < 0) {
				ah_invalid(err, "group '%s': not in the image's /etc/group, or not an id below %ld",
					   group, max_id);
				goto done;
			}
		}
	}
	u->uid = (uid_t)uid;
	u->gid = (gid_t)gid;
	ret = 0;
done:
	if (ret < 0) {
		free(u->home);
		u->home = NULL;
	}
	free(user);
	return ret;
}
