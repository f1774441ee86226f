/*
 * Control groups for sandboxes: see cgroup.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup.h"
#include "strbuf.h"

int ah_cgroup_write(const char *dir, const char *file, const char *value)
{
	char *p;
	int fd, e;
	ssize_t n;
	size_t len = strlen(value);

	if (!dir) {
		errno = ENOENT;
		return -1;
	}
	p = xstrfmt("%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return -1;
	n = write(fd, value, len);
	e = errno;
	if (close(fd) < 0 || n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* The mount point of the cgroup2 hierarchy (controller NULL) or of a v1 controller. */
static char *cgroup_mount(const char *controller)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[4096], *found = NULL;

	while (fp && !found && fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - "), *mnt, *fstype, *super, *tok, *save;
		int i;

		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		strtok_r(NULL, " ", &save);
		super = strtok_r(NULL, " \n", &save);
		mnt = line;
		for (i = 0; i < 4 && mnt; i++) {
			mnt = strchr(mnt, ' ');
			if (mnt)
				mnt++;
		}
		if (!mnt || !fstype)
			continue;
		*strchrnul(mnt, ' ') = '\0';
		if (!controller) {
			if (!strcmp(fstype, "cgroup2"))
				found = xstrdup(mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup") || !super)
			continue;
		for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (!strcmp(tok, controller))
				found = xstrdup(mnt);
	}
	if (fp)
		fclose(fp);
	return found;
}

/* This process's cgroup path in the hierarchy of controller (NULL: the unified one). */
static char *cgroup_self(const char *controller)
{
	FILE *fp = fopen("/proc/self/cgroup", "re");
	char line[4096], *found = NULL;

	while (fp && !found && fgets(line, sizeof(line), fp)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *tok, *save;

		if (!c2)
			continue;
		*c2 = '\0';
		c2[strcspn(c2 + 1, "\n") + 1] = '\0';
		if (!controller) {
			if (c1 + 1 == c2)
				found = xstrdup(c2 + 1);
			continue;
		}
		for (tok = strtok_r(c1 + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (!strcmp(tok, controller))
				found = xstrdup(c2 + 1);
	}
	if (fp)
		fclose(fp);
	return found;
}

/* <mount><self>/<name> for controller, made; its index in cg, or -1. */
static int make_dir(struct ah_cgroup *cg, const char *controller, const char *name)
{
	char *mnt, *self, *dir = NULL;
	int i;

	if (cg->nr >= AH_CGROUP_MAX)
		return -1;
	mnt = cgroup_mount(controller);
	self = cgroup_self(controller);
	if (mnt && self) {
		dir = xstrfmt("%s%s%s%s", mnt, self, self[strlen(self) - 1] == '/' ? "" : "/", name);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			free(dir);
			dir = NULL;
		}
	}
	free(mnt);
	free(self);
	if (!dir)
		return -1;
	/* the same directory for two controllers (v1 co-mounts cpu,cpuacct) */
	for (i = 0; i < cg->nr; i++)
		if (!strcmp(cg->dirs[i], dir)) {
			free(dir);
			return i;
		}
	cg->dirs[cg->nr] = dir;
	return cg->nr++;
}

int ah_cgroup_make(struct ah_cgroup *cg, const char *name, const struct ah_cgroup_limits *l)
{
	char buf[64];
	int v2 = make_dir(cg, NULL, name), i, ret = 0;
	const char *d2 = v2 >= 0 ? cg->dirs[v2] : NULL;

	cg->v2 = v2;
	if (l->memory_bytes > 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)l->memory_bytes);
		if (!ah_cgroup_write(d2, "memory.max", buf) &&
		    !ah_cgroup_write(d2, "memory.swap.max", "0")) {
			cg->memory = v2;
		} else if ((i = make_dir(cg, "memory", name)) >= 0) {
			/* v1: the swap limit is memory + swap, when the kernel accounts swap */
			if (!ah_cgroup_write(cg->dirs[i], "memory.limit_in_bytes", buf)) {
				ah_cgroup_write(cg->dirs[i], "memory.memsw.limit_in_bytes", buf);
				cg->memory = i;
			}
		}
		if (cg->memory >= 0)
			cg->enforced |= AH_CG_MEMORY;
		else if (cg->nr)
			ret = -1;
	}
	if (l->pids > 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)l->pids);
		if (!ah_cgroup_write(d2, "pids.max", buf))
			cg->pids = v2;
		else if ((i = make_dir(cg, "pids", name)) >= 0 &&
			 !ah_cgroup_write(cg->dirs[i], "pids.max", buf))
			cg->pids = i;
		if (cg->pids >= 0)
			cg->enforced |= AH_CG_PIDS;
		else if (cg->nr)
			ret = -1;
	}
	if (l->cpus > 0) {
		snprintf(buf, sizeof(buf), "%lld 100000", (long long)(l->cpus * 100000));
		if (!ah_cgroup_write(d2, "cpu.max", buf)) {
			cg->enforced |= AH_CG_CPU;
		} else if ((i = make_dir(cg, "cpu", name)) >= 0) {
			snprintf(buf, sizeof(buf), "%lld", (long long)(l->cpus * 100000));
			if (!ah_cgroup_write(cg->dirs[i], "cpu.cfs_period_us", "100000") &&
			    !ah_cgroup_write(cg->dirs[i], "cpu.cfs_quota_us", buf))
				cg->enforced |= AH_CG_CPU;
		}
	}
	return ret;
}

