#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stdint.h>

#define AH_ISO_LEN 32

int64_t ah_now_ms(void);
/* "2026-11-24T08:16:43.123Z" */
void ah_iso_time(char buf[AH_ISO_LEN], int64_t ms);
void ah_now_iso(char buf[AH_ISO_LEN]);

/*
 * An RFC 3339 time ("2026-03-29T01:30:00Z", "...T02:30:00.5+01:00") as unix
 * ms: 0, or -1 for anything else.
 */
int ah_time_parse(const char *s, int64_t *ms);

#endif
