/*
 * Commands under bubblewrap: see sandbox.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sandbox.h"
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

struct argv_buf {
	const char **v;
	size_t nr, alloc;
	char **owned;	/* strings to free */
	size_t owned_nr, owned_alloc;
};

static void add(struct argv_buf *a, const char *s)
{
	if (a->nr + 2 > a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 64;
		a->v = xrealloc(a->v, a->alloc * sizeof(*a->v));
	}
	a->v[a->nr++] = s;
	a->v[a->nr] = NULL;
}

static const char *own(struct argv_buf *a, char *s)
{
	if (a->owned_nr == a->owned_alloc) {
		a->owned_alloc = a->owned_alloc ? 2 * a->owned_alloc : 16;
		a->owned = xrealloc(a->owned, a->owned_alloc * sizeof(*a->owned));
	}
	a->owned[a->owned_nr++] = s;
	return s;
}

static void argv_free(struct argv_buf *a)
{
	size_t i;

	for (i = 0; i < a->owned_nr; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->v);
}

#define RELOC_DIR "/tmp/.apphub-sandbox"

/* As root running bwrap as another user: uid and gid are the host's. */
static int as_user(const struct ah_sandbox_opts *o)
{
	return o->identity_ids && geteuid() == 0 && (o->uid || o->gid);
}

/* Where relocate() puts the rootfs (i 0) or bind i - 1, else path. */
static const char *reloc(const struct ah_sandbox_opts *o, struct argv_buf *a, size_t i,
			 const char *path)
{
	return as_user(o) ? own(a, xstrfmt(RELOC_DIR "/%zu", i)) : path;
}

static int build_argv(const struct ah_sandbox_opts *o, const char *bwrap, struct argv_buf *a,
		      struct ah_err *err)
{
	size_t i;
	int userns = geteuid() != 0 || o->uid != 0 || o->gid != 0;

	if (!o->rootfs || !o->argv || !o->argv[0])
		return ah_internal(err, "sandbox: a root file system and a command are required");
	if (o->network && strcmp(o->network, "none") && strcmp(o->network, "host"))
		return ah_invalid(err, "invalid network '%s': must be none or host", o->network);
	add(a, bwrap);
	add(a, o->rootfs_readonly ? "--ro-bind" : "--bind");
	add(a, reloc(o, a, 0, o->rootfs));
	add(a, "/");
	add(a, "--unshare-pid");
	add(a, "--unshare-ipc");
	add(a, "--unshare-uts");
	add(a, "--unshare-cgroup-try");
	if (!o->network || !strcmp(o->network, "none"))
		add(a, "--unshare-net");
	if (userns) {
		add(a, "--unshare-user");
		add(a, "--uid");
		add(a, own(a, xstrfmt("%u", (unsigned)o->uid)));
		add(a, "--gid");
		add(a, own(a, xstrfmt("%u", (unsigned)o->gid)));
	}
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
		add(a, "--tmpfs");
		add(a, "/tmp");
	}
	for (i = 0; i < o->binds_nr; i++) {
		add(a, o->binds[i].mode == AH_BIND_RW ? "--bind" : "--ro-bind");
		add(a, reloc(o, a, i + 1, o->binds[i].src));
		add(a, o->binds[i].dest);
	}
	add(a, "--clearenv");
	for (i = 0; o->env && o->env[i]; i++) {
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
	if (a->nr > AH_SANDBOX_MAX_ARGS)
		return ah_invalid(err, "sandbox: more than %d arguments", AH_SANDBOX_MAX_ARGS);
	return 0;
}

static void set_limit(int res, int64_t v)
{
	struct rlimit rl;

	if (v <= 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	setrlimit(res, &rl);
}

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* In the child: a mount namespace of its own, the mount (if any) at rootfs. */
static int own_mounts(const struct ah_sandbox_opts *o)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (o->rootfs_mount_fd <= 0)
		return 0;
	return (int)syscall(SYS_move_mount, o->rootfs_mount_fd, "", AT_FDCWD, o->rootfs,
			    MOVE_MOUNT_F_EMPTY_PATH);
}

/*
 * In the child, before it becomes the user, who may not reach the rootfs
 * and the bind sources (a state directory of 0700): they are bound under
 * a tmpfs on /tmp (RELOC_DIR/<i>), in the child's mount namespace only.
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
 * In the child: bwrap runs as uid/gid, so its user namespace maps them to
 * themselves, and what the command writes is theirs on the host.
 */
static int become_user(const struct ah_sandbox_opts *o)
{
	if (relocate(o) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(o->gid, o->gid, o->gid) < 0 || setresuid(o->uid, o->uid, o->uid) < 0)
		return -1;
	return 0;
}

int ah_sandbox_spawn(const struct ah_sandbox_opts *o, pid_t *pid, struct ah_err *err)
{
	struct argv_buf a = { 0 };
	const char *bwrap = ah_sandbox_bwrap(err);
	int pfd[2] = { -1, -1 }, ret = -1, null_fd = -1, child_errno = 0;
	pid_t child;
	ssize_t n;

	if (!bwrap || build_argv(o, bwrap, &a, err) < 0)
		goto done;
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
		set_limit(RLIMIT_AS, o->limits.memory_bytes);
		set_limit(RLIMIT_CPU, o->limits.cpu_seconds);
		set_limit(RLIMIT_NPROC, o->limits.pids);
		set_limit(RLIMIT_NOFILE, o->limits.nofile);
		if ((o->rootfs_mount_fd > 0 || as_user(o)) && own_mounts(o) < 0)
			goto child_fail;
		if (as_user(o) && become_user(o) < 0)
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
	argv_free(&a);
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

int ah_sandbox_wait(pid_t pid, int64_t timeout_ms, int *status, struct ah_err *err)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
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
			int64_t left = deadline ? deadline - now_ms() : 60000;

			poll(&p, 1, left < 0 ? 0 : left > 60000 ? 60000 : (int)left);
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

int ah_sandbox_run(const struct ah_sandbox_opts *opts, int *status, struct ah_err *err)
{
	pid_t pid;

	if (ah_sandbox_spawn(opts, &pid, err) < 0)
		return -1;
	return ah_sandbox_wait(pid, opts->timeout_ms, status, err);
}
