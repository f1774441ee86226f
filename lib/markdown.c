/*
 * markdown.c: the description ingestion fills in from a README, the first
 * paragraph of prose as a person would pick it out (behaviour.md took the
 * first line that is not a heading; on real READMEs that is a row of badges,
 * a logo in HTML or half a wrapped sentence). Markdown is read through
 * cmark's tree; reStructuredText and plain text by their paragraphs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmark.h>
#include "markdown.h"
#include "strbuf.h"
#include "usage.h"
#include "utf8.h"

/*
 * Bytes of a README parsed: the first paragraph is near the top, and a
 * bound on the input is a bound on cmark's time and memory.
 */
#define PARSE_MAX (64 * 1024)

/* A paragraph as it is read: its text, and whether any of it is prose. */
struct para {
	struct strbuf text;
	size_t cap;	/* text beyond this is not needed to cut it */
	int prose;	/* a letter outside links, code and markup */
	int links;	/* inside how many links (Markdown or <a>) */
};

/* The code point of the UTF-8 character s[0, n). */
static unsigned long code_point(const unsigned char *s, size_t n)
{
	unsigned long cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
	size_t i;

	for (i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

/*
 * A letter or digit of some script: not punctuation, symbols, arrows or
 * emoji ("•", "→", "🚀" between links do not make a line prose).
 */
static int letter(unsigned long cp)
{
	if (cp < 0x80)
		return isalnum((int)cp);
	return (cp >= 0xc0 && cp <= 0x1fff && cp != 0xd7 && cp != 0xf7) ||
	       (cp >= 0x3040 && cp <= 0xd7ff) || (cp >= 0xf900 && cp <= 0xfaff) ||
	       (cp >= 0x20000 && cp <= 0x3ffff);
}

/* Adds s with runs of white space (and no-break spaces) made one space. */
static void para_add(struct para *p, const char *s, size_t len, int counts)
{
	size_t i, n;

	for (i = 0; i < len && p->text.len <= p->cap; i += n) {
		unsigned long cp;

		n = ah_utf8_char_len(s + i, len - i);
		/* not UTF-8 (the caller cleans it): kept as it is, not a letter */
		cp = n ? code_point((const unsigned char *)s + i, n) : 0xfffd;
		if (!n)
			n = 1;
		if (isspace((int)(cp < 0x80 ? cp : 0)) || cp == 0xa0) {
			if (p->text.len && p->text.buf[p->text.len - 1] != ' ')
				strbuf_addch(&p->text, ' ');
			continue;
		}
		if (counts && !p->links && letter(cp))
			p->prose = 1;
		strbuf_add(&p->text, s + i, n);
	}
}

/* Adds the one character at s (a byte when it is not UTF-8); its length. */
static size_t para_add_char(struct para *p, const char *s, const char *end)
{
	size_t n = ah_utf8_char_len(s, (size_t)(end - s));

	if (!n)
		n = 1;
	para_add(p, s, n, 1);
	return n;
}

/* ------------------------------------------------------------ cutting */

/* Whether text[i] ends a sentence: ". " and the like, not "e.g. " nor "vs. ". */
static size_t sentence_end(const char *t, size_t len, size_t i)
{
	static const char *const cjk[] = { "\xe3\x80\x82", "\xef\xbc\x81", "\xef\xbc\x9f" };
	size_t k, w;

	for (k = 0; k < sizeof(cjk) / sizeof(cjk[0]); k++)
		if (i + 3 <= len && !memcmp(t + i, cjk[k], 3))
			return i + 3;
	if (t[i] != '.' && t[i] != '!' && t[i] != '?')
		return 0;
	if (i + 1 < len && t[i + 1] != ' ')
		return 0;
	if (t[i] == '.') {
		for (w = i; w > 0 && t[w - 1] != ' '; w--)
			if (t[w - 1] == '.')
				return 0;	/* e.g. i.e. U.S. */
		if (i - w <= 1 || (i - w == 2 && (!strncasecmp(t + w, "vs", 2) ||
						  !strncasecmp(t + w, "cf", 2) ||
						  !strncasecmp(t + w, "dr", 2) ||
						  !strncasecmp(t + w, "mr", 2))))
			return 0;
	}
	return i + 1;
}

/*
 * The paragraph within max bytes: whole when it fits; else up to the last
 * sentence that ends within max (when that is not a mere scrap); else at a
 * word, or a character where words have no spaces between them (CJK), with
 * an ellipsis. NULL when nothing is left.
 */
static char *cut(struct strbuf *t, size_t max)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	size_t i, end, best = 0, keep;

	strbuf_trim(t);
	if (t->len > max) {
		for (i = 0; i < max; i++)
			if ((end = sentence_end(t->buf, t->len, i)) && end <= max)
				best = end;
		if (best && best >= max / 4) {
			strbuf_setlen(t, best);
		} else {
			keep = max >= 2 * (sizeof(ellipsis) - 1) ? max - (sizeof(ellipsis) - 1) : max;
			while (keep && ((unsigned char)t->buf[keep] & 0xc0) == 0x80)
				keep--;
			for (i = keep; i > keep / 2; i--)
				if (t->buf[i] == ' ')
					break;
			if (i > keep / 2)
				keep = i;
			while (keep && strchr(" ,;:-", t->buf[keep - 1]))
				keep--;
			strbuf_setlen(t, keep);
			if (keep && keep + sizeof(ellipsis) - 1 <= max)
				strbuf_addstr(t, ellipsis);
		}
	}
	if (!t->len)
		return NULL;
	return strbuf_detach(t, NULL);
}

/* --------------------------------------------------------------- HTML */

/* One character reference at s (after '&'), decoded; its length, 0 if none. */
static size_t entity(const char *s, struct strbuf *out)
{
	static const struct { const char *name, *text; } named[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" },
		{ "apos;", "'" }, { "nbsp;", " " }, { "copy;", "\xc2\xa9" },
		{ "mdash;", "\xe2\x80\x94" }, { "ndash;", "\xe2\x80\x93" },
		{ "hellip;", "\xe2\x80\xa6" }, { "rsquo;", "\xe2\x80\x99" },
		{ "lsquo;", "\xe2\x80\x98" }, { "rdquo;", "\xe2\x80\x9d" },
		{ "ldquo;", "\xe2\x80\x9c" }, { "middot;", "\xc2\xb7" },
	};
	size_t i, n;

	if (*s == '#') {
		int hex = s[1] == 'x' || s[1] == 'X';
		unsigned long cp = 0;
		char *end;

		for (n = hex ? 2 : 1; n < 9 && isxdigit((unsigned char)s[n]); n++)
			if (!hex && !isdigit((unsigned char)s[n]))
				break;
		if (s[n] != ';' || n == (hex ? 2u : 1u))
			return 0;
		cp = strtoul(s + (hex ? 2 : 1), &end, hex ? 16 : 10);
		if (!cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			cp = 0xfffd;
		if (cp < 0x80) {
			strbuf_addch(out, (int)cp);
		} else if (cp < 0x800) {
			strbuf_addch(out, (int)(0xc0 | cp >> 6));
			strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
		} else if (cp < 0x10000) {
			strbuf_addch(out, (int)(0xe0 | cp >> 12));
			strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
			strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
		} else {
			strbuf_addch(out, (int)(0xf0 | cp >> 18));
			strbuf_addch(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
			strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
			strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
		}
		return n + 1;
	}
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		n = strlen(named[i].name);
		if (!strncmp(s, named[i].name, n)) {
			strbuf_addstr(out, named[i].text);
			return n;
		}
	}
	return 0;
}

static int tag_is(const char *tag, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && !strncasecmp(tag + 1, name, n) &&
	       (isspace((unsigned char)tag[1 + n]) || tag[1 + n] == '>' || tag[1 + n] == '/');
}

/* An inline HTML tag: an <a> counts as a link; a <br> is a space; the rest is markup. */
static void html_tag(struct para *p, const char *tag, size_t len)
{
	if (tag_is(tag, len, "a"))
		p->links++;
	else if (tag_is(tag, len, "/a") && p->links)
		p->links--;
	else if (tag_is(tag, len, "br"))
		para_add(p, " ", 1, 0);
}

/*
 * The text of an HTML block's first <p> element that holds prose: the
 * centred tagline of many READMEs (<p align="center">...</p>). Tags go
 * (images with them), character references are decoded.
 */
static int html_block(struct para *p, const char *html)
{
	const char *s = html, *end = html + strlen(html), *e;
	struct strbuf dec = STRBUF_INIT;
	int ret = 0;

	/* A '<' with no '>' after it has none after any later '<' either. */
	while ((s = memchr(s, '<', (size_t)(end - s))) && (e = memchr(s, '>', (size_t)(end - s)))) {
		if (!tag_is(s, (size_t)(e - s + 1), "p")) {
			s = e + 1;
			continue;
		}
		strbuf_reset(&p->text);
		p->prose = p->links = 0;
		for (s = e + 1; s < end && !tag_is(s, (size_t)(end - s), "/p"); ) {
			size_t n;

			if (*s == '<' && e && (e = memchr(s, '>', (size_t)(end - s)))) {
				if (tag_is(s, (size_t)(e - s + 1), "p"))
					break;	/* an unclosed <p> ends at the next */
				html_tag(p, s, (size_t)(e - s + 1));
				s = e + 1;
				continue;
			}
			if (*s == '&' && (n = entity(s + 1, &dec))) {
				para_add(p, dec.buf, dec.len, 1);
				strbuf_reset(&dec);
				s += n + 1;
				continue;
			}
			s += para_add_char(p, s, end);
		}
		if (p->prose) {
			ret = 1;
			break;
		}
		if (!e)
			break;
	}
	strbuf_release(&dec);
	return ret;
}

/* ----------------------------------------------------------- Markdown */

/* The Markdown source, read line by line as the walk moves down it. */
struct source {
	const char *text, *end, *cur;
	int line;	/* the line cur starts */
};

/*
 * Line n (1-based), without its newline and any "> " quote markers. The
 * walk asks for lines in order, so each line is passed over once.
 */
static const char *source_line(struct source *src, int n, size_t *out_len)
{
	const char *s, *nl;

	if (n < src->line) {
		src->cur = src->text;
		src->line = 1;
	}
	while (src->line < n && src->cur < src->end) {
		nl = memchr(src->cur, '\n', (size_t)(src->end - src->cur));
		src->cur = nl ? nl + 1 : src->end;
		src->line++;
	}
	s = src->line == n ? src->cur : src->end;
	nl = memchr(s, '\n', (size_t)(src->end - s));
	*out_len = (size_t)((nl ? nl : src->end) - s);
	while (*out_len && (*s == '>' || *s == ' ' || *s == '\t')) {
		s++;
		(*out_len)--;
	}
	return s;
}

/*
 * A GitHub table (cmark reads it as a paragraph): a first line with a pipe
 * over a line of pipes, dashes and colons.
 */
static int is_table(cmark_node *para, struct source *src)
{
	int line = cmark_node_get_start_line(para);
	size_t n, i, dashes = 0, pipes = 0;
	const char *s = source_line(src, line, &n);

	if (!memchr(s, '|', n))
		return 0;
	s = source_line(src, line + 1, &n);
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dashes++;
		else if (s[i] == '|')
			pipes++;
		else if (s[i] != ':' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	}
	return dashes && pipes;
}

/* Text, less GitHub's strikethrough markers (~~old~~), which cmark leaves in it. */
static void md_text(struct para *p, const char *s)
{
	const char *t;

	while ((t = strstr(s, "~~"))) {
		para_add(p, s, (size_t)(t - s), 1);
		for (s = t; *s == '~'; s++)
			;
	}
	para_add(p, s, strlen(s), 1);
}

/*
 * A paragraph's inline text: link text without the address, code spans as
 * they are, images (badges, logos) and HTML tags left out, breaks as
 * spaces. Whether it is prose: text outside links and code.
 */
static void md_inline(cmark_node *node, struct para *p)
{
	cmark_iter *it = cmark_iter_new(node);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *cur = cmark_iter_get_node(it);
		const char *lit = cmark_node_get_literal(cur);

		switch (cmark_node_get_type(cur)) {
		case CMARK_NODE_IMAGE:
			if (ev == CMARK_EVENT_ENTER)
				cmark_iter_reset(it, cur, CMARK_EVENT_EXIT);
			break;
		case CMARK_NODE_LINK:
			if (ev == CMARK_EVENT_ENTER)
				p->links++;
			else
				p->links--;
			break;
		case CMARK_NODE_TEXT:
			md_text(p, lit);
			break;
		case CMARK_NODE_CODE:
			para_add(p, lit, strlen(lit), 0);
			break;
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK:
			para_add(p, " ", 1, 0);
			break;
		case CMARK_NODE_HTML_INLINE:
			html_tag(p, lit, strlen(lit));
			break;
		default:
			break;
		}
	}
	cmark_iter_free(it);
	p->links = 0;
}

/* "Project structure:", "Run:": what introduces a listing, not the app. */
static int introduces(const struct para *p)
{
	size_t n = p->text.len;

	while (n && p->text.buf[n - 1] == ' ')
		n--;
	return n && p->text.buf[n - 1] == ':';
}

/* A GitHub alert or a "**Note**" quote: a warning, not a summary. */
static int is_alert(const struct para *p)
{
	static const char *const words[] = { "[!", "note", "warning", "important", "caution", "tip" };
	size_t i, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		/* the word itself: "Notes is a notebook" is no note */
		if (!strncasecmp(p->text.buf, words[i], n) &&
		    (i == 0 || !isalnum((unsigned char)p->text.buf[n])))
			return 1;
	}
	return 0;
}

