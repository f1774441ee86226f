#ifndef FSUTIL_H
#define FSUTIL_H

#include "err.h"

/*
 * Removes path and everything below it, not following symbolic links; a
 * path that does not exist is no error.
 */
int ah_remove_tree(const char *path, struct ah_err *err);

/*
 * All of len bytes to or from fd, through short counts and EINTR: 0, or -1
 * with errno set (EIO for a write of nothing or an early end of file).
 */
int ah_write_full(int fd, const void *buf, size_t len);
int ah_read_full(int fd, void *buf, size_t len);

#endif
