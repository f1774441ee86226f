#ifndef ANALYZE_H
#define ANALYZE_H

#include "err.h"
#include "strbuf.h"
#include "repopath.h"
#include "derive.h"

/*
 * Repository analysis: Dockerfile discovery, tag enrichment and autofill
 * (behaviour.md, "Registering and ingesting"), over a read-only tree
 * (lib/repopath.h). The tree is an interface so that ingest reads a commit
 * straight from the object database and tests or other callers can give
 * any tree; nothing here writes anything.
 */
struct ah_analyze_opts {
	const char *dockerfile_path;	/* the author's path, or NULL to discover one */
	int explicit;			/* metadataStrategy explicit: no enrichment, no autofill */
	size_t max_file;		/* bytes read of any one file (default 1 MiB) */
};

struct ah_analysis {
	char *dockerfile;		/* the Dockerfile's path in the repository */
	struct ah_derived_tag *tags;	/* deduplicated, in order of precedence */
	size_t nr_tags, alloc_tags;
	char *name;			/* autofill from a manifest (lib/derive.h), or NULL */
	char *description;		/* autofill from the README, or NULL */
	char *readme;			/* the README text (valid UTF-8), or NULL */
};

#define AH_ANALYZE_MAX_FILE (1024 * 1024)

/* Fills out; on error (a message fit for the app's history) nothing is kept. */
int ah_analyze(const struct ah_tree *tree, const struct ah_analyze_opts *opts,
	       struct ah_analysis *out, struct ah_err *err);
void ah_analysis_release(struct ah_analysis *a);

#endif
