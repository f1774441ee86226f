/*
 * libFuzzer target for the README description (lib/markdown.c): any bytes
 * give NULL or a plain line within the size asked for, on one line (a
 * backslash-escaped marker is kept as text). Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/markdown.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), *d;

	memcpy(s, data, size);
	s[size] = '\0';
	d = ah_readme_description(s, 64);
	if (d && (!*d || strlen(d) > 64 || strchr(d, '\n')))
		abort();
	free(d);
	free(s);
	return 0;
}