/*
 * The first top-level paragraph (or centred HTML <p>) of prose; headings,
 * lists, code, tables, images and badges are passed over. A block quote's
 * prose serves only when there is no other (a tagline set as a quote), and
 * never a note or a warning.
 */
static char *md_description(const char *text, size_t max)
{
	size_t len = strlen(text);
	struct para p = { STRBUF_INIT, max + 8, 0, 0 };
	struct strbuf quote = STRBUF_INIT;
	struct source src;
	cmark_node *doc, *node;
	char *ret = NULL;
	int found = 0;

	if (len > PARSE_MAX) {
		const char *nl = memrchr(text, '\n', PARSE_MAX);

		len = nl ? (size_t)(nl - text) : PARSE_MAX;
	}
	/* cmark aborts when memory runs out, as xmalloc() does */
	doc = cmark_parse_document(text, len, CMARK_OPT_DEFAULT);
	src.text = src.cur = text;
	src.end = text + len;
	src.line = 1;
	for (node = cmark_node_first_child(doc); node; node = cmark_node_next(node)) {
		cmark_node_type type = cmark_node_get_type(node);
		cmark_node *q;

		strbuf_reset(&p.text);
		p.prose = 0;
		if (type == CMARK_NODE_PARAGRAPH && !is_table(node, &src)) {
			md_inline(node, &p);
			if ((found = p.prose && !introduces(&p)))
				break;
		} else if (type == CMARK_NODE_HTML_BLOCK) {
			if ((found = html_block(&p, cmark_node_get_literal(node))))
				break;
		} else if (type == CMARK_NODE_BLOCK_QUOTE && !quote.len) {
			for (q = cmark_node_first_child(node); q; q = cmark_node_next(q)) {
				if (cmark_node_get_type(q) != CMARK_NODE_PARAGRAPH || is_table(q, &src))
					continue;
				md_inline(q, &p);
				if (p.prose && !is_alert(&p)) {
					strbuf_add(&quote, p.text.buf, p.text.len);
					break;
				}
				strbuf_reset(&p.text);
				p.prose = 0;
			}
			strbuf_reset(&p.text);
			p.prose = 0;
		}
	}
	if (found)
		ret = cut(&p.text, max);
	else if (quote.len)
		ret = cut(&quote, max);
	cmark_node_free(doc);
	strbuf_release(&p.text);
	strbuf_release(&quote);
	return ret;
}

