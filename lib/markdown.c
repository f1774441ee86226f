/*
 * markdown.c: a README's prose as plain text, for the description
 * ingestion fills in (behaviour.md: the first README line that is not a
 * heading; apphub also passes over badges, HTML and code, and drops markup).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "markdown.h"
#include "strbuf.h"
#include "usage.h"
#include "utf8.h"

static int all_chars(const char *s, size_t len, char c)
{
	size_t i;

	if (len < 2)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] != c)
			return 0;
	return 1;
}

/*
 * Inline Markdown of [s, e) as plain text: links and images by their text,
 * no markers. A link's text holds no link, only images (a badge is an image
 * in a link): other brackets in it are text, which bounds the recursion.
 */
static void md_plain(struct strbuf *out, const char *s, const char *e, int in_link)
{
	while (s < e) {
		const char *close;

		if (*s == '<') {
			/* An HTML tag or autolink: dropped, an autolink's address kept. */
			close = memchr(s, '>', (size_t)(e - s));
			if (close) {
				if (memmem(s, (size_t)(close - s), "://", 3))
					strbuf_add(out, s + 1, (size_t)(close - s - 1));
				s = close + 1;
				continue;
			}
		} else if ((*s == '[' && !in_link) || (*s == '!' && s + 1 < e && s[1] == '[')) {
			/* [text](url), [text][ref], ![alt](url): the text only, nested once. */
			const char *t = s + (*s == '!' ? 2 : 1);
			int depth = 1;

			for (close = t; close < e && depth; close++)
				depth += (*close == '[') - (*close == ']');
			if (!depth && close < e && (*close == '(' || *close == '[')) {
				const char *end = memchr(close, *close == '(' ? ')' : ']',
							 (size_t)(e - close));

				if (end) {
					/* An image is decoration (a badge, a logo): no text of it. */
					if (*s != '!')
						md_plain(out, t, close - 1, 1);
					s = end + 1;
					continue;
				}
			}
		} else if (*s == '*' || *s == '`' || *s == '~') {
			s++;
			continue;
		} else if (*s == '_' && (s == e - 1 || !isalnum((unsigned char)s[1]) ||
					 !out->len || !isalnum((unsigned char)out->buf[out->len - 1]))) {
			/* Emphasis, not the underscore inside snake_case. */
			s++;
			continue;
		} else if (*s == '\\' && s + 1 < e && ispunct((unsigned char)s[1])) {
			s++;
		}
		strbuf_addch(out, *s++);
	}
}

/*
 * The first line of prose: not a heading (ATX "# x" or setext "x\n==="), not
 * inside a code fence, and not only badges or HTML; its inline Markdown made
 * plain text, so "*fast*" reads "fast" on a card.
 */
char *ah_readme_description(const char *text, size_t max)
{
	const char *line = text;
	struct strbuf plain = STRBUF_INIT;
	int fenced = 0;

	while (*line) {
		const char *end = strchrnul(line, '\n'), *next = *end ? end + 1 : end;
		const char *s = line, *e = end, *ns, *ne;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e - s >= 3 && (!strncmp(s, "```", 3) || !strncmp(s, "~~~", 3))) {
			fenced = !fenced;
			line = next;
			continue;
		}
		ns = next;
		ne = strchrnul(next, '\n');
		while (ns < ne && isspace((unsigned char)*ns))
			ns++;
		while (ne > ns && isspace((unsigned char)ne[-1]))
			ne--;
		if (!fenced && s < e && *s != '#' && !all_chars(s, (size_t)(e - s), '=') &&
		    !all_chars(s, (size_t)(e - s), '-')) {
			if (all_chars(ns, (size_t)(ne - ns), '=') || all_chars(ns, (size_t)(ne - ns), '-')) {
				line = *ne ? ne + 1 : ne;
				continue;
			}
			while (s < e && *s == '>')	/* a quote's text is prose */
				for (s++; s < e && isspace((unsigned char)*s); s++)
					;
			/* Markup of a line far longer than a description is not read. */
			if ((size_t)(e - s) > 4 * max)
				e = s + 4 * max;
			strbuf_reset(&plain);
			md_plain(&plain, s, e, 0);
			strbuf_trim(&plain);
			if (plain.len) {
				char *d = xstrndup_utf8(plain.buf, max);

				strbuf_release(&plain);
				if (!*d) {	/* max cut into the first character */
					free(d);
					d = NULL;
				}
				return d;
			}
		}
		line = next;
	}
	strbuf_release(&plain);
	return NULL;
}
