/*
 * Where the helpers apphub-<name> are (DESIGN.md §1): $APPHUB_EXEC_PATH,
 * this binary's own directory (the build tree), ../libexec/apphub next to
 * it (an installed tree moved as a whole), then LIBEXECDIR; and other
 * programs on $PATH.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "exec-path.h"
#include "usage.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/apphub"
#endif

char *ah_helper_path(const char *name)
{
	char self[PATH_MAX], *slash, *path = NULL, *dirs[4] = { NULL };
	const char *env = getenv("APPHUB_EXEC_PATH");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (env && *env)
		dirs[0] = xstrdup(env);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			dirs[1] = xstrdup(self);
			dirs[2] = xstrfmt("%s/../libexec/apphub", self);
		}
	}
	dirs[3] = xstrdup(LIBEXECDIR);
	for (i = 0; i < 4 && !path; i++) {
		if (!dirs[i])
			continue;
		path = xstrfmt("%s/%s", dirs[i], name);
		if (access(path, X_OK)) {
			free(path);
			path = NULL;
		}
	}
	for (i = 0; i < 4; i++)
		free(dirs[i]);
	return path;
}

const char *ah_path_lookup(const char *name, char *buf, size_t n)
{
	const char *path = getenv("PATH"), *p, *end;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		int len;

		end = strchrnul(p, ':');
		if (end == p)
			continue;
		len = snprintf(buf, n, "%.*s/%s", (int)(end - p), p, name);
		if (len > 0 && (size_t)len < n && access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}