/* -------------------------------------------- reStructuredText, text */

/* A title's underline or overline, or a border: one punctuation character repeated. */
static int rule_line(const char *s, size_t n)
{
	size_t i;

	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n < 3 || !ispunct((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] != s[0])
			return 0;
	return 1;
}

static int list_item(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 2 && strchr("-*+", s[0]) && s[1] == ' ')
		return 1;
	if (n >= 4 && !memcmp(s, "\xe2\x80\xa2 ", 4))
		return 1;
	while (i < n && (isdigit((unsigned char)s[i]) || (!i && s[i] == '#')))
		i++;
	return i && i + 1 < n && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ';
}

/*
 * reStructuredText's inline markup as text: ``code``, *emphasis*, `text
 * <url>`_ links by their text, :role:`x` by x; |substitutions| (badges)
 * left out.
 */
static void rst_inline(struct para *p, const char *s, size_t len)
{
	const char *e = s + len, *close, *lt;

	while (s < e) {
		if (*s == '|' && s + 1 < e && !isspace((unsigned char)s[1]) &&
		    (close = memchr(s + 1, '|', (size_t)(e - s - 1))) && !isspace((unsigned char)close[-1])) {
			for (s = close + 1; s < e && *s == '_'; s++)
				;
			continue;
		}
		if (*s == ':' && s + 1 < e && isalpha((unsigned char)s[1])) {
			const char *r = s + 1;

			/* a role's name is short (:py:func:): the scan is bounded */
			while (r < e && r - s < 32 && (isalnum((unsigned char)*r) || *r == '-' || *r == ':'))
				r++;
			if (r < e && *r == '`' && r[-1] == ':') {
				s = r;
				continue;
			}
		}
		if (*s == '`' && s + 1 < e && s[1] == '`' && (close = memmem(s + 2, (size_t)(e - s - 2), "``", 2))) {
			para_add(p, s + 2, (size_t)(close - s - 2), 0);
			s = close + 2;
			continue;
		}
		if (*s == '`' && s + 1 < e && (close = memchr(s + 1, '`', (size_t)(e - s - 1)))) {
			lt = memchr(s + 1, '<', (size_t)(close - s - 1));
			if (lt && close[-1] == '>') {
				while (lt > s + 1 && isspace((unsigned char)lt[-1]))
					lt--;
				para_add(p, s + 1, (size_t)(lt - s - 1), 1);
			}
			else
				para_add(p, s + 1, (size_t)(close - s - 1), 1);
			for (s = close + 1; s < e && *s == '_'; s++)
				;
			continue;
		}
		if (*s == '*' || *s == '`') {
			s++;
			continue;
		}
		s += para_add_char(p, s, e);
	}
}

