#ifndef FSUTIL_H
#define FSUTIL_H

#include <stdint.h>
#include "err.h"

/*
 * Removes path and everything below it, not following symbolic links; a
 * path that does not exist is no error.
 */
int ah_remove_tree(const char *path, struct ah_err *err);

/*
 * The size of the tree at path, not following symbolic links nor leaving
 * its file system: with logical, the sizes of its files and links (a
 * sparse file counts whole, as an archive would hold it), else the disk
 * it uses (blocks). The count stops once past bound (INT64_MAX: none).
 */
int64_t ah_tree_size(const char *path, int logical, int64_t bound);

/*
 * All of len bytes to or from fd, through short counts and EINTR: 0, or -1
 * with errno set (EIO for a write of nothing or an early end of file).
 */
int ah_write_full(int fd, const void *buf, size_t len);
int ah_read_full(int fd, void *buf, size_t len);

#endif
