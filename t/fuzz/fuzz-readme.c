/*
 * libFuzzer target for the README description (lib/markdown.c): any bytes,
 * as Markdown, reStructuredText and plain text, give NULL or one line of
 * valid UTF-8 within the size asked for, with no white space at its ends
 * nor two spaces in a row. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/markdown.h"
#include "../../lib/utf8.h"

static void check(const char *text, enum ah_readme_format format, size_t max)
{
	char *d = ah_readme_description(text, format, max);
	size_t len;

	if (d) {
		len = strlen(d);
		if (!len || len > max || strchr(d, '\n') || strstr(d, "  ") || d[0] == ' ' ||
		    d[len - 1] == ' ' || !ah_utf8_valid(d, len))
			abort();
	}
	free(d);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* as ingest keeps a README: valid UTF-8 */
	char *s = ah_utf8_clean((const char *)data, size, 0, NULL);

	check(s, AH_README_MARKDOWN, 64);
	check(s, AH_README_MARKDOWN, 5);
	check(s, AH_README_RST, 64);
	check(s, AH_README_TEXT, 64);
	free(s);
	return 0;
}
