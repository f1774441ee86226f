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

int ah_web_wants_page(const char *path, const char *accept)
{
	const char *id;

	if (!accept || !strstr(accept, "text/html"))
		return 0;
	if (!strcmp(path, "/") || !strcmp(path, "/apps") || !strcmp(path, "/apps/"))
		return 1;
	if (strncmp(path, "/apps/", 6))
		return 0;
	id = path + 6;
	/* One segment, optionally with a trailing slash. */
	return *id && *id != '/' && (!strchr(id, '/') || strchr(id, '/')[1] == '\0');
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
