#include <errno.h>
#include <ftw.h>
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

int ah_remove_tree(const char *path, struct ah_err *err)
{
	/* FTW_PHYS: a link inside is removed, never what it points to. */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return ah_internal(err, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}
