#ifndef WEB_H
#define WEB_H

#include <stddef.h>

/*
 * The page apphub serve serves (web/): its files, embedded at build time
 * by web/embed.sh into lib/web-assets.c, and the rule that tells a page
 * request from an API request. The README renderer (cmark, safe mode) is
 * the operation apps.readme, GET /apps/:id/readme (ops_web).
 */
struct ah_web_asset {
	const char *path;	/* "/app.js"; index.html is "/" */
	const char *type;	/* Content-Type */
	const char *etag;	/* "\"<crc>-<size>\"" */
	const unsigned char *data;
	size_t len;
};

/* The embedded files, ended by an entry with a NULL path. */
extern const struct ah_web_asset ah_web_assets[];

/* The asset at path ("/" or "/index.html" is the page), or NULL. */
const struct ah_web_asset *ah_web_asset(const char *path);

/*
 * Whether a GET for path with this Accept header is a request for the
 * page: path is one of the page's own ("/", "/apps", "/apps/ID", "/jobs",
 * "/jobs/SLUG", "/job-runs/ID", "/workflows", "/workflows/SLUG",
 * "/workflow-runs/ID", "/records", "/records/NS", "/records/NS/KEY",
 * "/datasets", "/datasets/SLUG") and accept names text/html, as a
 * browser's navigation does. Everything else is the API.
 */
int ah_web_wants_page(const char *path, const char *accept);

/* Markdown to HTML with cmark, raw HTML and unsafe links left out. */
char *ah_web_markdown(const char *md, size_t len);

#endif
