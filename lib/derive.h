#ifndef DERIVE_H
#define DERIVE_H

#include "err.h"
#include "repopath.h"
#include "tags.h"

/*
 * Derivation: the tags and the name a person reading the repository would
 * give an app, from its Dockerfile (every stage) and the manifests and
 * lockfiles of its build context, through one table of rules (lib/derive.c,
 * documented in apphub-ingest(1)). Tag keys: language, framework, library,
 * runtime, database, package-manager, port.
 */

struct ah_derived_tag {
	struct ah_tag tag;
	const char *source;	/* "ingestion:package", ... (static) */
};

/* A list of tags deduplicated on lowercased key:value, first seen kept. */
struct ah_derived_tags {
	struct ah_derived_tag *tags;
	size_t nr, alloc;
};

struct ah_derivation {
	struct ah_derived_tags manifests;	/* source "ingestion:package" */
	struct ah_derived_tags dockerfile;	/* source "ingestion:dockerfile" */
	char *name;	/* from the manifest of the main language, or NULL */
};

/*
 * Adds key:value unless it is no valid tag or is already in list (both
 * silently: derived tags are suggestions).
 */
void ah_derived_add(struct ah_derived_tags *list, const char *key, const char *value,
		    const char *source);

/*
 * Derives from the Dockerfile at path dockerfile (its text, len bytes) and
 * the files of tree, reading none over max bytes. A Dockerfile that does not
 * parse gives no tags (the build reports it). Fails on a file over max, a
 * path that leads out of the tree, or package.json / composer.json files of
 * which none parses.
 */
int ah_derive(const struct ah_tree *tree, const char *dockerfile, const char *text, size_t len,
	      size_t max, struct ah_derivation *out, struct ah_err *err);
void ah_derivation_release(struct ah_derivation *d);

#endif
