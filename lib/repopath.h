#ifndef REPOPATH_H
#define REPOPATH_H

#include "err.h"
#include "strbuf.h"

/*
 * The one rule for paths from a repository: a path is resolved inside the
 * tree, following symbolic links that stay inside it; a link that leads out
 * (an absolute target, ".." above the root) or loops is refused, naming the
 * link. Ingest applies it to the git tree of a commit, builds to their
 * checked-out context (Dockerfile, .dockerignore, COPY and ADD sources), so
 * `build --ref` and serve's builds meet the same checks as ingest.
 */
enum ah_tree_type {
	AH_TREE_NONE = 0,	/* no such entry */
	AH_TREE_FILE,
	AH_TREE_DIR,
	AH_TREE_LINK,		/* a symbolic link; its target is in the content */
	AH_TREE_OTHER,		/* submodule, device and the like: never read */
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
	/*
	 * The first max bytes of the file at path into out; *size its full size.
	 * The size is known before anything is read, and nothing beyond max is.
	 */
	int (*read)(void *data, const char *path, size_t max, struct strbuf *out, size_t *size,
		    struct ah_err *err);
	/* Calls fn for each entry of the directory; fn returning non-zero stops. */
	int (*list)(void *data, const char *dir, ah_tree_list_fn fn, void *cb, struct ah_err *err);
};

/*
 * Resolves path, following symbolic links, to out, a path with none in it.
 * Returns 0 with *type (AH_TREE_NONE when nothing is there), or -1 (status
 * 400) when a link leads out of the tree or loops.
 */
int ah_tree_resolve(const struct ah_tree *tree, const char *path, struct strbuf *out,
		    enum ah_tree_type *type, struct ah_err *err);

/*
 * Reads the file at path (links followed) into out: 0, or 1 when nothing or
 * no file is there. A file over max bytes is refused (status 400) before
 * any of it is read.
 */
int ah_tree_read_file(const struct ah_tree *tree, const char *path, size_t max,
		      struct strbuf *out, struct ah_err *err);
/* 1 when path (links followed) is a file, 0 when not, -1 on error. */
int ah_tree_is_file(const struct ah_tree *tree, const char *path, struct ah_err *err);

/* The tree of the directory rootfd (kept open by the caller). */
void ah_dir_tree(struct ah_tree *tree, int *rootfd);

/*
 * Opens path (relative) under the directory rootfd by the rule above, with
 * open flags (O_CLOEXEC added). -1 with errno ENOENT and a 404 when nothing
 * is there, EXDEV and a 400 when the rule refuses it.
 */
int ah_repo_open(int rootfd, const char *path, int flags, struct ah_err *err);

#endif
