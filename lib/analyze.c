/*
 * Repository analysis over a read-only tree: where the Dockerfile is, the
 * tags the tag files give and lib/derive.c derives, and the name and
 * description to fill in (behaviour.md, "Registering and ingesting").
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "analyze.h"
#include "apps.h"
#include "markdown.h"
#include "params.h"
#include "utf8.h"
#include "yaml-json.h"

#define BFS_MAX_DEPTH 6
#define BFS_MAX_ENTRIES 5000

/* The tree's readers (lib/repopath.c), by the names this file uses. */
static int read_file(const struct ah_tree *tree, const char *path, size_t max,
		     struct strbuf *out, struct ah_err *err)
{
	return ah_tree_read_file(tree, path, max, out, err);
}

static int is_file(const struct ah_tree *tree, const char *path, struct ah_err *err)
{
	return ah_tree_is_file(tree, path, err);
}

/* ----------------------------------------------------------- Dockerfile */

struct bfs {
	char **dirs;
	int *depth;
	size_t nr, alloc, head;
	const char *dir;
	int cur_depth;
	size_t entries;
	char *best;
	int oom;
};

static int dockerfile_name(const char *name)
{
	size_t len = strlen(name);

	return !strcasecmp(name, "dockerfile") ||
	       (len > 11 && !strcasecmp(name + len - 11, ".dockerfile"));
}

static int bfs_entry(void *cb, const char *name, enum ah_tree_type type)
{
	struct bfs *b = cb;
	char *path;

	if (++b->entries > BFS_MAX_ENTRIES)
		return 1;
	if (!ah_utf8_valid(name, strlen(name)))
		return 0;
	path = b->dir[0] ? xstrfmt("%s/%s", b->dir, name) : xstrdup(name);
	if (type == AH_TREE_DIR) {
		if (!strcmp(name, ".git") || !strcmp(name, "node_modules") ||
		    !strncmp(name, ".apphub", 7) || b->cur_depth + 1 > BFS_MAX_DEPTH) {
			free(path);
			return 0;
		}
		if (b->nr == b->alloc) {
			b->alloc = b->alloc ? 2 * b->alloc : 64;
			b->dirs = xrealloc(b->dirs, b->alloc * sizeof(*b->dirs));
			b->depth = xrealloc(b->depth, b->alloc * sizeof(*b->depth));
		}
		b->dirs[b->nr] = path;
		b->depth[b->nr++] = b->cur_depth + 1;
		return 0;
	}
	if ((type == AH_TREE_FILE || type == AH_TREE_LINK) && dockerfile_name(name) &&
	    (!b->best || strlen(path) < strlen(b->best) ||
	     (strlen(path) == strlen(b->best) && strcmp(path, b->best) < 0))) {
		free(b->best);
		b->best = path;
		return 0;
	}
	free(path);
	return 0;
}

/*
 * The author's path, which must be there (no other Dockerfile stands in for
 * the one they named); else Dockerfile at the root; else a breadth-first
 * search for "dockerfile" or "*.dockerfile", case-insensitive, shortest
 * path first.
 */
static int find_dockerfile(const struct ah_tree *tree, const char *given, char **out,
			   struct ah_err *err)
{
	struct bfs b = { 0 };
	size_t i;
	int r, ret = -1;

