/*
 * Sizes and durations: see parse.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"

int ah_parse_size(const char *s, int64_t *out)
{
	char *end;
	double v;
	int64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1LL << 10; end++; break;
	case 'm': mult = 1LL << 20; end++; break;
	case 'g': mult = 1LL << 30; end++; break;
	case 't': mult = 1LL << 40; end++; break;
	case 'b': case '\0': break;
	default: return -1;
	}
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v * (double)mult > 9e18)
		return -1;
	*out = (int64_t)(v * (double)mult);
	return 0;
}

int ah_parse_duration_ms(const char *s, int64_t *out)
{
	return ah_parse_duration(s, 1000, out);
}

int ah_parse_duration(const char *s, int64_t bare_ms, int64_t *out)
{
	const struct { const char *unit; int64_t ms; } units[] = {
		{ "", bare_ms }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	char *end;
	long long v;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (!strcmp(end, units[i].unit)) {
			if (v > INT64_MAX / units[i].ms)
				return -1;
			*out = v * units[i].ms;
			return 0;
		}
	return -1;
}
