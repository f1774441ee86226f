/* Base64 through OpenSSL's EVP block coder (see base64.h). */
#include <string.h>
#include <openssl/evp.h>
#include "base64.h"
#include "usage.h"

char *ah_base64_encode(const void *buf, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

int ah_base64_decode(const char *text, size_t max, unsigned char **out, size_t *len,
		     struct ah_err *err)
{
	size_t tlen = strlen(text), pad = 0;
	unsigned char *buf;
	int n;

	*out = NULL;
	*len = 0;
	/* The size is checked before a byte is decoded. */
	if (tlen % 4)
		return ah_invalid(err, "invalid base64: its length is not a multiple of 4");
	if (tlen / 4 * 3 > max + 2)
		return ah_error(err, 413, "too_large", "larger than %zu bytes", max);
	buf = xmalloc(tlen / 4 * 3 + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)tlen);
	if (n < 0) {
		free(buf);
		return ah_invalid(err, "invalid base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (pad < 2 && tlen > pad && text[tlen - 1 - pad] == '=')
		pad++;
	*len = (size_t)n - pad;
	if (*len > max) {
		free(buf);
		return ah_error(err, 413, "too_large", "larger than %zu bytes", max);
	}
	*out = buf;
	return 0;
}
