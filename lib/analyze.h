#ifndef ANALYZE_H
#define ANALYZE_H

#include "err.h"
#include "strbuf.h"
#include "tags.h"

/*
 * Repository analysis: Dockerfile discovery, tag enrichment and autofill
 * (behaviour.md, "Registering and ingesting"), over a read-only tree. The
 * tree is an interface so that ingest reads a commit straight from the
 * object database and tests or other callers can give any tree; nothing
 * here writes anything.
 */
enum ah_tree_type {
	AH_TREE_NONE = 0,	/* no such entry */
	AH_TREE_FILE,
	AH_TREE_DIR,
	AH_TREE_LINK,		/* a symbolic link; its target is in the content */
	AH_TREE_OTHER,		/* submodule and the like: never read */
};

typedef int (*ah_tree_list_fn)(void *cb, const char *name, enum ah_tree_type type);

struct ah_tree {
	void *data;
	/*
	 * The type of the entry at path ("" is the root). No component but the
	 * last is a link (the caller resolves them). For a link, target gets
	 * its target (at most PATH_MAX bytes).
	 */
	int (*stat)(void *data, const char *path, enum ah_tree_type *type, struct strbuf *target,
		    struct ah_err *err);
	/* The first max bytes of the file at path into out; *size its full size. */
	int (*read)(void *data, const char *path, size_t max, struct strbuf *out, size_t *size,
		    struct ah_err *err);
	/* Calls fn for each entry of the directory; fn returning non-zero stops. */
	int (*list)(void *data, const char *dir, ah_tree_list_fn fn, void *cb, struct ah_err *err);
};

struct ah_analyze_opts {
	const char *dockerfile_path;	/* the given path (default "Dockerfile") */
	int explicit;			/* metadataStrategy explicit: no enrichment, no autofill */
	size_t max_file;		/* bytes read of any one file (default 1 MiB) */
};

struct ah_derived_tag {
	struct ah_tag tag;
	const char *source;	/* "ingestion:package", ... (static) */
};

struct ah_analysis {
	char *dockerfile;		/* the Dockerfile's path in the repository */
	struct ah_derived_tag *tags;	/* deduplicated, in order of precedence */
	size_t nr_tags, alloc_tags;
	char *name;			/* autofill from package.json, or NULL */
	char *description;		/* autofill from the README, or NULL */
	char *readme;			/* the README text (valid UTF-8), or NULL */
};

#define AH_ANALYZE_MAX_FILE (1024 * 1024)

/* Fills out; on error (a message fit for the app's history) nothing is kept. */
int ah_analyze(const struct ah_tree *tree, const struct ah_analyze_opts *opts,
	       struct ah_analysis *out, struct ah_err *err);
void ah_analysis_release(struct ah_analysis *a);

/* Copies s into sb with invalid UTF-8 and NUL bytes replaced by U+FFFD. */
void ah_utf8_sanitize(struct strbuf *sb, const char *s, size_t len);

#endif