/*
 * The first paragraph (lines up to a blank one) of prose: not a title (a
 * line over a rule), not a list, not indented (a quote, an example), and in
 * reStructuredText not a directive (".. image::", a comment), a field list
 * nor a grid table.
 */
static char *text_description(const char *text, size_t max, int rst)
{
	struct para p = { STRBUF_INIT, max + 8, 0, 0 };
	const char *line = text;
	int skip = 0, first = 1;
	char *ret = NULL;

	for (; *line && (size_t)(line - text) < PARSE_MAX; ) {
		const char *end = strchrnul(line, '\n'), *s = line;
		const char *next = *end ? end + 1 : end, *ne = strchrnul(next, '\n');
		size_t n;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		n = (size_t)(end - s);
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (!n) {	/* a blank line ends a paragraph */
			if (p.prose)
				break;
			strbuf_reset(&p.text);
			skip = 0;
			first = 1;
		} else if (rule_line(s, n) || (*next && rule_line(next, (size_t)(ne - next)) &&
					       !rule_line(s, n))) {
			/* a title and its rules: what follows starts afresh */
			if (p.prose)
				break;
			strbuf_reset(&p.text);
			first = 1;
			if (!rule_line(s, n))
				next = *ne ? ne + 1 : ne;
		} else if (first && (s != line || list_item(s, n) ||
				     (rst && (!strncmp(s, "..", 2) || *s == ':' ||
					      !strncmp(s, "+-", 2) || !strncmp(s, "+=", 2))))) {
			skip = 1;
			first = 0;
		} else if (!skip) {
			if (p.text.len)
				para_add(&p, " ", 1, 0);
			if (rst)
				rst_inline(&p, s, n);
			else
				para_add(&p, s, n, 1);
			first = 0;
		}
		line = next;
	}
	if (p.prose)
		ret = cut(&p.text, max);
	strbuf_release(&p.text);
	return ret;
}

enum ah_readme_format ah_readme_format(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return AH_README_TEXT;
	if (!strcasecmp(dot, ".rst"))
		return AH_README_RST;
	if (!strcasecmp(dot, ".txt"))
		return AH_README_TEXT;
	return AH_README_MARKDOWN;
}

char *ah_readme_description(const char *text, enum ah_readme_format format, size_t max)
{
	if (format == AH_README_MARKDOWN)
		return md_description(text, max);
	return text_description(text, max, format == AH_README_RST);
}
