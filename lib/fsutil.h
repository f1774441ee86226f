#ifndef FSUTIL_H
#define FSUTIL_H

#include <stdint.h>
#include <sys/types.h>
#include "err.h"

/*
 * Removes path and everything below it, not following symbolic links; a
 * path that does not exist is no error.
 */
int ah_remove_tree(const char *path, struct ah_err *err);
/* The same for name in the directory dirfd: 0, or -1 with errno set. */
int ah_remove_at(int dirfd, const char *name);
/* Removes what the directory fd holds, keeping it; closes fd. 0, or -1 with errno set. */
int ah_clear_dir_fd(int fd);

/*
 * mkdir -p: the missing directories above path made 0777 (less the
 * umask), path itself with mode; one that exists, or that another process
 * makes meanwhile, is no error. 0, or -1 with errno set.
 */
int ah_mkdir_p(const char *path, mode_t mode);

/* Is the directory at path empty (or not there, or unreadable)? */
int ah_dir_empty(const char *path);

/*
 * The size of the tree at path, not following symbolic links nor leaving
 * its file system: with logical, the sizes of its files and links (a
 * sparse file counts whole, as an archive would hold it), else the disk
 * it uses (blocks). The count stops once past bound (INT64_MAX: none).
 */
int64_t ah_tree_size(const char *path, int logical, int64_t bound);

/*
 * The names of directory fd's entries but . and .., sorted by
 * ah_names_cmp (byte order): 0, or -1 with errno set. Takes fd (closed
 * here). Free them with ah_names_free().
 */
int ah_dir_names_fd(int fd, char ***names, size_t *nr);
void ah_names_free(char **names, size_t nr);
/* strcmp() of two char * array elements, for qsort() and bsearch(). */
int ah_names_cmp(const void *a, const void *b);

/*
 * All of len bytes to or from fd, through short counts and EINTR: 0, or -1
 * with errno set (EIO for a write of nothing or an early end of file).
 */
int ah_write_full(int fd, const void *buf, size_t len);
int ah_read_full(int fd, void *buf, size_t len);
/*
 * All of fd (closed here; -1 passes open()'s failure on) into *buf, NUL
 * terminated, when it is at most max bytes: -1 with errno EFBIG past that,
 * so nothing beyond max is kept.
 */
int ah_read_fd_max(int fd, size_t max, char **buf, size_t *len);
/*
 * The rest of in appended to out, with copy_file_range where the kernel
 * can (no copy through user space), else read and write: 0, or -1 with
 * errno set.
 */
int ah_copy_fd(int in, int out);
/* Closes both ends of a pipe (or socket pair) that are open: >= 0. */
void ah_close_pair(const int fds[2]);

#endif
