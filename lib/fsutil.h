#ifndef FSUTIL_H
#define FSUTIL_H

#include "err.h"

/*
 * Removes path and everything below it, not following symbolic links; a
 * path that does not exist is no error.
 */
int ah_remove_tree(const char *path, struct ah_err *err);

#endif
