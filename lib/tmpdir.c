/*
 * Temporary entries owned by their process through a flock (see tmpdir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup.h"
#include "fsutil.h"
#include "sandbox.h"
#include "strbuf.h"
#include "tmpdir.h"

/*
 * Makes and locks an entry. reclaim may take the lock of a new entry
 * between its creation and its owner's flock and remove it: the owner
 * then finds its entry unlinked once it has the lock, and makes another.
 */
static int make_locked(char *templ, int dir, struct ah_err *err)
{
	size_t n = strlen(templ);
	char *orig = xstrdup(templ);
	int tries, fd = -1;
	struct stat sb;

	for (tries = 0; tries < 100; tries++) {
		memcpy(templ, orig, n + 1);
		if (dir) {
			if (!mkdtemp(templ))
				break;
			fd = open(templ, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		} else {
			fd = mkostemp(templ, O_CLOEXEC);
		}
		if (fd < 0)
			break;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &sb) < 0) {
			close(fd);
			fd = -1;
			break;
		}
		if (sb.st_nlink > 0)
			break;
		close(fd);
		fd = -1;
		errno = EAGAIN;
	}
	if (fd < 0)
		ah_internal(err, "cannot create '%s': %s", orig, strerror(errno));
	free(orig);
	return fd;
}

int ah_tmp_mkdir(char *templ, struct ah_err *err)
{
	return make_locked(templ, 1, err);
}

int ah_tmp_mkstemp(char *templ, struct ah_err *err)
{
	return make_locked(templ, 0, err);
}

static void reclaim_dir(const char *state_dir, const char *rel, const char *prefix, int dry_run,
			json_t *removed, int64_t *bytes)
{
	char *dir = xstrfmt("%s/%s", state_dir, rel);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct ah_err e = AH_ERR_INIT;
		char *path;
		int fd;
		int64_t n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (prefix && strncmp(de->d_name, prefix, strlen(prefix))))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* the owner holds it: alive */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		path = xstrfmt("%s/%s", dir, de->d_name);
		n = ah_tree_size(path, 0, INT64_MAX);
		if (dry_run || ah_remove_tree(path, &e) == 0) {
			if (removed)
				json_array_append_new(removed,
						      json_pack("{s:s++, s:I}", "path", rel, "/",
								de->d_name, "bytes", (json_int_t)n));
			if (bytes)
				*bytes += n;
		}
		close(fd);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

void ah_tmp_reclaim_in(const char *state_dir, const char *rel, const char *prefix)
{
	reclaim_dir(state_dir, rel, prefix, 0, NULL, NULL);
}

static void note_cgroup(void *cb, const char *dir)
{
	if (cb)
		json_array_append_new(cb, json_pack("{s:s, s:i}", "path", dir, "bytes", 0));
}

int ah_tmp_reclaim(const char *state_dir, int dry_run, json_t *removed, int64_t *bytes,
		   struct ah_err *err)
{
	(void)err;
	reclaim_dir(state_dir, "build-tmp", NULL, dry_run, removed, bytes);
	reclaim_dir(state_dir, "builds/tmp", NULL, dry_run, removed, bytes);
	reclaim_dir(state_dir, "bundles", ".tmp-", dry_run, removed, bytes);
	reclaim_dir(state_dir, "images/tmp", NULL, dry_run, removed, bytes);
	reclaim_dir(state_dir, "images/unpacked", ".tmp-", dry_run, removed, bytes);
	/* builds may keep theirs elsewhere (lib/build.c) */
	if (getenv("APPHUB_BUILD_TMPDIR") && *getenv("APPHUB_BUILD_TMPDIR"))
		reclaim_dir(getenv("APPHUB_BUILD_TMPDIR"), "apphub-build-tmp", NULL, dry_run,
			    removed, bytes);
	/* and the cgroups of RUN steps whose build was killed (root's only) */
	if (geteuid() == 0)
		ah_cgroup_reclaim(AH_SANDBOX_CGROUP_PREFIX, dry_run, note_cgroup, removed);
	return 0;
}
