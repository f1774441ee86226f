#ifndef APPHUB_MARKDOWN_H
#define APPHUB_MARKDOWN_H

#include <stddef.h>

/*
 * The first line of prose of a README in Markdown, as plain text of at most
 * max bytes (cut at a whole UTF-8 character), or NULL when it has none.
 */
char *ah_readme_description(const char *text, size_t max);

#endif
