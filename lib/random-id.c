/*
 * Record ids (builds, launches, job runs): random, short enough to type,
 * and safe as file names.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "random-id.h"
#include "timeutil.h"

void ah_random_id(char *buf, size_t len, char prefix)
{
	unsigned char r[AH_RANDOM_ID_HEX / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* No entropy yet (early boot): unique enough within this state. */
		int64_t t = ah_now_ms() ^ ((int64_t)getpid() << 20);

		for (i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(t >> (8 * i));
	}
	snprintf(buf, len, "%c-%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4], r[5]);
}

int ah_random_id_valid(const char *id, char prefix)
{
	size_t i;

	if (strlen(id) != 2 + AH_RANDOM_ID_HEX || id[0] != prefix || id[1] != '-')
		return 0;
	for (i = 2; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}
