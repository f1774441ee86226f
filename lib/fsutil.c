#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fsutil.h"

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
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
	/* FTW_PHYS: a link inside is removed, never what it points to. */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return ah_internal(err, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
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
