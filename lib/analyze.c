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

#define MAX_LINK_HOPS 16
#define BFS_MAX_DEPTH 6
#define BFS_MAX_ENTRIES 5000
#define YAML_MAX_NODES 20000
#define YAML_MAX_DEPTH 64

void ah_utf8_sanitize(struct strbuf *sb, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 0;

		if (c && c < 0x80) {
			strbuf_addch(sb, c);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		if (n && i + n < len && ah_utf8_valid(s + i, n + 1)) {
			strbuf_add(sb, s + i, n + 1);
			i += n + 1;
		} else {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			i++;
		}
	}
}

/* Appends path component comp (or ".." / ".") to the normalized path. */
static int push_component(struct strbuf *path, const char *comp, size_t len)
{
	if (!len || (len == 1 && comp[0] == '.'))
		return 0;
	if (len == 2 && comp[0] == '.' && comp[1] == '.') {
		char *slash;

		if (!path->len)
			return -1;	/* above the root */
		slash = strrchr(path->buf, '/');
		strbuf_setlen(path, slash ? (size_t)(slash - path->buf) : 0);
		return 0;
	}
	if (path->len)
		strbuf_addch(path, '/');
	strbuf_add(path, comp, len);
	return 0;
}

/*
 * Resolves path, following symbolic links, to a path with none. Returns 0
 * with *type (AH_TREE_NONE when nothing is there), or -1 when a link leads
 * outside the repository or loops.
 */
static int resolve(const struct ah_tree *tree, const char *path_in, struct strbuf *out,
		   enum ah_tree_type *type, struct ah_err *err)
{
	struct strbuf path = STRBUF_INIT, target = STRBUF_INIT, next = STRBUF_INIT;
	int hops = 0, ret = -1;
	const char *p;

	strbuf_addstr(&path, path_in);
again:
	strbuf_reset(out);
	*type = AH_TREE_DIR;
	p = path.buf;
	while (*p) {
		const char *comp = p, *q, *slash;
		size_t n = strcspn(p, "/");

		p += n;
		while (*p == '/')
			p++;
		if (!n || (n == 1 && comp[0] == '.'))
			continue;
		if (*type != AH_TREE_DIR) {
			*type = AH_TREE_NONE;
			break;
		}
		if (push_component(out, comp, n) < 0) {
			ah_invalid(err, "path '%s' leads outside the repository", path_in);
			goto done;
		}
		if (n == 2 && comp[0] == '.' && comp[1] == '.')
			continue;	/* the parent of a directory */
		strbuf_reset(&target);
		if (tree->stat(tree->data, out->buf, type, &target, err) < 0)
			goto done;
		if (*type != AH_TREE_LINK)
			continue;
		if (++hops > MAX_LINK_HOPS) {
			ah_invalid(err, "symlink '%s' is part of a loop or a chain too long", out->buf);
			goto done;
		}
		/* The link's directory, its target, then what is left of the path. */
		strbuf_reset(&next);
		slash = strrchr(out->buf, '/');
		if (slash)
			strbuf_add(&next, out->buf, (size_t)(slash - out->buf));
		for (q = target.buf; *q;) {
			size_t m = strcspn(q, "/");

			if (target.buf[0] == '/' || push_component(&next, q, m) < 0) {
				ah_invalid(err, "symlink '%s' leads outside the repository (to '%s')",
					   out->buf, target.buf);
				goto done;
			}
			q += m;
			while (*q == '/')
				q++;
		}
		if (!target.len || target.buf[0] == '/') {
			ah_invalid(err, "symlink '%s' leads outside the repository (to '%s')",
				   out->buf, target.buf);
			goto done;
		}
		if (*p)
			strbuf_addf(&next, "%s%s", next.len ? "/" : "", p);
		strbuf_reset(&path);
		strbuf_addstr(&path, next.buf);
		goto again;
	}
	ret = 0;
done:
	strbuf_release(&path);
	strbuf_release(&target);
	strbuf_release(&next);
	return ret;
}