	*out = NULL;
	if (given && *given) {
		if ((r = is_file(tree, given, err)) < 0)
			return -1;
		if (!r)
			return ah_invalid(err, "Dockerfile '%s' not found in the repository", given);
		*out = xstrdup(given);
		return 0;
	}
	if ((r = is_file(tree, "Dockerfile", err)) < 0)
		return -1;
	if (r) {
		*out = xstrdup("Dockerfile");
		return 0;
	}
	b.alloc = 64;
	b.dirs = xcalloc(b.alloc, sizeof(*b.dirs));
	b.depth = xcalloc(b.alloc, sizeof(*b.depth));
	b.dirs[b.nr] = xstrdup("");
	b.depth[b.nr++] = 0;
	/* Level by level: a hit at one depth beats anything deeper. */
	while (b.head < b.nr && b.entries <= BFS_MAX_ENTRIES) {
		int level = b.depth[b.head];

		while (b.head < b.nr && b.depth[b.head] == level && b.entries <= BFS_MAX_ENTRIES) {
			b.dir = b.dirs[b.head];
			b.cur_depth = level;
			if (tree->list(tree->data, b.dir, bfs_entry, &b, err) < 0)
				goto done;
			b.head++;
		}
		if (b.best)
			break;
	}
	if (b.best) {
		if ((r = is_file(tree, b.best, err)) < 0)
			goto done;
		if (r) {
			*out = b.best;
			b.best = NULL;
		}
	}
	if (!*out) {
		ah_invalid(err, "Dockerfile not found, unable to launch app");
		goto done;
	}
	ret = 0;
done:
	for (i = 0; i < b.nr; i++)
		free(b.dirs[i]);
	free(b.dirs);
	free(b.depth);
	free(b.best);
	return ret;
}

/* ---------------------------------------------------------------- tags */

/* Adds a tag to the analysis's list (deduplicated, first seen kept). */
static void add_tag(struct ah_analysis *a, const char *key, const char *value,
		    const char *source)
{
	struct ah_derived_tags list = { a->tags, a->nr_tags, a->alloc_tags };

	ah_derived_add(&list, key, value, source);
	a->tags = list.tags;
	a->nr_tags = list.nr;
	a->alloc_tags = list.alloc;
}

static void add_tags(struct ah_analysis *a, const struct ah_derived_tags *list)
{
	size_t i;

	for (i = 0; i < list->nr; i++)
		add_tag(a, list->tags[i].tag.key, list->tags[i].tag.value, list->tags[i].source);
}

/*
 * A JSON file that did not parse. jansson stops at JSON_PARSER_MAX_DEPTH
 * levels by itself (and what it reads is capped before it parses).
 */
static int json_fail(struct ah_err *err, const char *path, const json_error_t *jerr)
{
	char why[AH_JSON_WHY_MAX];

	return ah_invalid(err, "invalid '%s': %s", path, ah_json_why(jerr, why, sizeof(why)));
}

/*
 * A YAML tags file as JSON, every scalar a string, read as it always was
 * (lib/yaml-json.c: only the first document, a later duplicate key wins);
 * the limits hold as the text is read and aliases are refused.
 */
static json_t *parse_yaml(const char *text, size_t len, const char *path, struct ah_err *err)
{
	json_t *doc;

	if (ah_yaml_to_json_flags(text, len, AH_YAML_STRINGS | AH_YAML_LENIENT, &doc, err) < 0) {
		char why[sizeof(err->msg)];

		memcpy(why, err->msg, sizeof(why));
		ah_invalid(err, "invalid '%s': %s", path, why);
		return NULL;
	}
	return doc;
}

static int tag_file_tags(json_t *doc, const char *path, struct ah_analysis *a,
			 struct ah_err *err)
{
	static const char src[] = "ingestion:tags-file";
	const char *key;
	json_t *v, *item;
	size_t i;

	if (json_is_array(doc)) {
		json_array_foreach(doc, i, item) {
			const char *s = json_string_value(item), *colon = s ? strchr(s, ':') : NULL;
			char *k;

			if (!colon)
				continue;
			k = xstrndup(s, (size_t)(colon - s));
			add_tag(a, k, colon + 1, src);
			free(k);
		}
		return 0;
	}
	if (!json_is_object(doc))
		return ah_invalid(err, "invalid '%s': must be a mapping of tag keys to values", path);
	json_object_foreach(doc, key, v) {
		char *s;

		if (json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if ((s = ah_json_scalar_text(item))) {
					add_tag(a, key, s, src);
					free(s);
				}
			}
		} else if (json_is_object(v)) {
			const char *child;
			json_t *ignored;

			json_object_foreach(v, child, ignored)
				add_tag(a, key, child, src);
		} else if ((s = ah_json_scalar_text(v))) {
			add_tag(a, key, s, src);
			free(s);
		}
	}
	return 0;
}

