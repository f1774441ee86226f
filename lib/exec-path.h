#ifndef EXEC_PATH_H
#define EXEC_PATH_H

#include <stddef.h>

/*
 * The path of the helper name ("apphub-image"): from $APPHUB_EXEC_PATH,
 * this binary's directory, ../libexec/apphub next to it, or LIBEXECDIR,
 * the first that is executable. Free it; NULL when none is.
 */
char *ah_helper_path(const char *name);

/*
 * The first executable name in $PATH's directories (PATH unset or empty:
 * /usr/local/bin:/usr/bin:/bin), into buf: buf, or NULL when none is.
 */
const char *ah_path_lookup(const char *name, char *buf, size_t n);

#define AH_HELPER_DIRS "$APPHUB_EXEC_PATH, this binary's directory, ../libexec/apphub and " \
	"the install's libexec directory"

#endif
