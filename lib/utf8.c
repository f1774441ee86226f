/*
 * UTF-8 checking and cleaning: see utf8.h.
 */
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "utf8.h"

size_t ah_utf8_char_len(const char *s, size_t left)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = left ? p[0] : 0;
	size_t n, i;

	if (!left)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates and what lies past U+10FFFF */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

int ah_utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		/* ASCII, most of what is checked, without a call a byte */
		if (!((unsigned char)s[i] & 0x80)) {
			i++;
			continue;
		}
		if (!(n = ah_utf8_char_len(s + i, len - i)))
			return 0;
		i += n;
	}
	return 1;
}

/* Whether s[0..len), len < 4, is the start of a valid character that more bytes complete. */
static int incomplete(const char *s, size_t len)
{
	unsigned char lead = (unsigned char)s[0];
	char buf[4];
	size_t i;

	memcpy(buf, s, len);
	/* the smallest continuation bytes that its lead byte allows */
	for (i = len; i < 4; i++)
		buf[i] = (char)(i == 1 && lead == 0xe0 ? 0xa0 : i == 1 && lead == 0xf0 ? 0x90 : 0x80);
	return ah_utf8_char_len(buf, 4) > len;
}

char *ah_utf8_clean(const char *s, size_t len, int cut, size_t *used)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i = 0, n;

	strbuf_grow(&sb, len);
	while (i < len) {
		/* a run of ASCII without NUL goes in one piece */
		for (n = 0; i + n < len && (unsigned char)s[i + n] - 1u < 0x7f; n++)
			;
		if (n) {
			strbuf_add(&sb, s + i, n);
			i += n;
			continue;
		}
		n = s[i] ? ah_utf8_char_len(s + i, len - i) : 0;
		if (!n && cut && len - i < 4 && (unsigned char)s[i] >= 0xc2 &&
		    incomplete(s + i, len - i))
			break;
		if (n) {
			strbuf_add(&sb, s + i, n);
			i += n;
		} else {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			i++;
		}
	}
	if (used)
		*used = i;
	return strbuf_detach(&sb, NULL);
}

char *xstrndup_utf8(const char *s, size_t n)
{
	size_t len = strlen(s);

	if (len <= n)
		return xstrdup(s);
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xstrndup(s, n);
}