int ah_cgroup_join(const struct ah_cgroup *cg)
{
	int i;

	for (i = 0; i < cg->nr; i++)
		if (ah_cgroup_write(cg->dirs[i], "cgroup.procs", "0") < 0)
			return -1;
	return 0;
}

/* The number after key in dir/file ("key N" lines), 0 when absent. */
static long long counter(const char *dir, const char *file, const char *key)
{
	char *p = xstrfmt("%s/%s", dir, file), line[256];
	FILE *fp = fopen(p, "re");
	size_t kl = strlen(key);
	long long v = 0;

	while (fp && fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			v = strtoll(line + kl + 1, NULL, 10);
	if (fp)
		fclose(fp);
	free(p);
	return v;
}

int ah_cgroup_hit(const struct ah_cgroup *cg, unsigned what)
{
	if (what == AH_CG_MEMORY && cg->memory >= 0) {
		const char *d = cg->dirs[cg->memory];

		return counter(d, cg->memory == cg->v2 ? "memory.events" : "memory.oom_control",
			       "oom_kill") > 0;
	}
	if (what == AH_CG_PIDS && cg->pids >= 0)
		return counter(cg->dirs[cg->pids], "pids.events", "max") > 0;
	return 0;
}

void ah_cgroup_each_pid(const char *dir, void (*fn)(void *data, pid_t pid), void *data)
{
	char *p = xstrfmt("%s/cgroup.procs", dir);
	FILE *fp = fopen(p, "re");
	int pid;

	while (fp && fscanf(fp, "%d", &pid) == 1)
		fn(data, (pid_t)pid);
	if (fp)
		fclose(fp);
	free(p);
}

static void kill_one(void *data, pid_t pid)
{
	(void)data;
	kill(pid, SIGKILL);
}

void ah_cgroup_remove_dir(const char *dir)
{
	int tries;

	/* v2 kills all at once; v1 (and old v2) one by one */
	ah_cgroup_write(dir, "cgroup.kill", "1");
	for (tries = 0; tries < 5000 && rmdir(dir) < 0 && errno == EBUSY; tries++) {
		ah_cgroup_each_pid(dir, kill_one, NULL);
		/* The killed go within a millisecond or two. */
		usleep(1000);
	}
}

void ah_cgroup_remove(struct ah_cgroup *cg)
{
	int i;

	for (i = 0; i < cg->nr; i++) {
		ah_cgroup_remove_dir(cg->dirs[i]);
		free(cg->dirs[i]);
		cg->dirs[i] = NULL;
	}
	cg->nr = 0;
	cg->v2 = cg->memory = cg->pids = -1;
	cg->enforced = 0;
}

void ah_cgroup_reclaim(const char *prefix, int dry_run, void (*fn)(void *cb, const char *dir),
		       void *cb)
{
	static const char *const controllers[] = { NULL, "memory", "pids", "cpu" };
	size_t i, pl = strlen(prefix);

	for (i = 0; i < sizeof(controllers) / sizeof(*controllers); i++) {
		char *mnt = cgroup_mount(controllers[i]), *self = cgroup_self(controllers[i]);
		char *parent = mnt && self ? xstrfmt("%s%s", mnt, self) : NULL;
		DIR *d = parent ? opendir(parent) : NULL;
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char *end, *dir;
			long pid;

			if (de->d_type != DT_DIR || strncmp(de->d_name, prefix, pl))
				continue;
			errno = 0;
			pid = strtol(de->d_name + pl, &end, 10);
			/* a live owner, or one whose pid another process took: left */
			if (errno || pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 ||
			    errno != ESRCH)
				continue;
			dir = xstrfmt("%s%s%s", parent, parent[strlen(parent) - 1] == '/' ? "" : "/",
				      de->d_name);
			if (!dry_run)
				ah_cgroup_remove_dir(dir);
			if (fn && (dry_run || access(dir, F_OK) < 0))
				fn(cb, dir);
			free(dir);
		}
		if (d)
			closedir(d);
		free(parent);
		free(mnt);
		free(self);
	}
}
