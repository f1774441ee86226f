#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>
#include "err.h"

/*
 * Base64 (RFC 4648, with padding) through OpenSSL's EVP block coder: for
 * bytes that must cross JSON whole, invalid UTF-8 and NULs included.
 */
char *ah_base64_encode(const void *buf, size_t len);
/* Decodes text (at most max bytes once decoded) into *out, *len; -1 with err. */
int ah_base64_decode(const char *text, size_t max, unsigned char **out, size_t *len,
		     struct ah_err *err);

#endif
