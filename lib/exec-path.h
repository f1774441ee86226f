#ifndef EXEC_PATH_H
#define EXEC_PATH_H

/*
 * The path of the helper name ("apphub-image"): from $APPHUB_EXEC_PATH,
 * this binary's directory, ../libexec/apphub next to it, or LIBEXECDIR,
 * the first that is executable. Free it; NULL when none is.
 */
char *ah_helper_path(const char *name);

#define AH_HELPER_DIRS "$APPHUB_EXEC_PATH, this binary's directory, ../libexec/apphub and " \
	"the install's libexec directory"

#endif