static int tag_files(const struct ah_tree *tree, size_t max, struct ah_analysis *a,
		     struct ah_err *err)
{
	static const char *const files[] = {
		".apphub/tags.json", ".apphub/tags.yaml", "apphub.tags.json", "apphub.tags.yaml",
	};
	struct strbuf text = STRBUF_INIT;
	size_t i;
	int ret = -1;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		json_t *doc;
		json_error_t jerr;
		int r;

		strbuf_reset(&text);
		if ((r = read_file(tree, files[i], max, &text, err)) < 0)
			goto done;
		if (r)
			continue;
		if (strstr(files[i], ".json")) {
			doc = json_loadb(text.buf, text.len, 0, &jerr);
			if (!doc) {
				json_fail(err, files[i], &jerr);
				goto done;
			}
		} else if (!(doc = parse_yaml(text.buf, text.len, files[i], err))) {
			goto done;
		}
		r = tag_file_tags(doc, files[i], a, err);
		json_decref(doc);
		if (r < 0)
			goto done;
	}
	ret = 0;
done:
	strbuf_release(&text);
	return ret;
}

/* --------------------------------------------------------------- README */

struct readme_find {
	char *best;
	int rank;
};

static int readme_entry(void *cb, const char *name, enum ah_tree_type type)
{
	static const char *const names[] = {
		"readme.md", "readme", "readme.markdown", "readme.txt", "readme.rst",
	};
	struct readme_find *f = cb;
	int i;

	if (type != AH_TREE_FILE && type != AH_TREE_LINK)
		return 0;
	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (strcasecmp(name, names[i]))
			continue;
		if (!f->best || i < f->rank) {
			free(f->best);
			f->best = xstrdup(name);
			f->rank = i;
		}
	}
	return 0;
}

static int readme(const struct ah_tree *tree, size_t max, int autofill, struct ah_analysis *a,
		  struct ah_err *err)
{
	struct readme_find f = { NULL, 0 };
	struct strbuf raw = STRBUF_INIT;
	int ret = -1, r;

	if (tree->list(tree->data, "", readme_entry, &f, err) < 0)
		goto done;
	if (!f.best) {
		ret = 0;
		goto done;
	}
	/* Over the limit it fails the ingest, as every file read here does. */
	if ((r = read_file(tree, f.best, max, &raw, err)) < 0)
		goto done;
	if (!r) {
		a->readme = ah_utf8_clean(raw.buf, raw.len, 0, NULL);
		if (autofill)
			a->description = ah_readme_description(a->readme, ah_readme_format(f.best),
								AH_README_DESCRIPTION_MAX);
	}
	ret = 0;
done:
	free(f.best);
	strbuf_release(&raw);
	return ret;
}

int ah_analyze(const struct ah_tree *tree, const struct ah_analyze_opts *opts,
	       struct ah_analysis *out, struct ah_err *err)
{
	size_t max = opts->max_file ? opts->max_file : AH_ANALYZE_MAX_FILE;
	struct strbuf dockerfile = STRBUF_INIT;
	struct ah_derivation derived = { { NULL, 0, 0 }, { NULL, 0, 0 }, NULL };
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (find_dockerfile(tree, opts->dockerfile_path, &out->dockerfile, err) < 0 ||
	    read_file(tree, out->dockerfile, max, &dockerfile, err) < 0)
		goto done;
	if (!opts->explicit) {
		/* in order of precedence: manifests, tag files, the Dockerfile */
		if (ah_derive(tree, out->dockerfile, dockerfile.buf, dockerfile.len, max, &derived,
			      err) < 0)
			goto done;
		add_tags(out, &derived.manifests);
		if (tag_files(tree, max, out, err) < 0)
			goto done;
		add_tags(out, &derived.dockerfile);
		out->name = derived.name;
		derived.name = NULL;
	}
	if (readme(tree, max, !opts->explicit, out, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0)
		ah_analysis_release(out);
	ah_derivation_release(&derived);
	strbuf_release(&dockerfile);
	return ret;
}

void ah_analysis_release(struct ah_analysis *a)
{
	free(a->dockerfile);
	free(a->tags);
	free(a->name);
	free(a->description);
	free(a->readme);
	memset(a, 0, sizeof(*a));
}
