/*
 * Time: now in milliseconds and as ISO 8601 text.
 */
#include <stdio.h>
#include <time.h>
#include "timeutil.h"

int64_t ah_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ah_iso_time(char buf[AH_ISO_LEN], int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, AH_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, AH_ISO_LEN - n, ".%03uZ", (unsigned)(ms % 1000) % 1000u);
}

void ah_now_iso(char buf[AH_ISO_LEN])
{
	ah_iso_time(buf, ah_now_ms());
}
