/*
 * Repository analysis over a read-only tree: where the Dockerfile is, which
 * tags package.json, the tag files and the Dockerfile imply, and the name
 * and description to fill in. The rules are behaviour.md's, exactly.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <yaml.h>
#include "analyze.h"
#include "apps.h"
#include "markdown.h"
#include "params.h"
#include "utf8.h"

#define BFS_MAX_DEPTH 6
#define BFS_MAX_ENTRIES 5000
#define YAML_MAX_NODES 20000
#define YAML_MAX_DEPTH 64

/* Reads the file at path, following links; 1 when it is not a file. */
static int read_file(const struct ah_tree *tree, const char *path, size_t max,
		     struct strbuf *out, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	enum ah_tree_type type;
	size_t size = 0;
	int ret = -1;

	if (ah_tree_resolve(tree, path, &real, &type, err) < 0)
		goto done;
	if (type != AH_TREE_FILE) {
		ret = 1;
		goto done;
	}
	if (tree->read(tree->data, real.buf, max, out, &size, err) < 0)
		goto done;
	if (size > max) {
		if (max % (1024 * 1024) == 0)
			ah_invalid(err, "file '%s' is larger than the %zu MiB limit", path, max >> 20);
		else if (max % 1024 == 0)
			ah_invalid(err, "file '%s' is larger than the %zu KiB limit", path, max >> 10);
		else
			ah_invalid(err, "file '%s' is larger than the %zu byte limit", path, max);
		goto done;
	}
	ret = 0;
done:
	strbuf_release(&real);
	return ret;
}

