#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/*
 * UTF-8, strictly (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF): the one check that names, tags, Dockerfiles and the text that
 * goes into JSON (logs, READMEs, error messages) share.
 */

/* The length (1-4) of the valid character at s, of at most left bytes; 0 if none. */
size_t ah_utf8_char_len(const char *s, size_t left);
/* Whether s[0..len) is all valid UTF-8 (NUL bytes included). */
int ah_utf8_valid(const char *s, size_t len);
/*
 * s[0..len) made valid for JSON: each invalid byte and each NUL becomes
 * U+FFFD. With cut, an incomplete character at the end is left out (it comes
 * whole with the next chunk). Returns the text (free it); *used (may be
 * NULL) is the number of bytes of s it covers.
 */
char *ah_utf8_clean(const char *s, size_t len, int cut, size_t *used);
/* The first n bytes of s at most, cut back to a whole character. */
char *xstrndup_utf8(const char *s, size_t n);

#endif
