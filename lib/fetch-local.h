#ifndef FETCH_LOCAL_H
#define FETCH_LOCAL_H

#include <stdint.h>
#include <git2.h>
#include "err.h"

struct ah_fetch_local_stats {
	unsigned objects;	/* in the files copied */
	int64_t bytes;		/* copied */
};

/*
 * Fetches the repository at path (url as the app names it, for messages)
 * into the bare repository mirror: the object files it lacks copied whole
 * (refused past max_bytes, counted before a byte is copied), its branches
 * set and the ones gone pruned. *branch is the source's default branch
 * ("refs/heads/main"). Objects borrowed through objects/info/alternates
 * are not followed: such a repository is refused. A refusal no retry
 * changes has status AH_INGEST_PERMANENT.
 */
int ah_fetch_local(const char *path, const char *url, git_repository *mirror, int64_t max_bytes,
		   struct ah_fetch_local_stats *stats, char **branch, struct ah_err *err);

#endif