static int is_file(const struct ah_tree *tree, const char *path, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	enum ah_tree_type type;
	int ret;

	ret = ah_tree_resolve(tree, path, &real, &type, err);
	strbuf_release(&real);
	return ret < 0 ? -1 : type == AH_TREE_FILE;
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

static void add_tag(struct ah_analysis *a, const char *key, const char *value,
		    const char *source)
{
	struct ah_err ignored = AH_ERR_INIT;
	struct ah_tag tag;
	char *s = xstrfmt("%s:%s", key, value);
	size_t i;
	int ok = ah_tag_parse(s, &tag, "tag", &ignored) == 0;

	free(s);
	if (!ok)
		return;
	for (i = 0; i < a->nr_tags; i++)
		if (!strcasecmp(a->tags[i].tag.key, tag.key) &&
		    !strcasecmp(a->tags[i].tag.value, tag.value))
			return;
	if (a->nr_tags == a->alloc_tags) {
		a->alloc_tags = a->alloc_tags ? 2 * a->alloc_tags : 16;
		a->tags = xrealloc(a->tags, a->alloc_tags * sizeof(*a->tags));
	}
	a->tags[a->nr_tags].tag = tag;
	a->tags[a->nr_tags++].source = source;
}

static int has_dep(json_t *pkg, const char *name)
{
	return json_object_get(json_object_get(pkg, "dependencies"), name) ||
	       json_object_get(json_object_get(pkg, "devDependencies"), name);
}

static void package_tags(const struct ah_tree *tree, json_t *pkg, const char *dir,
			 struct ah_analysis *a)
{
	static const char src[] = "ingestion:package";
	struct ah_err ignored = AH_ERR_INIT;
	const char *range = json_string_value(json_object_get(json_object_get(pkg, "engines"),
							      "node"));
	char *tsconfig = dir[0] ? xstrfmt("%s/tsconfig.json", dir) : xstrdup("tsconfig.json");

	if (has_dep(pkg, "next"))
		add_tag(a, "framework", "nextjs", src);
	if (has_dep(pkg, "astro"))
		add_tag(a, "framework", "astro", src);
	if (has_dep(pkg, "remix") || has_dep(pkg, "@remix-run/react"))
		add_tag(a, "framework", "remix", src);
	if (has_dep(pkg, "react"))
		add_tag(a, "library", "react", src);
	if (has_dep(pkg, "vue") || has_dep(pkg, "nuxt") || has_dep(pkg, "nuxt3"))
		add_tag(a, "framework", "vue", src);
	if (has_dep(pkg, "svelte") || has_dep(pkg, "sveltekit"))
		add_tag(a, "framework", "svelte", src);
	if (has_dep(pkg, "typescript") || is_file(tree, tsconfig, &ignored) == 1)
		add_tag(a, "language", "typescript", src);
	if (range && *range) {
		struct strbuf v = STRBUF_INIT;
		const char *p;

		/* A tag value has no spaces: ">=18 <21" is "node@>=18<21". */
		strbuf_addstr(&v, "node@");
		for (p = range; *p; p++)
			if (!isspace((unsigned char)*p))
				strbuf_addch(&v, *p);
		add_tag(a, "runtime", v.buf, src);
		strbuf_release(&v);
	}
	free(tsconfig);
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
 * The first package.json that parses, from the Dockerfile's directory up to
 * the root. One that exists but does not parse is passed over; when none
 * parses, the first such error fails the ingest.
 */
static int load_package(const struct ah_tree *tree, const char *dockerfile, size_t max,
			json_t **pkg, char **pkg_dir, struct ah_err *err)
{
	struct strbuf dir = STRBUF_INIT, text = STRBUF_INIT;
	struct ah_err bad = AH_ERR_INIT;
	const char *slash = strrchr(dockerfile, '/');
	int ret = -1;

	*pkg = NULL;
	*pkg_dir = NULL;
	if (slash)
		strbuf_add(&dir, dockerfile, (size_t)(slash - dockerfile));
	for (;;) {
		char *path = dir.len ? xstrfmt("%s/package.json", dir.buf) : xstrdup("package.json");
		json_error_t jerr;
		int r;

		strbuf_reset(&text);
		r = read_file(tree, path, max, &text, err);
		if (r < 0) {
			free(path);
			goto done;
		}
		if (!r) {
			json_t *v = json_loadb(text.buf, text.len, 0, &jerr);

			if (json_is_object(v)) {
				*pkg = v;
				*pkg_dir = strbuf_detach(&dir, NULL);
				free(path);
				break;
			}
			if (!bad.status) {
				if (v)
					ah_invalid(&bad, "invalid '%s': not a JSON object", path);
				else
					json_fail(&bad, path, &jerr);
			}
			json_decref(v);
		}
		free(path);
		if (!dir.len)
			break;
		slash = strrchr(dir.buf, '/');
		strbuf_setlen(&dir, slash ? (size_t)(slash - dir.buf) : 0);
	}
	if (!*pkg && bad.status) {
		*err = bad;
		goto done;
	}
	ret = 0;
done:
	strbuf_release(&dir);
	strbuf_release(&text);
	return ret;
}

/* Adds v (a new reference) to the collection on top of the stack, or makes it the root. */
static int yaml_add(json_t **stack, char **keys, int depth, json_t **root, json_t *v,
		    const char *path, struct ah_err *err)
{
	json_t *parent;

	if (!depth) {
		if (!*root)
			*root = v;
		else
			json_decref(v);
		return 0;
	}
	parent = stack[depth - 1];
	if (json_is_array(parent))
		return json_array_append_new(parent, v) < 0 ? ah_internal(err, "out of memory") : 0;
	if (!keys[depth - 1]) {
		if (!json_is_string(v)) {
			json_decref(v);
			return ah_invalid(err, "invalid '%s': a mapping key is not a scalar", path);
		}
		keys[depth - 1] = xstrdup(json_string_value(v));
		json_decref(v);
		return 0;
	}
	json_object_set_new(parent, keys[depth - 1], v);
	free(keys[depth - 1]);
	keys[depth - 1] = NULL;
	return 0;
}

/*
 * YAML -> JSON, every scalar a string, built from the parser's events so
 * that limits hold as the text is read: the depth when a collection opens
 * (a file nested 500,000 deep stops at level YAML_MAX_DEPTH, not after
 * loading it all), the number of values, and no aliases (no alias bombs).
 * Only the first document counts.
 */
static json_t *parse_yaml(const char *text, size_t len, const char *path, struct ah_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	json_t *stack[YAML_MAX_DEPTH], *root = NULL;
	char *keys[YAML_MAX_DEPTH];
	size_t nodes = 0;
	int depth = 0, i, end = 0, ok = 0;

	if (!yaml_parser_initialize(&parser)) {
		ah_internal(err, "cannot initialize the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!end) {
		json_t *v = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			ah_invalid(err, "invalid '%s': line %zu: %s", path,
				   (size_t)parser.problem_mark.line + 1,
				   parser.problem ? parser.problem : "not YAML");
			goto done;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			end = 1;
			break;
		case YAML_ALIAS_EVENT:
			ah_invalid(err, "invalid '%s': line %zu: aliases are not supported", path,
				   (size_t)ev.start_mark.line + 1);
			yaml_event_delete(&ev);
			goto done;
		case YAML_SCALAR_EVENT:
			v = json_stringn((const char *)ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth >= YAML_MAX_DEPTH) {
				ah_invalid(err, "invalid '%s': line %zu: too deeply nested (more than %d levels)",
					   path, (size_t)ev.start_mark.line + 1, YAML_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto done;
			}
			v = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (v) {
			int collection = json_is_array(v) || json_is_object(v);

			if (++nodes > YAML_MAX_NODES) {
				ah_invalid(err, "invalid '%s': more than %d values", path, YAML_MAX_NODES);
				json_decref(v);
				yaml_event_delete(&ev);
				goto done;
			}
			/* The stack borrows: the parent (or root) holds the collection. */
			if (yaml_add(stack, keys, depth, &root, v, path, err) < 0) {
				yaml_event_delete(&ev);
				goto done;
			}
			if (collection) {
				stack[depth] = v;
				keys[depth++] = NULL;
			}
		}
		yaml_event_delete(&ev);
	}
	if (!root)
		root = json_object();	/* an empty document */
	ok = 1;
done:
	for (i = 0; i < depth; i++)
		free(keys[i]);
	yaml_parser_delete(&parser);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
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

/* The leading version digits of a tag, without dots, at most parts parts. */
static void version_digits(struct strbuf *out, const char *tag, int parts)
{
	int part = 1;

	for (; *tag && (isdigit((unsigned char)*tag) || *tag == '.'); tag++) {
		if (*tag == '.') {
			if (++part > parts)
				break;
			continue;
		}
		strbuf_addch(out, *tag);
	}
}

static void dockerfile_tags(const char *text, struct ah_analysis *a)
{
	static const char src[] = "ingestion:dockerfile";
	const char *line = text;

	while (*line) {
		const char *end = strchrnul(line, '\n'), *p = line;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (end - p > 5 && !strncasecmp(p, "FROM", 4) && isspace((unsigned char)p[4])) {
			struct strbuf image = STRBUF_INIT, v = STRBUF_INIT;
			const char *name, *colon;

			for (p += 4;;) {
				const char *w;

				while (p < end && isspace((unsigned char)*p))
					p++;
				w = p;
				while (p < end && !isspace((unsigned char)*p))
					p++;
				if (p - w > 2 && !strncmp(w, "--", 2))
					continue;
				strbuf_add(&image, w, (size_t)(p - w));
				break;
			}
			if (strchr(image.buf, '@'))
				strbuf_setlen(&image, (size_t)(strchr(image.buf, '@') - image.buf));
			name = strrchr(image.buf, '/');
			name = name ? name + 1 : image.buf;
			colon = strchr(name, ':');
			if (!strncasecmp(name, "node:", 5) && isdigit((unsigned char)name[5])) {
				strbuf_addstr(&v, "node");
				version_digits(&v, name + 5, 99);
				add_tag(a, "runtime", v.buf, src);
				add_tag(a, "language", "javascript", src);
			} else if (!strncasecmp(name, "python", 6) && (!name[6] || name[6] == ':')) {
				add_tag(a, "language", "python", src);
				if (colon && isdigit((unsigned char)colon[1])) {
					strbuf_addstr(&v, "python");
					version_digits(&v, colon + 1, 2);
					add_tag(a, "runtime", v.buf, src);
				}
			} else if (!strncasecmp(name, "nginx", 5) && (!name[5] || name[5] == ':')) {
				add_tag(a, "runtime", "nginx", src);
			}
			strbuf_release(&image);
			strbuf_release(&v);
			break;
		}
		line = *end ? end + 1 : end;
	}
	if (strcasestr(text, "streamlit"))
		add_tag(a, "framework", "streamlit", src);
	if (strcasestr(text, "uvicorn"))
		add_tag(a, "framework", "fastapi", src);
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

static int name_ok(const char *s)
{
	size_t len = strlen(s);
	const char *p;

	if (!len || len > AH_NAME_MAX || s[0] == '@' || !ah_utf8_valid(s, len))
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

int ah_analyze(const struct ah_tree *tree, const struct ah_analyze_opts *opts,
	       struct ah_analysis *out, struct ah_err *err)
{
	size_t max = opts->max_file ? opts->max_file : AH_ANALYZE_MAX_FILE;
	struct strbuf dockerfile = STRBUF_INIT;
	json_t *pkg = NULL;
	char *pkg_dir = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (find_dockerfile(tree, opts->dockerfile_path, &out->dockerfile, err) < 0 ||
	    read_file(tree, out->dockerfile, max, &dockerfile, err) < 0)
		goto done;
	if (!opts->explicit) {
		if (load_package(tree, out->dockerfile, max, &pkg, &pkg_dir, err) < 0)
			goto done;
		if (pkg) {
			const char *name = json_string_value(json_object_get(pkg, "name"));

			package_tags(tree, pkg, pkg_dir, out);
			if (name && name_ok(name))
				out->name = xstrdup(name);
		}
		if (tag_files(tree, max, out, err) < 0)
			goto done;
		dockerfile_tags(dockerfile.buf, out);
	}
	if (readme(tree, max, !opts->explicit, out, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0)
		ah_analysis_release(out);
	json_decref(pkg);
	free(pkg_dir);
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
