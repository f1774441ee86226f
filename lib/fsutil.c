/*
 * File-system helpers the layers above share: removing, measuring, making
 * and listing trees, and reads and writes of whole buffers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "strbuf.h"

/* Deeper than this is refused rather than recursed into (the stack). */
#define MAX_REMOVE_DEPTH 4096

static int remove_at(int dirfd, const char *name, int depth);

static int clear_dir(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int ret = 0, saved = 0;

	if (!d) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name, depth + 1) < 0) {
			saved = errno;
			ret = -1;
		}
	}
	closedir(d);
	if (ret < 0)
		errno = saved;
	return ret;
}

static int remove_at(int dirfd, const char *name, int depth)
{
	struct stat sb;
	int fd;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (depth > MAX_REMOVE_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (clear_dir(fd, depth) < 0)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int ah_remove_at(int dirfd, const char *name)
{
	return remove_at(dirfd, name, 0);
}

int ah_clear_dir_fd(int fd)
{
	return clear_dir(fd, 0);
}

/* nftw() takes no argument: the count is the thread's (serve builds in threads). */
static __thread struct { int64_t sum, bound; int logical; } tree;

static int count_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (!tree.logical)
		tree.sum += (int64_t)sb->st_blocks * 512;
	else if (type == FTW_F || type == FTW_SL)
		tree.sum += sb->st_size;
	return tree.sum > tree.bound;
}

int64_t ah_tree_size(const char *path, int logical, int64_t bound)
{
	tree.sum = 0;
	tree.bound = bound;
	tree.logical = logical;
	nftw(path, count_entry, 32, FTW_PHYS | FTW_MOUNT);
	return tree.sum;
}

int ah_remove_tree(const char *path, struct ah_err *err)
{
	if (remove_at(AT_FDCWD, path, 0) < 0)
		return ah_internal(err, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

int ah_mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int ret = 0, saved = 0;

	for (s = p + 1; ; s++) {
		char c;

		if (*s && *s != '/')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, c ? 0777 : mode) < 0 && errno != EEXIST) {
			saved = errno;
			ret = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	if (ret < 0)
		errno = saved;
	return ret;
}

int ah_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 1;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* One loop for both directions: only the call differs. */
static int full_io(int fd, char *p, size_t len, int writing)
{
	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ah_write_full(int fd, const void *buf, size_t len)
{
	return full_io(fd, (char *)buf, len, 1);
}

int ah_read_full(int fd, void *buf, size_t len)
{
	return full_io(fd, buf, len, 0);
}

int ah_copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
		;
	if (!n)
		return 0;
	/* not between these two files (another file system, a pipe): plain reads */
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (ah_write_full(out, buf, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

int ah_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ah_dir_names_fd(int fd, char ***names, size_t *nr)
{
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t alloc = 0;

	*names = NULL;
	*nr = 0;
	if (!d) {
		if (fd >= 0) {
			int e = errno;

			close(fd);
			errno = e;
		}
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*nr == alloc) {
			alloc = alloc ? 2 * alloc : 32;
			*names = xrealloc(*names, alloc * sizeof(**names));
		}
		(*names)[(*nr)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*nr)
		qsort(*names, *nr, sizeof(**names), ah_names_cmp);
	return 0;
}

void ah_names_free(char **names, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

void ah_close_pair(const int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

int ah_read_fd_max(int fd, size_t max, char **buf, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (sb.len + (size_t)n > max) {
			close(fd);
			strbuf_release(&sb);
			errno = EFBIG;
			return -1;
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		strbuf_release(&sb);
		return -1;
	}
	*buf = strbuf_detach(&sb, len);
	return 0;
}
