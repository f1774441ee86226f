/*
 * Commands under bubblewrap: see sandbox.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "fsutil.h"
#include "sandbox.h"
#include "seccomp.h"
#include "strbuf.h"

const char *ah_sandbox_bwrap(struct ah_err *err)
{
	static char found[PATH_MAX];
	const char *path = getenv("PATH"), *p, *end;

	if (*found)
		return found;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		char cand[PATH_MAX];
		size_t n;

		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if (!n || n + sizeof("/bwrap") > sizeof(cand))
			continue;
		memcpy(cand, p, n);
		memcpy(cand + n, "/bwrap", sizeof("/bwrap"));
		if (access(cand, X_OK) == 0) {
			memcpy(found, cand, sizeof(cand));
			return found;
		}
	}
	ah_error(err, 503, "unavailable",
		 "bwrap not found on PATH: RUN steps and launches need bubblewrap "
		 "(apt-get install bubblewrap)");
	return NULL;
}

static void add(struct ah_sandbox_argv *a, const char *s)
{
	if (a->nr + 2 > a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 64;
		a->v = xrealloc(a->v, a->alloc * sizeof(*a->v));
	}
	a->v[a->nr++] = s;
	a->v[a->nr] = NULL;
}

static const char *own(struct ah_sandbox_argv *a, char *s)
{
	if (a->owned_nr == a->owned_alloc) {
		a->owned_alloc = a->owned_alloc ? 2 * a->owned_alloc : 16;
		a->owned = xrealloc(a->owned, a->owned_alloc * sizeof(*a->owned));
	}
	a->owned[a->owned_nr++] = s;
	return s;
}

void ah_sandbox_argv_release(struct ah_sandbox_argv *a)
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
static const char *reloc(unsigned flags, struct ah_sandbox_argv *a, size_t i, const char *path)
{
	return flags & AH_SANDBOX_RELOCATED ? own(a, xstrfmt(RELOC_DIR "/%zu", i)) : path;
}

int ah_sandbox_argv(const struct ah_sandbox_opts *o, const char *argv0, int seccomp_fd,
		    unsigned flags, struct ah_sandbox_argv *a, struct ah_err *err)
{
	size_t i;
	/* a user namespace of bwrap's own: a user's, or USER in a mapped sandbox */
	int userns = !(flags & AH_SANDBOX_MAPPED) || o->uid != 0;

	if (!o->rootfs || !o->argv || !o->argv[0])
		return ah_internal(err, "sandbox: a root file system and a command are required");
	if (o->network && strcmp(o->network, "none") && strcmp(o->network, "host"))
		return ah_invalid(err, "invalid network '%s': must be none or host", o->network);
	add(a, argv0);
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

void ah_sandbox_rlimits(const struct ah_limits *l, unsigned cg_enforced, int64_t cpu_grace)
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
 * In the child: into the sandbox's user namespace, as uid/gid there (host
 * AH_SANDBOX_UID_BASE + id), with no host group left. bwrap then holds
 * capabilities over that namespace only.
 */
static int enter_userns(const struct ah_sandbox_opts *o, const struct mapped *m)
{
	if (relocate(o) < 0 || setns(m->userns, CLONE_NEWUSER) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(o->gid, o->gid, o->gid) < 0 || setresuid(o->uid, o->uid, o->uid) < 0)
		return -1;
	return 0;
}

static int spawn(const struct ah_sandbox_opts *o, const struct ah_cgroup *cg, pid_t *pid,
		 struct ah_err *err)
{
	struct ah_sandbox_argv a = AH_SANDBOX_ARGV_INIT;
	struct mapped m = { .on = geteuid() == 0, .userns = -1, .root_clone = -1 };
	const char *bwrap = ah_sandbox_bwrap(err);
	int pfd[2] = { -1, -1 }, ret = -1, null_fd = -1, child_errno = 0, seccomp_fd = -1;
	pid_t child;
	ssize_t n;

	if (!bwrap)
		goto done;
	if (o->ovl_lowers_nr && !m.on) {
		ah_internal(err, "sandbox: an overlay root needs root");
		goto done;
	}
	if ((m.on && mapped_prepare(o, &m, err) < 0) ||
	    (seccomp_fd = ah_seccomp_bpf_fd(err)) < 0 ||
	    ah_sandbox_argv(o, bwrap, seccomp_fd,
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
		int in = o->in_fd >= 0 ? o->in_fd : null_fd;
		int out = o->out_fd >= 0 ? o->out_fd : null_fd;
		sigset_t none;

		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			goto child_fail;
		/* as host root, before the user namespace */
		if (cg && ah_cgroup_join(cg) < 0)
			goto child_fail;
		ah_sandbox_rlimits(&o->limits, cg ? cg->enforced : 0, 0);
		if (m.on && (own_mounts(o, &m) < 0 || enter_userns(o, &m) < 0))
			goto child_fail;
		/* bwrap reads the filter from it */
		if (fcntl(seccomp_fd, F_SETFD, 0) < 0)
			goto child_fail;
		execv(bwrap, (char *const *)a.v);
child_fail:
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
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (null_fd >= 0)
		close(null_fd);
	if (seccomp_fd >= 0)
		close(seccomp_fd);
	mapped_release(&m);
	ah_sandbox_argv_release(&a);
	return ret;
}

int ah_sandbox_spawn(const struct ah_sandbox_opts *o, pid_t *pid, struct ah_err *err)
{
	return spawn(o, NULL, pid, err);
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
		   const struct disk_watch *dw, unsigned *hit, int *status, struct ah_err *err)
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
			return ah_error(err, 504, "timeout", "timed out after %lld s",
					(long long)((timeout_ms + 999) / 1000));
		}
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			/* a cgroup's counters are looked at 20 times a second */
			int64_t most = cg ? 50 : next_disk ? 500 : 60000, left = deadline ? deadline - now_ms() : most;

			poll(&p, 1, left < 0 ? 0 : left > most ? (int)most : (int)left);
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

	return wait_in(pid, timeout_ms, NULL, NULL, &hit, status, err);
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
	    wait_in(pid, opts->timeout_ms, cg.nr ? &cg : NULL, &dw, &hit, status, err) < 0)
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
