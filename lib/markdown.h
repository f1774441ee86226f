#ifndef APPHUB_MARKDOWN_H
#define APPHUB_MARKDOWN_H

#include <stddef.h>

/* How a README is written, from its file name (lib/analyze.c finds it). */
enum ah_readme_format {
	AH_README_MARKDOWN,	/* README.md, README.markdown */
	AH_README_RST,		/* README.rst */
	AH_README_TEXT,		/* README, README.txt */
};

enum ah_readme_format ah_readme_format(const char *name);

/* The description ingest fills in: a card's few lines (GitHub's "About" holds 350). */
#define AH_README_DESCRIPTION_MAX 320

/*
 * The first paragraph of prose of a README (valid UTF-8) as plain text on
 * one line: wrapped lines joined, markup, badges, images, HTML, headings,
 * lists, tables and code left out, link text kept without the address. At
 * most max bytes: cut at the end of a sentence, else at a word (or a
 * character) with an ellipsis, never inside a UTF-8 character. NULL when
 * the README has no prose.
 */
char *ah_readme_description(const char *text, enum ah_readme_format format, size_t max);

#endif
