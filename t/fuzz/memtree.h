/*
 * A tree of two files in memory (a Dockerfile and one file fuzzed, which may
 * be the Dockerfile) for the
 * libFuzzer targets that drive lib/analyze.c's readers through ah_analyze.
 */
#include <string.h>
#include "../../lib/analyze.h"

struct memtree {
	const char *path;		/* the fuzzed file's path */
	const char *data;
	size_t size;
};

static const char memtree_dockerfile[] = "FROM node:20\nCMD [\"node\"]\n";

static int mt_stat(void *data, const char *path, enum ah_tree_type *type, struct strbuf *target,
		   struct ah_err *err)
{
	struct memtree *t = data;
	size_t n = strlen(path);

	(void)target;
	(void)err;
	*type = AH_TREE_NONE;
	if (!*path || (!strncmp(t->path, path, n) && t->path[n] == '/'))
		*type = AH_TREE_DIR;
	else if (!strcmp(path, "Dockerfile") || !strcmp(path, t->path))
		*type = AH_TREE_FILE;
	return 0;
}

static int mt_read(void *data, const char *path, size_t max, struct strbuf *out, size_t *size,
		   struct ah_err *err)
{
	struct memtree *t = data;
	const char *s = t->data;
	size_t n = t->size;

	(void)err;
	if (!strcmp(path, "Dockerfile") && strcmp(t->path, "Dockerfile")) {
		s = memtree_dockerfile;
		n = strlen(s);
	}
	*size = n;
	if (n <= max)
		strbuf_add(out, s, n);
	return 0;
}

static int mt_list(void *data, const char *dir, ah_tree_list_fn fn, void *cb, struct ah_err *err)
{
	struct memtree *t = data;

	(void)err;
	if (!*dir && !fn(cb, "Dockerfile", AH_TREE_FILE) && !strchr(t->path, '/') &&
	    strcmp(t->path, "Dockerfile"))
		fn(cb, t->path, AH_TREE_FILE);
	return 0;
}

/* Analyses the tree; the caller checks the outcome. */
static int memtree_analyze(struct memtree *t, struct ah_analysis *an, struct ah_err *err)
{
	struct ah_tree tree = { t, mt_stat, mt_read, mt_list };
	struct ah_analyze_opts opts = { NULL, 0, 64 * 1024 };

	return ah_analyze(&tree, &opts, an, err);
}
