/*
 * The page: which requests get it, and the README rendered for it.
 */
#include <stdlib.h>
#include <string.h>
#include <cmark.h>
#include "apps.h"
#include "ops.h"
#include "strbuf.h"
#include "web.h"

/* A README larger than this is rendered cut (ingest keeps it cut anyway). */
#define README_MAX (1024 * 1024)

const struct ah_web_asset *ah_web_asset(const char *path)
{
	const struct ah_web_asset *a;

	if (!strcmp(path, "/index.html"))
		path = "/";
	for (a = ah_web_assets; a->path; a++)
		if (!strcmp(a->path, path))
			return a;
	return NULL;
}

/* The page's sections: a list at the prefix, and a thing (or a record: two) under it. */
static const struct {
	const char *prefix;
	int list, depth;
} sections[] = {
	{ "/apps", 1, 1 },
	{ "/jobs", 1, 1 },
	{ "/job-runs", 0, 1 },
	{ "/workflows", 1, 1 },
	{ "/workflow-runs", 0, 1 },
	{ "/records", 1, 2 },
	{ "/datasets", 1, 1 },
};

int ah_web_wants_page(const char *path, const char *accept)
{
	const char *rest, *slash;
	size_t i, len;
	int segs;

	if (!accept || !strstr(accept, "text/html"))
		return 0;
	if (!strcmp(path, "/"))
		return 1;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		len = strlen(sections[i].prefix);
		if (strncmp(path, sections[i].prefix, len) || (path[len] && path[len] != '/'))
			continue;
		rest = path + len;
		if (!*rest || !strcmp(rest, "/"))
			return sections[i].list;
		/* One to depth segments, none empty, optionally with a trailing slash. */
		rest++;
		for (segs = 0; *rest; segs++) {
			if (*rest == '/')
				return 0;
			slash = strchr(rest, '/');
			if (!slash)
				return segs + 1 <= sections[i].depth;
			rest = slash + 1;
		}
		return segs <= sections[i].depth;
	}
	return 0;
}

char *ah_web_markdown(const char *md, size_t len)
{
	/* CMARK_OPT_DEFAULT is safe: raw HTML and javascript: links are left out. */
	return cmark_markdown_to_html(md, len > README_MAX ? README_MAX : len,
				      CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_SMART);
}

/* apps.readme: {id} -> {id, format:"html", html}. */
static int op_apps_readme(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_state *st;
	json_t *app = NULL;
	sqlite3_int64 n;
	const char *id, *md;
	char *html;
	int ret = -1;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (ah_ctx_state(ctx, &st, err) < 0 || ah_app_lookup(st, id, &n, err) < 0 ||
	    !(app = ah_app_json(st, n, err)))
		goto done;
	md = json_string_value(json_object_get(app, "readme"));
	html = md ? ah_web_markdown(md, strlen(md)) : NULL;
	*out = json_pack("{s:s, s:s, s:s?}", "id", id, "format", "html", "html", html);
	free(html);
	ret = 0;
done:
	json_decref(app);
	return ret;
}

const struct ah_op ops_web[] = {
	{ .name = "apps.readme", .method = "GET", .path = "/apps/:id/readme", .scope = SCOPE_NONE,
	  .fn = op_apps_readme, .summary = "An app's README as HTML (cmark, raw HTML left out)" },
	{ NULL },
};