/* Reads the file at path, following links; 1 when it is not a file. */
static int read_file(const struct ah_tree *tree, const char *path, size_t max, int truncate,
		     struct strbuf *out, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	enum ah_tree_type type;
	size_t size = 0;
	int ret = -1;

	if (resolve(tree, path, &real, &type, err) < 0)
		goto done;
	if (type != AH_TREE_FILE) {
		ret = 1;
		goto done;
	}
	if (tree->read(tree->data, real.buf, max, out, &size, err) < 0)
		goto done;
	if (size > max && !truncate) {
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

	ret = resolve(tree, path, &real, &type, err);
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
 * The given path; Dockerfile at the root; else a breadth-first search for
 * "dockerfile" or "*.dockerfile", case-insensitive, shortest path first.
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
		if (r) {
			*out = xstrdup(given);
			return 0;
		}
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
		char why[AH_JSON_WHY_MAX];
		json_error_t jerr;
		int r;

		strbuf_reset(&text);
		r = read_file(tree, path, max, 0, &text, err);
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
					ah_invalid(&bad, "invalid '%s': %s", path,
						   ah_json_why(&jerr, why, sizeof(why)));
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

/* YAML -> JSON, every scalar a string; bounded against alias bombs. */
static json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *node, int depth, size_t *budget)
{
	json_t *v = NULL;

	if (!node || depth > YAML_MAX_DEPTH || !*budget)
		return NULL;
	(*budget)--;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		v = json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
		break;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;

		v = json_array();
		for (it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
			json_t *c = yaml_to_json(doc, yaml_document_get_node(doc, *it), depth + 1, budget);

			if (!c && !*budget)
				goto fail;
			if (c)
				json_array_append_new(v, c);
		}
		break;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *pair;

		v = json_object();
		for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
			yaml_node_t *k = yaml_document_get_node(doc, pair->key);
			json_t *c;
			char *key;

			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			c = yaml_to_json(doc, yaml_document_get_node(doc, pair->value), depth + 1,
					 budget);
			if (!c && !*budget)
				goto fail;
			key = xstrndup((const char *)k->data.scalar.value, k->data.scalar.length);
			json_object_set_new(v, key, c ? c : json_null());
			free(key);
		}
		break;
	}
	default:
		break;
	}
	return v;
fail:
	json_decref(v);
	return NULL;
}

static json_t *parse_yaml(const char *text, size_t len, const char *path, struct ah_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *v = NULL;
	size_t budget = YAML_MAX_NODES;

	if (!yaml_parser_initialize(&parser)) {
		ah_internal(err, "cannot initialize the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ah_invalid(err, "invalid '%s': line %zu: %s", path,
			   (size_t)parser.problem_mark.line + 1,
			   parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return NULL;
	}
	if (!yaml_document_get_root_node(&doc)) {
		v = json_object();
	} else {
		v = yaml_to_json(&doc, yaml_document_get_root_node(&doc), 0, &budget);
		if (!v)
			ah_invalid(err, "invalid '%s': too deep or too large", path);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return v;
}

/* A tag value from a scalar: strings as they are, numbers and booleans as text. */
static char *scalar_text(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xstrfmt("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xstrfmt("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
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
				if ((s = scalar_text(item))) {
					add_tag(a, key, s, src);
					free(s);
				}
			}
		} else if (json_is_object(v)) {
			const char *child;
			json_t *ignored;

			json_object_foreach(v, child, ignored)
				add_tag(a, key, child, src);
		} else if ((s = scalar_text(v))) {
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
		if ((r = read_file(tree, files[i], max, 0, &text, err)) < 0)
			goto done;
		if (r)
			continue;
		if (strstr(files[i], ".json")) {
			doc = json_loadb(text.buf, text.len, 0, &jerr);
			if (!doc) {
				char why[AH_JSON_WHY_MAX];

				ah_invalid(err, "invalid '%s': %s", files[i],
					   ah_json_why(&jerr, why, sizeof(why)));
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
	struct strbuf raw = STRBUF_INIT, text = STRBUF_INIT;
	int ret = -1, r;

	if (tree->list(tree->data, "", readme_entry, &f, err) < 0)
		goto done;
	if (!f.best) {
		ret = 0;
		goto done;
	}
	/* A README longer than the limit is kept cut, not refused. */
	if ((r = read_file(tree, f.best, max, 1, &raw, err)) < 0)
		goto done;
	if (!r) {
		ah_utf8_sanitize(&text, raw.buf, raw.len);
		if (autofill)
			a->description = ah_readme_description(text.buf, AH_DESCRIPTION_MAX);
		a->readme = strbuf_detach(&text, NULL);
	}
	ret = 0;
done:
	free(f.best);
	strbuf_release(&raw);
	strbuf_release(&text);
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
	    read_file(tree, out->dockerfile, max, 0, &dockerfile, err) < 0)
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
