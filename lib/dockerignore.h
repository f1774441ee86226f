#ifndef DOCKERIGNORE_H
#define DOCKERIGNORE_H

#include <stddef.h>
#include "err.h"

/*
 * .dockerignore rules, as Docker reads them: one Go filepath.Match pattern
 * a line plus "**" (any number of directories), "!" for an exception,
 * comments ("#" in the first column), blank lines skipped, patterns
 * cleaned (leading "/" and "./" dropped, "a//b/../c" is "a/c"). The last
 * rule that matches a path or one of its parent directories wins.
 */

#define AH_DOCKERIGNORE_MAX_SIZE (1024 * 1024)
#define AH_DOCKERIGNORE_MAX_RULES 10000

struct ah_dockerignore;

/* Parses len bytes of buf read from file (named in errors). */
int ah_dockerignore_parse(const char *buf, size_t len, const char *file,
			  struct ah_dockerignore **out, struct ah_err *err);
void ah_dockerignore_free(struct ah_dockerignore *rules);

enum {
	AH_DI_INCLUDED = 0,
	AH_DI_EXCLUDED = 1,
	/* An excluded directory an exception may re-include something under. */
	AH_DI_DESCEND = 2,
};

/*
 * Whether path (relative to the context, '/'-separated; cleaned here) is
 * sent to the build: AH_DI_INCLUDED or AH_DI_EXCLUDED, or for a directory
 * (is_dir) excluded while a "!" rule names something under it,
 * AH_DI_DESCEND: skip the directory itself but walk into it. rules may be
 * NULL (nothing excluded).
 */
int ah_dockerignore_match(const struct ah_dockerignore *rules, const char *path, int is_dir);

/* The number of rules, and rule i as cleaned ("!" kept). */
size_t ah_dockerignore_nr(const struct ah_dockerignore *rules);
const char *ah_dockerignore_rule(const struct ah_dockerignore *rules, size_t i);

#endif
